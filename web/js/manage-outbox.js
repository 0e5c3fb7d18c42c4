/* manage-outbox.js: the manager's webhook endpoints and the messages that
 * failed (manage/outbox.html), after manage-session.js (send() adds the
 * CSRF token).
 *
 * GET /api/v1/outbox/endpoints lists the endpoints; the form POSTs a new
 * one and shows its signing secret once (the node never shows it again);
 * DELETE /api/v1/outbox/endpoints/{id} removes one. GET
 * /api/v1/outbox/dead lists dead letters, each with "send again": POST
 * /api/v1/outbox/dead/{id}/retry. */
'use strict';

(function (A) {

var SEVERITIES = ['', 'extreme', 'severe', 'moderate', 'minor', 'unknown'];
var ob = { endpoints: null, dead: null, failed: false, timer: null };

function receives(e) {
  var parts = [];
  if (e.bulletins) parts.push(A.t('ob_sev_' + e.bulletins));
  if (e.requests) parts.push(A.t('ob_requests'));
  if (e.check_in) parts.push(A.t('ob_check_in'));
  return parts.join('、');
}

function endpointRow(e) {
  var del = A.el('button', { type: 'button', className: 'button secondary danger',
    text: A.t('delete'), 'aria-label': A.t('delete_named', { t: e.name }) });
  del.addEventListener('click', function () {
    A.send('DELETE', '/api/v1/outbox/endpoints/' + e.id).then(function (r) {
      if (r.ok) { A.say('ob_deleted'); load(); } else if (r.status !== 401) A.say('save_failed', { m: A.errorText(r) });
    });
  });
  return A.el('li', { className: 'card row', 'data-endpoint': e.id },
    A.el('div', { className: 'row-main' },
      A.el('h4', { className: 'card-title', text: e.name }),
      A.el('p', { className: 'meta', text: e.url }),
      A.el('p', { className: 'meta', text: A.t('ob_receives', { r: receives(e) }) }),
      A.el('p', { className: 'meta', text: A.t('ob_counts', { w: e.waiting, d: e.dead }) })),
    A.el('div', { className: 'row-actions' }, del));
}

function deadRow(d) {
  var retry = A.el('button', { type: 'button', className: 'primary', text: A.t('ob_retry'),
    'aria-label': A.t('ob_retry') + ' · ' + d.source });
  retry.addEventListener('click', function () {
    A.send('POST', '/api/v1/outbox/dead/' + d.id + '/retry', {}).then(function (r) {
      if (r.ok) { A.say('ob_retried'); load(); } else if (r.status !== 401) A.say('save_failed', { m: A.errorText(r) });
    });
  });
  var to = d.channel === 'sms' ? A.t('ob_sms') : d.channel === 'push' ? A.t('ob_push') : d.endpoint_name || d.channel;
  return A.el('li', { className: 'card row', 'data-dead': d.id },
    A.el('div', { className: 'row-main' },
      A.el('h4', { className: 'card-title', text: to }),
      A.el('p', { className: 'meta', text: A.t('ob_dead_row', { k: d.kind, s: d.source, n: d.attempts, e: d.last_error }) })),
    A.el('div', { className: 'row-actions' }, retry));
}

function render() {
  var box = A.clear(document.getElementById('endpoints'));
  var dead = A.clear(document.getElementById('dead-letters'));
  if (ob.failed) { A.append(box, A.message('load_failed', 'error')); return; }
  if (!ob.endpoints) A.append(box, A.message('loading'));
  else if (!ob.endpoints.length) A.append(box, A.message('ob_none'));
  else A.append(box, A.el('ul', { className: 'cards' }, ob.endpoints.map(endpointRow)));
  if (!ob.dead) A.append(dead, A.message('loading'));
  else if (!ob.dead.length) A.append(dead, A.message('ob_dead_none'));
  else A.append(dead, A.el('ul', { className: 'cards' }, ob.dead.map(deadRow)));
}

function load() {
  if (!A.mgr.session) return;
  Promise.all([A.send('GET', '/api/v1/outbox/endpoints'), A.send('GET', '/api/v1/outbox/dead')]).then(function (rs) {
    ob.failed = !rs.every(function (r) { return r.ok && r.data && Array.isArray(r.data.items); });
    ob.endpoints = ob.failed ? null : rs[0].data.items;
    ob.dead = ob.failed ? null : rs[1].data.items;
    render();
  });
}

function fillSeverities() {
  A.fillSelect(document.getElementById('e-bulletins'), SEVERITIES, function (s) {
    return A.t(s ? 'ob_sev_' + s : 'ob_sev_none');
  }, 'severe');
}

function setupForm() {
  var form = document.getElementById('endpoint-form');
  var secret = document.getElementById('endpoint-secret');
  document.getElementById('add-endpoint').addEventListener('click', function () {
    form.reset();
    fillSeverities();
    document.getElementById('e-bulletins').value = 'severe';
    form.querySelector('.form-error').textContent = '';
    form.hidden = false;
    document.getElementById('e-name').focus();
  });
  form.querySelector('.cancel').addEventListener('click', function () { form.hidden = true; });
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var errBox = form.querySelector('.form-error');
    var sev = document.getElementById('e-bulletins').value;
    errBox.textContent = '';
    A.send('POST', '/api/v1/outbox/endpoints', {
      name: document.getElementById('e-name').value.trim(),
      url: document.getElementById('e-url').value.trim(),
      bulletins: sev || null,
      requests: document.getElementById('e-requests').checked,
      check_in: document.getElementById('e-check-in').checked
    }).then(function (r) {
      if (!r.ok) { if (r.status !== 401) errBox.textContent = A.t('save_failed', { m: A.errorText(r) }); return; }
      form.hidden = true;
      A.clear(secret);
      A.append(secret, A.el('p', { text: A.t('ob_secret', { s: '' }) }),
        A.el('code', { className: 'secret', text: r.data.secret }));
      secret.hidden = false;
      load();
    });
  });
}

A.signedIn({
  start: function () {
    load();
    if (!ob.timer) ob.timer = setInterval(load, 10000);
  },
  stop: function () {
    if (ob.timer) { clearInterval(ob.timer); ob.timer = null; }
    ob.endpoints = ob.dead = null;
    var s = document.getElementById('endpoint-secret');
    A.clear(s);
    s.hidden = true;
  }
});

A.page({
  start: setupForm,
  render: function () { fillSeverities(); if (A.mgr.session) render(); }
});
})(Alliance);
