/* manage-polls.js: the console's polls (manage/index.html), after
 * manage.js, whose send() adds the session's CSRF token.
 *
 * Create: POST /api/v1/polls {question, options (2-10), closes}, each
 * field's error shown beside it. List: this community's polls from GET
 * /api/v1/polls with their counts, read every POLLS_EVERY_MS; an open one
 * closes in two clicks: POST /api/v1/polls/{id}/close.
 *
 * Parts: the form; the list; start and stop. */
'use strict';

(function (A) {

var mpolls = { items: null, failed: false, timer: null };
var POLLS_EVERY_MS = 5000;
/* as lib/relay.h: options, and bytes of the question and of an option */
var POLL_OPTIONS_MIN = 2, POLL_OPTIONS_MAX = 10, POLL_QUESTION_MAX = 500, POLL_OPTION_MAX = 200;
var POLL_DEFAULT_DAYS = 7;

/* ---- the form ---------------------------------------------------------------- */

function pollFieldError(input, errId, text) {
  var box = document.getElementById(errId);
  box.textContent = text || '';
  if (text) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/* optionRow: the input of option i (1-based in its label). */
function optionRow(i, value) {
  var id = 'p-option-' + i;
  var input = A.el('input', { id: id, name: 'option', 'aria-describedby': id + '-error', value: value || null });
  return A.el('div', { className: 'field poll-option' },
    A.el('label', { for: id, text: A.t('mp_option_n', { n: i }) }), input,
    A.el('p', { className: 'field-error', id: id + '-error' }));
}

function renderOptionRows(values) {
  var box = A.clear(document.getElementById('p-options'));
  values.forEach(function (v, i) { A.append(box, optionRow(i + 1, v)); });
  document.getElementById('p-add-option').disabled = values.length >= POLL_OPTIONS_MAX;
  document.getElementById('p-remove-option').disabled = values.length <= POLL_OPTIONS_MIN;
}

function optionValues() {
  var inputs = document.querySelectorAll('#p-options input');
  return Array.prototype.map.call(inputs, function (i) { return i.value; });
}

function bytes(s) { return new TextEncoder().encode(s).length; }

/* localValue: a Date as a datetime-local value (local time). */
function localValue(d) {
  var p = function (n) { return (n < 10 ? '0' : '') + n; };
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) +
    'T' + p(d.getHours()) + ':' + p(d.getMinutes());
}

function openPollForm() {
  var form = document.getElementById('poll-form');
  form.reset();
  form.querySelectorAll('.field-error, .form-error').forEach(function (b) { b.textContent = ''; });
  renderOptionRows(['', '']);
  document.getElementById('p-closes').value = localValue(new Date(Date.now() + POLL_DEFAULT_DAYS * 86400000));
  form.hidden = false;
  document.getElementById('p-question').focus();
}

/* checkPoll: the body to send, or null (each field's error shown). */
function checkPoll() {
  var q = document.getElementById('p-question');
  var closes = document.getElementById('p-closes');
  var ok = true, seen = {};
  var question = q.value.trim();
  var qErr = !question ? A.t('mp_err_question') : bytes(question) > POLL_QUESTION_MAX ? A.t('mp_err_too_long') : null;
  pollFieldError(q, 'p-question-error', qErr);
  ok = !qErr;
  var options = [];
  document.querySelectorAll('#p-options input').forEach(function (input) {
    var v = input.value.trim(), err = null;
    if (!v) err = A.t('mp_err_option');
    else if (bytes(v) > POLL_OPTION_MAX) err = A.t('mp_err_too_long');
    else if (seen[v]) err = A.t('mp_err_duplicate');
    seen[v] = true;
    pollFieldError(input, input.id + '-error', err);
    if (err) ok = false;
    options.push(v);
  });
  var when = new Date(closes.value);
  var bad = !closes.value || isNaN(when.getTime()) ? A.t('mp_err_closes')
    : when.getTime() <= Date.now() ? A.t('mp_err_closes_past') : null;
  pollFieldError(closes, 'p-closes-error', bad);
  if (bad) ok = false;
  if (!ok) {
    var first = document.querySelector('#poll-form [aria-invalid="true"]');
    if (first) first.focus();
    return null;
  }
  return { question: question, options: options, closes: when.toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

function setupPollForm() {
  var form = document.getElementById('poll-form');
  document.getElementById('add-poll').addEventListener('click', openPollForm);
  form.querySelector('.cancel').addEventListener('click', function () { form.hidden = true; });
  document.getElementById('p-add-option').addEventListener('click', function () {
    var v = optionValues();
    if (v.length < POLL_OPTIONS_MAX) { v.push(''); renderOptionRows(v); document.getElementById('p-option-' + v.length).focus(); }
  });
  document.getElementById('p-remove-option').addEventListener('click', function () {
    var v = optionValues();
    if (v.length > POLL_OPTIONS_MIN) { v.pop(); renderOptionRows(v); }
  });
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = checkPoll();
    var errBox = form.querySelector('.form-error');
    errBox.textContent = '';
    if (!body) return;
    A.send('POST', '/api/v1/polls', body).then(function (r) {
      if (!r.ok) { if (r.status !== 401) errBox.textContent = A.t('save_failed', { m: A.errorText(r) }); return; }
      form.hidden = true;
      A.say('mp_created');
      loadPolls();
    });
  });
}

/* ---- the list ------------------------------------------------------------------ */

function pollRow(p) {
  var total = (p.counts || []).reduce(function (a, b) { return a + b; }, 0);
  var counts = A.el('ul', { className: 'plain poll-counts' }, p.options.map(function (o, i) {
    return A.el('li', { 'data-option': i, text: A.t('mp_option_count', { o: o, n: (p.counts || [])[i] || 0 }) });
  }));
  var actions = A.el('div', { className: 'row-actions' });
  if (!p.closed) {
    var close = A.el('button', { type: 'button', className: 'button secondary danger',
      'aria-label': A.t('mp_close_named', { q: p.question }), text: A.t('mp_close') });
    close.addEventListener('click', function () {
      if (close.getAttribute('data-armed') !== 'true') {
        close.setAttribute('data-armed', 'true');
        close.textContent = A.t('mp_close_confirm');
        close.setAttribute('aria-label', A.t('mp_close_confirm_named', { q: p.question }));
        return;
      }
      A.send('POST', '/api/v1/polls/' + encodeURIComponent(p.id) + '/close', {}).then(function (r) {
        if (r.ok || r.status === 409) { A.say('mp_closed_now'); loadPolls(true); }
        else if (r.status !== 401) A.say('save_failed', { m: A.errorText(r) });
      });
    });
    A.append(actions, close);
  }
  return A.el('li', { className: 'card row', 'data-poll': p.id },
    A.el('div', { className: 'row-main' },
      A.el('h3', { className: 'card-title', text: p.question }),
      A.el('p', { className: 'meta' },
        A.el('span', { className: 'state-pill ' + (p.closed ? 'bad' : 'ok'), 'data-state': p.closed ? 'closed' : 'open',
          text: p.closed ? A.t('mp_state_closed') : A.t('mp_state_open') }), ' ',
        (p.closed ? A.t('poll_closed_at', { t: A.formatTime(p.closes) }) : A.t('poll_closes', { t: A.formatTime(p.closes) })) +
        ' · ' + A.t('poll_votes', { n: total })),
      counts),
    actions);
}

function renderPolls() {
  var box = A.clear(document.getElementById('polls'));
  if (mpolls.failed) { A.append(box, A.message('load_failed', 'error')); return; }
  if (!mpolls.items) { A.append(box, A.message('loading')); return; }
  if (!mpolls.items.length) { A.append(box, A.message('mp_none')); return; }
  A.append(box, A.el('ul', { className: 'cards' }, mpolls.items.map(pollRow)));
}

/* loadPolls: read the list and show it, unless a close is being
 * confirmed (and force is not set). */
function loadPolls(force) {
  if (!A.mgr.session) return;
  var own = A.mgr.session.community;
  A.api('/api/v1/polls').then(function (r) {
    var items = r.ok && r.data && Array.isArray(r.data.items) ? r.data.items : null;
    mpolls.failed = !items;
    mpolls.items = (items || []).filter(function (p) { return p.origin === own; });
    /* a close button being confirmed is not wiped by a refresh */
    if (force === true || !document.querySelector('#polls [data-armed="true"]')) renderPolls();
  });
}

/* ---- start and stop ---------------------------------------------------------------- */

A.signedIn({
  start: function () {
    loadPolls();
    if (!mpolls.timer) mpolls.timer = setInterval(loadPolls, POLLS_EVERY_MS);
  },
  stop: function () {
    if (mpolls.timer) { clearInterval(mpolls.timer); mpolls.timer = null; }
    mpolls.items = null;
  }
});

A.page({
  start: setupPollForm,
  render: function () {
    if (!A.mgr.session) return;
    renderPolls();
    renderOptionRows(optionValues().length ? optionValues() : ['', '']);
  }
});
})(Alliance);
