// polls-accounts.test.mjs: a resident's account and the polls (issue 12,
// items 3 and 4) in Debian's Chromium at 360 px against a real alliance of
// a hub and three nodes.
//
// Bad input in the register and sign-in forms is named next to its field
// and creates nothing; a resident registers with a household code the
// manager API made, setting a phone and password, signs out (the token
// revoked at the node), signs in again, votes in a district poll made by
// alliancectl, sees the result with her vote, is refused a second vote in
// words, and the district's counts equal the sum of the communities' shown
// (votes cast at two nodes); a manager creates a community poll and closes
// it from the console, and the resident sees it closed with its outcome.
// A resident gives her name when registering (a name too long is named
// next to its field), edits it on the account page, and finds her name
// and phone already filled in on a service's request form. At the hub,
// which keeps no residents, the account page and a poll's page say to use
// one's own community's site, and the poll's results still show; its
// polls page lists the district's open polls before any community's.
// axe-core checks the pages at 360 px and desktop in both languages.
//
// A second tab of the same resident keeps the page from before a vote: its
// timers are paused with Playwright's clock, so its refresh cannot hide
// the form before the test presses the vote button there.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { artifact, axe, launch, managerLogIn, publish, startAlliance, waitFor, watch } from './lib/harness.mjs';

let alliance, browser, home, other, districtPoll, communityPoll;
const PHONE = '13912345678';
const SECRET = 'my long secret';

before(async () => {
  alliance = await startAlliance(3);
  [home, other] = alliance.nodes;   // the resident's node; another voting community
  const out = await alliance.ctl('poll', 'create', '--question', '周日延长图书馆开放时间吗？',
    '--option', '赞成', '--option', '反对', '--closes', '30m');
  districtPoll = out.split(/\s+/)[0];
  assert.match(districtPoll, /^district\./);
  for (const n of alliance.nodes)
    await waitFor(async () => (await fetch(`${n.url}/api/v1/polls/${districtPoll}`)).ok,
      `the district poll at ${n.community}`, 30000);
  browser = await launch();
}, { timeout: 180000 });

after(async () => {
  await browser?.close();
  await alliance?.stop();
});

// ---- helpers ------------------------------------------------------------------

async function managerApi(node, method, path, body) {
  const auth = Buffer.from(`manager:${alliance.env.MANAGER_PASSWORD}`).toString('base64');
  const r = await fetch(`${node.url}${path}`, {
    method, headers: { 'Content-Type': 'application/json', Authorization: `Basic ${auth}` },
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, data: await r.json().catch(() => null) };
}

async function residentApi(node, method, path, token, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(`${node.url}${path}`, { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, data: await r.json().catch(() => null) };
}

async function householdCode(node) {
  const r = await managerApi(node, 'POST', '/api/v1/household-codes', {});
  assert.equal(r.status, 201);
  return r.data.code;
}

// a resident at node by API (a household code and a phone), for votes
// cast elsewhere than in the page
async function apiResident(node, phone) {
  const r = await residentApi(node, 'POST', '/api/v1/residents', null,
    { household_code: await householdCode(node), phone, password: SECRET });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  return r.data.token;
}

async function newPage(width = 360, height = 800, context = null) {
  const ctx = context || await browser.newContext({ viewport: { width, height } });
  const page = await ctx.newPage();
  return { context: ctx, page, seen: watch(page) };
}

async function fieldSays(page, id, text) {
  const box = page.locator(`#${id}-error`);
  await box.filter({ hasText: text }).waitFor();
  assert.equal(await page.locator(`#${id}`).getAttribute('aria-invalid'), 'true', `${id} marked invalid`);
  assert.match(await page.locator(`#${id}`).getAttribute('aria-describedby'), new RegExp(`${id}-error`));
}

async function token(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem('alliance.resident') || 'null'));
}

// counts of a result list: [[option, count], ...]
async function shownCounts(list) {
  return list.locator('li.result').evaluateAll((lis) =>
    lis.map((li) => [Number(li.dataset.option), Number(li.dataset.count)]));
}

// ---- bad input ----------------------------------------------------------------------

