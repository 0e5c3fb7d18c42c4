// one-vote.test.mjs: one resident, one vote (issue 13, finding 9) in
// Debian's Chromium at 360 px against a real alliance of a hub and two
// nodes.
//
// The first node is restarted with an [sms] gateway (the harness's
// startSmsGateway), which checks each post's HMAC-SHA256 signature (over
// "TIMESTAMP.BODY" with the shared secret) and keeps the messages, as a
// resident's phone would receive them. A resident registers there with
// her phone, is asked for the code on the account page (a wrong one is
// named next to the field), enters the one texted to her, and votes once.
// The second node has no gateway: a resident registered with her phone is
// told on the poll's page why she cannot vote yet and what to do; the
// manager sees her account in the console, confirms it, and her vote then
// counts once. axe-core checks the code step and the unconfirmed poll page
// in both languages.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { artifact, axe, launch, managerLogIn, newPage, restartNode, startAlliance, startSmsGateway, waitFor } from './lib/harness.mjs';

let alliance, browser, gateway, smsNode, plainNode, poll, restarted;
const SMS_SECRET = 'the gateway secret of this test';
const PASSWORD = 'my long secret';
const texts = [];          // messages the gateway took: {ok, key, msg}

async function codeFor(phone, nth = 1) {
  const mine = () => texts.filter((x) => x.msg && x.msg.to === `+86${phone}`);
  await waitFor(async () => mine().length >= nth, `text ${nth} to ${phone}`, 20000);
  const x = mine()[nth - 1];
  assert.ok(x.ok, 'the text was signed with the shared secret');
  assert.equal(x.key, x.msg.id);
  return x.msg.code;
}

// restartWithSms: the node of community cid restarted with an [sms]
// section (restartNode).
function restartWithSms(node, url) {
  return restartNode(alliance, node, `[sms]\nurl = ${url}\nsecret = ${SMS_SECRET}\n`);
}

before(async () => {
  alliance = await startAlliance(2);
  [smsNode, plainNode] = alliance.nodes;
  gateway = await startSmsGateway(SMS_SECRET, texts);
  await restartWithSms(smsNode, `http://127.0.0.1:${gateway.address().port}/sms`);
  restarted = true;
  const out = await alliance.ctl('poll', 'create', '--question', '社区食堂延长开放时间吗？',
    '--option', '赞成', '--option', '反对', '--closes', '30m');
  poll = out.split(/\s+/)[0];
  for (const n of alliance.nodes)
    await waitFor(async () => (await fetch(`${n.url}/api/v1/polls/${poll}`)).ok,
      `the district poll at ${n.community}`, 30000);
  browser = await launch();
}, { timeout: 240000 });

after(async () => {
  await browser?.close();
  await alliance?.stop();
  gateway?.close();
  assert.ok(!alliance || restarted, 'the node was restarted with a gateway');
});

// ---- helpers -----------------------------------------------------------------------------

async function counts(node) {
  const r = await fetch(`${node.url}/api/v1/polls/${poll}`);
  return (await r.json()).counts;
}

async function register(page, node, phone) {
  await page.goto(`${node.url}/account.html`);
  await page.locator('#reg-phone').fill(phone);
  await page.locator('#reg-password').fill(PASSWORD);
  await page.locator('#register-form').getByRole('button', { name: '注册' }).click();
}

async function axeBothLanguages(page, what) {
  for (const lang of ['zh', 'en']) {
    assert.deepEqual(await axe(page), [], `${what} (${lang})`);
    await page.locator('#lang-toggle').click();
  }
}

// ---- with a gateway: the code step ---------------------------------------------------------

