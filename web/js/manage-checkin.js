/* manage-checkin.js: the manager's safety check-in page
 * (manage/checkin.html), a page of the console: the manager's session is
 * manage-session.js's, and this page's part starts and stops with it.
 *
 * The list of residents who need a call (living alone, over 80,
 * disabled), kept at this node only: GET and POST
 * /api/v1/check-in/residents, DELETE /api/v1/check-in/residents/{id}.
 * Every check-in in force (a bulletin of GET /api/v1/bulletins with
 * check_in, neither cancelled nor expired) gets a panel, refreshed every
 * POLL_MS from GET /api/v1/bulletins/{id}/check-in: the counts, then the
 * listed residents by state (needs help first, then not yet, then safe),
 * each with her phone as a tel: link, her grid worker, her calls and a
 * form for the grid worker to record a call's outcome (POST
 * .../check-in/calls); "personal links" mints each resident's link (POST
 * .../check-in/links) for the manager to send.
 *
 * Parts: requests; loading; the list; a check-in's panel; start. */
'use strict';

(function (A) {

var POLL_MS = 5000;
var NEEDS = ['living-alone', 'over-80', 'disabled'];
var OUTCOMES = ['reached-safe', 'reached-needs-help', 'no-answer'];
var STATES = ['help', 'not_yet', 'safe'];
var ck = { list: null, checkins: null, views: {}, links: {}, failed: false, timer: null };

/* ---- requests ------------------------------------------------------------------ */

function failed(r) {
  if (r.status !== 401) A.say('ck_save_failed', { m: A.errorText(r) });
}

/* ---- loading ------------------------------------------------------------------- */

function inForce(b) {
  return b.check_in && b.status !== 'cancelled' && b.status !== 'expired' &&
    (!b.expires_unix || b.expires_unix * 1000 > Date.now());
}

function load() {
  if (!A.mgr.session) return;
  Promise.all([A.send('GET', '/api/v1/check-in/residents'), A.send('GET', '/api/v1/bulletins')]).then(function (rs) {
    ck.failed = !(rs[0].ok && rs[0].data && rs[1].ok && rs[1].data);
    if (ck.failed) { render(); return null; }
    ck.list = rs[0].data;
    ck.checkins = rs[1].data.items.filter(inForce);
    return Promise.all(ck.checkins.map(function (b) {
      return A.send('GET', '/api/v1/bulletins/' + encodeURIComponent(b.id) + '/check-in').then(function (r) {
        if (r.ok && r.data) ck.views[b.id] = r.data;
      });
    })).then(renderQuiet);
  });
}

/* ---- the list -------------------------------------------------------------------- */

function needsText(needs) {
  return (needs || []).map(function (n) { return A.t('ck_need_' + n); }).join('、');
}

function listRow(p) {
  var del = A.el('button', { type: 'button', className: 'button secondary danger',
    text: A.t('ck_remove'), 'aria-label': A.t('ck_remove') + ' · ' + p.name });
  del.addEventListener('click', function () {
    A.send('DELETE', '/api/v1/check-in/residents/' + p.id, {}).then(function (r) {
      if (r.ok) { A.say('ck_removed'); load(); } else failed(r);
    });
  });
  return A.el('li', { className: 'card row', 'data-listed': p.id },
    A.el('div', { className: 'row-main' },
      A.el('h3', { className: 'card-title', text: p.name }),
      A.el('p', { className: 'meta' }, A.el('a', { href: 'tel:' + p.phone, text: p.phone }),
        ' · ' + p.address + (p.worker ? ' · ' + A.t('ck_worker', { w: p.worker }) : '') +
        (p.needs && p.needs.length ? ' · ' + needsText(p.needs) : ''))),
    A.el('div', { className: 'row-actions' }, del));
}

function renderList() {
  var box = A.clear(document.getElementById('ck-list'));
  var count = document.getElementById('ck-count');
  if (!ck.list) { A.append(box, A.message(ck.failed ? 'load_failed' : 'loading', ck.failed ? 'error' : '')); return; }
  count.textContent = A.t('ck_count', { n: ck.list.total, m: ck.list.max });
  if (!ck.list.items.length) A.append(box, A.message('ck_list_none'));
  else A.append(box, A.el('ul', { className: 'cards' }, ck.list.items.map(listRow)));
}

function setupForm() {
  var form = document.getElementById('ck-form');
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var v = function (name) { return form.elements[name].value.trim(); };
    var body = { name: v('name'), phone: v('phone'), address: v('address'), worker: v('worker'),
      needs: NEEDS.filter(function (n) { return form.elements['need-' + n].checked; }) };
    var err = form.querySelector('.form-error');
    err.textContent = '';
    A.send('POST', '/api/v1/check-in/residents', body).then(function (r) {
      if (r.ok) { form.reset(); A.say('ck_added'); load(); return; }
      if (r.status !== 401) err.textContent = A.errorText(r);
    });
  });
}

/* ---- a check-in's panel ---------------------------------------------------------------- */

