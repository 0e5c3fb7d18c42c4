/* announcements.js: every current announcement of the alliance, newest
 * first (GET /api/v1/announcements). */
'use strict';

(function (A) {

var notices = { result: null };

function render() {
  var box = A.clear(document.getElementById('list'));
  var r = notices.result;
  if (!r) { A.append(box, A.message('loading')); return; }
  if (!r.ok || !r.data || !Array.isArray(r.data.items)) { A.append(box, A.message('load_failed', 'error')); return; }
  if (!r.data.items.length) { A.append(box, A.message('none_announcements')); return; }
  A.append(box, A.el('ul', { className: 'cards' }, r.data.items.map(function (a) {
    return A.el('li', { className: 'card notice' },
      A.el('h2', { className: 'card-title', text: a.title }),
      A.el('p', { className: 'badges' }, A.badge(A.catLabel(a.category || 'other'), 'cat')),
      a.body ? A.el('p', { className: 'body-text', text: a.body }) : null,
      A.el('p', { className: 'meta' },
        A.t('published', { t: A.formatTime(a.published) }) +
        (a.expires ? ' · ' + A.t('expires', { t: A.formatTime(a.expires) }) : '') +
        ' · ' + A.t('offered_by') + '：', A.communityLabel(a.community)));
  })));
}

A.page({
  start: function () {
    A.api('/api/v1/announcements?limit=100').then(function (r) { notices.result = r; render(); });
  },
  render: render
});
})(Alliance);
