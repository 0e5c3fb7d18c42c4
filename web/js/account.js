/* account.js: the resident's account page (account.html): sign in, register
 * (a household code, a phone and a password), and once signed in the
 * account (phone masked, her name to edit), links to "我的申请" and the
 * polls, my votes, sign out and delete.
 *
 * API: POST /api/v1/residents/login {phone, password};
 * POST /api/v1/residents {household_code?, name?, phone, password}: 201
 * with a token, or, where the community texts codes, 202 {phone (masked),
 * expires_in}: then the code-entry step, POST /api/v1/residents/verify
 * {phone, code} -> 201 with the token (a new code: the registration sent
 * again, its body kept in memory meanwhile);
 * GET /api/v1/residents/me; PATCH /api/v1/residents/me {name} (her name,
 * which the request form fills in); DELETE /api/v1/residents/token (sign
 * out, the token revoked at the node); DELETE /api/v1/residents/me. The token is
 * kept by resident.js (residentSet/residentGet/residentClear).
 *
 * Each field is checked here as the node checks it (empty, too long, a
 * mainland mobile number, a password of 8 to 200 bytes, a 32-character
 * code, a name of at most 200 bytes without control characters) and the node's 422/409/401 are put next to the field they name;
 * the message is tied to the input with aria-describedby and the input
 * marked aria-invalid. ?next=PAGE (a page of this site, relative, e.g.
 * poll.html?id=X) is where sign-in or registration returns to.
 *
 * Parts: fields and errors; checks; next; signed out; the code; signed
 * in; start. */
'use strict';

