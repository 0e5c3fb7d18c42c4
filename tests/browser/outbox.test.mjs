// outbox.test.mjs: the outbox's pages (issue 19, items 1 and 4) in
// Debian's Chromium at 360 px against a real alliance of a hub and one
// node, restarted with an [sms] gateway: the harness's startSmsGateway,
// which checks each post's X-Alliance-Signature (t=T,v1=HMAC-SHA256 over
// "T.BODY" with the shared secret).
//
// The manager follows the console's link to its outbox page, registers a
// webhook endpoint (a plain http:// address is refused in the form,
// nothing stored), sees its secret once and the endpoint in the list. A resident opts into SMS alerts on her account
// page (a bad number is named at its field), and the next bulletin at her
// threshold reaches the gateway addressed to her phone. axe-core checks
// both pages in both languages.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { artifact, axe, launch, managerLogIn, newPage, newResident, restartNode, startAlliance, startSmsGateway, waitFor } from './lib/harness.mjs';

let alliance, browser, gateway, node;
const SMS_SECRET = 'the gateway secret of the outbox test';
const texts = [];          // posts the gateway took: {ok, key, msg}

function basic() {
  return 'Basic ' + Buffer.from(`manager:${alliance.env.MANAGER_PASSWORD}`).toString('base64');
}

before(async () => {
  alliance = await startAlliance(1);
  [node] = alliance.nodes;
  gateway = await startSmsGateway(SMS_SECRET, texts);
  await restartNode(alliance, node,
    `[sms]\nurl = http://127.0.0.1:${gateway.address().port}/sms\nsecret = ${SMS_SECRET}\n`);
  browser = await launch();
}, { timeout: 240000 });

after(async () => {
  await browser?.close();
  await alliance?.stop();
  gateway?.close();
});

async function axeBothLanguages(page, what) {
  for (const lang of ['zh', 'en']) {
    assert.deepEqual(await axe(page), [], `${what} (${lang})`);
    await page.locator('#lang-toggle').click();
  }
}

async function endpoints() {
  const r = await fetch(`${node.url}/api/v1/outbox/endpoints`, { headers: { Authorization: basic() } });
  assert.equal(r.status, 200);
  return (await r.json()).items;
}

test('the manager registers a webhook endpoint and sees its secret once', async () => {
  const { context, page, seen } = await newPage(browser);
  await managerLogIn(page, node, alliance.env.MANAGER_PASSWORD);
  // the console links to the outbox's own page, where the session holds
  await page.getByRole('navigation', { name: '管理后台的页面' })
    .getByRole('link', { name: '消息推送' }).click();
  await page.waitForURL(/\/manage\/outbox\.html$/);
  await page.locator('#endpoints').filter({ hasText: '还没有登记接收地址' }).waitFor();
  await page.getByRole('button', { name: '登记接收地址' }).click();
  const form = page.locator('#endpoint-form');
  await form.getByLabel('名称').fill('社区公众号');
  await form.getByLabel('接收地址（https://…）').fill('http://wx.example.cn/hook');
  await form.getByLabel('接收哪些预警').selectOption('moderate');
  await form.getByLabel('服务申请的进展').check();
  await form.getByRole('button', { name: '保存' }).click();
  await page.locator('#endpoint-form .form-error').filter({ hasText: 'url: must start with https://' }).waitFor();
  assert.deepEqual(await endpoints(), []);

  await form.getByLabel('接收地址（https://…）').fill('https://wx.example.cn/hook');
  await form.getByRole('button', { name: '保存' }).click();
  const secret = page.locator('#endpoint-secret code');
  await secret.waitFor();
  assert.match(await secret.textContent(), /^[0-9a-f]{64}$/);
  assert.equal(await page.locator('#endpoint-form').isHidden(), true);
  const row = page.locator('#endpoints li[data-endpoint]');
  await row.filter({ hasText: '社区公众号' }).waitFor();
  assert.match(await row.textContent(), /https:\/\/wx\.example\.cn\/hook/);
  assert.match(await row.textContent(), /较重及以上/);
  const [ep] = await endpoints();
  assert.equal(ep.bulletins, 'moderate');
  assert.equal(ep.requests, true);
  assert.equal(ep.check_in, false);
  assert.equal(ep.secret, undefined);
  await page.locator('#dead-letters').filter({ hasText: '没有发送失败的消息' }).waitFor();
  await page.screenshot({ path: artifact('console-endpoints-360.png'), fullPage: true });
  await axeBothLanguages(page, 'the outbox page with an endpoint at 360 px');
  // the secret is not shown again
  await page.reload();
  await row.first().waitFor();
  assert.equal(await page.locator('#endpoint-secret code').count(), 0);
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('a resident opts into SMS alerts and the next bulletin reaches her phone', async () => {
  const { context, page, seen } = await newPage(browser);
  // a resident of a household code, signed in on this browser
  await newResident(page, node, alliance.env.MANAGER_PASSWORD, 'account.html');
  await page.reload();
  await page.locator('#signed-in').getByRole('link', { name: '短信和通知提醒' }).click();
  await page.waitForURL(/\/notifications\.html$/);
  const form = page.locator('#channels-form');
  await form.waitFor();
  await form.getByLabel('用短信提醒我').check();
  await form.getByLabel('手机号', { exact: true }).fill('12345');
  await page.getByRole('button', { name: '保存提醒设置' }).click();
  await page.locator('#ch-phone-error').filter({ hasText: '11 位手机号' }).waitFor();
  assert.equal(await form.getByLabel('手机号', { exact: true }).getAttribute('aria-invalid'), 'true');

  await form.getByLabel('手机号', { exact: true }).fill('138 0013 8077');
  await form.getByLabel('哪些预警发短信').selectOption('moderate');
  await page.getByRole('button', { name: '保存提醒设置' }).click();
  await page.locator('#ch-status').filter({ hasText: '短信将发到 138****8077' }).waitFor();
  await page.screenshot({ path: artifact('account-sms-360.png'), fullPage: true });
  await axeBothLanguages(page, 'the account page with SMS alerts at 360 px');

  // her choice stays after a reload
  await page.reload();
  await waitFor(async () => page.getByLabel('用短信提醒我').isChecked(), 'the choice after a reload');
  assert.equal(await page.getByLabel('哪些预警发短信').inputValue(), 'moderate');

  await alliance.ctl('bulletin', 'issue', '--headline', '北区明日停水', '--description', '管道检修。',
    '--cause', '检修。', '--response', '送水车。', '--instructions', '请提前储水。',
    '--severity', 'moderate');
  const mine = () => texts.filter((x) => x.msg && x.msg.payload && x.msg.payload.to === '+8613800138077');
  await waitFor(async () => mine().length >= 1, 'the SMS alert at the gateway', 30000);
  const [t] = mine();
  assert.ok(t.ok, 'signed with the gateway secret');
  assert.equal(t.key, t.msg.id);
  assert.equal(t.msg.kind, 'bulletin');
  assert.match(t.msg.payload.text, /北区明日停水/);
  assert.deepEqual(seen.errors, []);
  await context.close();
});
