// harness.mjs: what the browser tests stand on: a real local alliance
// (deploy/local-alliance up --detach on free ports, torn down after),
// publishing through a node's manager API, alliancectl, Debian's Chromium
// through playwright-core, axe-core, and polling instead of sleeping.
//
// Parts: paths; waiting; the alliance; an SMS gateway; publishing; the
// browser; axe.

import { execFile, spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

// ---- paths ------------------------------------------------------------------

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUILD = process.env.ALLIANCE_BUILD
  ? path.resolve(process.env.ALLIANCE_BUILD) : path.join(REPO, 'build');
export const ARTIFACTS = path.join(REPO, 'build', 'browser-artifacts');
const LAUNCHER = path.join(REPO, 'deploy', 'local-alliance');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// ---- waiting ----------------------------------------------------------------

// waitFor: poll fn (may be async) until it returns something truthy; that
// value, or an error naming what after timeoutMs.
export async function waitFor(fn, what, timeoutMs = 10000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
                      (last ? `: ${last.message}` : ''));
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---- the alliance -----------------------------------------------------------

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// freeBase: a base port P with P .. P+count-1 all free on 127.0.0.1, below
// the kernel's ephemeral range (from 32768), where the local end of an
// outgoing connection could take one before the daemon binds it.
async function freeBase(count) {
  for (let tries = 0; tries < 50; tries++) {
    const base = 10000 + Math.floor(Math.random() * (32768 - 10000 - count));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error('no free run of ports on 127.0.0.1');
}

// parseEnv: the NAME='value' lines deploy/local-alliance writes (env
// file) as an object; a quote inside a value is written '\''.
export function parseEnv(text) {
  const env = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)='(.*)'$/.exec(line);
    if (m) env[m[1]] = m[2].replace(/'\\''/g, "'");
  }
  return env;
}

// startAlliance: a hub and n nodes (their pages from web/), returned as
// {env, hub, nodes: [{community, url}], ctl(...args), stop()}.
export async function startAlliance(n = 3) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'alliance-browser-'));
  const base = await freeBase(n + 2);
  const env = { ...process.env, ALLIANCE_BUILD: BUILD };
  const up = [LAUNCHER, 'up', '--dir', dir, '--communities', String(n),
              '--base-port', String(base), '--detach'];
  try {
    await run(up[0], up.slice(1), { env, timeout: 120000 });
  } catch (e) {
    await run(LAUNCHER, ['down', '--dir', dir], { env }).catch(() => {});
    throw new Error(`local-alliance up failed: ${e.stdout || ''}${e.stderr || ''}`);
  }
  const aenv = parseEnv(readFileSync(path.join(dir, 'alliance.env'), 'utf8'));
  const ids = aenv.COMMUNITIES.split(' ');
  const urls = aenv.NODE_URLS.split(' ');
  return {
    dir,
    env: aenv,
    hub: aenv.HUB_PUBLIC_URL,
    nodes: ids.map((community, i) => ({ community, url: urls[i] })),
    // ctl: run alliancectl with the alliance's variables; its stdout
    ctl: async (...args) => {
      const r = await run(path.join(BUILD, 'alliancectl'), args,
                          { env: { ...env, ...aenv }, timeout: 30000 });
      return r.stdout;
    },
    stop: async () => {
      await run(LAUNCHER, ['down', '--dir', dir], { env, timeout: 60000 }).catch(() => {});
      if (!process.env.KEEP_ALLIANCE) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// restartNode: stop the node of community node.community as local-alliance
// runs it and start it again from the same config and store, with extra
// appended if given (e.g. an [sms] section); the pid file is rewritten so
// `local-alliance down` stops it. Resolves once it holds its hub session again.
export async function restartNode(alliance, node, extra = '') {
  const pidfile = path.join(alliance.dir, 'run', `node-${node.community}.pid`);
  const conf = path.join(alliance.dir, 'conf', `${node.community}.conf`);
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  process.kill(pid, 'SIGTERM');
  await waitFor(async () => { try { process.kill(pid, 0); return false; } catch { return true; } },
    `node ${node.community} to stop`, 20000);
  if (extra) appendFileSync(conf, `\n${extra}`);
  const log = openSync(path.join(alliance.dir, 'logs', `node-${node.community}.log`), 'a');
  const child = spawn(path.join(BUILD, 'alliance-node'), ['-c', conf],
    { cwd: alliance.dir, stdio: ['ignore', log, log], detached: true });
  child.unref();
  writeFileSync(pidfile, `${child.pid}\n`);
  await waitFor(async () => (await fetch(`${node.url}/healthz`)).ok, `node ${node.community} again`, 30000);
  await waitFor(async () => (await (await fetch(`${node.url}/healthz`)).json()).hub.connected,
    `node ${node.community}'s hub session`, 30000);
}

// ---- an SMS gateway --------------------------------------------------------

// startSmsGateway: an HTTP server on 127.0.0.1 standing in for a node's
// [sms] gateway; each post it takes is pushed to texts as {ok, key, msg}:
// ok when X-Alliance-Signature is `t=<ts>,v1=<HMAC-SHA256 of "<ts>." and
// the body under secret>` with ts within five minutes, key its
// Idempotency-Key, msg the parsed body (null if not JSON). Answers 200;
// resolves the listening server.
export function startSmsGateway(secret, texts) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const sig = String(req.headers['x-alliance-signature'] || '');
      const ts = (/^t=(\d+),v1=/.exec(sig) || [])[1] || '';
      const want = Buffer.from(`t=${ts},v1=` + createHmac('sha256', secret)
        .update(`${ts}.`).update(body).digest('hex'));
      const got = Buffer.from(sig);
      let msg = null;
      try { msg = JSON.parse(body.toString()); } catch { msg = null; }
      texts.push({ ok: got.length === want.length && timingSafeEqual(got, want) &&
                       Math.abs(Date.now() / 1000 - Number(ts)) < 300,
                   key: req.headers['idempotency-key'], msg });
      res.writeHead(200).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ---- publishing ---------------------------------------------------------------

// publish: a bulk import of items (services or announcements) at the node
// whose manager URL is url; resolves the created ids.
export async function publish(alliance, url, kind, items) {
  const auth = Buffer.from(`manager:${alliance.env.MANAGER_PASSWORD}`).toString('base64');
  const r = await fetch(`${url}/api/v1/${kind}/bulk`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Basic ${auth}` },
    body: JSON.stringify({ items }),
  });
  const body = await r.text();
  if (!r.ok) throw new Error(`POST ${url}/api/v1/${kind}/bulk: ${r.status} ${body}`);
  return JSON.parse(body).ids;
}

export async function getJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return r.json();
}

// ---- the browser ----------------------------------------------------------------

// launch: Debian's Chromium, headless, with nothing reaching the network
// on its own (this machine's network is closed).
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
           '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
}

// watch: record what a page says that a test must see: dialogs (dismissed),
// page errors and console errors (CSP refusals among them), except the
// missing-resource lines of endpoints a page copes without.
export function watch(page) {
  const seen = { dialogs: [], errors: [] };
  page.on('dialog', (d) => { seen.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => seen.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text()))
      seen.errors.push(`console: ${m.text()}`);
  });
  return seen;
}

// newPage: a fresh context of browser with a width x height viewport and
// its page, watched (watch) from the start: {context, page, seen}.
export async function newPage(browser, width = 360, height = 800) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  return { context, page, seen: watch(page) };
}

// managerLogIn: page at node's manager console (/manage/), logged in with
// password; the caller waits for what it needs to see next.
export async function managerLogIn(page, node, password) {
  await page.goto(`${node.url}/manage/`);
  await page.getByLabel('密码').fill(password);
  await page.getByRole('button', { name: '登录' }).click();
}

// newResident: a resident of a new household code at node (the manager's
// password makes the code), signed in on page at path (her token in the
// page's storage, as the account page keeps it); the page is left at path
// before the reload that reads it. Resolves {token, resident}.
export async function newResident(page, node, password, path) {
  const basic = 'Basic ' + Buffer.from(`manager:${password}`).toString('base64');
  const code = await (await fetch(`${node.url}/api/v1/household-codes`, {
    method: 'POST', headers: { Authorization: basic, 'Content-Type': 'application/json' }, body: '{}' })).json();
  const who = await (await fetch(`${node.url}/api/v1/residents`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ household_code: code.code }) })).json();
  await page.goto(`${node.url}/${path}`);
  await page.evaluate((r) => localStorage.setItem('alliance.resident', JSON.stringify(r)),
    { token: who.token, resident: who.resident });
  return who;
}

export function artifact(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

// ---- axe ----------------------------------------------------------------------

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// axe: run axe-core on the page (evaluated through the debugging protocol,
// which the page's CSP does not govern) against WCAG 2.0/2.1 A and AA and
// best practices; resolves the violations of impact serious or critical.
export async function axe(page) {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    resultTypes: ['violations'],
  }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 5).map((x) => x.target.join(' ')) }));
}