function callForm(bid, p) {
  var sel = A.el('select', { id: 'ck-o-' + bid + '-' + p.id, name: 'outcome' },
    OUTCOMES.map(function (o) { return A.el('option', { value: o, text: A.t('ck_outcome_' + o) }); }));
  var note = A.el('input', { id: 'ck-n-' + bid + '-' + p.id, name: 'note', maxlength: '500' });
  var form = A.el('form', { className: 'ck-call', 'aria-label': A.t('ck_call_for', { n: p.name }) },
    A.el('div', { className: 'field' }, A.el('label', { for: sel.id, text: A.t('ck_outcome') }), sel),
    A.el('div', { className: 'field' }, A.el('label', { for: note.id, text: A.t('ck_note') }), note),
    A.el('button', { type: 'submit', className: 'primary', text: A.t('ck_record') }));
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    A.send('POST', '/api/v1/bulletins/' + encodeURIComponent(bid) + '/check-in/calls',
      { resident: p.id, outcome: sel.value, note: note.value.trim() }).then(function (r) {
      if (r.ok) { A.say('ck_recorded'); load(); } else failed(r);
    });
  });
  return form;
}

function residentCard(bid, p, open) {
  var calls = (p.calls || []).map(function (c) {
    return A.el('li', { text: A.formatTime(c.at) + ' · ' + A.t('ck_outcome_' + c.outcome) + (c.note ? ' · ' + c.note : '') });
  });
  return A.el('li', { className: 'card', 'data-resident': p.id, 'data-state': p.state },
    A.el('h4', { className: 'card-title', text: p.name }),
    A.el('p', { className: 'meta' }, A.el('a', { href: 'tel:' + p.phone, text: p.phone }),
      ' · ' + p.address + (p.worker ? ' · ' + A.t('ck_worker', { w: p.worker }) : '')),
    p.source ? A.el('p', { className: 'meta', text: A.t('ck_by_' + p.source, { t: A.formatTime(p.answered) }) }) : null,
    calls.length ? A.el('ul', { className: 'ck-calls' }, calls) : null,
    open ? callForm(bid, p) : null);
}

function panel(b) {
  var v = ck.views[b.id];
  var box = A.el('article', { className: 'ck-panel card', 'data-bulletin': b.id },
    A.el('h3', { text: (A.currentLang() === 'en' && b.headline_en) || b.headline }));
  if (!v) return A.append(box, A.message('loading')), box;
  var c = v.counts;
  A.append(box, A.el('p', { className: 'ck-counts', 'data-confirmed': c.confirmed, 'data-not-yet': c.not_yet,
    'data-needs-help': c.needs_help, text: A.t('ck_counts', { s: c.confirmed, y: c.not_yet, h: c.needs_help,
      as: c.anonymous_safe, ah: c.anonymous_help }) }));
  var mint = A.el('button', { type: 'button', className: 'button secondary', text: A.t('ck_links') });
  mint.addEventListener('click', function () {
    A.send('POST', '/api/v1/bulletins/' + encodeURIComponent(b.id) + '/check-in/links', {}).then(function (r) {
      if (r.ok && r.data) { ck.links[b.id] = (ck.links[b.id] || []).concat(r.data.items); render(); }
      else failed(r);
    });
  });
  A.append(box, A.el('div', { className: 'actions' }, mint));
  if (ck.links[b.id] && ck.links[b.id].length)
    A.append(box, A.el('section', { className: 'ck-links' },
      A.el('h4', { text: A.t('ck_links_made', { n: ck.links[b.id].length }) }),
      A.el('ul', null, ck.links[b.id].map(function (l) {
        return A.el('li', { 'data-resident': l.resident }, l.name + ' ' + l.phone + '：',
          A.el('a', { href: l.url, className: 'ck-link', text: l.url }));
      }))));
  STATES.forEach(function (s) {
    var people = v.residents.filter(function (p) { return p.state === s; });
    var id = 'ck-h-' + b.id + '-' + s;
    A.append(box, A.el('section', { className: 'ck-group', 'data-group': s, 'aria-labelledby': id },
      A.el('h4', { id: id, text: A.t('ck_state_' + s, { n: people.length }) }),
      people.length ? A.el('ul', { className: 'cards' }, people.map(function (p) { return residentCard(b.id, p, v.open); }))
        : A.message('ck_group_none')));
  });
  if (v.accounts && v.accounts.length)
    A.append(box, A.el('section', { className: 'ck-group', 'data-group': 'accounts' },
      A.el('h4', { text: A.t('ck_accounts', { n: v.accounts.length }) }),
      A.el('ul', null, v.accounts.map(function (a) {
        return A.el('li', { text: (a.name || A.t('ck_no_name')) + ' · ' + A.t('ck_answer_' + a.state) });
      }))));
  return box;
}

function render() {
  if (!A.mgr.session) return;
  renderList();
  var box = A.clear(document.getElementById('ck-checkins'));
  if (!ck.checkins) A.append(box, A.message(ck.failed ? 'load_failed' : 'loading', ck.failed ? 'error' : ''));
  else if (!ck.checkins.length) A.append(box, A.message('ck_none'));
  else A.append(box, ck.checkins.map(panel));
}

/* renderQuiet: render, unless the manager is typing in a call's form
 * (the next poll renders). */
function renderQuiet() {
  var f = document.activeElement;
  if (f && /^(INPUT|SELECT|TEXTAREA)$/.test(f.tagName) && f.closest('#ck-checkins')) return;
  render();
}

/* ---- start -------------------------------------------------------------------- */

A.page({ start: setupForm, render: render });

A.signedIn({
  start: function () {
    load();
    if (!ck.timer) ck.timer = setInterval(load, POLL_MS);
  },
  stop: function () {
    if (ck.timer) { clearInterval(ck.timer); ck.timer = null; }
  }
});
})(Alliance);