test('bad input in the register and sign-in forms is named next to the field and creates nothing', async () => {
  const { context, page, seen } = await newPage();
  await page.goto(`${home.url}/account.html`);
  await page.getByRole('heading', { name: '注册' }).waitFor();
  const register = page.locator('#register-form');
  const signin = page.locator('#signin-form');
  const submit = () => register.getByRole('button', { name: '注册' }).click();

  await submit();   // empty
  await fieldSays(page, 'reg-phone', '请填写手机号');
  await fieldSays(page, 'reg-password', '请填写密码');

  await page.locator('#reg-phone').fill('138 0013 8000 1234 5678 9');
  await page.locator('#reg-password').fill('short');
  await page.locator('#reg-code').fill('abc');
  await submit();
  await fieldSays(page, 'reg-phone', '手机号太长了');
  await fieldSays(page, 'reg-password', '密码太短了');
  await fieldSays(page, 'reg-code', '登记码应为 32 位');

  await page.locator('#reg-phone').fill('12345678901');
  await page.locator('#reg-password').fill('x'.repeat(201));
  await page.locator('#reg-code').fill('a'.repeat(40));
  await submit();
  await fieldSays(page, 'reg-phone', '正确的 11 位手机号');
  await fieldSays(page, 'reg-password', '密码太长了');
  await fieldSays(page, 'reg-code', '登记码太长了');

  // a well-formed code the node never handed out: the node's 422, next to the code
  await page.locator('#reg-phone').fill('13700137000');
  await page.locator('#reg-password').fill(SECRET);
  await page.locator('#reg-code').fill('0'.repeat(32));
  await submit();
  await fieldSays(page, 'reg-code', '无效或已经用过');
  assert.equal(await page.locator('#reg-phone').getAttribute('aria-invalid'), null);
  // a phone registered already: the node's 409, next to the phone
  await apiResident(home, '13700137001');
  await page.locator('#reg-code').fill('');
  await page.locator('#reg-phone').fill('137 0013 7001');
  await submit();
  await fieldSays(page, 'reg-phone', '已经注册过了，请直接登录');
  await page.screenshot({ path: artifact('account-register-errors-360.png'), fullPage: true });

  // sign in: empty, a wrong phone, then a phone nobody registered
  await signin.getByRole('button', { name: '登录' }).click();
  await fieldSays(page, 'in-phone', '请填写手机号');
  await fieldSays(page, 'in-password', '请填写密码');
  await page.locator('#in-phone').fill('1380013800');
  await page.locator('#in-password').fill(SECRET);
  await signin.getByRole('button', { name: '登录' }).click();
  await fieldSays(page, 'in-phone', '正确的 11 位手机号');
  await page.locator('#in-phone').fill('13700137000');
  await signin.getByRole('button', { name: '登录' }).click();
  await fieldSays(page, 'in-password', '手机号或密码不正确');
  await page.screenshot({ path: artifact('account-signin-errors-360.png'), fullPage: true });

  // nothing was created: no token here, and the phone is still free at the node
  assert.equal(await token(page), null);
  const r = await residentApi(home, 'POST', '/api/v1/residents/login', null,
    { phone: '13700137000', password: SECRET });
  assert.equal(r.status, 401);
  assert.deepEqual(seen.errors, []);
  await context.close();
});

// ---- register, sign out, sign in, vote -------------------------------------------------

