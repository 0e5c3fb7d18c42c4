/* manage-residents.js: residents' accounts awaiting the manager's word
 * (manage/index.html), after manage.js (send() adds the CSRF token).
 *
 * GET /api/v1/residents/pending lists accounts whose phone nobody has
 * confirmed (without an SMS gateway, every phone registration); such an
 * account votes once the manager, having seen the person and her phone,
 * confirms it: POST /api/v1/residents/{id}/confirm. "注销登录" signs the
 * account out everywhere: POST /api/v1/residents/{id}/revoke. */
'use strict';

(function (A) {

var voters = { items: null, failed: false, timer: null };

function voterRow(p) {
  var name = p.name || A.t('rs_no_name');
  function button(cls, key, path, done) {
    var b = A.el('button', { type: 'button', className: cls, text: A.t(key),
      'aria-label': A.t(key) + ' · ' + name + ' ' + p.phone });
    b.addEventListener('click', function () {
      A.send('POST', '/api/v1/residents/' + p.resident + '/' + path, {}).then(function (r) {
        if (r.ok) { A.say(done); loadVoters(); } else if (r.status !== 401) A.say('save_failed', { m: A.errorText(r) });
      });
    });
    return b;
  }
  return A.el('li', { className: 'card row', 'data-resident': p.resident },
    A.el('div', { className: 'row-main' },
      A.el('h3', { className: 'card-title', text: name }),
      A.el('p', { className: 'meta', text: p.phone + ' · ' + A.t('rs_since', { t: A.formatTime(p.created) }) })),
    A.el('div', { className: 'row-actions' },
      button('primary', 'rs_confirm', 'confirm', 'rs_confirmed'),
      button('button secondary danger', 'rs_revoke', 'revoke', 'rs_revoked')));
}

function renderVoters() {
  var box = A.clear(document.getElementById('residents'));
  if (voters.failed) A.append(box, A.message('load_failed', 'error'));
  else if (!voters.items) A.append(box, A.message('loading'));
  else if (!voters.items.length) A.append(box, A.message('rs_none'));
  else A.append(box, A.el('ul', { className: 'cards' }, voters.items.map(voterRow)));
}

function loadVoters() {
  if (!A.mgr.session) return;
  A.send('GET', '/api/v1/residents/pending').then(function (r) {
    voters.failed = !(r.ok && r.data && Array.isArray(r.data.items));
    voters.items = voters.failed ? null : r.data.items;
    renderVoters();
  });
}

A.signedIn({
  start: function () {
    loadVoters();
    if (!voters.timer) voters.timer = setInterval(loadVoters, 10000);
  },
  stop: function () {
    if (voters.timer) { clearInterval(voters.timer); voters.timer = null; }
    voters.items = null;
  }
});

A.page({
  render: function () { if (A.mgr.session) renderVoters(); }
});
})(Alliance);
