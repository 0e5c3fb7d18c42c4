/* manage-residents.js: residents' accounts awaiting the manager's word
 * (manage/index.html), after manage.js (send() adds the CSRF token).
 *
 * GET /api/v1/residents/pending lists accounts whose phone nobody has
 * confirmed (without an SMS gateway, every phone registration); such an
 * account votes once the manager, having seen the person and her phone,
 * confirms it: POST /api/v1/residents/{id}/confirm. "注销登录" signs the
 * account out everywhere: POST /api/v1/residents/{id}/revoke. */
'use strict';

var voters = { items: null, failed: false, timer: null };

function voterRow(p) {
  var name = p.name || t('rs_no_name');
  function button(cls, key, path, done) {
    var b = el('button', { type: 'button', className: cls, text: t(key),
      'aria-label': t(key) + ' · ' + name + ' ' + p.phone });
    b.addEventListener('click', function () {
      send('POST', '/api/v1/residents/' + p.resident + '/' + path, {}).then(function (r) {
        if (r.ok) { say(done); loadVoters(); } else if (r.status !== 401) say('save_failed', { m: errorText(r) });
      });
    });
    return b;
  }
  return el('li', { className: 'card row', 'data-resident': p.resident },
    el('div', { className: 'row-main' },
      el('h3', { className: 'card-title', text: name }),
      el('p', { className: 'meta', text: p.phone + ' · ' + t('rs_since', { t: formatTime(p.created) }) })),
    el('div', { className: 'row-actions' },
      button('primary', 'rs_confirm', 'confirm', 'rs_confirmed'),
      button('button secondary danger', 'rs_revoke', 'revoke', 'rs_revoked')));
}

function renderVoters() {
  var box = clear(document.getElementById('residents'));
  if (voters.failed) append(box, message('load_failed', 'error'));
  else if (!voters.items) append(box, message('loading'));
  else if (!voters.items.length) append(box, message('rs_none'));
  else append(box, el('ul', { className: 'cards' }, voters.items.map(voterRow)));
}

function loadVoters() {
  if (!mgr.session) return;
  send('GET', '/api/v1/residents/pending').then(function (r) {
    voters.failed = !(r.ok && r.data && Array.isArray(r.data.items));
    voters.items = voters.failed ? null : r.data.items;
    renderVoters();
  });
}

window.VOTERS = {
  start: function () {
    loadVoters();
    if (!voters.timer) voters.timer = setInterval(loadVoters, 10000);
  },
  stop: function () {
    if (voters.timer) { clearInterval(voters.timer); voters.timer = null; }
    voters.items = null;
  },
  render: function () { if (mgr.session) renderVoters(); }
};