test('a resident registers with a household code, signs out, signs in again, votes in a district poll and sees the district result', async () => {
  // a vote at another community's node first
  const elsewhere = await apiResident(other, '13800000001');
  assert.equal((await residentApi(other, 'POST', `/api/v1/polls/${districtPoll}/votes`, elsewhere,
    { option: 1 })).status, 201);

  const { context, page, seen } = await newPage();
  await page.goto(`${home.url}/poll.html?id=${encodeURIComponent(districtPoll)}`);
  await page.getByRole('heading', { name: '周日延长图书馆开放时间吗？' }).waitFor();
  await page.getByText('全区投票').waitFor();
  // sign-in is asked only when voting: a link there and back
  await page.getByRole('link', { name: '登录后投票' }).click();
  await page.waitForURL(/account\.html\?next=/);

  const code = await householdCode(home);
  await page.locator('#reg-code').fill(code);
  await page.locator('#reg-phone').fill('139 1234 5678');
  await page.locator('#reg-password').fill(SECRET);
  await page.locator('#register-form').getByRole('button', { name: '注册' }).click();
  await page.waitForURL(/poll\.html\?id=/);
  await page.locator('#vote-form').waitFor();
  const first = await token(page);
  assert.ok(first && first.token, 'signed in after registering');
  assert.match(await page.locator('#account-link').textContent(), /我的账户/);

  // the account: phone masked; sign out revokes the token at the node
  await page.goto(`${home.url}/account.html`);
  await page.locator('#me').filter({ hasText: '139****5678' }).waitFor();
  assert.doesNotMatch(await page.locator('main').textContent(), /13912345678/);
  await page.screenshot({ path: artifact('account-signed-in-360.png'), fullPage: true });
  await page.getByRole('button', { name: '退出登录' }).click();
  await page.locator('#account-status').filter({ hasText: '您已退出登录' }).waitFor();
  assert.equal(await token(page), null);
  assert.equal((await residentApi(home, 'GET', '/api/v1/residents/me', first.token)).status, 401);

  // sign in again with phone and password, back to the poll
  await page.goto(`${home.url}/account.html?next=${encodeURIComponent(`poll.html?id=${districtPoll}`)}`);
  await page.locator('#in-phone').fill(PHONE);
  await page.locator('#in-password').fill(SECRET);
  await page.locator('#signin-form').getByRole('button', { name: '登录' }).click();
  await page.waitForURL(/poll\.html\?id=/);
  await page.locator('#vote-form').waitFor();

  // a second tab of hers, opened before she votes, its refresh paused
  const tab = await newPage(360, 800, context);
  await tab.page.clock.install();
  await tab.page.goto(`${home.url}/poll.html?id=${encodeURIComponent(districtPoll)}`);
  await tab.page.locator('#vote-form').waitFor();
  await tab.page.clock.pauseAt(Date.now() + 200);

  // vote: nothing chosen is named, then her choice
  await page.getByRole('button', { name: '投票' }).click();
  await page.locator('#choose-error').filter({ hasText: '请先选择一项' }).waitFor();
  await page.getByRole('radio', { name: '赞成' }).check();
  await page.getByRole('button', { name: '投票' }).click();
  await page.locator('#vote-message').filter({ hasText: '您的投票已记录' }).waitFor();
  await page.locator('#results').waitFor();
  await page.getByText('我选了：赞成').waitFor();
  const mine = page.locator('.result-list.total li.result.mine');
  await mine.filter({ hasText: /赞成\s*（您的选择）/ }).waitFor();

  // the district result (live, as the other community's tally comes down)
  // equals the sum of the communities' shown
  await waitFor(async () => (await page.locator('.community-result').count()) === 2,
    'both voting communities on the page', 30000);
  const total = await shownCounts(page.locator('.result-list.total'));
  assert.deepEqual(total, [[0, 1], [1, 1]]);
  const parts = [];
  for (const c of await page.locator('.community-result').all())
    parts.push(await shownCounts(c.locator('.result-list.part')));
  const summed = total.map(([o]) => [o, parts.reduce((s, p) => s + p[o][1], 0)]);
  assert.deepEqual(summed, total);
  assert.equal(await page.locator('.community-result').first().getAttribute('data-community-id'), home.community);
  assert.match(await page.locator('.result-list.total').textContent(), /1 票（50%）/);
  await page.screenshot({ path: artifact('poll-district-result-360.png'), fullPage: true });

  // the second vote, from the other tab: refused in words
  await tab.page.getByRole('radio', { name: '反对' }).check();
  await tab.page.getByRole('button', { name: '投票' }).click();
  await tab.page.locator('#vote-message').filter({ hasText: '您已经投过票了，每人只能投一次。' }).waitFor();
  await tab.page.screenshot({ path: artifact('poll-second-vote-360.png'), fullPage: true });
  const res = await residentApi(home, 'GET', `/api/v1/polls/${districtPoll}`, null);
  assert.deepEqual(res.data.results.counts, [1, 1]);

  // my votes on the account page
  await page.goto(`${home.url}/account.html`);
  await page.locator('#my-votes').filter({ hasText: '我选了：赞成' }).waitFor();
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(tab.seen.errors, []);
  await context.close();
});

// ---- the manager's polls, a closed poll --------------------------------------------------

