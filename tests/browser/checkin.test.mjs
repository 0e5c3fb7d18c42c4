// checkin.test.mjs: a safety check-in end to end at 360 px (issue 19,
// item 3): a bulletin issued with --check-in; the manager's list of
// residents who need a call, one added through the console's form; each
// listed resident's personal link; one taps "我安全 / I'm safe", another
// "我需要帮助 / I need help", someone without a link taps on the bulletins
// page (counted apart); the manager's console (its check-in page) shows
// the two and the one not yet confirmed, and "needs help" first in the
// request queue; the
// district console's counts match (lib/checkin-district.mjs, with the
// operator certificate); no listed name or phone on it.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { artifact, axe, launch, managerLogIn, newPage, startAlliance } from './lib/harness.mjs';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));

let alliance, browser, bulletin;

const PEOPLE = [
  { name: '王秀英', phone: '13900139001', address: '珠海路 5 号 302 室', worker: '李娜', needs: ['living-alone', 'over-80'] },
  { name: '张桂兰', phone: '13900139002', address: '珠海路 7 号 101 室', worker: '李娜', needs: ['disabled'] },
];
const BY_FORM = { name: '刘建国', phone: '13900139003', address: '珠海路 9 号 201 室', worker: '陈刚' };

async function manager(url, method, pathname, body) {
  const auth = Buffer.from(`manager:${alliance.env.MANAGER_PASSWORD}`).toString('base64');
  const r = await fetch(`${url}${pathname}`, {
    method, headers: { 'Content-Type': 'application/json', Authorization: `Basic ${auth}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${pathname}: ${r.status} ${text}`);
  return JSON.parse(text);
}

before(async () => {
  alliance = await startAlliance(2);
  browser = await launch();
}, { timeout: 150000 });

after(async () => {
  await browser?.close();
  await alliance?.stop();
});

test('check-in at 360 px: links, answers, the manager\'s states, the district\'s counts', { timeout: 240000 }, async () => {
  const node = alliance.nodes[0];
  await manager(node.url, 'POST', '/api/v1/check-in/residents', { items: PEOPLE });

  // the manager adds the third through the console's form
  const m = await newPage(browser, 360, 900);
  await managerLogIn(m.page, node, alliance.env.MANAGER_PASSWORD);
  const consolePages = m.page.getByRole('navigation', { name: '管理后台的页面' });
  await consolePages.getByRole('link', { name: '安全确认' }).click();
  await m.page.locator('#ck-checkins').getByText('目前没有要求安全确认的通告。').waitFor({ timeout: 15000 });
  await m.page.locator('#ck-name').fill(BY_FORM.name);
  await m.page.locator('#ck-phone').fill(BY_FORM.phone);
  await m.page.locator('#ck-address').fill(BY_FORM.address);
  await m.page.locator('#ck-worker').fill(BY_FORM.worker);
  await m.page.getByLabel('独居').check();
  await m.page.getByRole('button', { name: '加入名单' }).click();
  await m.page.locator('#ck-list li[data-listed]').nth(2).waitFor({ timeout: 10000 });
  assert.match(await m.page.locator('#ck-count').innerText(), /3 人/);

  const out = await alliance.ctl('bulletin', 'issue', '--headline', '暴雨红色预警：请留在室内',
    '--description', '今晚有特大暴雨', '--cause', '强对流天气', '--response', '各社区已开放避难场所',
    '--instructions', '请留在室内，远离低洼地带', '--headline-en', 'Red rainstorm warning: stay indoors',
    '--description-en', 'Extreme rain tonight', '--check-in', '--wait', '--timeout', '20');
  bulletin = out.split('\n')[0].trim();

  // the console shows the check-in (polled) with everyone not yet
  const panel = m.page.locator(`.ck-panel[data-bulletin="${bulletin}"]`);
  await panel.waitFor({ timeout: 15000 });
  await panel.locator('.ck-group[data-group="not_yet"] li[data-resident]').nth(2).waitFor({ timeout: 15000 });
  await panel.getByRole('button', { name: '生成个人链接' }).click();
  const links = panel.locator('.ck-links a.ck-link');
  await links.nth(2).waitFor({ timeout: 10000 });
  const urlOf = {};
  for (const li of await panel.locator('.ck-links li').all()) {
    const text = await li.innerText();
    const who = [...PEOPLE, BY_FORM].find((p) => text.includes(p.phone));
    urlOf[who.name] = await li.locator('a').getAttribute('href');
  }
  for (const u of Object.values(urlOf)) assert.match(u, /\/checkin\.html\?b=[^#]+#[0-9a-f]{32}$/);

  // one resident taps "I'm safe" through her link, at 360 px
  async function tap(who, label, thanks) {
    const r = await newPage(browser, 360, 800);
    await r.page.goto(urlOf[who]);
    const button = r.page.getByRole('button', { name: label });
    await button.waitFor({ timeout: 10000 });
    const box = await button.boundingBox();
    assert.ok(box.height >= 48 && box.x >= 0 && box.x + box.width <= 360, `a large button within 360 px: ${JSON.stringify(box)}`);
    assert.ok(await r.page.evaluate(() => document.documentElement.scrollWidth <= 360), 'no sideways scrolling');
    assert.deepEqual(await axe(r.page), [], `axe on the link's page (${who})`);
    await button.click();
    await r.page.locator('.checkin-status').getByText(thanks).waitFor({ timeout: 10000 });
    await r.page.screenshot({ path: artifact(`checkin-${String(label).includes('帮助') ? 'help' : 'safe'}-360.png`), fullPage: true });
    assert.deepEqual(r.seen.errors, [], 'no page or console errors');
    await r.context.close();
  }
  await tap(PEOPLE[0].name, /我安全/, '已收到：您安全');
  await tap(PEOPLE[1].name, /我需要帮助/, '已收到：您需要帮助');

  // someone without a link taps on the bulletins page: counted apart
  const anon = await newPage(browser, 360, 800);
  await anon.page.goto(`${node.url}/bulletins.html`);
  const box = anon.page.locator(`#b-${bulletin} .checkin`);
  await box.waitFor({ timeout: 15000 });
  assert.match(await box.innerText(), /我安全[\s\S]*I’m safe[\s\S]*我需要帮助[\s\S]*I need help/);
  await box.getByRole('button', { name: /我安全/ }).click();
  await box.locator('.checkin-status').getByText('已收到：您安全').waitFor({ timeout: 10000 });
  assert.deepEqual(anon.seen.errors, [], 'no page or console errors');
  await anon.context.close();

  // the manager's console: needs help, not yet, safe; nobody confirmed by the anonymous tap
  const group = (g) => panel.locator(`.ck-group[data-group="${g}"]`);
  await group('help').getByText(PEOPLE[1].name).waitFor({ timeout: 15000 });
  await group('safe').getByText(PEOPLE[0].name).waitFor({ timeout: 15000 });
  await group('not_yet').getByText(BY_FORM.name).waitFor({ timeout: 15000 });
  assert.equal(await group('not_yet').locator('li[data-resident]').count(), 1);
  // polled every 5 s: the last poll may predate the anonymous tap
  const counts = panel.locator('.ck-counts', { hasText: /匿名：安全 1/ });
  await counts.waitFor({ timeout: 15000 });
  assert.equal(await counts.getAttribute('data-confirmed'), '1');
  assert.equal(await counts.getAttribute('data-not-yet'), '1');
  assert.equal(await counts.getAttribute('data-needs-help'), '1');
  const wide = await m.page.evaluate(() => [...document.querySelectorAll('#main *')]
    .filter((e) => e.getBoundingClientRect().right > 361).slice(0, 5)
    .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`));
  assert.deepEqual(wide, [], 'no sideways scrolling');
  assert.deepEqual(await axe(m.page), [], 'axe on the manager console with a check-in');
  await m.page.screenshot({ path: artifact('checkin-manager-360.png'), fullPage: true });
  // "needs help" is the first request in the console's queue
  await consolePages.getByRole('link', { name: '服务与申请' }).click();
  await m.page.locator('#requests li').first().getByText(PEOPLE[1].name).waitFor({ timeout: 15000 });
  assert.deepEqual(m.seen.errors, [], 'no page or console errors');
  await m.context.close();

  // the district console shows the same counts (the other community
  // lists nobody: 0, 0, 0)
  const expect = {
    [node.community]: { confirmed: 1, not_yet: 1, needs_help: 1, anonymous_safe: 1 },
    [alliance.nodes[1].community]: { confirmed: 0, not_yet: 0, needs_help: 0, anonymous_safe: 0 },
  };
  const secrets = [...PEOPLE, BY_FORM].flatMap((p) => [p.name, p.phone, p.address]).join('\n');
  try {
    const r = await run(process.execPath, [path.join(HERE, 'lib', 'checkin-district.mjs')], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: alliance.env.CA_CERT,
             ALLIANCE_ENV: path.join(alliance.dir, 'alliance.env'), BULLETIN_ID: bulletin,
             EXPECT: JSON.stringify(expect), SECRETS: secrets },
      timeout: 120000 });
    if (r.stdout) console.log(r.stdout.trim());
  } catch (e) {
    assert.fail(`the district console check failed:\n${e.stdout || ''}${e.stderr || ''}`);
  }
});
