// request-queue.test.mjs: the manager's queue of requests when one
// community sends many (issue 13, finding 4), in Debian's Chromium at
// 360 px against a real alliance of a hub and three nodes.
//
// The owner publishes a service; a neighbouring community's residents send
// 14 requests for it, another community's 8, and one of the owner's own
// residents 1, last. In the console the owner's resident comes first, then
// each community's longest waiting in turn; the line above the list says
// where the open requests come from; the queue pages 20 at a time with the
// total, and the second page holds the rest. No sideways scrolling;
// axe-core finds nothing serious; screenshots go to build/browser-artifacts/.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { artifact, axe, getJson, launch, managerLogIn, newPage, publish, startAlliance, waitFor } from './lib/harness.mjs';

let alliance, browser, owner, busy, quiet, code;

async function ask(node, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${node.url}/open311/v2/requests.json`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ service_code: code, description: `第 ${i + 1} 件`,
        name: '王秀英', phone: '13800138077', address_string: '榆树巷 5 号' }) });
    const body = await r.json();
    assert.equal(r.status, 201, JSON.stringify(body));
    ids.push(body[0].service_request_id);
  }
  return ids;
}

async function queueTotal() {
  const auth = Buffer.from(`manager:${alliance.env.MANAGER_PASSWORD}`).toString('base64');
  const r = await fetch(`${owner.url}/api/v1/requests?limit=1`, { headers: { Authorization: `Basic ${auth}` } });
  return (await r.json()).total;
}

before(async () => {
  alliance = await startAlliance(3);
  [owner, busy, quiet] = alliance.nodes;
  const [id] = await publish(alliance, owner.url, 'services', [
    { title: `助浴服务 ${Date.now() % 100000}`, category: 'elderly-care', delivery: ['home-visit'] }]);
  code = `${owner.community}.${id}`;
  for (const node of [busy, quiet])
    await waitFor(async () => (await (await fetch(`${node.url}/open311/v2/services.json`)).json())
      .some((s) => s.service_code === code), `${code} at ${node.community}`, 30000);
  browser = await launch();
}, { timeout: 180000 });

after(async () => {
  await browser?.close();
  await alliance?.stop();
});

test('a flood from one community takes its turns and the queue pages with a total', async () => {
  await ask(busy, 14);
  await ask(quiet, 8);
  const [mine] = await ask(owner, 1);
  await waitFor(async () => (await queueTotal()) === 23, 'all 23 requests at the owner', 30000);

  const { context, page, seen } = await newPage(browser);
  await managerLogIn(page, owner, alliance.env.MANAGER_PASSWORD);
  const rows = page.locator('#requests li.rq');
  await waitFor(async () => (await rows.count()) === 20, 'the first page of 20', 20000);

  const ids = await rows.evaluateAll((lis) => lis.map((li) => li.getAttribute('data-id')));
  assert.equal(ids[0], mine, 'the community\'s own resident first');
  assert.deepEqual(ids.slice(1, 3).map((i) => i.split('.')[0]).sort(),
    [busy.community, quiet.community].sort(), 'then each community\'s longest waiting');
  assert.equal(ids.filter((i) => i.startsWith(quiet.community + '.')).length, 8,
    'the quieter community is all on the first page');
  await page.locator('#requests-count', { hasText: '待处理 23 件' }).waitFor();
  const names = Object.fromEntries((await getJson(`${owner.url}/api/v1/communities`)).items
    .map((c) => [c.id, c.name]));
  const origins = await page.locator('#requests-origins').textContent();
  assert.ok(origins.includes(`${names[busy.community]} 14 件`), origins);
  assert.ok(origins.indexOf(`${names[busy.community]} 14 件`) <
    origins.indexOf(`${names[quiet.community]} 8 件`), origins);
  await page.locator('#requests-range', { hasText: '第 1–20 件，共 23 件' }).waitFor();
  assert.equal(await page.getByRole('button', { name: '上一页' }).isDisabled(), true);
  const [sw, cw] = await page.evaluate(() => [document.documentElement.scrollWidth,
    document.documentElement.clientWidth]);
  assert.ok(sw <= cw, `${sw} px wide in a ${cw} px window`);
  await page.locator('#h-requests').scrollIntoViewIfNeeded();
  await page.screenshot({ path: artifact('queue-turns-360.png') });
  assert.deepEqual(await axe(page), [], 'the console with a paged queue at 360 px');

  await page.getByRole('button', { name: '下一页' }).click();
  await page.locator('#requests-range', { hasText: '第 21–23 件，共 23 件' }).waitFor();
  await waitFor(async () => (await rows.count()) === 3, 'the second page of 3', 10000);
  const rest = await rows.evaluateAll((lis) => lis.map((li) => li.getAttribute('data-id')));
  assert.ok(rest.every((i) => i.startsWith(busy.community + '.')), rest.join(' '));
  assert.equal(new Set([...ids, ...rest]).size, 23);
  assert.equal(await page.getByRole('button', { name: '下一页' }).isDisabled(), true);
  await page.screenshot({ path: artifact('queue-page-2-360.png') });
  await page.getByRole('button', { name: '上一页' }).click();
  await page.locator('#requests-range', { hasText: '第 1–20 件，共 23 件' }).waitFor();
  assert.deepEqual(seen.errors.filter((e) => !/401/.test(e)), []);
  await context.close();
});
