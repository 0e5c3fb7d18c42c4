// request-flow.test.mjs: a resident requests another community's service
// from her phone and follows it (issue 12, items 1, 2 and the queue of 8),
// in Debian's Chromium at 360 px against a real alliance of a hub and
// three nodes.
//
// At community A she finds B's home-visit haircut (published through B's
// manager API) by searching 剪头发, taps 申请服务, fills the form with an
// address and sends it; she sees the tracking number, then in 我的申请 the steps 已提交 and
// 已送达社区 (B's receipt, relayed back). B's manager schedules it with a
// time and a reply in the console; A's page shows 已安排, the time and the
// reply without a reload, with a notice. She withdraws another request
// and B's console shows it withdrawn. Bad input gets a message next to
// its field and creates nothing. A signed-in resident's request shows in
// 我的申请 of another browser. At the hub the pages say to use one's own
// community's site. axe-core at 360 px and desktop, in both languages.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { artifact, axe, launch, managerLogIn, publish, startAlliance, waitFor, watch } from './lib/harness.mjs';

let alliance, browser, home, owner, haircut, walkin;
const SUFFIX = Date.now() % 100000;
const HAIRCUT = `上门理发 ${SUFFIX}`;
const WALKIN = `法律咨询 ${SUFFIX}`;
const PHONE = '13800138077';
const ADDRESS = '榆树巷 5 号 302 室';
const REPLY = '周三上午十点半上门，请在家等候';

