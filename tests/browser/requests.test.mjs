// requests.test.mjs: the request queue of the manager console
// (web/manage/, manage-requests.js) in Debian's Chromium against a real
// alliance of a hub and three nodes (issue 6, item 3).
//
// A resident at the second community asks, through Open311 at her own
// node, for a service of the first; the request appears in the first
// community's console queue without a reload, with her contact (only
// there); the manager schedules it with a time and a reply, and the
// status and reply reach requests/{id}.json at the resident's node. When a
// resident deletes her account, her request in the queue loses her
// contact without a reload and says, in words, that it was withdrawn and
// erased.
// axe-core checks the console with the queue at 360 px and at desktop
// width, in Chinese and in English.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { artifact, axe, launch, managerLogIn, newPage, publish, startAlliance, waitFor } from './lib/harness.mjs';

let alliance, browser, owner, home, code;
const PHONE = '13800138123';
const TITLE = `上门理发 ${Date.now() % 100000}`;

before(async () => {
  alliance = await startAlliance(3);
  [owner, home] = alliance.nodes;   // whose service it is; where the resident lives
  const [id] = await publish(alliance, owner.url, 'services', [{
    title: TITLE, category: 'elderly-care', delivery: ['home-visit'], fee: 'free',
    summary: '为行动不便的老人上门理发' }]);
  code = `${owner.community}.${id}`;
  await waitFor(async () => {
    const r = await fetch(`${home.url}/open311/v2/services.json`);
    return r.ok && (await r.json()).some((s) => s.service_code === code);
  }, `${code} at ${home.community}`, 30000);
  browser = await launch();
}, { timeout: 180000 });

after(async () => {
  await browser?.close();
  await alliance?.stop();
});

async function consoleAt(node, width = 360, height = 900) {
  const { context, page, seen } = await newPage(browser, width, height);
  await managerLogIn(page, node, alliance.env.MANAGER_PASSWORD);
  await page.locator('#console').waitFor();
  await page.locator('#requests .cards, #requests .note').first().waitFor();
  return { context, page, seen };
}

async function request(description) {
  const r = await fetch(`${home.url}/open311/v2/requests.json`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ service_code: code, description, first_name: '王',
      last_name: '秀英', phone: PHONE, address_string: '榆树巷 5 号 302 室' }).toString(),
  });
  const body = await r.json();
  assert.equal(r.status, 201, JSON.stringify(body));
  return body[0];
}

