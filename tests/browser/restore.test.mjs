// restore.test.mjs: the district console flags a community whose node came
// back with a store restored from an older backup (issue 14, finding 2).
//
// A real local alliance of two communities: the first node's store is
// copied with sqlite's backup API while it runs, a service is published
// there after the copy (it reaches the hub), the alliance is stopped, the
// copy put in place of the store (-wal and -shm removed) and the alliance
// started again on the same directory. The console, in Chromium with the
// operator certificate, must show the restore in that community's row and
// in no other. The browser part runs in a child Node whose
// NODE_EXTRA_CA_CERTS is the alliance CA (as district.test.mjs explains).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { BUILD, REPO, getJson, publish, startAlliance, waitFor } from './lib/harness.mjs';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const LAUNCHER = path.join(REPO, 'deploy', 'local-alliance');
const BACKUP = 'import sqlite3, sys\n' +
  'src, dst = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])\n' +
  'src.backup(dst)\ndst.close()\nsrc.close()\n';

let alliance;

before(async () => {
  alliance = await startAlliance(2);
}, { timeout: 150000 });

after(async () => {
  await alliance?.stop();
});

test('the district console shows a node whose store was restored from an older backup', async () => {
  const [a] = alliance.nodes;
  const store = path.join(alliance.dir, 'data', `${a.community}.db`);
  const saved = path.join(alliance.dir, 'backup.db');
  await run('/usr/bin/python3', ['-c', BACKUP, store, saved]);
  const [late] = await publish(alliance, a.url, 'services', [{
    title: '备份之后的新服务 Added after the backup', summary: 'after the backup',
    category: 'other', delivery: ['walk-in'], fee: 'free',
  }]);
  await waitFor(async () => {
    const r = await getJson(`${alliance.hub}/api/v1/catalog/${a.community}/${late}`).catch(() => null);
    return r && r.id === late;
  }, 'the service published after the backup at the hub', 30000);

  const env = { ...process.env, ALLIANCE_BUILD: BUILD };
  const base = new URL(alliance.env.HUB_ALLIANCE_URL).port;
  await run(LAUNCHER, ['down', '--dir', alliance.dir], { env, timeout: 60000 });
  for (const suffix of ['-wal', '-shm']) rmSync(store + suffix, { force: true });
  copyFileSync(saved, store);
  await run(LAUNCHER, ['up', '--dir', alliance.dir, '--communities', '2', '--base-port', base,
                       '--detach'], { env, timeout: 120000 });
  // the service the backup lacks comes back to the restored node
  await waitFor(async () => {
    const r = await getJson(`${a.url}/api/v1/catalog/${a.community}/${late}`).catch(() => null);
    return r && r.id === late;
  }, 'the service published after the backup back at the restored node', 30000);

  try {
    const r = await run(process.execPath, [path.join(HERE, 'lib', 'restore-console.mjs')], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: alliance.env.CA_CERT,
             ALLIANCE_ENV: path.join(alliance.dir, 'alliance.env'), RESTORED: a.community },
      timeout: 120000,
    });
    if (r.stdout) console.log(r.stdout.trim());
  } catch (e) {
    assert.fail(`the district console check failed:\n${e.stdout || ''}${e.stderr || ''}`);
  }
});
