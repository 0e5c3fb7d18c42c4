// resident.test.mjs: the residents' pages in Debian's Chromium against a
// real alliance of a hub and three nodes (issue 5, resident part).
//
// One alliance for the file: services are published at the second
// community's node through its manager API and reach the others through
// the hub, as in life. Tests run in order; the live-bulletin test comes
// before the accessibility pass so that the bulletins page has bulletins.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { REPO, artifact, axe, getJson, launch, newPage, publish, startAlliance, waitFor } from './lib/harness.mjs';

const SAMPLE = JSON.parse(readFileSync(path.join(REPO, 'tests', 'browser', 'fixtures', 'sample.json'), 'utf8'));
const XSS_TITLE = '<img src=x onerror=alert(1)>';
// the names the directory gives the communities of a local alliance
const NAMES = Object.fromEntries(JSON.parse(readFileSync(path.join(REPO, 'deploy', 'sample',
  'communities.json'), 'utf8')).communities.map((c) => [c.id, c.name]));

let alliance, browser, home, other;

before(async () => {
  alliance = await startAlliance(3);
  [home, other] = alliance.nodes;   // the resident's node; where services are published
  await publish(alliance, other.url, 'services', SAMPLE.services);
  await publish(alliance, other.url, 'announcements', SAMPLE.announcements);
  // through the hub to the resident's node
  await waitFor(async () => {
    for (const s of SAMPLE.services) {
      const r = await fetch(`${home.url}/api/v1/catalog/${other.community}/${s.id}`);
      if (r.status !== 200) return false;
    }
    return true;
  }, `the services of ${other.community} at ${home.community}`, 20000);
  // and in the search index, which follows the records a moment later
  for (const url of [home.url, alliance.hub]) {
    await waitFor(async () => {
      const r = await fetch(`${url}/api/v1/catalog?q=${encodeURIComponent('理发')}&limit=100`);
      if (r.status !== 200) return false;
      const { items } = await r.json();
      return items.some((s) => s.community === other.community && s.id === 'bt-haircut');
    }, `bt-haircut in the search index at ${url}`, 20000);
  }
  browser = await launch();
}, { timeout: 150000 });

after(async () => {
  await browser?.close();
  await alliance?.stop();
});

