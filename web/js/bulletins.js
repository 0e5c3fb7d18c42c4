/* bulletins.js: the bulletins page: those in force first, then those that
 * ended; each with its severity as colour, icon AND words, what happened,
 * why, what the authorities are doing, what residents should do (phone
 * numbers as tel: links) and who issued it, in English on an English
 * page when the bulletin has English text. The page arrives with those in
 * force in its HTML (lib/pages.c renders the same markup); that list is
 * kept until resident.js's list is loaded, then rendered from it, and the
 * live feed keeps it current, so a new bulletin appears without a
 * reload. */
'use strict';

var bpage = { result: null };

function level(prefix, value) {
  return t(prefix + '_' + (value || 'unknown'), null, value || '');
}

function bulletinArticle(b) {
  var sev = severityOf(b);
  var current = inForce(b);
  var state = b.status || (current ? 'current' : 'expired');
  /* the area by community names ({a} of the string becomes the list) */
  var parts = t('bulletin_area', { a: '\u0000' }).split('\u0000');
  var area = Array.isArray(b.area) && b.area.length
    ? [parts[0], communityList(b.area), parts[1] || ''] : t('bulletin_area_all');
  var top = el('div', { className: 'bulletin-top ' + (current ? 'sev-' + sev : '') },
    el('p', { className: 'banner-head' }, severityBadge(b),
      b.type === 'update' || b.type === 'cancel' ? el('span', { className: 'state', text: t('type_' + b.type) }) : null,
      el('span', { className: 'state', text: t('status_' + state, null, state) })),
    el('h3', { text: bulletinText(b, 'headline') }));
  var body = el('div', { className: 'bulletin-body' });
  var part = function (key, text, cls) {
    if (!text) return;
    append(body, el('h4', { text: t(key) }), el('p', { className: 'body-text ' + (cls || '') }, withPhones(text)));
  };
  part('bulletin_instructions', bulletinText(b, 'instructions'), 'do');
  part('bulletin_what', bulletinText(b, 'description'));
  part('bulletin_cause', bulletinText(b, 'cause'));
  part('bulletin_response', bulletinText(b, 'response'));
  append(body, el('p', { className: 'note' },
    t('bulletin_urgency') + '：' + level('urgency', b.urgency) + ' · ' +
    t('bulletin_certainty') + '：' + level('certainty', b.certainty)));
  append(body, el('p', { className: 'note' }, area));
  if (b.sender) append(body, el('p', { className: 'note', text: t('bulletin_sender', { s: b.sender }) }));
  append(body, el('p', { className: 'note' },
    (b.sent ? t('bulletin_sent', { t: formatTime(b.sent) }) : '') +
    (b.expires ? ' · ' + t('bulletin_expires', { t: formatTime(b.expires) }) : '')));
  return el('li', { className: 'bulletin' + (current ? '' : ' ended'), id: 'b-' + (b.id || ''),
    'data-bulletin': b.id || '' }, el('article', null, top, body));
}

window.PAGE = {
  render: function () {
    var box = document.getElementById('list');
    if (!bulletins.loaded) {
      /* the daemon's list stays until the API answers */
      if (box.querySelector('section')) return;
      append(clear(box), message(bpage.result ? 'load_failed' : 'loading', bpage.result ? 'error' : ''));
      return;
    }
    clear(box);
    var now = bulletins.items.filter(inForce).sort(function (a, b) {
      return severityRank(a) - severityRank(b) || String(b.sent || '').localeCompare(String(a.sent || ''));
    });
    var past = bulletins.items.filter(function (b) { return !inForce(b); });
    append(box, el('section', { 'aria-labelledby': 'h-now' },
      el('h2', { id: 'h-now', text: t('current_bulletins') }),
      now.length ? el('ul', { className: 'plain' }, now.map(bulletinArticle)) : message('none_bulletins')));
    if (past.length)
      append(box, el('section', { 'aria-labelledby': 'h-past', className: 'section' },
        el('h2', { id: 'h-past', text: t('past_bulletins') }),
        el('ul', { className: 'plain' }, past.map(bulletinArticle))));
  }
};

bulletins.listeners.push(function (r) { bpage.result = r; window.PAGE.render(); });
