// pages.test.mjs: what holds for every page in web/ (each resident page,
// manage/, district/), found by listing web/ so a new page is covered:
// its own HTML, CSS and JS stay under 100 KB with nothing inline, and
// every string it uses comes from the string files it loads: each key its
// HTML and scripts name (read as text, as a node serves the page: with
// the page shell filled in), and each it shows in English.
//
// The English check opens each page at a node of a real alliance (a
// published home-visit service, a district poll, a request made from
// this browser, the manager logged in), so the pages render their data
// too: t() reports a key that no loaded file has on the console (i18n.js),
// and every element marked data-i18n must read its English string, then
// its Chinese one once the language switch is pressed.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { REPO, launch, publish, startAlliance, waitFor, watch } from './lib/harness.mjs';

const WEB = path.join(REPO, 'web');
const LIMIT = 100 * 1024;

// PAGES: every .html file of web/ and of its folders (manage/, district/),
// as paths relative to web/.
const PAGES = readdirSync(WEB, { withFileTypes: true }).flatMap((d) => {
  if (d.isFile() && d.name.endsWith('.html')) return [d.name];
  if (!d.isDirectory()) return [];
  return readdirSync(path.join(WEB, d.name)).filter((f) => f.endsWith('.html')).map((f) => `${d.name}/${f}`);
}).sort();

// linked: the style sheets and scripts page links, as paths relative to web/.
function linked(page, html) {
  return [...html.matchAll(/<(?:script[^>]*\bsrc|link[^>]*rel="stylesheet"[^>]*\bhref)="([^"]+)"/g)]
    .map((m) => path.posix.normalize(path.posix.join(path.posix.dirname(page), m[1])));
}

// served: every page's HTML as a node of a real alliance serves it, the
// page shell (web/shell.tpl) filled in and, on the two rendered pages,
// the style sheets inline; fetched once for the tests that read pages.
let servedOnce;
function served() {
  servedOnce = servedOnce || (async () => {
    const alliance = await startAlliance(1);
    try {
      const out = {};
      for (const page of PAGES) {
        const r = await fetch(`${alliance.nodes[0].url}/${page}`);
        assert.equal(r.status, 200, page);
        out[page] = await r.text();
      }
      return out;
    } finally {
      await alliance.stop();
    }
  })();
  return servedOnce;
}

test('every page\'s own HTML, CSS and JS stay under 100 KB, with nothing inline', { timeout: 180000 }, async () => {
  assert.ok(PAGES.includes('index.html') && PAGES.includes('manage/index.html') &&
            PAGES.includes('district/index.html'), PAGES.join(' '));
  // what is written: no page file and not the shell puts anything inline
  for (const file of [...PAGES, 'shell.tpl']) {
    const text = readFileSync(path.join(WEB, file), 'utf8');
    assert.doesNotMatch(text, /<script(?![^>]*\bsrc=)[^>]*>/i, `${file}: an inline script`);
    assert.doesNotMatch(text, /<style|\sstyle=|\son[a-z]+=/i, `${file}: an inline style or handler`);
  }
  // what is served: the page with its shell, and what it links
  const pages = await served();
  const lines = [];
  const over = [];
  for (const page of PAGES) {
    const html = pages[page];
    const bytes = linked(page, html).reduce((n, f) => n + readFileSync(path.join(WEB, f)).length,
      Buffer.byteLength(html));
    lines.push(`${page} ${bytes} (${(bytes / 1024).toFixed(1)} KiB)`);
    if (bytes >= LIMIT) over.push(`${page}: ${bytes} bytes`);
  }
  console.log(`page weights (HTML+CSS+JS, uncompressed):\n${lines.join('\n')}`);
  assert.deepEqual(over, []);
});

// Words a page's scripts or HTML use as something else than a string's
// key, though a string file has that key: a bulletin's type (cancel) and
// an input's type (password).
const NOT_KEYS = new Set(['cancel', 'password']);

