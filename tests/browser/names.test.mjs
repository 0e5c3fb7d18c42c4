// names.test.mjs: whose site, whose service (issue 12, items 5, 7, 8's
// service form and 9) in Debian's Chromium at 360 px against a real
// alliance of a hub and three nodes.
//
// The hub's directory reaches every node, so pages name communities
// (珠海路街道), never ids — the residents' own pages too (a request, 我的申请,
// a district poll's result per community) — and the header names the
// node's own community;
// the district's synonyms (deploy/synonyms.txt, through local-alliance)
// let a resident at community A find B's 上门理发服务 by searching 剪头发;
// a service card is one tap target with the category icon, hours, fee,
// who may use it and the community; the resident's own community comes
// first; the manager's service form edits fee, eligibility, eligible
// communities and keywords without English words, a bad field getting its
// message beside it and nothing saved. axe-core at 360 px and desktop
// width in both languages; screenshots go to build/browser-artifacts/.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { REPO, artifact, axe, getJson, launch, managerLogIn, newPage, publish, startAlliance, waitFor } from './lib/harness.mjs';

const NAMES = Object.fromEntries(JSON.parse(readFileSync(path.join(REPO, 'deploy', 'sample',
  'communities.json'), 'utf8')).communities.map((c) => [c.id, c.name]));
const HAIRCUT = {
  id: 'nm-haircut', title: '上门理发', summary: '理发师带工具上门，约 30 分钟。',
  category: 'elderly-care', delivery: ['home-visit'], fee: '10 元', hours: '周二 9:00–11:30',
  eligibility: '70岁以上老人', phone: '0532-8288-1234',
};

let alliance, browser, a, b, c, districtPoll, voterA, asked;

