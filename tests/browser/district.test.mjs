// district.test.mjs: the district console (web/district/) on the hub's
// alliance port, in Debian's Chromium holding the operator certificate
// (issue 5, item 5).
//
// Trust: Playwright hands the client certificate to the alliance port
// through its own TLS proxy, which checks the hub's certificate with
// Node's TLS. Node reads extra CAs (NODE_EXTRA_CA_CERTS) only when it
// starts, and the alliance CA is made by `local-alliance up`, so the
// browser part runs in a child Node (lib/district-console.mjs) started
// with NODE_EXTRA_CA_CERTS = the alliance CA: the hub is verified, not
// waved through with ignoreHTTPSErrors.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { startAlliance } from './lib/harness.mjs';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));

let alliance, bulletin;

before(async () => {
  alliance = await startAlliance(3);
  const out = await alliance.ctl('bulletin', 'issue', '--headline', '台风橙色预警：今晚停止户外活动',
    '--description', '台风将于今晚登陆', '--cause', '热带气旋', '--response', '各社区已开放避难场所',
    '--instructions', '请留在室内，远离窗户', '--severity', 'severe', '--wait', '--timeout', '20');
  bulletin = out.split('\n')[0].trim();
  assert.match(bulletin, /^[A-Za-z0-9._-]+$/);
}, { timeout: 150000 });

after(async () => {
  await alliance?.stop();
});

test('the district console shows every community connected and a bulletin\'s delivery; node certificates get 403', async () => {
  const env = {
    ...process.env,
    NODE_EXTRA_CA_CERTS: alliance.env.CA_CERT,
    ALLIANCE_ENV: path.join(alliance.dir, 'alliance.env'),
    BULLETIN_ID: bulletin,
  };
  try {
    const r = await run(process.execPath, [path.join(HERE, 'lib', 'district-console.mjs')],
      { env, timeout: 120000 });
    if (r.stdout) console.log(r.stdout.trim());
  } catch (e) {
    assert.fail(`the district console check failed:\n${e.stdout || ''}${e.stderr || ''}`);
  }
});