test('a request from another community arrives live; the manager\'s status reaches the resident\'s node', async () => {
  const { context, page, seen } = await consoleAt(owner);
  const navigations = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });

  const { service_request_id: rid, request_secret: token } = await request('我腿脚不便，请上门理发');
  const row = page.locator(`#requests li[data-id="${rid}"]`);
  await row.waitFor({ timeout: 30000 });
  assert.deepEqual(navigations, [], 'no reload');
  await page.locator('#requests-news').filter({ hasText: '新到' }).waitFor();
  await row.getByRole('heading', { name: TITLE }).waitFor();
  await row.locator('.rq-contact', { hasText: PHONE }).waitFor();
  await row.locator('.rq-contact', { hasText: '王 秀英' }).or(row.locator('.rq-contact', { hasText: '王秀英' })).first().waitFor();
  assert.match(await row.locator('.rq-status').textContent(), /新申请/);
  assert.match(await row.locator('.rq-waiting').textContent(), /分钟/);

  // the public listing at the resident's node shows none of it
  const pub = await (await fetch(`${home.url}/open311/v2/requests/${rid}.json`)).text();
  assert.ok(!pub.includes(PHONE) && !pub.includes('榆树巷'), pub);

  // schedule it, with a reply
  await row.getByLabel('更改状态').selectOption('scheduled');
  await row.getByLabel('上门 / 办理时间').fill('2030-01-02T10:30');
  await row.getByLabel('给居民的回复').fill('周三上午十点半上门，请在家等候');
  await row.getByRole('button', { name: `保存并通知居民：${TITLE}` }).click();
  await page.getByRole('status').filter({ hasText: '已更新' }).first().waitFor();
  await row.locator('.rq-status', { hasText: '已安排' }).waitFor();
  await page.screenshot({ path: artifact('manage-requests-360.png'), fullPage: true });

  await waitFor(async () => {
    const r = await fetch(`${home.url}/open311/v2/requests/${rid}.json?token=${token}`);
    const [x] = await r.json();
    return x.alliance_status === 'scheduled' && x.status_notes === '周三上午十点半上门，请在家等候' &&
      x.expected_datetime && x.phone === PHONE;
  }, 'the status at the resident\'s node', 30000);

  // done: the row stays, closed, below the open ones
  const second = await request('第二位居民的申请');
  await page.locator(`#requests li[data-id="${second.service_request_id}"]`).waitFor({ timeout: 30000 });
  await row.getByLabel('更改状态').selectOption('done');
  await row.getByRole('button', { name: `保存并通知居民：${TITLE}` }).click();
  await row.locator('.rq-status', { hasText: '已完成' }).waitFor();
  await waitFor(async () => (await page.locator('#requests li').last().getAttribute('data-id')) === rid,
    'the done request after the open one');
  await waitFor(async () => {
    const [x] = await (await fetch(`${home.url}/open311/v2/requests/${rid}.json`)).json();
    return x.status === 'closed' && x.alliance_status === 'done';
  }, 'done at the resident\'s node', 30000);
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('a resident deletes her account: her request in the queue is withdrawn and her contact erased, live', async () => {
  const phone = '13800138456';
  const reg = await fetch(`${home.url}/api/v1/residents`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ phone, password: 'my long secret', name: '赵兰英' }) });
  const { token } = await reg.json();
  assert.equal(reg.status, 201);
  const r = await fetch(`${home.url}/open311/v2/requests.json`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Bearer ${token}` },
    body: new URLSearchParams({ service_code: code, description: '请周末上门', name: '赵兰英',
      phone, address_string: '柳树巷 3 号' }).toString() });
  const [{ service_request_id: rid }] = await r.json();
  assert.equal(r.status, 201);
  const { context, page, seen } = await consoleAt(owner);
  const row = page.locator(`#requests li[data-id="${rid}"]`);
  await row.locator('.rq-contact', { hasText: phone }).waitFor({ timeout: 30000 });

  const gone = await fetch(`${home.url}/api/v1/residents/me`, {
    method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
  assert.equal(gone.status, 204);
  await row.locator('.rq-contact', { hasText: '已清除：居民删除了账户' }).waitFor({ timeout: 30000 });
  await row.locator('.rq-status', { hasText: '已撤回' }).waitFor();
  await row.locator('.rq-withdrawn', { hasText: '居民已撤回这项申请' }).waitFor();
  assert.equal(await row.getAttribute('data-erased'), 'true');
  const text = await row.textContent();
  for (const personal of [phone, '赵兰英', '柳树巷'])
    assert.ok(!text.includes(personal), `${personal} still in the queue: ${text}`);
  assert.ok(text.includes('请周末上门'), 'what was asked stays');
  await page.screenshot({ path: artifact('manage-requests-erased-360.png'), fullPage: true });
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('the queue has no serious accessibility violations at 360 px and desktop, in both languages', async () => {
  await request('无障碍检查用的申请');
  for (const [width, label] of [[360, '360'], [1280, 'desktop']]) {
    const { context, page, seen } = await consoleAt(owner, width);
    await page.locator('#requests li').first().waitFor({ timeout: 30000 });
    assert.deepEqual(await axe(page), [], `queue at ${label}`);
    await page.locator('#lang-toggle').click();
    await page.getByRole('heading', { name: 'Residents\' service requests' }).waitFor();
    await page.locator('#requests li').first().getByLabel('Change status').waitFor();
    assert.deepEqual(await axe(page), [], `queue in English at ${label}`);
    await page.screenshot({ path: artifact(`manage-requests-en-${label}.png`), fullPage: true });
    await page.locator('#lang-toggle').click();
    assert.deepEqual(seen.errors, []);
    await context.close();
  }
});
