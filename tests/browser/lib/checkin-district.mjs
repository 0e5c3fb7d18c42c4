// checkin-district.mjs: the district console part of checkin.test.mjs,
// run in a child Node whose NODE_EXTRA_CA_CERTS is the alliance CA (as
// district-console.mjs is, see district.test.mjs). Reads the alliance
// from $ALLIANCE_ENV, the bulletin from $BULLETIN_ID and the counts the
// managers' consoles showed from $EXPECT (JSON: community -> {confirmed,
// not_yet, needs_help, anonymous_safe}); waits at 360 px until the
// console shows each community's counts, then checks axe; exits 0 when
// every check passed, else prints why and exits 1.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { artifact, axe, launch, parseEnv, watch } from './harness.mjs';

const env = parseEnv(readFileSync(process.env.ALLIANCE_ENV, 'utf8'));
const BULLETIN = process.env.BULLETIN_ID;
const EXPECT = JSON.parse(process.env.EXPECT);
const HUB = env.HUB_ALLIANCE_URL;

async function main() {
  const browser = await launch();
  try {
    const ctx = await browser.newContext({
      viewport: { width: 360, height: 900 },
      clientCertificates: [{ origin: HUB, certPath: env.OPERATOR_CERT, keyPath: env.OPERATOR_KEY }],
    });
    const page = await ctx.newPage();
    const seen = watch(page);
    await page.goto(`${HUB}/district/`);
    const card = page.locator(`#bulletins li[data-bulletin="${BULLETIN}"]`);
    await card.waitFor({ timeout: 15000 });
    let total = { confirmed: 0, not_yet: 0, needs_help: 0 };
    for (const [community, want] of Object.entries(EXPECT)) {
      // polled every 3 s: the console follows the counts live
      await page.waitForFunction(([sel, w]) => {
        const r = document.querySelector(sel);
        return r && r.querySelector('.ci-confirmed').textContent === String(w.confirmed) &&
          r.querySelector('.ci-not-yet').textContent === String(w.not_yet) &&
          r.querySelector('.ci-needs-help').textContent === String(w.needs_help) &&
          r.querySelector('.ci-anonymous').textContent.startsWith(String(w.anonymous_safe) + ' /');
      }, [`#bulletins li[data-bulletin="${BULLETIN}"] .checkin-table tr[data-community="${community}"]`, want],
      { timeout: 30000 });
      total.confirmed += want.confirmed;
      total.not_yet += want.not_yet;
      total.needs_help += want.needs_help;
    }
    const head = card.locator('.checkin-total');
    assert.equal(await head.getAttribute('data-confirmed'), String(total.confirmed));
    assert.equal(await head.getAttribute('data-not-yet'), String(total.not_yet));
    assert.equal(await head.getAttribute('data-needs-help'), String(total.needs_help));
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'no sideways scrolling');
    assert.deepEqual(await axe(page), [], 'axe on the district console with a check-in');
    await page.screenshot({ path: artifact('checkin-district-360.png'), fullPage: true });
    // names and phones never reach the hub: its console has none
    const text = await page.locator('body').innerText();
    for (const secret of (process.env.SECRETS || '').split('\n').filter(Boolean))
      assert.ok(!text.includes(secret), `${secret} on the district console`);
    assert.deepEqual(seen.errors, [], 'no page or console errors');
    await ctx.close();
    console.log(`district console: check-in ${BULLETIN} counts match ${JSON.stringify(EXPECT)}`);
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