before(async () => {
  alliance = await startAlliance(3);
  [a, b, c] = alliance.nodes;
  HAIRCUT.eligible_communities = [b.community];
  await publish(alliance, b.url, 'services', [HAIRCUT]);
  await publish(alliance, b.url, 'announcements', [
    { id: 'nm-notice', title: '周六义诊', body: '周六上午在社区广场义诊。', category: 'health-maternity' }]);
  await alliance.ctl('bulletin', 'issue', '--headline', '今晚有大风', '--description', '今晚有 8 级大风。',
    '--cause', '冷空气', '--response', '气象台持续监测。', '--instructions', '请收好阳台上的物品。',
    '--severity', 'moderate', '--urgency', 'expected', '--certainty', 'likely',
    '--area', `${a.community},${b.community}`);
  // B's haircut reaches A, found there by a synonym
  await waitFor(async () => {
    const r = await getJson(`${a.url}/api/v1/catalog?q=${encodeURIComponent('剪头发')}&limit=100`);
    return r.items.some((s) => s.community === b.community && s.id === HAIRCUT.id);
  }, `剪头发 finding ${HAIRCUT.id} at ${a.community}`, 30000);
  // a district poll voted in at A and B, and A's resident asking for B's
  // haircut: the residents' own pages name them too
  districtPoll = (await alliance.ctl('poll', 'create', '--question', '周末开放活动室吗？',
    '--option', '开放', '--option', '不开放', '--closes', '30m')).split(/\s+/)[0];
  const voters = [];
  for (const [node, option] of [[a, 0], [b, 1]]) {
    await waitFor(async () => (await fetch(`${node.url}/api/v1/polls/${districtPoll}`)).ok,
      `${districtPoll} at ${node.community}`, 30000);
    const code = await post(node, '/api/v1/household-codes', 'application/json', '{}', true);
    const me = await post(node, '/api/v1/residents', 'application/json',
      JSON.stringify({ household_code: code.code }));
    const r = await fetch(`${node.url}/api/v1/polls/${districtPoll}/votes`, { method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${me.token}` },
      body: JSON.stringify({ option }) });
    assert.equal(r.status, 201);
    voters.push(me);
  }
  voterA = voters[0];
  [asked] = await post(a, '/open311/v2/requests.json', 'application/x-www-form-urlencoded',
    new URLSearchParams({ service_code: `${b.community}/${HAIRCUT.id}`, description: '请上门理发',
      name: '王秀英', phone: '13800138000', address_string: '榆树巷 5 号' }).toString());
  browser = await launch();
}, { timeout: 180000 });

// post: POST body to node (as its manager when asked); the answer's JSON
async function post(node, p, type, body, manager = false) {
  const headers = { 'Content-Type': type };
  if (manager)
    headers.Authorization = `Basic ${Buffer.from(`manager:${alliance.env.MANAGER_PASSWORD}`).toString('base64')}`;
  const r = await fetch(`${node.url}${p}`, { method: 'POST', body, headers });
  assert.equal(r.status, 201, `POST ${p}`);
  return r.json();
}

after(async () => {
  await browser?.close();
  await alliance?.stop();
});

// noIds: the visible text of the page holds no community id as a word
// noIds: no community id in text, but in a request's tracking number
// (ORIGIN.RANDOM: ids are scoped by the community that made them).
function noIds(text, where) {
  for (const node of alliance.nodes)
    assert.doesNotMatch(text, new RegExp(`(^|[^a-z0-9-])${node.community}(?!\\.[0-9a-f]{16})([^a-z0-9-]|$)`),
      `${where} shows the id ${node.community}`);
}

test('searching 剪头发 at community A finds B\'s 上门理发; its card is one tap target that says it all', async () => {
  const { context, page, seen } = await newPage(browser);
  await page.goto(`${a.url}/catalog.html`);
  await page.getByRole('searchbox', { name: '搜索服务' }).fill('剪头发');
  await page.getByRole('button', { name: '搜索' }).click();
  const inCard = `a[data-id="${b.community}/${HAIRCUT.id}"]`;
  await page.locator(`#results ${inCard}`).waitFor();
  const card = page.locator('#results .card', { has: page.locator(inCard) });
  const text = (await card.innerText()).replace(/\n+/g, '');   // flex items end lines
  for (const want of [HAIRCUT.title, '10 元', '周二 9:00–11:30', `仅限 ${NAMES[b.community]} 居民`,
    '70岁以上老人', `提供社区：${NAMES[b.community]}`])
    assert.ok(text.includes(want), `the card says ${want}: ${text}`);
  noIds(text, 'the card');
  assert.equal(await card.locator('svg use').first().getAttribute('href'), '/img/icons.svg#elderly-care',
    'the category icon');
  // one link, named by the title, covering the card
  assert.equal(await card.getByRole('link').count(), 1);
  assert.equal(await card.getByRole('link').getAttribute('data-id'), `${b.community}/${HAIRCUT.id}`);
  await card.getByRole('link', { name: HAIRCUT.title, exact: true }).waitFor();
  await page.screenshot({ path: artifact('names-search-360.png'), fullPage: true });
  await card.scrollIntoViewIfNeeded();
  const box = await card.boundingBox();
  assert.ok(box.y >= 0 && box.y + box.height <= 800, 'the whole card on the screen');
  await page.mouse.click(box.x + box.width - 12, box.y + box.height - 8);   // far from the title
  await page.waitForURL(/service\.html/);
  await page.getByRole('heading', { level: 1, name: HAIRCUT.title }).waitFor();
  const main = await page.locator('main').innerText();
  assert.ok(main.includes(`仅限 ${NAMES[b.community]} 居民`), main);
  assert.deepEqual(seen.errors, []);
  await context.close();
});

const PAGES = [
  ['home', '/', '#newest .card'],
  ['catalog', '/catalog.html', '#results .card'],
  ['service', `/service.html?community={b}&id=${HAIRCUT.id}`, 'a.call'],
  ['announcements', '/announcements.html', '.notice'],
  ['bulletins', '/bulletins.html', '.bulletin'],
];

test('every page names communities by name, never by id, and the header names the node\'s community', async () => {
  const { context, page, seen } = await newPage(browser);
  for (const [name, p, ready] of PAGES) {
    await page.goto(`${a.url}${p.replace('{b}', b.community)}`);
    await page.locator(ready).first().waitFor();
    await waitFor(async () => (await page.locator('#site-community').textContent()) === NAMES[a.community],
      `the header naming ${NAMES[a.community]} on ${name}`);
    // the names are filled in once the directory arrives
    await waitFor(async () => {
      const spans = await page.locator('main [data-community]').allTextContents();
      return spans.length > 0 && spans.every((s) => Object.values(NAMES).includes(s));
    }, `community names on ${name}`);
    noIds(await page.locator('body').innerText(), name);
  }
  // the resident's own pages: asking for B's haircut, following it, and a
  // district poll with each community's result
  await context.addInitScript(([who, req]) => {
    localStorage.setItem('alliance.resident', JSON.stringify(who));
    localStorage.setItem('alliance.requests', JSON.stringify([req]));
  }, [{ token: voterA.token, resident: voterA.resident },
      { id: asked.service_request_id, token: asked.token }]);
  const OWN = [
    ['request', `/request.html?community=${b.community}&id=${HAIRCUT.id}`, '#rq-description', 1],
    ['my-requests', '/my-requests.html', '.my-request', 1],
    ['polls', '/polls.html', `a[href*="${districtPoll}"]`, 0],
    ['poll', `/poll.html?id=${districtPoll}`, '.community-result', 2],
  ];
  for (const [name, p, ready, named] of OWN) {
    await page.goto(`${a.url}${p}`);
    await page.locator(ready).first().waitFor();
    await waitFor(async () => {
      const spans = await page.locator('main [data-community]').allTextContents();
      return spans.length >= named && spans.every((x) => Object.values(NAMES).includes(x));
    }, `community names on ${name}`);
    noIds(await page.locator('body').innerText(), name);
  }
  // the bulletins page names the area's communities
  await page.goto(`${a.url}/bulletins.html`);
  await page.locator('.bulletin', { hasText: '今晚有大风' }).waitFor();
  await waitFor(async () => (await page.locator('.bulletin', { hasText: '今晚有大风' }).innerText())
    .includes(`范围：${NAMES[a.community]}、${NAMES[b.community]}`), 'the area by names');
  // at the hub the header names nobody's community
  await page.goto(`${alliance.hub}/catalog.html`);
  await page.locator('#results .card').first().waitFor();
  await page.locator('#results span[data-community]').first().waitFor();
  assert.equal(await page.locator('#site-community').textContent(), '');
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('the resident\'s own community comes first: the catalog and its community filter', async () => {
  const { context, page, seen } = await newPage(browser);
  await page.goto(`${b.url}/catalog.html`);
  await page.locator('#results .card').first().waitFor();
  const ids = await page.locator('#results .card-link').evaluateAll((ls) => ls.map((l) => l.dataset.id));
  const own = ids.filter((id) => id.startsWith(`${b.community}/`)).length;
  assert.ok(own > 0, 'B has services');
  assert.ok(ids.slice(0, own).every((id) => id.startsWith(`${b.community}/`)), ids.join(' '));
  await waitFor(async () => (await page.locator('#f-community option').nth(1).textContent()) === NAMES[b.community],
    'B first in the community filter');
  const options = await page.locator('#f-community option').allTextContents();
  assert.deepEqual(options.slice(1).sort(), alliance.nodes.map((n) => NAMES[n.community]).sort());
  assert.deepEqual(seen.errors, []);
  await context.close();
});

async function logIn(page, node) {
  await managerLogIn(page, node, alliance.env.MANAGER_PASSWORD);
  await page.locator('#console').waitFor();
}

async function ownServices(node) {
  return (await getJson(`${node.url}/api/v1/catalog?community=${node.community}&limit=100`)).items;
}

test('the manager\'s service form edits fee, eligibility, communities and keywords in Chinese; bad input is refused beside its field', async () => {
  const { context, page, seen } = await newPage(browser);
  await logIn(page, b);
  await page.getByRole('button', { name: '添加服务' }).click();
  const form = page.getByRole('form', { name: '添加服务' });
  await form.getByRole('textbox', { name: '名称' }).fill('上门助浴');
  await form.getByLabel('类别').selectOption('elderly-care');
  assert.doesNotMatch(await form.innerText(), /\bfree\b/i, 'no English word to type');
  const before = (await ownServices(b)).length;

  // a fee that is not an amount
  await form.getByRole('radio', { name: '收费' }).check();
  await form.getByLabel('收费金额（元）').fill('十块');
  await form.getByRole('button', { name: '保存' }).click();
  await page.locator('#s-fee-error', { hasText: '请填写收费金额' }).waitFor();
  assert.equal(await page.locator('#s-fee-amount').getAttribute('aria-invalid'), 'true');
  // too many keywords
  await form.getByLabel('收费金额（元）').fill('8');
  await form.getByLabel(/搜索关键词/).fill('一 二 三 四 五 六 七 八 九 十 十一 十二 十三 十四 十五 十六 十七');
  await form.getByRole('button', { name: '保存' }).click();
  await page.locator('#s-keywords-error', { hasText: '关键词最多 16 个' }).waitFor();
  assert.equal(await page.locator('#s-fee-error').textContent(), '', 'the fixed field is clear');
  // a keyword the node refuses (over 48 bytes): its 422 beside the field
  await form.getByLabel(/搜索关键词/).fill('👍'.repeat(13));
  const refused = page.waitForResponse((r) => r.url().endsWith('/api/v1/services') &&
    r.request().method() === 'POST');
  await form.getByRole('button', { name: '保存' }).click();
  assert.equal((await refused).status(), 422, 'the node refused it');
  await page.locator('#s-keywords-error', { hasText: '每个关键词最多 16 个汉字' }).waitFor();
  await page.locator('#service-form').screenshot({ path: artifact('names-service-form-error-360.png') });
  assert.equal((await ownServices(b)).length, before, 'nothing was created');

  // good values
  await form.getByLabel(/搜索关键词/).fill('洗澡、擦身');
  await form.getByLabel(/适用人群/).fill('80岁以上老人');
  await waitFor(async () => (await form.locator('#s-eligible input').count()) === 3, 'the directory in the form');
  await form.getByRole('checkbox', { name: NAMES[a.community] }).check();
  await form.getByRole('button', { name: '保存' }).click();
  await page.getByRole('status').filter({ hasText: '已保存' }).waitFor();
  const saved = (await ownServices(b)).find((s) => s.title === '上门助浴');
  assert.ok(saved, 'the service was created');
  assert.equal(saved.fee, '8 元');
  assert.equal(saved.eligibility, '80岁以上老人');
  assert.deepEqual(saved.eligible_communities, [a.community]);
  assert.deepEqual(saved.keywords, ['洗澡', '擦身']);

  // the form shows them back, and free is one tap
  await page.locator('#services li', { hasText: '上门助浴' }).getByRole('button', { name: /修改/ }).click();
  const edit = page.getByRole('form', { name: '修改服务' });
  await waitFor(async () => (await edit.getByLabel('收费金额（元）').inputValue()) === '8', 'the amount in the form');
  assert.equal(await edit.getByRole('radio', { name: '收费' }).isChecked(), true);
  assert.equal(await edit.getByRole('checkbox', { name: NAMES[a.community] }).isChecked(), true);
  assert.equal(await edit.getByLabel(/搜索关键词/).inputValue(), '洗澡 擦身');
  await edit.getByRole('radio', { name: '免费' }).check();
  await edit.getByRole('checkbox', { name: NAMES[a.community] }).uncheck();
  await edit.getByRole('button', { name: '保存' }).click();
  await waitFor(async () => {
    const s = (await ownServices(b)).find((x) => x.id === saved.id);
    return s.fee === 'free' && s.eligible_communities.length === 0;
  }, 'the edit saved');
  await page.screenshot({ path: artifact('names-manager-360.png'), fullPage: true });
  assert.deepEqual(seen.errors.filter((e) => !/422/.test(e)), []);
  await context.close();
});

for (const [width, height, label] of [[360, 800, '360 px'], [1280, 900, 'desktop width']]) {
  for (const lang of ['zh-CN', 'en']) {
    test(`axe-core finds no serious or critical violation at ${label} in ${lang}`, async () => {
      const { context, page, seen } = await newPage(browser, width, height);
      await context.addInitScript((l) => window.localStorage.setItem('alliance.lang', l), lang);
      const found = {};
      const pages = PAGES.concat([['search', `/catalog.html?q=${encodeURIComponent('剪头发')}`, '#results .card']]);
      for (const [name, p, ready] of pages) {
        await page.goto(`${a.url}${p.replace('{b}', b.community)}`);
        await page.locator(ready).first().waitFor();
        await page.locator('main span[data-community]').first().waitFor();
        const v = await axe(page);
        if (v.length) found[name] = v;
      }
      await page.goto(`${b.url}/manage/`);
      await page.locator('#password').fill(alliance.env.MANAGER_PASSWORD);
      await page.locator('#login-form button[type=submit]').click();
      await page.locator('#console').waitFor();
      await page.locator('#add-service').click();
      await page.locator('#s-eligible input').first().waitFor();
      await page.locator('#s-title').fill('axe');
      await page.locator('#s-fee-paid').check();
      await page.locator('#s-fee-amount').fill('abc');
      await page.locator('#service-form button[type=submit]').click();
      await page.locator('#s-fee-error:not(:empty)').waitFor();
      if (width === 360) await page.screenshot({ path: artifact(`names-manage-form-${lang}-360.png`), fullPage: true });
      const v = await axe(page);
      if (v.length) found.manage = v;
      assert.deepEqual(found, {}, JSON.stringify(found, null, 2));
      assert.deepEqual(seen.errors, []);
      await context.close();
    });
  }
}
