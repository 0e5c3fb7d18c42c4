// quota.test.mjs: the manager console when the community is at its quota
// (issue 13, finding 2), in Debian's Chromium against a real alliance.
//
// The node's own records are filled up to the default quota (5000) with a
// bulk import; the console's sync panel shows the quota used, and adding a
// service from the form is refused with the quota named in words, nothing
// saved.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { artifact, axe, launch, managerLogIn, newPage, publish, startAlliance } from './lib/harness.mjs';

let alliance, browser, node;

async function syncState() {
  const auth = Buffer.from(`manager:${alliance.env.MANAGER_PASSWORD}`).toString('base64');
  const r = await fetch(`${node.url}/api/v1/manager/sync`, { headers: { Authorization: `Basic ${auth}` } });
  assert.equal(r.status, 200);
  return r.json();
}

before(async () => {
  alliance = await startAlliance(1);
  [node] = alliance.nodes;
  const { quota } = await syncState();
  const room = quota.records.limit - quota.records.used;
  await publish(alliance, node.url, 'services', Array.from({ length: room }, (_, i) => ({
    title: `配额测试服务 ${i}`, category: 'other', delivery: 'walk-in',
  })));
  browser = await launch();
}, { timeout: 300000 });

after(async () => {
  await browser?.close();
  await alliance?.stop();
});

test('at its quota, the console says so and a new service is refused with the quota named', async () => {
  const { quota } = await syncState();
  assert.equal(quota.records.used, quota.records.limit);
  const { context, page, seen } = await newPage(browser);
  await managerLogIn(page, node, alliance.env.MANAGER_PASSWORD);
  await page.locator('#console').waitFor();
  await page.locator('#sync').filter({ hasText: `记录 ${quota.records.limit} / ${quota.records.limit}` })
    .waitFor({ timeout: 20000 });

  await page.getByRole('button', { name: '添加服务' }).click();
  const form = page.getByRole('form', { name: '添加服务' });
  await form.getByRole('textbox', { name: '名称' }).fill('超出配额的服务');
  await form.getByLabel('类别').selectOption('elderly-care');
  await form.getByRole('button', { name: '保存' }).click();
  const said = form.locator('.form-error');
  await said.filter({ hasText: '服务和通知条数上限' }).waitFor();
  assert.match(await said.innerText(), /^未保存：.*（quota records: .*at most 5000/s);
  assert.equal(await form.isVisible(), true, 'the form stays open with what was typed');
  assert.equal((await syncState()).quota.records.used, quota.records.limit, 'nothing was saved');
  assert.deepEqual(await axe(page), [], 'axe');
  await page.screenshot({ path: artifact('manage-over-quota-360.png'), fullPage: false });
  assert.deepEqual(seen.errors.filter((e) => !/429/.test(e)), []);
  await context.close();
});
