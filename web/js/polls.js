/* polls.js: the polls page (polls.html): the open polls of this community
 * and of the district (district polls come down from the hub to every
 * node; at the hub the district's come first), then the closed ones with
 * their outcome (or that the last tallies are awaited), from GET /api/v1/polls
 * at the resident's node (with her token, so each says whether she
 * voted). Each links to poll.html?id=ORIGIN.ID. Refreshed every
 * POLLS_EVERY_MS while the page is visible. */
'use strict';

(function (A) {

var pollsPage = { result: null, atHub: false };
var POLLS_EVERY_MS = 10000;

function pollCard(p) {
  var voted = A.votedIn(p);
  return A.el('li', { className: 'card poll-card', 'data-poll': p.id },
    A.el('h3', { className: 'card-title' }, A.el('a', { href: 'poll.html' + A.query({ id: p.id }) }, p.question)),
    A.el('p', { className: 'badges' }, A.scopeBadge(p),
      voted ? A.badge(A.t('poll_you_voted'), 'free', 'check') : null),
    A.el('p', { className: 'meta', text: (p.closed ? A.t('poll_closed_at', { t: A.formatTime(p.closes) })
                                                  : A.t('poll_closes', { t: A.formatTime(p.closes) })) +
      ' · ' + A.t('poll_votes', { n: A.votesOf(p) }) }),
    p.closed ? A.el('p', { className: 'outcome', text: A.outcomeText(p) }) : null);
}

/* ownFirst: at a node, this community's polls before the district's,
 * each newest first as the node lists them. The hub's list is kept in its
 * own order: the district's first, then the communities' in turns. */
function ownFirst(a, b) {
  return (a.origin === 'district' ? 1 : 0) - (b.origin === 'district' ? 1 : 0);
}

function render() {
  var openBox = A.clear(document.getElementById('open-polls'));
  var closedBox = A.clear(document.getElementById('closed-polls'));
  var r = pollsPage.result;
  if (!r) { A.append(openBox, A.message('loading')); A.append(closedBox, A.message('loading')); return; }
  if (!r.ok || !r.data || !Array.isArray(r.data.items)) {
    A.append(openBox, A.message('load_failed', 'error'));
    return;
  }
  var open = r.data.items.filter(function (p) { return !p.closed; });
  if (!pollsPage.atHub) open.sort(ownFirst);
  var closed = r.data.items.filter(function (p) { return p.closed; });
  A.append(openBox, open.length ? A.el('ul', { className: 'cards' }, open.map(pollCard)) : A.message('polls_none_open'));
  A.append(closedBox, closed.length ? A.el('ul', { className: 'cards' }, closed.map(pollCard)) : A.message('polls_none_closed'));
}
/* the site's kind, known before the first list is drawn, so the order
 * never jumps (a promise; start() asks) */
var pollsKind = null;

function loadPolls() {
  Promise.all([A.apiSend('GET', '/api/v1/polls'), pollsKind]).then(function (r) {
    pollsPage.result = r[0];
    render();
  });
}

function start() {
  pollsKind = A.siteKind().then(function (k) { pollsPage.atHub = k.node === false; });
  loadPolls();
  setInterval(function () { if (document.visibilityState === 'visible') loadPolls(); }, POLLS_EVERY_MS);
}

A.page({ start: start, render: render });
})(Alliance);