// What a page does not show in a browser run (an empty list, an error it
// did not meet) is still checked here: each quoted word in its HTML and
// its scripts that is the key of a string in any string file
// (web/js/*i18n.js) must be in a string file the page loads.
test('each string key a page\'s HTML and scripts name is in the string files it loads', { timeout: 180000 }, async () => {
  const pages = await served();
  const owner = {};   // key -> the string file that has it
  for (const f of readdirSync(path.join(WEB, 'js')).filter((n) => n.endsWith('i18n.js')))
    for (const m of readFileSync(path.join(WEB, 'js', f), 'utf8').matchAll(/^\s*'?([\w-]+)'?:\s*\[/mg))
      owner[m[1]] = `js/${f}`;
  const missing = {};
  for (const page of PAGES) {
    const html = pages[page];
    const files = linked(page, html);
    const strings = new Set(files.filter((f) => f.endsWith('i18n.js')));
    // noscript text is never scripted: its words are not looked up
    const text = [html.replace(/<noscript>[\s\S]*?<\/noscript>/g, ''),
      ...files.filter((f) => f.endsWith('.js') && !strings.has(f)).map((f) => readFileSync(path.join(WEB, f), 'utf8'))].join('\n');
    const named = new Set([...text.matchAll(/['"]([\w-]+)['"]/g)].map((m) => m[1]));
    const lost = [...named].filter((k) => owner[k] && !NOT_KEYS.has(k) && !strings.has(owner[k]));
    if (lost.length) missing[page] = lost.map((k) => `${k} (${owner[k]})`);
  }
  assert.deepEqual(missing, {});
});

// marked: in the page, what is wrong with the marked elements in language
// lang (column col of I18N): the html's lang, a key no loaded file has, an
// element or attribute that does not read its string.
function marked([lang, col]) {
  const out = [];
  const string = (key) => (window.Alliance.I18N[key] ? window.Alliance.I18N[key][col] : null);
  if (document.documentElement.lang !== lang) out.push(`html lang ${document.documentElement.lang}`);
  const title = document.querySelector('meta[name="alliance-title"]');
  if (title && string(title.content) === null) out.push(`title: no string ${title.content}`);
  for (const e of document.querySelectorAll('[data-i18n]')) {
    const key = e.getAttribute('data-i18n');
    if (string(key) === null) out.push(`no string ${key}`);
    else if (e.textContent !== string(key)) out.push(`${key} reads "${e.textContent}"`);
  }
  for (const e of document.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of e.getAttribute('data-i18n-attr').split(';')) {
      const [attr, key] = pair.split(':').map((x) => x.trim());
      if (string(key) === null) out.push(`no string ${key} (${attr})`);
      else if (e.getAttribute(attr) !== string(key)) out.push(`${key} (${attr}) reads "${e.getAttribute(attr)}"`);
    }
  }
  return out;
}

test('in English, every page finds each string it uses in the string files it loads', { timeout: 300000 }, async () => {
  const alliance = await startAlliance(2);
  let browser;
  try {
    const [home, owner] = alliance.nodes;
    const [id] = await publish(alliance, owner.url, 'services', [{
      title: '上门理发', category: 'elderly-care', delivery: ['home-visit'], fee: 'free',
      summary: '为行动不便的老人上门理发', hours: '周一至周五 9:00-17:00', phone: '0532-88886666',
      audience: ['elderly'], languages: ['zh-CN'] }]);
    const code = `${owner.community}.${id}`;
    await waitFor(async () => {
      const r = await fetch(`${home.url}/open311/v2/services.json`);
      return r.ok && (await r.json()).some((s) => s.service_code === code);
    }, `${code} at ${home.community}`, 30000);
    const poll = (await alliance.ctl('poll', 'create', '--question', '周日延长图书馆开放时间吗？',
      '--option', '赞成', '--option', '反对', '--closes', '30m')).split(/\s+/)[0];
    await waitFor(async () => (await fetch(`${home.url}/api/v1/polls/${poll}`)).ok,
      `the district poll at ${home.community}`, 30000);
    const r = await fetch(`${home.url}/open311/v2/requests.json`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ service_code: code, description: '请上门理发', first_name: '王秀英',
        phone: '13912345678', address_string: '榆树巷 5 号' }).toString(),
    });
    assert.equal(r.status, 201);
    const [made] = await r.json();
    const mine = [{ id: made.service_request_id, token: made.token }];

    // where each page is opened: resident pages at the resident's node (the
    // ones about one service or poll with it in the query), the manager
    // console at the service's node, the district console as the file a
    // node serves (its API is the hub's; it shows that it cannot load)
    const query = { 'service.html': `?community=${owner.community}&id=${id}`,
                    'request.html': `?community=${owner.community}&id=${id}`,
                    'poll.html': `?id=${encodeURIComponent(poll)}` };
    browser = await launch();
    const found = {};
    for (const page of PAGES) {
      const base = page.startsWith('manage/') ? owner.url : home.url;
      const context = await browser.newContext({ viewport: { width: 360, height: 800 } });
      await context.addInitScript((requests) => {
        window.localStorage.setItem('alliance.lang', 'en');
        window.localStorage.setItem('alliance.requests', requests);
      }, JSON.stringify(mine));
      const tab = await context.newPage();
      const seen = watch(tab);
      await tab.goto(`${base}/${page.replace(/index\.html$/, '')}${query[page] || ''}`);
      if (page.startsWith('manage/')) {     // each console page signed in
        await tab.locator('#password').fill(alliance.env.MANAGER_PASSWORD);
        await tab.locator('#login-form button[type="submit"]').click();
        await tab.locator('#console').waitFor({ timeout: 30000 });
      }
      if (page === 'manage/index.html')
        await tab.locator(`#requests li[data-id="${made.service_request_id}"]`).waitFor({ timeout: 30000 });
      if (page === 'manage/polls.html')
        await tab.locator('#polls .cards, #polls .note').first().waitFor();
      // the page has its data: nothing still says Loading…
      await waitFor(() => tab.evaluate(() => document.readyState === 'complete' &&
        ![...document.querySelectorAll('main *')].some((e) => e.childElementCount === 0 &&
          e.textContent.trim() === 'Loading…' && e.getClientRects().length > 0)),
        `${page} loaded`, 20000);
      const wrong = await tab.evaluate(marked, ['en', 1]);
      // the language switch turns it all to Chinese
      await tab.locator('#lang-toggle').click();
      wrong.push(...(await tab.evaluate(marked, ['zh-CN', 0])).map((w) => `after the switch: ${w}`));
      const problems = [...wrong, ...seen.errors];
      if (problems.length) found[page] = problems;
      await context.close();
    }
    console.log(`pages checked in English and switched to Chinese: ${PAGES.join(' ')}`);
    assert.deepEqual(found, {}, JSON.stringify(found, null, 2));
  } finally {
    await browser?.close();
    await alliance.stop();
  }
});
