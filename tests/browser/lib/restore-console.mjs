// restore-console.mjs: the browser part of restore.test.mjs, run in a
// child Node whose NODE_EXTRA_CA_CERTS is the alliance CA. Reads the
// alliance from $ALLIANCE_ENV and the community whose node was restored
// from $RESTORED; exits 0 when every check passed, else prints why and
// exits 1.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { artifact, axe, launch, parseEnv, watch } from './harness.mjs';

const env = parseEnv(readFileSync(process.env.ALLIANCE_ENV, 'utf8'));
const HUB = env.HUB_ALLIANCE_URL;
const RESTORED = process.env.RESTORED;
const others = env.COMMUNITIES.split(' ').filter((id) => id !== RESTORED);

async function main() {
  const browser = await launch();
  try {
    for (const width of [1280, 360]) {
      const ctx = await browser.newContext({
        viewport: { width, height: 900 },
        clientCertificates: [{ origin: HUB, certPath: env.OPERATOR_CERT, keyPath: env.OPERATOR_KEY }],
      });
      const page = await ctx.newPage();
      const seen = watch(page);
      const resp = await page.goto(`${HUB}/district/`);
      assert.equal(resp.status(), 200, 'the operator gets the console');
      const note = page.locator(`#communities tr[data-community="${RESTORED}"] .store-restored`);
      await note.waitFor({ timeout: 15000 });
      assert.equal(await note.getAttribute('data-restores'), '1');
      assert.match(await note.innerText(), /旧备份恢复 1 次|restored from an older backup 1 times/);
      for (const id of others) {
        await page.locator(`#communities tr[data-community="${id}"] [data-state="connected"]`)
          .waitFor({ timeout: 15000 });
        assert.equal(await page.locator(`#communities tr[data-community="${id}"] .store-restored`).count(), 0,
                     `no restore shown for ${id}`);
      }
      assert.deepEqual(await axe(page), [], `axe at ${width}`);
      await page.screenshot({ path: artifact(`district-restored-${width}.png`), fullPage: true });
      assert.deepEqual(seen.errors, [], 'no page or console errors');
      await ctx.close();
    }
    console.log(`district console: ${RESTORED} shown restored from an older backup, ` +
                `${others.join(', ')} not`);
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