(function (A) {

var acct = { me: null, failed: false, pending: null, sent: null };
var PASSWORD_MIN = 8, PASSWORD_MAX = 200, PHONE_INPUT_MAX = 20, CODE_LEN = 32, NAME_MAX = 200;

/* ---- fields and errors ---------------------------------------------------- */

/* fieldError: show key's message under input id (or clear it). */
function fieldError(id, key) {
  var input = document.getElementById(id);
  var box = document.getElementById(id + '-error');
  box.textContent = key ? A.t(key) : '';
  box.setAttribute('data-key', key || '');
  if (key) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

function formError(id, key) {
  var box = document.getElementById(id);
  box.textContent = key ? A.t(key) : '';
  box.setAttribute('data-key', key || '');
}

function value(id) { return document.getElementById(id).value; }

function say(key) {
  var box = document.getElementById('account-status');
  box.textContent = key ? A.t(key) : '';
  box.setAttribute('data-key', key || '');
}

/* ---- checks (as the node checks) ----------------------------------------------- */

function phoneDigits(s) {
  var d = String(s).replace(/[\s+\-()]/g, '');
  if (/^86\d{11}$/.test(d)) d = d.slice(2);
  return d;
}

function checkPhone(s) {
  if (!s.trim()) return 'err_phone_empty';
  if (s.length > PHONE_INPUT_MAX) return 'err_phone_too_long';
  if (!/^[\d\s+\-()]*$/.test(s) || !/^1[3-9]\d{9}$/.test(phoneDigits(s))) return 'err_phone_wrong';
  return null;
}

function utf8Length(s) {
  try { return new TextEncoder().encode(s).length; } catch (e) { return s.length; }
}

function checkPassword(s) {
  if (!s) return 'err_password_empty';
  if (utf8Length(s) < PASSWORD_MIN) return 'err_password_short';
  if (utf8Length(s) > PASSWORD_MAX) return 'err_password_too_long';
  return null;
}

function checkCode(s) {
  var c = s.trim();
  if (!c) return null;   /* optional */
  if (c.length > CODE_LEN) return 'err_code_too_long';
  if (!/^[0-9a-f]{32}$/.test(c.toLowerCase())) return 'err_code_format';
  return null;
}

/* checkName: optional; at most NAME_MAX bytes, no control characters. */
function checkName(s) {
  return utf8Length(s) > NAME_MAX || /[\u0000-\u001f\u007f]/.test(s) ? 'err_name_bad' : null;
}

/* serverError: put the node's answer r next to its field in the form
 * whose inputs are prefix-code/-phone/-password; the form error else. */
function serverError(r, prefix, formId) {
  var msg = r.data && r.data.error && r.data.error.message || '';
  if (r.status === 429) { formError(formId, 'err_too_many'); return; }
  if (r.status === 409) { fieldError(prefix + '-phone', 'err_phone_taken'); return; }
  if (r.status === 401 && prefix === 'in') { fieldError('in-password', 'err_wrong_login'); return; }
  if (r.status === 422) {
    if (msg.indexOf('name') === 0 && prefix === 'reg') { fieldError('reg-name', 'err_name_bad'); return; }
    if (msg.indexOf('household_code') === 0 && prefix === 'reg') {
      fieldError('reg-code', /used|unknown/.test(msg) ? 'err_code_used' : 'err_code_format');
      return;
    }
    if (msg.indexOf('phone') === 0) { fieldError(prefix + '-phone', 'err_phone_wrong'); return; }
    if (msg.indexOf('password') === 0) { fieldError(prefix + '-password', 'err_password_short'); return; }
  }
  formError(formId, 'err_failed');
}

/* ---- next --------------------------------------------------------------------- */

/* nextPage: ?next= when it is a page of this site given relatively
 * (name.html, optionally with a query); else null. */
function nextPage() {
  var next = new URLSearchParams(location.search).get('next');
  if (!next || !/^[A-Za-z0-9_-]+\.html(\?[A-Za-z0-9_.~%=&-]*)?$/.test(next)) return null;
  var u = new URL(next, location.href);
  return u.origin === location.origin ? next : null;
}

/* signedIn: keep the token, then go back where the resident came from,
 * or show the account. */
function signedIn(data) {
  A.residentSet({ token: data.token, resident: data.resident });
  var next = nextPage();
  if (next) { location.href = next; return; }
  say(null);
  showAccount();
}

/* ---- signed out ------------------------------------------------------------------ */

function showForms(messageKey) {
  acct.me = null;
  acct.pending = acct.sent = null;
  document.getElementById('verify-step').hidden = true;
  document.getElementById('signed-in').hidden = true;
  document.getElementById('signed-out').hidden = false;
  say(messageKey || null);
}

function setupForms() {
  document.getElementById('signin-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var phone = value('in-phone'), pw = value('in-password');
    var e1 = checkPhone(phone), e2 = checkPassword(pw);
    fieldError('in-phone', e1);
    fieldError('in-password', e2);
    formError('signin-error', null);
    if (e1 || e2) { document.getElementById(e1 ? 'in-phone' : 'in-password').focus(); return; }
    say('working');
    A.apiSend('POST', '/api/v1/residents/login', { phone: phone, password: pw }).then(function (r) {
      say(null);
      if (r.status === 200 && r.data && r.data.token) { signedIn(r.data); return; }
      serverError(r, 'in', 'signin-error');
    });
  });
  document.getElementById('register-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var code = value('reg-code').trim().toLowerCase(), phone = value('reg-phone'), pw = value('reg-password');
    var name = value('reg-name').trim();
    var errs = [['reg-code', checkCode(value('reg-code'))], ['reg-name', checkName(name)],
                ['reg-phone', checkPhone(phone)], ['reg-password', checkPassword(pw)]];
    var first = null;
    errs.forEach(function (e) { fieldError(e[0], e[1]); if (e[1] && !first) first = e[0]; });
    formError('register-error', null);
    if (first) { document.getElementById(first).focus(); return; }
    var body = { phone: phone, password: pw };
    if (code) body.household_code = code;
    if (name) body.name = name;
    say('working');
    A.apiSend('POST', '/api/v1/residents', body).then(function (r) {
      say(null);
      if (r.status === 201 && r.data && r.data.token) { signedIn(r.data); return; }
      if (r.status === 202 && r.data) { showVerify(body, r.data); return; }
      serverError(r, 'reg', 'register-error');
    });
  });
}

/* ---- the code ------------------------------------------------------------------- */

function sentText() {
  var box = document.getElementById('verify-sent');
  box.textContent = acct.sent ? A.t('verify_sent', { p: acct.sent.phone, m: Math.round(acct.sent.expires_in / 60) }) : '';
}

/* showVerify: the registration (body) waits for the code texted to its
 * phone (the node's answer sent). */
function showVerify(body, sent) {
  acct.pending = body;
  acct.sent = sent;
  document.getElementById('signed-out').hidden = true;
  document.getElementById('verify-step').hidden = false;
  document.getElementById('ver-code').value = '';
  fieldError('ver-code', null);
  formError('verify-error', null);
  sentText();
  document.getElementById('ver-code').focus();
}

function setupVerify() {
  document.getElementById('verify-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var code = value('ver-code').replace(/\s/g, '');
    formError('verify-error', null);
    if (!/^\d{6}$/.test(code)) { fieldError('ver-code', 'err_sms_code_format'); document.getElementById('ver-code').focus(); return; }
    fieldError('ver-code', null);
    say('working');
    A.apiSend('POST', '/api/v1/residents/verify', { phone: acct.pending.phone, code: code }).then(function (r) {
      say(null);
      if (r.status === 201 && r.data && r.data.token) { acct.pending = acct.sent = null; signedIn(r.data); return; }
      if (r.status === 422) { fieldError('ver-code', 'err_sms_code_wrong'); document.getElementById('ver-code').focus(); return; }
      formError('verify-error', r.status === 429 ? 'err_too_many' : 'err_failed');
    });
  });
  document.getElementById('verify-resend').addEventListener('click', function () {
    formError('verify-error', null);
    A.apiSend('POST', '/api/v1/residents', acct.pending).then(function (r) {
      if (r.status === 202 && r.data) { acct.sent = r.data; sentText(); say('verify_resent'); return; }
      formError('verify-error', r.status === 429 ? 'err_too_many' : 'err_failed');
    });
  });
  document.getElementById('verify-back').addEventListener('click', function () {
    showForms(null);
    document.getElementById('reg-phone').focus();
  });
}