test('a manager creates a community poll and closes it from the console at 360 px; the resident sees its outcome', async () => {
  const { context, page, seen } = await newPage();
  await managerLogIn(page, home, alliance.env.MANAGER_PASSWORD);
  await page.locator('#console').waitFor();
  // the console's pages: polls have their own, one tap from every page
  const pagesNav = page.getByRole('navigation', { name: '管理后台的页面' });
  await pagesNav.getByRole('link', { name: '投票与居民账户' }).click();
  await page.waitForURL(/\/manage\/polls\.html$/);
  assert.equal(await pagesNav.getByRole('link', { name: '投票与居民账户' }).getAttribute('aria-current'), 'page');
  await page.getByRole('button', { name: '发起投票' }).click();
  const form = page.locator('#poll-form');
  await form.getByRole('button', { name: '发布投票' }).click();
  await page.locator('#p-question-error').filter({ hasText: '请填写问题' }).waitFor();
  await page.locator('#p-option-1-error').filter({ hasText: '请填写这个选项' }).waitFor();
  await page.getByLabel('问题').fill('小区花园种什么树？');
  await page.getByLabel('选项 1').fill('桂花');
  await page.getByLabel('选项 2').fill('桂花');
  await form.getByRole('button', { name: '增加选项' }).click();
  await page.getByLabel('选项 3').fill('银杏');
  await form.getByRole('button', { name: '发布投票' }).click();
  await page.locator('#p-option-2-error').filter({ hasText: '重复' }).waitFor();
  await page.getByLabel('选项 2').fill('樱花');
  await form.getByRole('button', { name: '发布投票' }).click();
  const row = page.locator('#polls li[data-poll]').filter({ hasText: '小区花园种什么树？' });
  await row.waitFor();
  communityPoll = await row.getAttribute('data-poll');
  assert.ok(communityPoll.startsWith(`${home.community}.`));

  // a resident's tab opened while it is open, its refresh paused
  const resident = await newPage();
  await resident.page.goto(`${home.url}/account.html`);
  await resident.page.locator('#in-phone').fill(PHONE);
  await resident.page.locator('#in-password').fill(SECRET);
  await resident.page.locator('#signin-form').getByRole('button', { name: '登录' }).click();
  await resident.page.locator('#signed-in').waitFor();
  const voter = await token(resident.page);
  assert.equal((await residentApi(home, 'POST', `/api/v1/polls/${communityPoll}/votes`, voter.token,
    { option: 2 })).status, 201);
  // another resident's phone, signed in (by the API) before the poll closes
  const late = await newPage();
  await late.page.clock.install();
  const stranger = await apiResident(home, '13800000002');
  await late.page.goto(`${home.url}/account.html`);
  await late.page.evaluate((t) => localStorage.setItem('alliance.resident', JSON.stringify({ token: t })), stranger);
  await late.page.goto(`${home.url}/poll.html?id=${encodeURIComponent(communityPoll)}`);
  await late.page.locator('#vote-form').waitFor();
  await late.page.clock.pauseAt(Date.now() + 200);

  await row.filter({ hasText: '银杏：1 票' }).waitFor({ timeout: 15000 });
  const close = row.getByRole('button', { name: /结束投票/ });
  await close.click();
  await row.getByRole('button', { name: /确定结束/ }).click();
  await row.locator('[data-state="closed"]').waitFor();
  await row.filter({ hasText: '银杏：1 票' }).waitFor();
  await page.screenshot({ path: artifact('manage-polls-360.png'), fullPage: true });
  // the close travels up: the hub shows it closed
  await waitFor(async () => {
    const r = await fetch(`${alliance.hub}/api/v1/polls/${communityPoll}`);
    return r.ok && (await r.json()).closed;
  }, 'the closed poll at the hub', 20000);

  // the paused tab votes on the closed poll: refused in words
  await late.page.getByRole('radio', { name: '桂花' }).check();
  await late.page.getByRole('button', { name: '投票' }).click();
  await late.page.locator('#vote-message').filter({ hasText: '投票已经结束，不能再投票。' }).waitFor();

  // the poll page and the list show it closed with its outcome
  await resident.page.goto(`${home.url}/poll.html?id=${encodeURIComponent(communityPoll)}`);
  await resident.page.getByText('投票已经结束，不能再投票。').waitFor();
  await resident.page.getByText('结果：“银杏”票数最多').waitFor();
  await resident.page.locator('.result-list.total').filter({ hasText: '1 票（100%）' }).waitFor();
  await resident.page.screenshot({ path: artifact('poll-closed-360.png'), fullPage: true });
  await resident.page.goto(`${home.url}/polls.html`);
  await resident.page.locator('#closed-polls').filter({ hasText: '小区花园种什么树？' })
    .filter({ hasText: '结果：“银杏”票数最多' }).waitFor();
  await resident.page.locator('#open-polls').filter({ hasText: '周日延长图书馆开放时间吗？' })
    .filter({ hasText: '全区投票' }).waitFor();
  await resident.page.screenshot({ path: artifact('polls-360.png'), fullPage: true });
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(resident.seen.errors, []);
  assert.deepEqual(late.seen.errors, []);
  await late.context.close();
  await resident.context.close();
  await context.close();
});

