// bulletins-page.test.mjs: the bulletins in force at first paint, with
// and without JavaScript, in Debian's Chromium at 360 px against a real
// alliance of a hub and two nodes (issue 12, item 6).
//
// One alliance for the file; bulletins are issued, updated and cancelled
// with alliancectl (signed, through the hub) as the district office does.
// Tests run in order: the pages without scripts first, then the banner's
// fold, then the accessibility pass over pages that carry bulletins.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { REPO, artifact, axe, launch, startAlliance, waitFor, watch } from './lib/harness.mjs';

// The phone numbers both the daemon (tests/unit/test_phone.c) and
// resident.js must find.
const PHONES = JSON.parse(readFileSync(path.join(REPO, 'tests', 'browser', 'fixtures', 'phones.json'), 'utf8'));

// Every resident page; the ones other parts of issue 12 add are checked
// once the node serves them.
const RESIDENT_PAGES = ['index.html', 'catalog.html', 'service.html', 'announcements.html',
  'bulletins.html', 'polls.html', 'poll.html', 'my-requests.html', 'request.html', 'account.html'];

const SEVERE = {
  headline: `燃气泄漏：请撤离 3 号楼 ${Date.now()}`,
  instructions: '请立即离开 3 号楼，不要开关电器；闻到燃气味请拨打 0532-12345678 或 119。',
};
const EXTREME = {
  headline: `台风红色预警 ${Date.now()}`,
  instructions: '请立即回家，关好门窗，不要外出；急救请拨打 120。',
};

let alliance, browser, node;
const ids = {};

async function issue(kind, b, ...extra) {
  const out = await alliance.ctl('bulletin', kind, ...extra, '--headline', b.headline,
    '--description', '3 号楼地下室燃气管道泄漏。', '--cause', '管道老化。',
    '--response', '燃气公司正在处置。', '--instructions', b.instructions, '--wait', '--timeout', '20');
  return out.split('\n')[0].trim();
}

before(async () => {
  alliance = await startAlliance(2);
  node = alliance.nodes[0];
  ids.severe = await issue('issue', SEVERE, );
  ids.extreme = await issue('issue', EXTREME, '--severity', 'extreme');
  browser = await launch();
}, { timeout: 150000 });

after(async () => {
  await browser?.close();
  await alliance?.stop();
});

async function newPage({ width = 360, height = 800, js = true } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, javaScriptEnabled: js });
  const page = await context.newPage();
  return { context, page, seen: watch(page) };
}

// bannerOf: the banner item of bulletin id.
function bannerOf(page, id) {
  return page.locator(`#alerts .banner[data-bulletin="${id}"]`);
}

// loaded: the page's scripts hold the bulletins list.
async function loaded(page) {
  await page.waitForFunction(() => window.Alliance && Alliance.bulletins && Alliance.bulletins.loaded, null, { timeout: 10000 });
}

// ---- without JavaScript ---------------------------------------------------------

test('without JavaScript the home and bulletins pages show the bulletins in force, what to do, and tel: links', async () => {
  const { context, page } = await newPage({ js: false });
  for (const [name, p] of [['home', '/'], ['bulletins', '/bulletins.html']]) {
    for (const url of [node.url, alliance.hub]) {
      await page.goto(`${url}${p}`);
      for (const b of [SEVERE, EXTREME]) {
        const top = page.locator('#alerts .banner', { hasText: b.headline });
        assert.equal(await top.count(), 1, `${name} at ${url}: one banner for ${b.headline}`);
        assert.ok(await top.isVisible());
        assert.match(await top.innerText(), new RegExp(b.instructions.slice(0, 8)), 'what to do');
      }
      // the extreme one first, at the top of the page
      const first = page.locator('#alerts .banner').first();
      assert.match(await first.innerText(), /特别严重/);
      assert.ok((await first.boundingBox()).y < 10);
      assert.equal(await page.locator('#alerts a.tel[href="tel:053212345678"]').count(), 1);
      assert.equal(await page.locator('#alerts button').count(), 0, 'no fold without scripts');
    }
    await page.goto(`${node.url}${p}`);
    await page.screenshot({ path: artifact(`nojs-${name}-360.png`), fullPage: true });
  }
  // the bulletins page lists them in full
  await page.goto(`${node.url}/bulletins.html`);
  const article = page.locator('#list .bulletin', { hasText: SEVERE.headline });
  assert.match(await article.innerText(), /请您这样做[\s\S]*发生了什么[\s\S]*原因[\s\S]*政府正在做什么[\s\S]*发布单位/);
  assert.equal(await article.locator('a.tel[href="tel:119"]').count(), 1);
  await context.close();
});

