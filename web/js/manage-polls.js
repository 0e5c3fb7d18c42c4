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
  var input = el('input', { id: id, name: 'option', 'aria-describedby': id + '-error', value: value || null });
  return el('div', { className: 'field poll-option' },
    el('label', { for: id, text: t('mp_option_n', { n: i }) }), input,
    el('p', { className: 'field-error', id: id + '-error' }));
}

function renderOptionRows(values) {
  var box = clear(document.getElementById('p-options'));
  values.forEach(function (v, i) { append(box, optionRow(i + 1, v)); });
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
  var qErr = !question ? t('mp_err_question') : bytes(question) > POLL_QUESTION_MAX ? t('mp_err_too_long') : null;
  pollFieldError(q, 'p-question-error', qErr);
  ok = !qErr;
  var options = [];
  document.querySelectorAll('#p-options input').forEach(function (input) {
    var v = input.value.trim(), err = null;
    if (!v) err = t('mp_err_option');
    else if (bytes(v) > POLL_OPTION_MAX) err = t('mp_err_too_long');
    else if (seen[v]) err = t('mp_err_duplicate');
    seen[v] = true;
    pollFieldError(input, input.id + '-error', err);
    if (err) ok = false;
    options.push(v);
  });
  var when = new Date(closes.value);
  var bad = !closes.value || isNaN(when.getTime()) ? t('mp_err_closes')
    : when.getTime() <= Date.now() ? t('mp_err_closes_past') : null;
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
    send('POST', '/api/v1/polls', body).then(function (r) {
      if (!r.ok) { if (r.status !== 401) errBox.textContent = t('save_failed', { m: errorText(r) }); return; }
      form.hidden = true;
      say('mp_created');
      loadPolls();
    });
  });
}

/* ---- the list ------------------------------------------------------------------ */

function pollRow(p) {
  var total = (p.counts || []).reduce(function (a, b) { return a + b; }, 0);
  var counts = el('ul', { className: 'plain poll-counts' }, p.options.map(function (o, i) {
    return el('li', { 'data-option': i, text: t('mp_option_count', { o: o, n: (p.counts || [])[i] || 0 }) });
  }));
  var actions = el('div', { className: 'row-actions' });
  if (!p.closed) {
    var close = el('button', { type: 'button', className: 'button secondary danger',
      'aria-label': t('mp_close_named', { q: p.question }), text: t('mp_close') });
    close.addEventListener('click', function () {
      if (close.getAttribute('data-armed') !== 'true') {
        close.setAttribute('data-armed', 'true');
        close.textContent = t('mp_close_confirm');
        close.setAttribute('aria-label', t('mp_close_confirm_named', { q: p.question }));
        return;
      }
      send('POST', '/api/v1/polls/' + encodeURIComponent(p.id) + '/close', {}).then(function (r) {
        if (r.ok || r.status === 409) { say('mp_closed_now'); loadPolls(true); }
        else if (r.status !== 401) say('save_failed', { m: errorText(r) });
      });
    });
    append(actions, close);
  }
  return el('li', { className: 'card row', 'data-poll': p.id },
    el('div', { className: 'row-main' },
      el('h3', { className: 'card-title', text: p.question }),
      el('p', { className: 'meta' },
        el('span', { className: 'state-pill ' + (p.closed ? 'bad' : 'ok'), 'data-state': p.closed ? 'closed' : 'open',
          text: p.closed ? t('mp_state_closed') : t('mp_state_open') }), ' ',
        (p.closed ? t('poll_closed_at', { t: formatTime(p.closes) }) : t('poll_closes', { t: formatTime(p.closes) })) +
        ' · ' + t('poll_votes', { n: total })),
      counts),
    actions);
}

function renderPolls() {
  var box = clear(document.getElementById('polls'));
  if (mpolls.failed) { append(box, message('load_failed', 'error')); return; }
  if (!mpolls.items) { append(box, message('loading')); return; }
  if (!mpolls.items.length) { append(box, message('mp_none')); return; }
  append(box, el('ul', { className: 'cards' }, mpolls.items.map(pollRow)));
}

/* loadPolls: read the list and show it, unless a close is being
 * confirmed (and force is not set). */
function loadPolls(force) {
  if (!mgr.session) return;
  var own = mgr.session.community;
  api('/api/v1/polls').then(function (r) {
    var items = r.ok && r.data && Array.isArray(r.data.items) ? r.data.items : null;
    mpolls.failed = !items;
    mpolls.items = (items || []).filter(function (p) { return p.origin === own; });
    /* a close button being confirmed is not wiped by a refresh */
    if (force === true || !document.querySelector('#polls [data-armed="true"]')) renderPolls();
  });
}

/* ---- start and stop ---------------------------------------------------------------- */

window.POLLS = {
  start: function () {
    loadPolls();
    if (!mpolls.timer) mpolls.timer = setInterval(loadPolls, POLLS_EVERY_MS);
  },
  stop: function () {
    if (mpolls.timer) { clearInterval(mpolls.timer); mpolls.timer = null; }
    mpolls.items = null;
  },
  render: function () {
    if (!mgr.session) return;
    renderPolls();
    renderOptionRows(optionValues().length ? optionValues() : ['', '']);
  }
};

setupPollForm();