async function manager(node, method, path) {
  const auth = Buffer.from(`manager:${alliance.env.MANAGER_PASSWORD}`).toString('base64');
  const r = await fetch(`${node.url}${path}`, { method, headers: { Authorization: `Basic ${auth}`,
    'Content-Type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
  const body = await r.json();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

const ownerQueue = async () => (await manager(owner, 'GET', '/api/v1/requests')).items;
const homeCount = async () => (await (await fetch(`${home.url}/open311/v2/requests.json`)).json()).length;

before(async () => {
  alliance = await startAlliance(3);
  [home, owner] = alliance.nodes;   // where the resident lives; whose services they are
  const ids = await publish(alliance, owner.url, 'services', [
    { title: HAIRCUT, category: 'elderly-care', delivery: ['home-visit'], fee: 'free',
      summary: '为行动不便的老人上门理发', phone: '0532-8888 1234' },
    { title: WALKIN, category: 'legal-civil', delivery: ['walk-in'], fee: 'free' }]);
  haircut = { community: owner.community, id: ids[0] };
  walkin = { community: owner.community, id: ids[1] };
  for (const s of [haircut, walkin])
    await waitFor(async () => (await fetch(`${home.url}/api/v1/catalog/${s.community}/${s.id}`)).ok,
      `${s.id} at ${home.community}`, 30000);
  await waitFor(async () => {
    const r = await fetch(`${home.url}/api/v1/catalog?q=${encodeURIComponent('剪头发')}&limit=100`);
    return r.ok && (await r.json()).items.some((x) => x.id === haircut.id);
  }, `剪头发 finding ${haircut.id} at ${home.community}`, 30000);
  browser = await launch();
}, { timeout: 180000 });

after(async () => {
  await browser?.close();
  await alliance?.stop();
});

async function phone(extra = {}) {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, ...extra });
  const page = await context.newPage();
  return { context, page, seen: watch(page) };
}

const requestUrl = (node, s) => `${node.url}/request.html?community=${s.community}&id=${s.id}`;

async function noSideways(page, what) {
  const [sw, cw] = await page.evaluate(() => [document.documentElement.scrollWidth,
    document.documentElement.clientWidth]);
  assert.ok(sw <= cw, `${what}: ${sw} px wide in a ${cw} px window`);
}

// fill: the request form with good values, then changes (label -> value).
async function fill(page, changes = {}) {
  const values = { '您需要什么帮助': '我腿脚不便，请上门理发', '上门地址': ADDRESS,
    '姓名': '王秀英', '电话': PHONE, ...changes };
  for (const [label, value] of Object.entries(values)) {
    const f = page.getByLabel(label, { exact: false }).first();
    if (await f.count()) await f.fill(value);
  }
}

async function expectFieldError(page, id, text) {
  const field = page.locator(`#${id}`);
  await page.locator(`#${id}-error`, { hasText: text }).waitFor();
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  assert.match(await field.getAttribute('aria-describedby'), new RegExp(`${id}-error`));
}

test('bad input gets a message next to its field and creates nothing', async () => {
  const { context, page, seen } = await phone();
  const before = [await homeCount(), (await ownerQueue()).length];
  await page.goto(requestUrl(home, haircut));
  await page.getByRole('heading', { name: `申请服务：${HAIRCUT}` }).waitFor();
  const send = page.getByRole('button', { name: '提交申请' });
  const cases = [
    [{ '您需要什么帮助': '' }, 'rq-description', '请填写'],
    [{ '您需要什么帮助': '理'.repeat(1001) }, 'rq-description', '太长'],
    [{ '电话': '请打我儿子的电话' }, 'rq-phone', '电话号码不对'],
    [{ '电话': '1234' }, 'rq-phone', '电话号码不对'],
    [{ '上门地址': '' }, 'rq-address_string', '请填写'],
    [{ '姓名': '' }, 'rq-name', '请填写'],
  ];
  for (const [changes, id, text] of cases) {
    await fill(page, changes);
    await send.click();
    await expectFieldError(page, id, text);
    assert.equal(await page.evaluate(() => document.activeElement.id), id);
    await page.screenshot({ path: artifact(`request-bad-${id}.png`), fullPage: true });
  }
  // what passes the page but not the node: its message stands at the field
  await fill(page, { '姓名': '𠀀'.repeat(60) });   // 60 characters, 240 bytes
  await send.click();
  await expectFieldError(page, 'rq-name', '请写短一些');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'rq-name');
  // for a relative: their name and phone are asked too
  await fill(page);
  await page.getByLabel('为家人申请').check();
  await page.getByLabel('家人电话').fill('12');
  await send.click();
  await expectFieldError(page, 'rq-relative_name', '请填写');
  await expectFieldError(page, 'rq-relative_phone', '电话号码不对');
  assert.equal(await homeCount(), before[0]);
  assert.equal((await ownerQueue()).length, before[1]);
  assert.equal(await page.locator('#tracking-number').count(), 0);
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('request with an address, follow it live, the manager schedules it; withdraw another', async () => {
  const { context, page, seen } = await phone();
  const navigations = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });

  // at A she searches in her own words (剪头发, a synonym of 理发) and taps
  // B's card; on its page the button stands beside the call button
  await page.goto(`${home.url}/`);
  await page.getByLabel('搜索服务').fill('剪头发');
  await page.getByRole('button', { name: '搜索' }).click();
  await page.getByRole('link', { name: HAIRCUT }).click();
  await page.getByRole('heading', { name: HAIRCUT }).waitFor();
  assert.match(page.url(), new RegExp(`id=${haircut.id}`));
  await page.getByRole('link', { name: '拨打电话' }).waitFor();
  await noSideways(page, 'service page');
  await page.screenshot({ path: artifact('request-service-360.png'), fullPage: true });
  await page.getByRole('link', { name: '申请服务' }).click();
  await page.getByRole('heading', { name: `申请服务：${HAIRCUT}` }).waitFor();
  await page.getByText('只有提供服务的社区能看到您的姓名、电话和地址').waitFor();
  assert.match(await page.getByLabel('您需要什么帮助').inputValue(), new RegExp(HAIRCUT));
  await fill(page);
  const tomorrow = new Date(Date.now() + 86400000);
  const day = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;
  await page.getByLabel('希望的日期').fill(day);
  await page.getByLabel('希望的时段').selectOption('morning');
  await noSideways(page, 'request form');
  await page.screenshot({ path: artifact('request-form-360.png'), fullPage: true });
  await page.getByRole('button', { name: '提交申请' }).click();
  await page.getByRole('heading', { name: '申请已提交' }).waitFor();
  const rid = (await page.locator('#tracking-number').textContent()).trim();
  assert.match(rid, new RegExp(`^${home.community}\\.[0-9a-f]{16}$`));   // scoped by origin
  await page.getByText('“我的申请”').first().waitFor();
  await page.screenshot({ path: artifact('request-done-360.png'), fullPage: true });

  // 我的申请: submitted, then delivered (B's receipt through the hub)
  await page.getByRole('link', { name: '查看我的申请' }).click();
  const card = page.locator(`.my-request[data-id="${rid}"]`);
  await card.getByRole('heading', { name: HAIRCUT }).waitFor();
  await card.locator('.step-word', { hasText: '已提交' }).waitFor();
  await card.locator('.step-word', { hasText: '已送达社区' }).waitFor({ timeout: 30000 });
  await card.locator('.my-step', { hasText: '已送达社区' }).waitFor();
  await noSideways(page, 'my requests');
  navigations.length = 0;

  // B's manager sees it (with the address and preferred time) and schedules it
  const mgr = await phone();
  await managerLogIn(mgr.page, owner, alliance.env.MANAGER_PASSWORD);
  const row = mgr.page.locator(`#requests li[data-id="${rid}"]`);
  await row.waitFor({ timeout: 30000 });
  await row.locator('.rq-contact', { hasText: ADDRESS }).waitFor();
  await row.locator('.rq-contact', { hasText: '王秀英' }).waitFor();
  await row.locator('.rq-preferred', { hasText: '上午' }).waitFor();
  await row.getByLabel('更改状态').selectOption('scheduled');
  await row.getByLabel('上门 / 办理时间').fill('2030-01-02T10:30');
  await row.getByLabel('给居民的回复').fill(REPLY);
  await row.getByRole('button', { name: `保存并通知居民：${HAIRCUT}` }).click();
  await mgr.page.getByRole('status').filter({ hasText: '我的申请' }).first().waitFor();
  await noSideways(mgr.page, 'the queue');
  await mgr.page.screenshot({ path: artifact('request-queue-360.png'), fullPage: true });

  // A's page, not reloaded: the new step, the time, the reply, a notice
  await card.locator('.my-step', { hasText: '已安排' }).waitFor({ timeout: 30000 });
  await page.getByRole('status').filter({ hasText: '已安排' }).waitFor();
  await card.locator('.reply-text', { hasText: REPLY }).waitFor();
  const when = await card.locator('.my-when').textContent();
  assert.match(when, /2030/);
  assert.match(when, /10:30/);
  assert.deepEqual(navigations, [], 'no reload');
  await page.screenshot({ path: artifact('my-requests-scheduled-360.png'), fullPage: true });

  // another request, withdrawn; B's console shows it withdrawn
  await page.goto(requestUrl(home, walkin));
  await page.getByRole('heading', { name: `申请服务：${WALKIN}` }).waitFor();
  assert.equal(await page.getByLabel('上门地址').count(), 0, 'no address for a walk-in service');
  await fill(page, { '您需要什么帮助': '想咨询遗嘱公证' });
  await page.getByRole('button', { name: '提交申请' }).click();
  const second = (await page.locator('#tracking-number').textContent()).trim();
  await mgr.page.locator(`#requests li[data-id="${second}"]`).waitFor({ timeout: 30000 });
  await page.goto(`${home.url}/my-requests.html`);
  const other = page.locator(`.my-request[data-id="${second}"]`);
  await other.getByRole('button', { name: `撤回申请：${WALKIN}` }).click();
  await other.getByText('确定撤回吗').waitFor();
  await other.getByRole('button', { name: '确定撤回' }).click();
  await other.locator('.my-step', { hasText: '已撤回' }).waitFor();
  await page.getByRole('status').filter({ hasText: '申请已撤回' }).waitFor();
  assert.equal(await other.getByRole('button', { name: /撤回/ }).count(), 0);
  const gone = mgr.page.locator(`#requests li[data-id="${second}"]`);
  await gone.locator('.rq-status', { hasText: '已撤回' }).waitFor({ timeout: 30000 });
  await gone.getByText('居民已撤回这项申请').waitFor();
  assert.equal(await gone.locator('form').isVisible(), false);
  await mgr.page.screenshot({ path: artifact('request-queue-withdrawn-360.png'), fullPage: true });
  // the scheduled one is still there
  await card.locator('.my-step', { hasText: '已安排' }).waitFor();
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(mgr.seen.errors, []);
  await mgr.context.close();
  await context.close();
});

test('a signed-in resident sees her account\'s requests in another browser', async () => {
  const code = (await manager(home, 'POST', '/api/v1/household-codes')).code;
  const r = await fetch(`${home.url}/api/v1/residents`, { method: 'POST',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ household_code: code }) });
  const who = await r.json();
  assert.equal(r.status, 201, JSON.stringify(who));
  const signIn = async (page) => {
    await page.goto(`${home.url}/index.html`);
    await page.evaluate((w) => localStorage.setItem('alliance.resident', JSON.stringify(w)), who);
  };
  const first = await phone();
  await signIn(first.page);
  await first.page.goto(requestUrl(home, walkin));
  await first.page.getByText('申请会记在您的账户里').waitFor();
  await fill(first.page, { '您需要什么帮助': '账户里的申请' });
  await first.page.getByRole('button', { name: '提交申请' }).click();
  const rid = (await first.page.locator('#tracking-number').textContent()).trim();
  await first.context.close();

  const second = await phone();
  await signIn(second.page);
  await second.page.goto(`${home.url}/my-requests.html`);
  const card = second.page.locator(`.my-request[data-id="${rid}"]`);
  await card.getByRole('heading', { name: WALKIN }).waitFor();
  await card.locator('.my-step', { hasText: '已送达社区' }).waitFor({ timeout: 30000 });
  // the next form has her name and phone already
  await second.page.goto(requestUrl(home, walkin));
  await waitFor(async () => (await second.page.locator('#rq-phone').inputValue()) === PHONE, 'the phone filled in');
  assert.equal(await second.page.locator('#rq-name').inputValue(), '王秀英');
  assert.deepEqual(second.seen.errors, []);
  await second.context.close();
});

