/* home.js: the home page: the newest services across the alliance and the
 * latest announcements, each from its own API call. The search box and the
 * category tiles are in the HTML, so the page is useful before either
 * answers; the bulletins banner is resident.js's. */
'use strict';

(function (A) {

var home = { services: null, announcements: null };

function announcementItem(a) {
  return A.el('li', { className: 'card notice' },
    A.el('h3', { className: 'card-title', text: a.title }),
    a.body ? A.el('p', { className: 'body-text', text: a.body }) : null,
    A.el('p', { className: 'meta' }, A.t('published', { t: A.formatTime(a.published) }) + ' · ' +
      A.t('offered_by') + '：', A.communityLabel(a.community)));
}

function renderSection(id, result, emptyKey, item) {
  var box = document.getElementById(id);
  A.clear(box);
  if (!result) { A.append(box, A.message('loading')); return; }
  if (!result.ok || !result.data || !Array.isArray(result.data.items)) {
    A.append(box, A.message('load_failed', 'error'));
    return;
  }
  if (!result.data.items.length) { A.append(box, A.message(emptyKey)); return; }
  A.append(box, A.el('ul', { className: 'cards' }, result.data.items.map(item)));
}

function render() {
  renderSection('newest', home.services, 'none_services', A.serviceCard);
  renderSection('announcements', home.announcements, 'none_announcements', announcementItem);
}

A.page({
  start: function () {
    A.api('/api/v1/catalog?limit=6').then(function (r) { home.services = r; render(); });
    A.api('/api/v1/announcements?limit=3').then(function (r) { home.announcements = r; render(); });
  },
  render: render
});
})(Alliance);
