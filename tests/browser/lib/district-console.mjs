// district-console.mjs: the browser part of district.test.mjs, run in a
// child Node whose NODE_EXTRA_CA_CERTS is the alliance CA (see there).
// Reads the alliance from $ALLIANCE_ENV and the bulletin to look for from
// $BULLETIN_ID; exits 0 when every check passed, else prints why and
// exits 1.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { BUILD, REPO, artifact, axe, launch, parseEnv, waitFor, watch } from './harness.mjs';

const run = promisify(execFile);

const env = parseEnv(readFileSync(process.env.ALLIANCE_ENV, 'utf8'));
const BULLETIN = process.env.BULLETIN_ID;
const HUB = env.HUB_ALLIANCE_URL;
const ids = env.COMMUNITIES.split(' ');
const nodeCerts = env.NODE_CERTS.split(' ');
const nodeKeys = env.NODE_KEYS.split(' ');

async function context(browser, certPath, keyPath, width) {
  return browser.newContext({
    viewport: { width, height: 900 },
    clientCertificates: [{ origin: HUB, certPath, keyPath }],
  });
}

async function main() {
  const browser = await launch();
  try {
    for (const [width, label] of [[1280, 'desktop'], [360, '360']]) {
      const ctx = await context(browser, env.OPERATOR_CERT, env.OPERATOR_KEY, width);
      const page = await ctx.newPage();
      const seen = watch(page);
      const resp = await page.goto(`${HUB}/district/`);
      assert.equal(resp.status(), 200, 'the operator gets the console');
      // the three communities, connected
      for (const id of ids)
        await page.locator(`#communities tr[data-community="${id}"] [data-state="connected"]`)
          .waitFor({ timeout: 15000 });
      assert.match(await page.locator('#summary').innerText(), new RegExp(`${ids.length} / ${ids.length}`));
      // each community's usage against its quota ([quota] defaults)
      for (const id of ids) {
        const cell = page.locator(`#communities tr[data-community="${id}"] td.quota`);
        assert.match(await cell.locator('.q-records').innerText(), /(记录|Records) \d+ (\/|of) 5000/);
        assert.match(await cell.locator('.q-bytes').innerText(), /\d+ KB (\/|of) 8\.0 MB/);
        assert.equal(await cell.getAttribute('data-closes'), '0');
        // clocks in step: the hub measured each node's skew, none flagged
        const item = await page.evaluate(async (cid) => {
          const r = await fetch('/api/v1/communities');
          return (await r.json()).items.find((c) => c.id === cid);
        }, id);
        assert.equal(item.clock.skewed, false, `${id}: ${JSON.stringify(item.clock)}`);
        assert.equal(await page.locator(`#communities tr[data-community="${id}"] .skew`).count(), 0);
      }
      // the bulletin delivered to each of them
      const card = page.locator(`#bulletins li[data-bulletin="${BULLETIN}"]`);
      await card.waitFor({ timeout: 15000 });
      for (const id of ids)
        await card.locator(`.delivery li.done[data-community="${id}"]`).waitFor({ timeout: 15000 });
      assert.match(await card.locator('.delivered-count').innerText(), new RegExp(`${ids.length} / ${ids.length}`));
      assert.match(await page.locator('.issue-note').innerText(), /alliancectl/);
      // every icon the scripts drew points at the sprite the hub serves
      const sprites = await page.evaluate(() => [...new Set([...document.querySelectorAll('svg use')]
        .map((u) => new URL(u.getAttribute('href'), document.baseURI).href.split('#')[0]))]);
      assert.ok(sprites.length > 0, 'the console shows icons');
      for (const sprite of sprites)
        assert.equal((await page.request.get(sprite)).status(), 200, `icon sprite ${sprite}`);
      assert.deepEqual(await axe(page), [], `axe at ${label}`);
      await page.screenshot({ path: artifact(`district-console-${label}.png`), fullPage: true });
      assert.deepEqual(seen.errors, [], 'no page or console errors');
      await ctx.close();
    }

    // it updates without a reload: a new bulletin appears on an open page
    const ctx = await context(browser, env.OPERATOR_CERT, env.OPERATOR_KEY, 1280);
    const page = await ctx.newPage();
    await page.goto(`${HUB}/district/`);
    await page.locator(`#bulletins li[data-bulletin="${BULLETIN}"]`).waitFor({ timeout: 15000 });
    const out = await run(path.join(BUILD, 'alliancectl'), ['bulletin', 'issue',
      '--headline', '停水通知：明日 9:00-12:00', '--description', '管道检修', '--cause', '管道老化',
      '--response', '供水公司抢修', '--instructions', '提前储水', '--severity', 'moderate',
      '--area', ids[0]], { env: { ...process.env, ...env }, timeout: 30000 });
    const second = out.stdout.split('\n')[0].trim();
    const card = page.locator(`#bulletins li[data-bulletin="${second}"]`);
    await card.waitFor({ timeout: 15000 });     // polled in, no reload
    await card.locator(`.delivery li.done[data-community="${ids[0]}"]`).waitFor({ timeout: 15000 });
    assert.equal(await card.locator('.delivery li').count(), 1, 'only the chosen community is targeted');
    await ctx.close();
    console.log(`district console: ${ids.length} communities connected; bulletin ${BULLETIN} ` +
                `delivered to all; ${second} appeared live and reached ${ids[0]}`);

    // a node clock 2 days ahead is flagged, and a node away says how its
    // last session ended. The local alliance runs the ASan build, which
    // libfaketime cannot skew, and its nodes stay up, so the hub's real
    // answer is amended in flight for two communities (test_15_clock
    // shows the hub reporting a real skewed node, test_24_store_faults a
    // node's 1011 for its full disk).
    {
      const sctx = await context(browser, env.OPERATOR_CERT, env.OPERATOR_KEY, 1280);
      await sctx.route('**/api/v1/communities', async (route) => {
        const resp = await route.fetch();
        const body = await resp.json();
        for (const c of body.items)
          if (c.id === ids[1]) c.clock = { skew_ms: 172800000, skewed: true };
          else if (c.id === ids[2]) {
            c.connected = false;
            c.last_close = { by: 'node', code: 1011, at: c.last_seen,
              reason: 'cannot store the batch: database or disk is full' };
          }
        await route.fulfill({ response: resp, json: body });
      });
      const spage = await sctx.newPage();
      await spage.goto(`${HUB}/district/`);
      const flag = spage.locator(`#communities tr[data-community="${ids[1]}"] .skew`);
      await flag.waitFor({ timeout: 15000 });
      assert.match(await flag.innerText(), /(时钟快了 2 天|Clock 2 days ahead)/);
      assert.equal(await spage.locator('#communities .skew').count(), 1, 'only the skewed community');
      const closed = spage.locator(`#communities tr[data-community="${ids[2]}"] .last-close[data-by="node"][data-code="1011"]`);
      await closed.waitFor({ timeout: 15000 });
      assert.match(await closed.innerText(), /^节点于 .+ 关闭了会话：1011 cannot store the batch: database or disk is full$/);
      assert.equal(await spage.locator('#communities .last-close').count(), 1, 'only the community away');
      await sctx.close();
    }

    // the disk of the hub's store under 10 % free is warned of at the top.
    // The local alliance's disk is not that full, so the hub's real
    // answer is amended in flight (test_24_store_faults shows the hub
    // warning of its store on a full tmpfs). The page's second read of it
    // (common.js's names of communities) is answered a second late, after
    // the console drew its rows and warnings: the names filled in then
    // must leave those whole.
    {
      const dctx = await context(browser, env.OPERATOR_CERT, env.OPERATOR_KEY, 1280);
      let asked = 0, answered = 0;
      await dctx.route('**/api/v1/communities', async (route) => {
        const n = ++asked;
        const resp = await route.fetch();
        const body = await resp.json();
        body.warnings.push({ code: 'store_disk_low', community: null, cert: null,
          at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          free_bytes: 150 * 1024, total_bytes: 2 * 1048576 });
        if (n === 2) await new Promise((r) => setTimeout(r, 1000));
        await route.fulfill({ response: resp, json: body });
        answered++;
      });
      const dpage = await dctx.newPage();
      const dseen = watch(dpage);
      await dpage.goto(`${HUB}/district/`);
      const warning = dpage.locator('#warnings li[data-code="store_disk_low"]');
      await warning.waitFor({ timeout: 15000 });
      await waitFor(() => answered >= 2, 'the page\'s second read answered');
      assert.ok(await dpage.evaluate(() => Alliance.loadCommunities().then(() => true)));
      assert.equal(await dpage.locator('#communities tbody tr:has(td.quota)').count(), ids.length,
        'every row whole once the names arrived');
      assert.match(await warning.innerText(), /区中心数据所在磁盘仅剩 150 KB \/ 2\.0 MB（不足 10%）/);
      await dpage.locator('#lang-toggle').click();
      assert.match(await warning.innerText(), /The disk of the hub's store has only 150 KB of 2\.0 MB free \(under 10 %\)/);
      assert.deepEqual(dseen.errors, [], 'no page or console errors');
      await dctx.close();
    }

    // the CRL renewed with a next update in 3 days (alliance-pki crl,
    // then SIGHUP, as an operator would) is warned of at the top, at 360
    // px, in both languages, with nothing else warned of
    {
      const dir = path.dirname(process.env.ALLIANCE_ENV);
      await run(path.join(REPO, 'certs', 'alliance-pki'),
        ['crl', '--dir', path.join(dir, 'pki'), '--days', '3'], { timeout: 30000 });
      process.kill(Number(readFileSync(path.join(dir, 'run', 'hub.pid'), 'utf8').trim()), 'SIGHUP');
      const wctx = await context(browser, env.OPERATOR_CERT, env.OPERATOR_KEY, 360);
      const wpage = await wctx.newPage();
      const wseen = watch(wpage);
      await wpage.goto(`${HUB}/district/`);
      const warning = wpage.locator('#warnings li[data-code="crl_due"]');
      await warning.waitFor({ timeout: 15000 });
      assert.equal(await wpage.locator('#warnings li').count(), 1, 'only the CRL is warned of');
      assert.match(await warning.innerText(), /证书吊销列表（CRL）须在 .+ 前更新/);
      assert.ok(await wpage.locator('#warnings-box').isVisible());
      const box = await warning.boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= 360, `the warning fits 360 px: ${JSON.stringify(box)}`);
      assert.ok(await wpage.evaluate(() => document.documentElement.scrollWidth <= 360), 'no sideways scrolling');
      assert.deepEqual(await axe(wpage), [], 'axe with a warning at 360');
      await wpage.screenshot({ path: artifact('district-console-warning-360.png'), fullPage: true });
      await wpage.locator('#lang-toggle').click();
      assert.match(await warning.innerText(), /The CRL must be renewed before .+ \(within 7 days/);
      assert.deepEqual(wseen.errors, [], 'no page or console errors');
      await wctx.close();
    }

    // a node certificate gets 403 on the console, as on the API
    const nctx = await context(browser, nodeCerts[0], nodeKeys[0], 1280);
    const npage = await nctx.newPage();
    const nresp = await npage.goto(`${HUB}/district/`);
    assert.equal(nresp.status(), 403, 'a node certificate is refused');
    await nctx.close();
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