test('at the hub the pages say to use one\'s own community\'s site', async () => {
  const { context, page, seen } = await phone();
  for (const path of [`/request.html?community=${haircut.community}&id=${haircut.id}`, '/my-requests.html']) {
    await page.goto(`${alliance.hub}${path}`);
    await page.getByText('请打开您自己社区的网站').waitFor();
    assert.equal(await page.getByRole('button', { name: '提交申请' }).count(), 0);
  }
  await page.screenshot({ path: artifact('my-requests-hub-360.png'), fullPage: true });
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('no serious accessibility violations at 360 px and desktop, in both languages', async () => {
  for (const [width, label] of [[360, '360'], [1280, 'desktop']]) {
    const { context, page, seen } = await phone({ viewport: { width, height: 900 } });
    for (const [path, ready, readyEn] of [
      [requestUrl(home, haircut).slice(home.url.length), '提交申请', 'Send the request'],
      ['/my-requests.html', '撤回申请', 'Withdraw the request']]) {
      await page.goto(`${home.url}${path}`);
      if (path.startsWith('/my-requests')) {
        // this browser's requests: one made here
        await page.goto(requestUrl(home, walkin));
        await fill(page, { '您需要什么帮助': '无障碍检查用的申请' });
        await page.getByRole('button', { name: '提交申请' }).click();
        await page.locator('#tracking-number').waitFor();
        await page.goto(`${home.url}${path}`);
      }
      await page.getByRole('button', { name: ready }).first().waitFor({ timeout: 30000 });
      const name = path.slice(1).split('.')[0];
      assert.deepEqual(await axe(page), [], `${name} at ${label}`);
      await page.screenshot({ path: artifact(`${name}-${label}.png`), fullPage: true });
      await page.locator('#lang-toggle').click();
      await page.getByRole('button', { name: readyEn }).first().waitFor();
      assert.deepEqual(await axe(page), [], `${name} in English at ${label}`);
      await page.screenshot({ path: artifact(`${name}-en-${label}.png`), fullPage: true });
      await page.locator('#lang-toggle').click();
    }
    assert.deepEqual(seen.errors, []);
    await context.close();
  }
});
