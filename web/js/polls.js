/* polls.js: the polls page (polls.html): the open polls of this community
 * and of the district (district polls come down from the hub to every
 * node; at the hub the district's come first), then the closed ones with
 * their outcome (or that the last tallies are awaited), from GET /api/v1/polls
 * at the resident's node (with her token, so each says whether she
 * voted). Each links to poll.html?id=ORIGIN.ID. Refreshed every
 * POLLS_EVERY_MS while the page is visible. */
'use strict';

var pollsPage = { result: null, atHub: false };
var POLLS_EVERY_MS = 10000;

function pollCard(p) {
  var voted = votedIn(p);
  return el('li', { className: 'card poll-card', 'data-poll': p.id },
    el('h3', { className: 'card-title' }, el('a', { href: 'poll.html' + query({ id: p.id }) }, p.question)),
    el('p', { className: 'badges' }, scopeBadge(p),
      voted ? badge(t('poll_you_voted'), 'free', 'check') : null),
    el('p', { className: 'meta', text: (p.closed ? t('poll_closed_at', { t: formatTime(p.closes) })
                                                  : t('poll_closes', { t: formatTime(p.closes) })) +
      ' · ' + t('poll_votes', { n: votesOf(p) }) }),
    p.closed ? el('p', { className: 'outcome', text: outcomeText(p) }) : null);
}

/* ownFirst: at a node, this community's polls before the district's,
 * each newest first as the node lists them. The hub's list is kept in its
 * own order: the district's first, then the communities' in turns. */
function ownFirst(a, b) {
  return (a.origin === 'district' ? 1 : 0) - (b.origin === 'district' ? 1 : 0);
}

window.PAGE = {
  render: function () {
    var openBox = clear(document.getElementById('open-polls'));
    var closedBox = clear(document.getElementById('closed-polls'));
    var r = pollsPage.result;
    if (!r) { append(openBox, message('loading')); append(closedBox, message('loading')); return; }
    if (!r.ok || !r.data || !Array.isArray(r.data.items)) {
      append(openBox, message('load_failed', 'error'));
      return;
    }
    var open = r.data.items.filter(function (p) { return !p.closed; });
    if (!pollsPage.atHub) open.sort(ownFirst);
    var closed = r.data.items.filter(function (p) { return p.closed; });
    append(openBox, open.length ? el('ul', { className: 'cards' }, open.map(pollCard)) : message('polls_none_open'));
    append(closedBox, closed.length ? el('ul', { className: 'cards' }, closed.map(pollCard)) : message('polls_none_closed'));
  }
};

/* the site's kind is known before the first list is drawn, so the
 * order never jumps */
var pollsKind = siteKind().then(function (k) { pollsPage.atHub = k.node === false; });

function loadPolls() {
  Promise.all([apiSend('GET', '/api/v1/polls'), pollsKind]).then(function (r) {
    pollsPage.result = r[0];
    window.PAGE.render();
  });
}

loadPolls();
setInterval(function () { if (document.visibilityState === 'visible') loadPolls(); }, POLLS_EVERY_MS);