/* ---- signed in -------------------------------------------------------------------- */

function showAccount() {
  document.getElementById('signed-out').hidden = true;
  document.getElementById('verify-step').hidden = true;
  document.getElementById('signed-in').hidden = false;
  document.getElementById('delete-confirm').hidden = true;
  A.apiSend('GET', '/api/v1/residents/me').then(function (r) {
    if (r.status === 401) { A.residentClear(); showForms(null); return; }
    acct.failed = !r.ok || !r.data;
    acct.me = r.ok ? r.data : null;
    document.getElementById('me-name').value = acct.me && acct.me.name || '';
    fieldError('me-name', null);
    renderAccount();
  });
}

function fact(key, value) {
  return [A.el('dt', { text: A.t(key) }), A.el('dd', { text: value })];
}

function renderAccount() {
  var me = acct.me;
  var box = A.clear(document.getElementById('me'));
  var votes = A.clear(document.getElementById('my-votes'));
  if (acct.failed) { A.append(votes, A.message('load_failed', 'error')); return; }
  if (!me) { A.append(votes, A.message('loading')); return; }
  A.append(box,
    fact('acct_phone', me.phone || A.t('acct_phone_none')),
    fact('acct_household', A.t(me.household ? 'acct_household_yes' : 'acct_household_no')),
    fact('acct_vote', A.t(me.voter === false ? 'acct_vote_no' : 'acct_vote_yes')),
    fact('acct_since', A.formatTime(me.created)));
  if (!me.votes || !me.votes.length) { A.append(votes, A.message('my_votes_none')); return; }
  A.append(votes, A.el('ul', { className: 'cards' }, me.votes.map(function (v) {
    return A.el('li', { className: 'card', 'data-poll': v.poll },
      A.el('h3', { className: 'card-title' },
        A.el('a', { href: 'poll.html' + A.query({ id: v.poll }) }, v.question)),
      A.el('p', { className: 'my-choice', text: A.t('my_vote_choice', { c: v.choice === null || v.choice === undefined ? '' : v.choice }) }),
      A.el('p', { className: 'meta', text: A.formatTime(v.voted) }));
  })));
}

/* saveName: PATCH her name; the node's 422 next to the field. */
function saveName(ev) {
  ev.preventDefault();
  var name = value('me-name').trim();
  var e = checkName(name);
  fieldError('me-name', e);
  if (e) { document.getElementById('me-name').focus(); return; }
  say('working');
  A.apiSend('PATCH', '/api/v1/residents/me', { name: name }).then(function (r) {
    if (r.status === 401) { A.residentClear(); showForms(null); return; }
    if (r.status === 422) { say(null); fieldError('me-name', 'err_name_bad'); return; }
    if (!r.ok || !r.data) { say('err_failed'); return; }
    acct.me = r.data;
    document.getElementById('me-name').value = r.data.name || '';
    say('name_saved');
  });
}

function setupAccount() {
  document.getElementById('name-form').addEventListener('submit', saveName);
  document.getElementById('sign-out').addEventListener('click', function () {
    /* revoked at the node; forgotten here whatever the node says */
    A.apiSend('DELETE', '/api/v1/residents/token').then(function () {
      A.residentClear();
      showForms('signed_out');
      document.getElementById('in-phone').focus();
    });
  });
  var confirmBox = document.getElementById('delete-confirm');
  document.getElementById('delete-account').addEventListener('click', function () {
    confirmBox.hidden = false;
    document.getElementById('delete-no').focus();
  });
  document.getElementById('delete-no').addEventListener('click', function () {
    confirmBox.hidden = true;
    document.getElementById('delete-account').focus();
  });
  document.getElementById('delete-yes').addEventListener('click', function () {
    A.apiSend('DELETE', '/api/v1/residents/me').then(function (r) {
      if (r.status === 204 || r.status === 401) {
        A.residentClear();
        showForms('deleted_account');
        return;
      }
      say('err_failed');
    });
  });
}

/* ---- start ------------------------------------------------------------------------- */

function render() {
  /* messages follow the language: re-read their keys */
  var boxes = document.querySelectorAll('.field-error, .form-error, #account-status');
  for (var i = 0; i < boxes.length; i++) {
    var key = boxes[i].getAttribute('data-key');
    boxes[i].textContent = key ? A.t(key) : '';
  }
  if (!document.getElementById('signed-in').hidden) renderAccount();
  sentText();
}

function start() {
  setupForms();
  setupVerify();
  setupAccount();
  if (A.residentGet()) showAccount(); else showForms(null);
  /* the hub keeps no residents: say where to go instead of forms that fail */
  A.siteKind().then(function (k) {
    if (k.node !== false) return;
    document.getElementById('signed-out').hidden = true;
    document.getElementById('verify-step').hidden = true;
    document.getElementById('signed-in').hidden = true;
    say('account_at_hub');
  });
}

A.page({ start: start, render: render });
})(Alliance);