test('a resident picks a category, searches 理发 and reaches the phone link of a service at another community', async () => {
  const { context, page, seen } = await newPage(browser);
  await page.goto(`${home.url}/`);
  await page.getByRole('link', { name: '养老服务' }).click();
  await page.waitForURL(/catalog\.html\?category=elderly-care/);
  await page.locator('#results .card').first().waitFor();

  await page.getByRole('searchbox', { name: '搜索服务' }).fill('理发');
  await page.getByRole('button', { name: '搜索' }).click();
  await page.waitForURL(/q=%E7%90%86%E5%8F%91/);
  assert.match(page.url(), /category=elderly-care/, 'the category stays chosen');
  // the one published at the other community (the sample data may have
  // a haircut at this one too)
  const link = page.locator(`#results a[data-id="${other.community}/bt-haircut"]`);
  await link.waitFor();
  assert.equal(await link.textContent(), '上门理发服务');
  const card = page.locator('#results .card', {
    has: page.locator(`a[data-id="${other.community}/bt-haircut"]`) });
  assert.match(await card.innerText(), new RegExp(NAMES[other.community]), 'the community by name');

  await link.click();
  await page.waitForURL(/service\.html/);
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: '上门理发服务' }).waitFor());
  const call = page.locator('a.call');
  assert.equal(await call.getAttribute('href'), 'tel:053282881234');
  assert.match(await call.innerText(), /0532-8288-1234/);
  const text = await page.locator('main').innerText();
  for (const want of ['适合谁', '怎么办理', '上门服务', '时间', '周二 9:00', '费用', '10 元', NAMES[other.community]])
    assert.ok(text.includes(want), `the service page says ${want}`);
  assert.notEqual(other.community, home.community);
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('a service titled <img src=x onerror=alert(1)> shows as text and runs nothing', async () => {
  const { context, page, seen } = await newPage(browser);
  const s = SAMPLE.services.find((x) => x.title === XSS_TITLE);
  await page.goto(`${home.url}/catalog.html?category=other`);
  const link = page.locator('#results .card-title a', { hasText: XSS_TITLE });
  await link.waitFor();
  assert.equal(await link.textContent(), XSS_TITLE);
  await page.goto(`${home.url}/service.html?community=${other.community}&id=${s.id}`);
  await page.locator('h1', { hasText: XSS_TITLE }).waitFor();
  assert.equal(await page.locator('h1').textContent(), XSS_TITLE);
  await page.goto(`${home.url}/`);
  await page.locator('#newest .card').first().waitFor();
  await page.waitForTimeout(300);   // give an injected handler its chance
  const injected = await page.evaluate(() =>
    document.querySelectorAll('img[src="x"], #newest script, #newest svg[onload], [onerror]').length);
  assert.equal(injected, 0, 'no element came from the data');
  assert.deepEqual(seen.dialogs, [], 'no alert() ran');
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('the English switch sets lang="en" and survives a reload', async () => {
  const { context, page, seen } = await newPage(browser);
  await page.goto(`${home.url}/`);
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  await page.locator('#lang-toggle').click();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await page.getByRole('heading', { level: 1, name: 'What do you need help with?' }).waitFor();
  await page.reload();
  await page.locator('#newest .card').first().waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await page.getByRole('link', { name: 'Elderly care' }).waitFor();
  assert.equal(await page.title(), 'Community services · Home');
  await page.locator('#lang-toggle').click();
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('the larger-text switch grows the text and is remembered', async () => {
  const { context, page } = await newPage(browser);
  await page.goto(`${home.url}/`);
  const size = () => page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
  assert.ok(await size() >= 18, 'base text at least 18 px');
  await page.locator('#size-toggle').click();
  assert.ok(await size() >= 22);
  await page.reload();
  assert.equal(await page.locator('#size-toggle').getAttribute('aria-pressed'), 'true');
  assert.ok(await size() >= 22);
  await context.close();
});

test('the catalog pages on with "more" and the filters narrow it', async () => {
  const { context, page, seen } = await newPage(browser);
  const many = Array.from({ length: 23 }, (_, i) => ({
    id: `bt-job-${i}`, title: `就业培训 第 ${i + 1} 期`, summary: '免费技能培训', category: 'employment',
    delivery: i % 2 ? ['online'] : ['walk-in'], fee: i % 3 ? 'free' : '20 元', phone: '0532-8288-6000',
  }));
  await publish(alliance, other.url, 'services', many);
  await waitFor(async () => (await fetch(`${home.url}/api/v1/catalog/${other.community}/bt-job-22`)).status === 200,
    'the training courses at the resident\'s node', 20000);
  await page.goto(`${home.url}/catalog.html?category=employment&community=${other.community}`);
  await page.locator('#results .card').first().waitFor();
  assert.equal(await page.locator('#results .card').count(), 20);
  assert.match(await page.locator('#count').innerText(), /23/);
  await page.locator('#more').click();
  await waitFor(async () => (await page.locator('#results .card').count()) === 23, '23 cards after "more"');
  assert.equal(await page.locator('#more').isHidden(), true, 'no "more" on the last page');
  assert.equal(await page.evaluate(() => document.activeElement.textContent),
    await page.locator('#results .card-title a').nth(20).textContent(), 'focus on the first new one');
  // online and free only: the filters go to the API
  await page.goto(`${home.url}/catalog.html?category=employment&community=${other.community}&delivery=online&free=1`);
  await page.locator('#results .card').first().waitFor();
  const expect = many.filter((s, i) => s.delivery[0] === 'online' && i % 3).length;
  assert.equal(await page.locator('#results .card').count(), expect);
  assert.equal(await page.locator('#f-delivery').inputValue(), 'online');
  assert.equal(await page.locator('#f-free').isChecked(), true);
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('the hub\'s public port serves the same pages over the merged catalog', async () => {
  const { context, page, seen } = await newPage(browser);
  const r = await fetch(`${alliance.hub}/catalog.html`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-security-policy') || '', /script-src 'self'/);
  assert.match(r.headers.get('cache-control') || '', /max-age=\d+/);
  await page.goto(`${alliance.hub}/catalog.html?q=${encodeURIComponent('理发')}`);
  await page.locator(`#results a[data-id="${other.community}/bt-haircut"]`).waitFor();
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('a bulletin issued with alliancectl appears on an already open page without a reload', async () => {
  const { context, page, seen } = await newPage(browser);
  const node = alliance.nodes[2];
  await page.goto(`${node.url}/catalog.html`);
  await page.waitForFunction(() => window.Alliance && Alliance.live && Alliance.live.source &&
                                   Alliance.live.source.readyState === 1, null, { timeout: 10000 });
  await page.evaluate(() => { window.notReloaded = true; });
  const headline = `台风红色预警 ${Date.now()}`;
  const t0 = Date.now();
  await alliance.ctl('bulletin', 'issue', '--headline', headline,
    '--description', '强台风预计今晚 20 时前后在本区沿海登陆，最大风力 14 级。',
    '--cause', '台风“海葵”', '--response', '区防汛指挥部已启动一级应急响应，各社区开放避难场所。',
    '--instructions', '请立即回家，关好门窗，不要外出。', '--severity', 'extreme');
  const banner = page.locator('#alerts [role="alert"]', { hasText: headline });
  await banner.waitFor({ timeout: 5000 });
  const ms = Date.now() - t0;
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
  assert.match(await banner.innerText(), /特别严重/, 'the severity is said in words');
  assert.match(await banner.innerText(), /请立即回家/, 'what to do is on the banner');
  const box = await banner.boundingBox();
  assert.ok(box.y < 10, 'the banner is at the top of the page');
  await page.screenshot({ path: artifact('live-bulletin-360.png') });
  // a quieter one for the bulletins page
  await alliance.ctl('bulletin', 'issue', '--headline', '明日有 6 级大风',
    '--description', '明日白天有 6 级大风。', '--cause', '冷空气', '--response', '气象台持续监测。',
    '--instructions', '请收好阳台上的物品。', '--severity', 'moderate', '--urgency', 'expected',
    '--certainty', 'likely');
  await page.locator('#alerts [role="status"]', { hasText: '明日有 6 级大风' }).waitFor({ timeout: 5000 });
  assert.deepEqual(seen.errors, []);
  console.log(`# live banner after ${ms} ms`);
  await context.close();
});

const PAGES = [
  ['home', '/', '#newest .card'],
  ['catalog', '/catalog.html?category=elderly-care', '#results .card'],
  ['service', '/service.html?community={other}&id=bt-haircut', 'a.call'],
  ['bulletins', '/bulletins.html', '.bulletin'],
  ['announcements', '/announcements.html', '.notice'],
];

for (const [width, height, label] of [[360, 800, '360 px'], [1280, 900, 'desktop width']]) {
  test(`axe-core finds no serious or critical violation at ${label}`, async () => {
    const { context, page, seen } = await newPage(browser, width, height);
    const found = {};
    for (const [name, p, ready] of PAGES) {
      await page.goto(`${home.url}${p.replace('{other}', other.community)}`);
      await page.locator(ready).first().waitFor();
      if (width === 360) await page.screenshot({ path: artifact(`${name}-360.png`), fullPage: true });
      const v = await axe(page);
      if (v.length) found[name] = v;
    }
    assert.deepEqual(found, {}, JSON.stringify(found, null, 2));
    assert.deepEqual(seen.errors, []);
    await context.close();
  });
}