// ---- accessibility ---------------------------------------------------------------------

test('axe: account, polls and poll pages at 360 px and desktop, in Chinese and English', async () => {
  const poll = (id) => `/poll.html?id=${encodeURIComponent(id)}`;
  const visitor = [
    ['account-signed-out', '/account.html', '#signed-out'],
    ['polls', '/polls.html', '#open-polls .cards'],
    ['poll-open', poll(districtPoll), '#vote-form'],
    ['poll-closed', poll(communityPoll), '#results:not([hidden])'],
  ];
  const signedIn = [
    ['account-signed-in', '/account.html', '#my-votes .cards'],
    ['polls-signed-in', '/polls.html', '#open-polls .cards'],
    ['poll-voted', poll(districtPoll), '.community-result'],
  ];
  for (const [width, height, label] of [[360, 800, '360'], [1280, 900, 'desktop']]) {
    const { context, page, seen } = await newPage(width, height);
    const check = async (pages) => {
      for (const [name, path, ready] of pages) {
        await page.goto(`${home.url}${path}`);
        await page.locator(ready).first().waitFor();
        const lang = await page.evaluate(() => document.documentElement.lang);
        assert.deepEqual(await axe(page), [], `${name} at ${label} (${lang})`);
        await page.screenshot({ path: artifact(`${name}-${lang}-${label}.png`), fullPage: true });
      }
    };
    await check(visitor);
    await page.locator('#lang-toggle').click();
    await page.locator('#h-results').filter({ hasText: 'Results' }).waitFor();
    await check(visitor);
    // signed in, with a vote: the account page and the poll's results (a
    // ?next= to another site is ignored: she stays on the account page)
    const away = label === '360' ? 'https://example.com/' : '//example.com/poll.html';
    await page.goto(`${home.url}/account.html?next=${encodeURIComponent(away)}`);
    await page.locator('#in-phone').fill(PHONE);
    await page.locator('#in-password').fill(SECRET);
    await page.locator('#signin-form').getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#my-votes .cards').waitFor();
    assert.equal(new URL(page.url()).origin, new URL(home.url).origin);
    assert.match(new URL(page.url()).pathname, /account\.html$/);
    await check(signedIn);
    await page.locator('#lang-toggle').click();
    await page.locator('#h-results').filter({ hasText: '投票结果' }).waitFor();
    await check(signedIn);
    assert.deepEqual(seen.errors, []);
    await context.close();
  }
});

// ---- her name, filled in on the request form -------------------------------------------

test('a resident gives her name when registering, edits it, and finds her name and phone filled in on the request form', async () => {
  const [svc] = await publish(alliance, home.url, 'services', [
    { title: '上门量血压', category: 'health-maternity', delivery: ['home-visit'], fee: 'free' }]);
  await waitFor(async () => (await fetch(`${home.url}/api/v1/catalog/${home.community}/${svc}`)).ok,
    'the service at home', 30000);
  const { context, page, seen } = await newPage();
  await page.goto(`${home.url}/account.html`);
  await page.getByRole('heading', { name: '注册' }).waitFor();
  const register = () => page.locator('#register-form').getByRole('button', { name: '注册' }).click();
  await page.getByLabel('姓名（可不填）').fill('秀'.repeat(67));   // 201 bytes
  await page.locator('#reg-code').fill(await householdCode(home));
  await page.locator('#reg-phone').fill('138 0000 0005');
  await page.locator('#reg-password').fill(SECRET);
  await register();
  await fieldSays(page, 'reg-name', '姓名太长');
  assert.equal(await token(page), null, 'nothing registered');
  await page.getByLabel('姓名（可不填）').fill('王秀英');
  await register();
  await page.locator('#signed-in').waitFor();
  await page.waitForFunction(() => document.getElementById('me-name').value === '王秀英');
  const { token: mine } = await token(page);
  assert.equal((await residentApi(home, 'GET', '/api/v1/residents/me', mine)).data.name, '王秀英');

  // edit it: a name too long is named next to the field and changes nothing
  const name = page.getByLabel('姓名', { exact: true });
  await name.fill('x'.repeat(201));
  await page.getByRole('button', { name: '保存姓名' }).click();
  await fieldSays(page, 'me-name', '姓名太长');
  assert.equal((await residentApi(home, 'GET', '/api/v1/residents/me', mine)).data.name, '王秀英');
  await name.fill('王秀英奶奶');
  await page.getByRole('button', { name: '保存姓名' }).click();
  await page.locator('#account-status').filter({ hasText: '姓名已保存' }).waitFor();
  assert.equal(await page.locator('#me-name').getAttribute('aria-invalid'), null);
  assert.equal((await residentApi(home, 'GET', '/api/v1/residents/me', mine)).data.name, '王秀英奶奶');
  await page.screenshot({ path: artifact('account-name-360.png'), fullPage: true });

  // the request form: her name and whole phone already there
  await page.goto(`${home.url}/request.html?community=${home.community}&id=${svc}`);
  await page.waitForFunction(() => document.getElementById('rq-name')?.value === '王秀英奶奶' &&
    document.getElementById('rq-phone')?.value === '13800000005');
  assert.equal(await page.getByLabel('姓名 *', { exact: true }).inputValue(), '王秀英奶奶');
  await page.screenshot({ path: artifact('request-filled-in-360.png'), fullPage: true });
  assert.deepEqual(seen.errors, []);
  await context.close();
});