test('without JavaScript every resident page says what it cannot do', async () => {
  const { context, page } = await newPage({ js: false });
  const checked = [];
  for (const name of RESIDENT_PAGES) {
    const r = await page.goto(`${node.url}/${name}`);
    assert.equal(r.status(), 200, name);
    const note = page.locator('p.noscript');
    const text = await page.locator('p.noscript').innerText().catch(() => '');
    assert.ok(await note.isVisible(), `${name}: a visible no-script notice`);
    assert.match(text, /JavaScript/, `${name}: the notice names what is missing`);
    assert.ok(text.length < 120, `${name}: the notice is short (${text.length} characters)`);
    checked.push(name);
  }
  assert.deepEqual(checked, RESIDENT_PAGES);
  // with scripts the notice is not shown
  const js = await newPage();
  await js.page.goto(`${node.url}/`);
  assert.equal(await js.page.locator('p.noscript').count(), 0);
  await js.context.close();
  await context.close();
});

// ---- with JavaScript: adopted, folded, updated ----------------------------------

test('resident.js finds the same phone numbers as the daemon, and builds links without HTML', async () => {
  const { context, page } = await newPage();
  await page.goto(`${node.url}/bulletins.html`);
  await loaded(page);
  const got = await page.evaluate((cases) => cases.map((c) => Alliance.phoneSpans(c.text)
    .map((p) => [c.text.slice(p.start, p.end), p.tel])), PHONES.cases);
  assert.deepEqual(got, PHONES.cases.map((c) => c.found));
  // text stays text: markup in a bulletin's text is never parsed
  const parts = await page.evaluate(() => Alliance.withPhones('<img src=x onerror=alert(1)> 拨打 120').map((n) =>
    typeof n === 'string' ? ['text', n] : [n.tagName, n.getAttribute('href'), n.textContent]));
  assert.deepEqual(parts, [['text', '<img src=x onerror=alert(1)> 拨打 '], ['A', 'tel:120', '120']]);
  await context.close();
});

