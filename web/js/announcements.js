/* announcements.js: every current announcement of the alliance, newest
 * first (GET /api/v1/announcements). */
'use strict';

var notices = { result: null };

window.PAGE = {
  render: function () {
    var box = clear(document.getElementById('list'));
    var r = notices.result;
    if (!r) { append(box, message('loading')); return; }
    if (!r.ok || !r.data || !Array.isArray(r.data.items)) { append(box, message('load_failed', 'error')); return; }
    if (!r.data.items.length) { append(box, message('none_announcements')); return; }
    append(box, el('ul', { className: 'cards' }, r.data.items.map(function (a) {
      return el('li', { className: 'card notice' },
        el('h2', { className: 'card-title', text: a.title }),
        el('p', { className: 'badges' }, badge(catLabel(a.category || 'other'), 'cat')),
        a.body ? el('p', { className: 'body-text', text: a.body }) : null,
        el('p', { className: 'meta' },
          t('published', { t: formatTime(a.published) }) +
          (a.expires ? ' · ' + t('expires', { t: formatTime(a.expires) }) : '') +
          ' · ' + t('offered_by') + '：', communityLabel(a.community)));
    })));
  }
};

api('/api/v1/announcements?limit=100').then(function (r) { notices.result = r; window.PAGE.render(); });