// ---- deleting an account ------------------------------------------------------------

test('a resident deletes her account after confirming; her token stops working', async () => {
  const doomed = await apiResident(home, '13800000003');
  const { context, page, seen } = await newPage();
  await page.goto(`${home.url}/account.html`);
  await page.evaluate((t) => localStorage.setItem('alliance.resident', JSON.stringify({ token: t })), doomed);
  await page.goto(`${home.url}/account.html`);
  await page.locator('#me').filter({ hasText: '138****0003' }).waitFor();
  await page.getByRole('button', { name: '删除我的账户' }).click();
  await page.getByText('确定删除？此操作无法恢复。').waitFor();
  await page.getByRole('button', { name: '取消' }).click();
  await page.locator('#delete-confirm').waitFor({ state: 'hidden' });
  assert.equal((await residentApi(home, 'GET', '/api/v1/residents/me', doomed)).status, 200, 'cancel deletes nothing');
  await page.getByRole('button', { name: '删除我的账户' }).click();
  await page.getByRole('button', { name: '确认删除' }).click();
  await page.locator('#account-status').filter({ hasText: '您的账户已删除' }).waitFor();
  await page.locator('#signed-out').waitFor();
  assert.equal(await token(page), null);
  assert.equal((await residentApi(home, 'GET', '/api/v1/residents/me', doomed)).status, 401);
  assert.equal((await residentApi(home, 'POST', '/api/v1/residents/login', null,
    { phone: '13800000003', password: SECRET })).status, 401);
  await page.screenshot({ path: artifact('account-deleted-360.png'), fullPage: true });
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('at the hub the account page and a poll\'s page send residents to their own community\'s site', async () => {
  const { context, page, seen } = await newPage();
  await page.goto(`${alliance.hub}/account.html`);
  await page.locator('#account-status', { hasText: '请到您所在社区的网站注册' }).waitFor();
  assert.equal(await page.locator('#register-form').isVisible(), false);
  assert.equal(await page.locator('#signin-form').isVisible(), false);
  await page.goto(`${alliance.hub}/poll.html?id=${districtPoll}`);
  await page.locator('#vote-at-hub', { hasText: '请到您所在社区的网站投票' }).waitFor();
  assert.equal(await page.locator('#vote-form').count(), 0);
  await page.locator('#results .result').first().waitFor();
  await page.screenshot({ path: artifact('poll-at-hub-360.png'), fullPage: true });
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('at the hub the polls page lists the district\'s open polls before the communities\' (issue 13)', async () => {
  const made = [];
  for (let i = 0; i < 3; i++) {
    const r = await managerApi(other, 'POST', '/api/v1/polls', {
      question: `楼道灯换成感应灯吗？${i}`, options: ['换', '不换'],
      closes: Math.floor(Date.now() / 1000) + 3600 });
    assert.equal(r.status, 201);
    made.push(r.data.id);
  }
  for (const id of made)
    await waitFor(async () => (await fetch(`${alliance.hub}/api/v1/polls/${id}`)).ok,
      `${id} at the hub`, 30000);
  const { context, page, seen } = await newPage();
  await page.goto(`${alliance.hub}/polls.html`);
  const cards = page.locator('#open-polls li[data-poll]');
  await cards.filter({ hasText: '楼道灯换成感应灯吗？2' }).waitFor();
  const order = await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-poll')));
  assert.equal(order[0], districtPoll, order.join(' '));
  for (const id of made) assert.ok(order.includes(id), order.join(' '));
  assert.deepEqual(seen.errors, []);
  await context.close();
});
