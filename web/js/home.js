/* home.js: the home page: the newest services across the alliance and the
 * latest announcements, each from its own API call. The search box and the
 * category tiles are in the HTML, so the page is useful before either
 * answers; the bulletins banner is resident.js's. */
'use strict';

var home = { services: null, announcements: null };

function announcementItem(a) {
  return el('li', { className: 'card notice' },
    el('h3', { className: 'card-title', text: a.title }),
    a.body ? el('p', { className: 'body-text', text: a.body }) : null,
    el('p', { className: 'meta' }, t('published', { t: formatTime(a.published) }) + ' · ' +
      t('offered_by') + '：', communityLabel(a.community)));
}

function renderSection(id, result, emptyKey, item) {
  var box = document.getElementById(id);
  clear(box);
  if (!result) { append(box, message('loading')); return; }
  if (!result.ok || !result.data || !Array.isArray(result.data.items)) {
    append(box, message('load_failed', 'error'));
    return;
  }
  if (!result.data.items.length) { append(box, message(emptyKey)); return; }
  append(box, el('ul', { className: 'cards' }, result.data.items.map(item)));
}

window.PAGE = {
  render: function () {
    renderSection('newest', home.services, 'none_services', serviceCard);
    renderSection('announcements', home.announcements, 'none_announcements', announcementItem);
  }
};

api('/api/v1/catalog?limit=6').then(function (r) { home.services = r; window.PAGE.render(); });
api('/api/v1/announcements?limit=3').then(function (r) { home.announcements = r; window.PAGE.render(); });
