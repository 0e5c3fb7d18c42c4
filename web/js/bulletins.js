/* bulletins.js: the bulletins page: those in force first, then those that
 * ended; each with its severity as colour, icon AND words, what happened,
 * why, what the authorities are doing, what residents should do (phone
 * numbers as tel: links) and who issued it, in English on an English
 * page when the bulletin has English text. The page arrives with those in
 * force in its HTML (lib/pages.c renders the same markup); that list is
 * kept until resident.js's list is loaded, then rendered from it, and the
 * live feed keeps it current, so a new bulletin appears without a
 * reload. A check-in bulletin in force carries its two answers
 * (checkin.js). */
'use strict';

(function (A) {

/* chosen: the check-in answer a push notification's action asked for
 * (sw.js: ?b=ID&answer=safe|help), its button focused once shown. */
var bpage = { result: null, chosen: null };

function level(prefix, value) {
  return A.t(prefix + '_' + (value || 'unknown'), null, value || '');
}

function bulletinArticle(b) {
  var sev = A.severityOf(b);
  var current = A.inForce(b);
  var state = b.status || (current ? 'current' : 'expired');
  /* the area by community names ({a} of the string becomes the list) */
  var parts = A.t('bulletin_area', { a: '\u0000' }).split('\u0000');
  var area = Array.isArray(b.area) && b.area.length
    ? [parts[0], A.communityList(b.area), parts[1] || ''] : A.t('bulletin_area_all');
  var top = A.el('div', { className: 'bulletin-top ' + (current ? 'sev-' + sev : '') },
    A.el('p', { className: 'banner-head' }, A.severityBadge(b),
      b.type === 'update' || b.type === 'cancel' ? A.el('span', { className: 'state', text: A.t('type_' + b.type) }) : null,
      A.el('span', { className: 'state', text: A.t('status_' + state, null, state) })),
    A.el('h3', { text: A.bulletinText(b, 'headline') }));
  var body = A.el('div', { className: 'bulletin-body' });
  var part = function (key, text, cls) {
    if (!text) return;
    A.append(body, A.el('h4', { text: A.t(key) }), A.el('p', { className: 'body-text ' + (cls || '') }, A.withPhones(text)));
  };
  part('bulletin_instructions', A.bulletinText(b, 'instructions'), 'do');
  part('bulletin_what', A.bulletinText(b, 'description'));
  part('bulletin_cause', A.bulletinText(b, 'cause'));
  part('bulletin_response', A.bulletinText(b, 'response'));
  A.append(body, A.el('p', { className: 'note' },
    A.t('bulletin_urgency') + '：' + level('urgency', b.urgency) + ' · ' +
    A.t('bulletin_certainty') + '：' + level('certainty', b.certainty)));
  A.append(body, A.el('p', { className: 'note' }, area));
  if (b.sender) A.append(body, A.el('p', { className: 'note', text: A.t('bulletin_sender', { s: b.sender }) }));
  if (b.check_in && current && A.checkinPanel)
    A.append(body, A.checkinPanel(b, undefined, bpage.chosen && bpage.chosen.id === b.id ? bpage.chosen.answer : null));
  A.append(body, A.el('p', { className: 'note' },
    (b.sent ? A.t('bulletin_sent', { t: A.formatTime(b.sent) }) : '') +
    (b.expires ? ' · ' + A.t('bulletin_expires', { t: A.formatTime(b.expires) }) : '')));
  return A.el('li', { className: 'bulletin' + (current ? '' : ' ended'), id: 'b-' + (b.id || ''),
    'data-bulletin': b.id || '' }, A.el('article', null, top, body));
}

function render() {
  var box = document.getElementById('list');
  if (!A.bulletins.loaded) {
    /* the daemon's list stays until the API answers */
    if (box.querySelector('section')) return;
    A.append(A.clear(box), A.message(bpage.result ? 'load_failed' : 'loading', bpage.result ? 'error' : ''));
    return;
  }
  /* the chosen answer keeps the focus through a new render */
  var had = document.activeElement && box.contains(document.activeElement) &&
    document.activeElement.classList.contains('checkin-chosen');
  A.clear(box);
  var now = A.bulletins.items.filter(A.inForce).sort(function (a, b) {
    return A.severityRank(a) - A.severityRank(b) || String(b.sent || '').localeCompare(String(a.sent || ''));
  });
  var past = A.bulletins.items.filter(function (b) { return !A.inForce(b); });
  A.append(box, A.el('section', { 'aria-labelledby': 'h-now' },
    A.el('h2', { id: 'h-now', text: A.t('current_bulletins') }),
    now.length ? A.el('ul', { className: 'plain' }, now.map(bulletinArticle)) : A.message('none_bulletins')));
  if (past.length)
    A.append(box, A.el('section', { 'aria-labelledby': 'h-past', className: 'section' },
      A.el('h2', { id: 'h-past', text: A.t('past_bulletins') }),
      A.el('ul', { className: 'plain' }, past.map(bulletinArticle))));
  var c = bpage.chosen;
  var pick = c && (!c.focused || had) && box.querySelector('.checkin-chosen');
  if (pick) {
    pick.focus();
    if (!c.focused) pick.scrollIntoView({ block: 'center' });
    c.focused = true;
  }
}

A.page({
  start: function () {
    var m = /[?&]b=([A-Za-z0-9._-]{1,128})&answer=(safe|help)(?:&|$)/.exec(window.location.search);
    if (m) bpage.chosen = { id: m[1], answer: m[2], focused: false };
    A.bulletins.listeners.push(function (r) { bpage.result = r; render(); });
  },
  render: render
});
})(Alliance);