test('a resident registers with the code texted to her phone and votes once', async () => {
  const { context, page, seen } = await newPage(browser);
  const phone = '13812345601';
  await register(page, smsNode, phone);
  const step = page.locator('#verify-step');
  await step.waitFor();
  await page.locator('#verify-sent').filter({ hasText: '验证码已发到 138****5601，10 分钟内有效' }).waitFor();
  assert.equal(await page.locator('#signed-out').isHidden(), true);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'ver-code');
  const code = await codeFor(phone);
  await page.screenshot({ path: artifact('account-verify-360.png'), fullPage: true });
  await axeBothLanguages(page, 'the code step at 360 px');

  // not six digits, then a wrong code: named next to the field
  const confirm = () => page.locator('#verify-form').getByRole('button', { name: '确认' }).click();
  await page.locator('#ver-code').fill('12a');
  await confirm();
  await page.locator('#ver-code-error').filter({ hasText: '6 位数字' }).waitFor();
  await page.locator('#ver-code').fill(code === '000000' ? '000001' : '000000');
  await confirm();
  await page.locator('#ver-code-error').filter({ hasText: '验证码不对或已过期' }).waitFor();
  assert.equal(await page.locator('#ver-code').getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#ver-code').getAttribute('aria-describedby'), /verify-sent ver-code-error/);

  // the right one: signed in, and she may vote
  await page.locator('#ver-code').fill(code);
  await confirm();
  await page.locator('#signed-in').waitFor();
  await page.locator('#me').filter({ hasText: '可以投票' }).waitFor();

  await page.goto(`${smsNode.url}/poll.html?id=${encodeURIComponent(poll)}`);
  await page.getByLabel('赞成').check();
  await page.locator('#vote-button').click();
  await page.locator('#vote-message').filter({ hasText: '您的投票已记录' }).waitFor();
  assert.deepEqual(await counts(smsNode), [1, 0]);

  // registering the phone again on another device: the same code step,
  // a text saying it is registered, and no second vote to be had
  const other = await newPage(browser);
  await register(other.page, smsNode, phone);
  await other.page.locator('#verify-sent').filter({ hasText: '138****5601' }).waitFor();
  await waitFor(async () => texts.filter((x) => x.msg && x.msg.to === `+86${phone}`).length >= 2,
    'the second text', 20000);
  const told = texts.filter((x) => x.msg && x.msg.to === `+86${phone}`)[1].msg;
  assert.equal(told.kind, 'already_registered');
  assert.equal(told.code, undefined);
  await other.context.close();
  assert.deepEqual(await counts(smsNode), [1, 0]);
  assert.deepEqual(seen.errors, []);
  await context.close();
});

// ---- without a gateway: the manager confirms ---------------------------------------------------

test('without a gateway the poll page says why she cannot vote; the manager confirms her in the console; her vote counts once', async () => {
  const { context, page, seen } = await newPage(browser);
  const phone = '13912345602';
  await register(page, plainNode, phone);
  await page.locator('#signed-in').waitFor();
  await page.locator('#me').filter({ hasText: '暂不能投票' }).waitFor();

  const pollUrl = `${plainNode.url}/poll.html?id=${encodeURIComponent(poll)}`;
  await page.goto(pollUrl);
  const note = page.locator('#unconfirmed-note');
  await note.filter({ hasText: '还没有经过社区确认' }).waitFor();
  assert.equal(await page.locator('#vote-button').count(), 0);
  await page.screenshot({ path: artifact('poll-unconfirmed-360.png'), fullPage: true });
  await axeBothLanguages(page, 'the poll page of an unconfirmed resident at 360 px');
  assert.deepEqual(await counts(plainNode), [0, 0]);

  // the manager's console lists her account and confirms it
  const mgr = await newPage(browser);
  await managerLogIn(mgr.page, plainNode, alliance.env.MANAGER_PASSWORD);
  await mgr.page.getByRole('navigation', { name: '管理后台的页面' })
    .getByRole('link', { name: '投票与居民账户' }).click();
  const card = mgr.page.locator('#residents li[data-resident]').filter({ hasText: phone });
  await card.waitFor();
  await mgr.page.screenshot({ path: artifact('console-residents-360.png'), fullPage: true });
  await card.getByRole('button', { name: /确认可以投票/ }).click();
  await mgr.page.locator('#status').filter({ hasText: '已确认' }).waitFor();
  await waitFor(async () => (await card.count()) === 0, 'the confirmed account to leave the list');
  assert.deepEqual(mgr.seen.errors, []);
  await mgr.context.close();

  // now she votes, once
  await page.goto(pollUrl);
  await page.getByLabel('反对').check();
  await page.locator('#vote-button').click();
  await page.locator('#vote-message').filter({ hasText: '您的投票已记录' }).waitFor();
  assert.deepEqual(await counts(plainNode), [0, 1]);
  assert.equal(await page.locator('#vote-button').count(), 0);
  assert.deepEqual(seen.errors, []);
  await context.close();
});
