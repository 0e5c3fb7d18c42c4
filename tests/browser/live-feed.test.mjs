// live-feed.test.mjs: the node's live feed of bulletins (server-sent
// events) as a third-party client reads it: the `eventsource` package from
// npm (not a browser, not our code) against a real hub and node (issue 15,
// item 4).
//
// The client follows the feed, goes away (its requests fail, as on a lost
// network), the node restarts meanwhile, and a bulletin, an update and a
// cancellation are issued; when the client is let back it reconnects on
// its own with Last-Event-ID and gets all three, in the order issued.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { EventSource } from 'eventsource';

import { restartNode, startAlliance, waitFor } from './lib/harness.mjs';

let alliance, node;

before(async () => {
  alliance = await startAlliance(1);
  [node] = alliance.nodes;
}, { timeout: 150000 });

after(async () => {
  await alliance?.stop();
});

// The texts every bulletin here carries besides its headline.
const TEXTS = ['--description', '3 号楼停水。', '--cause', '管道维修。',
  '--response', '自来水公司正在处置。', '--instructions', '请提前储水。'];

async function ctl(kind, ...args) {
  const texts = kind === 'cancel' ? [] : TEXTS;
  return (await alliance.ctl('bulletin', kind, ...args, ...texts, '--wait', '--timeout', '20'))
    .split('\n')[0].trim();
}

test('a client back after a restart gets what was issued while it was away, Last-Event-ID', { timeout: 120000 }, async () => {
  let away = false;
  const asked = [];   // the Last-Event-ID of each request the client made
  const events = [];
  const es = new EventSource(`${node.url}/api/v1/bulletins/live`, {
    fetch: (url, init) => {
      asked.push(init.headers['Last-Event-ID'] ?? null);
      if (away) return Promise.reject(new TypeError('network unreachable (away)'));
      return fetch(url, init);
    },
  });
  es.addEventListener('bulletin', (e) => events.push({ id: e.lastEventId, data: JSON.parse(e.data) }));
  try {
    await waitFor(async () => es.readyState === EventSource.OPEN, 'the feed to open', 10000);
    const first = await ctl('issue', '--headline', `停水通知 ${Date.now()}`);
    await waitFor(async () => events.some((e) => e.data.id === first), 'the first bulletin live', 10000);
    const seen = events.find((e) => e.data.id === first).id;
    assert.match(seen, /^[1-9][0-9]*$/, 'the event id is the stored sequence');

    // away: the node restarts, and three bulletins are issued
    away = true;
    await restartNode(alliance, node);
    const second = await ctl('issue', '--headline', `燃气检修 ${Date.now()}`, '--severity', 'severe');
    const update = await ctl('update', first, '--headline', `停水延长至明天 ${Date.now()}`);
    const cancel = await ctl('cancel', second);
    const sofar = events.length;
    const tries = asked.length;

    // back: the client reconnects on its own, naming the last id it saw
    away = false;
    await waitFor(async () => events.some((e) => e.data.id === cancel),
      'the bulletins issued while away', 20000);
    const replayed = events.slice(sofar);
    assert.deepEqual(replayed.map((e) => e.data.id), [second, update, cancel]);
    assert.deepEqual(replayed.map((e) => e.data.type), ['alert', 'update', 'cancel']);
    assert.equal(replayed[0].data.status, 'cancelled', 'the replay says what became of it');
    assert.deepEqual(replayed[2].data.references, [second]);
    const ids = replayed.map((e) => Number(e.id));
    assert.ok(ids.every((id, i) => id > (i ? ids[i - 1] : Number(seen))), `ids after ${seen}: ${ids}`);
    assert.ok(asked.length > tries, 'the client reconnected');
    assert.equal(asked.at(-1), String(seen), 'it reconnected with Last-Event-ID');
  } finally {
    es.close();
  }
});