test('scripts adopt the served banner without removing or doubling it, and phone numbers stay tel: links', async () => {
  const { context, page, seen } = await newPage();
  // watch every frame from the start: once shown, the banner never goes
  await page.addInitScript((headline) => {
    window.bannerGaps = 0;
    let shown = false;
    const frame = () => {
      const here = [...document.querySelectorAll('#alerts .banner-headline')]
        .some((e) => e.textContent.includes(headline) && e.getBoundingClientRect().height > 0);
      if (here) shown = true; else if (shown) window.bannerGaps++;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }, SEVERE.headline);
  await page.goto(`${node.url}/`);
  await loaded(page);
  await page.waitForTimeout(300);   // a few frames after the list came
  assert.equal(await page.evaluate(() => window.bannerGaps), 0, 'the banner never left the screen');
  assert.equal(await bannerOf(page, ids.severe).count(), 1, 'one banner per bulletin');
  assert.equal(await bannerOf(page, ids.severe).locator('a.tel[href="tel:053212345678"]').count(), 1);
  assert.equal(await bannerOf(page, ids.severe).locator('a.tel[href="tel:119"]').count(), 1);
  // the extreme one has no fold; the severe one does
  assert.equal(await bannerOf(page, ids.extreme).locator('button').count(), 0);
  const toggle = bannerOf(page, ids.severe).locator('button.banner-toggle');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  const box = await toggle.boundingBox();
  assert.ok(box.height >= 44 && box.width >= 300, `a large tap target (${box.width}x${box.height})`);
  // the bulletins page, rendered by the scripts, links the numbers too
  await page.goto(`${node.url}/bulletins.html`);
  await loaded(page);
  const article = page.locator(`#list .bulletin[data-bulletin="${ids.severe}"]`);
  assert.equal(await article.count(), 1);
  assert.equal(await article.locator('a.tel[href="tel:053212345678"]').count(), 1);
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('a folded banner stays folded after a reload and unfolds when the bulletin is updated', async () => {
  const { context, page, seen } = await newPage({ height: 740 });
  await page.goto(`${node.url}/`);
  await loaded(page);
  const severe = bannerOf(page, ids.severe);
  const open = (await severe.boundingBox()).height;
  await severe.locator('button.banner-toggle').click();
  assert.equal(await severe.locator('button.banner-toggle').getAttribute('aria-expanded'), 'false');
  assert.equal(await severe.locator('.banner-detail').isVisible(), false);
  const folded = (await severe.boundingBox()).height;
  assert.ok(folded < 80 && folded < open, `one line when folded (${folded} px, open ${open} px)`);
  await page.screenshot({ path: artifact('banner-folded-360.png') });

  await page.reload();
  await loaded(page);
  assert.equal(await bannerOf(page, ids.severe).locator('button.banner-toggle').getAttribute('aria-expanded'), 'false',
    'still folded after a reload');
  assert.equal(await bannerOf(page, ids.severe).locator('.banner-detail').isVisible(), false);
  // unfolding again works, and folding again is remembered
  await bannerOf(page, ids.severe).locator('button.banner-toggle').click();
  assert.equal(await bannerOf(page, ids.severe).locator('.banner-detail').isVisible(), true);
  await bannerOf(page, ids.severe).locator('button.banner-toggle').click();

  // the district updates it: the page shows the update unfolded, live
  await page.waitForFunction(() => window.Alliance && Alliance.live && Alliance.live.source && Alliance.live.source.readyState === 1,
    null, { timeout: 10000 });
  const updated = { headline: `${SEVERE.headline}（更新）`, instructions: '3 号楼已封闭，请到小区广场集合；咨询请拨打 0532-12345678。' };
  ids.update = await issue('update', updated, ids.severe);
  const fresh = bannerOf(page, ids.update);
  await fresh.waitFor({ timeout: 5000 });
  assert.equal(await bannerOf(page, ids.severe).count(), 0, 'the old one left the banner');
  assert.equal(await fresh.locator('button.banner-toggle').getAttribute('aria-expanded'), 'true');
  assert.ok(await fresh.locator('.banner-do').isVisible(), 'what to do shows again');
  assert.match(await fresh.innerText(), /广场集合/);
  await page.screenshot({ path: artifact('banner-updated-360.png') });
  // and so does a fresh load, whose served banner already has the update
  await page.reload();
  await loaded(page);
  assert.equal(await bannerOf(page, ids.update).locator('button.banner-toggle').getAttribute('aria-expanded'), 'true');
  assert.deepEqual(seen.errors, []);
  await context.close();
});

// ---- English text ------------------------------------------------------------------

test('an English page shows a bulletin\'s English text where it has one, the Chinese where not', async () => {
  const en = { headline: `Gas leak: leave Block 5 ${Date.now()}`, instructions: 'Leave Block 5 now; call 119.' };
  const zh = { headline: `燃气泄漏：请撤离 5 号楼 ${Date.now()}`, instructions: '请立即离开 5 号楼。' };
  ids.english = await issue('issue', zh, '--headline-en', en.headline,
    '--description-en', 'A gas pipe leaks in the basement of Block 5.', '--instructions-en', en.instructions);
  const { context, page, seen } = await newPage();
  await page.goto(`${node.url}/bulletins.html`);
  await loaded(page);
  const article = page.locator(`#list .bulletin[data-bulletin="${ids.english}"]`);
  await article.waitFor({ timeout: 5000 });
  assert.match(await article.innerText(), /请撤离 5 号楼/);
  assert.doesNotMatch(await article.innerText(), /Block 5/);
  await page.locator('#lang-toggle').click();
  await waitFor(() => page.evaluate(() => document.documentElement.lang === 'en'), 'lang en');
  const text = await article.innerText();
  assert.match(text, /Gas leak: leave Block 5/);
  assert.match(text, /basement of Block 5/);
  assert.match(text, /Leave Block 5 now/);
  assert.doesNotMatch(text, /请撤离 5 号楼/);
  // a bulletin without English text keeps its Chinese
  assert.match(await page.locator(`#list .bulletin[data-bulletin="${ids.extreme}"]`).innerText(), /台风红色预警/);
  // the banner of the home page, too
  await page.goto(`${node.url}/`);
  await loaded(page);
  await waitFor(async () => /Gas leak: leave Block 5/.test(await bannerOf(page, ids.english).innerText()),
    'the English headline in the banner');
  assert.deepEqual(seen.errors, []);
  await context.close();
});

// ---- accessibility -----------------------------------------------------------------

for (const [width, height, label] of [[360, 800, '360 px'], [1280, 900, 'desktop width']]) {
  test(`axe-core: the pages with bulletins, open and folded, in both languages, at ${label}`, async () => {
    const { context, page, seen } = await newPage({ width, height });
    const found = {};
    for (const lang of ['zh-CN', 'en']) {
      for (const [name, p] of [['home', '/'], ['bulletins', '/bulletins.html']]) {
        await page.goto(`${node.url}${p}`);
        await page.evaluate((l) => localStorage.setItem('alliance.lang', l), lang);
        await page.reload();
        await loaded(page);
        await waitFor(() => page.evaluate((l) => document.documentElement.lang === l, lang), `lang ${lang}`);
        if (name === 'home') {
          // fold them (the first pass; the second finds them folded
          // still) so both states are checked; folded, each is one line
          // whose fold button stays on the screen
          for (const toggle of await page.locator('#alerts button.banner-toggle').all()) {
            if (await toggle.getAttribute('aria-expanded') === 'true') await toggle.click();
            const word = await toggle.locator('.fold-word').boundingBox();
            const line = await toggle.boundingBox();
            assert.ok(word.x + word.width <= width && line.height < 60,
              `${lang}: folded within the screen (${JSON.stringify(word)}, ${line.height} px high)`);
          }
        }
        if (width === 360) await page.screenshot({ path: artifact(`bulletins-${name}-${lang}-360.png`), fullPage: true });
        const v = await axe(page);
        if (v.length) found[`${name} ${lang}`] = v;
      }
    }
    assert.deepEqual(found, {}, JSON.stringify(found, null, 2));
    assert.deepEqual(seen.errors, []);
    await context.close();
  });
}
