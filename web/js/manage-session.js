/* manage-session.js: the manager's session on every console page
 * (manage/*.html), before the page's parts.
 *
 * Login: POST /api/v1/session {"password"} sets an HttpOnly session cookie
 * the page never sees and returns a CSRF token, kept in memory only; on
 * load, GET /api/v1/session says whether the cookie still holds a session
 * (and gives its token again). Every change sends the token in
 * X-CSRF-Token with Content-Type: application/json. A 401 means the
 * session ended: back to the login form. Parts register with signedIn to
 * start and stop with the session. */
'use strict';

(function (A) {

var mgr = { session: null };  /* {csrf_token, community, name} */
var sessionParts = [];    /* {start, stop} of signedIn(), in order */

/* send: a change (or a GET) with the session's token; resolves
 * {ok, status, data} and never rejects. A 401 ends the session here. */
function send(method, path, body) {
  var headers = {};
  if (mgr.session) headers['X-CSRF-Token'] = mgr.session.csrf_token;
  return A.request(method, path, body, headers).then(function (r) {
    if (r.status === 401 && mgr.session && path !== '/api/v1/session') showLogin('session_ended');
    return r;
  });
}

function errorText(r) {
  var e = r.data && r.data.error;
  return e && e.message ? e.message : (r.status ? 'HTTP ' + r.status : A.t('load_failed'));
}

function say(key, vars) {
  document.getElementById('status').textContent = key ? A.t(key, vars) : '';
}

function showLogin(messageKey) {
  mgr.session = null;
  sessionParts.forEach(function (p) { p.stop(); });
  document.getElementById('console').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('login').hidden = false;
  document.getElementById('login-error').textContent = '';
  say(messageKey || null);
  var pw = document.getElementById('password');
  pw.value = '';
  pw.focus();
}

function showConsole(session) {
  mgr.session = session;
  document.getElementById('login').hidden = true;
  document.getElementById('console').hidden = false;
  document.getElementById('logout').hidden = false;
  renderHeading();
  sessionParts.forEach(function (p) { p.start(); });
  document.getElementById('h-console').focus();
}

function renderHeading() {
  var s = mgr.session;
  if (!s) return;
  var h = document.getElementById('h-console');
  h.setAttribute('tabindex', '-1');
  h.textContent = A.t('console_heading', { name: s.name || s.community });
}

function start() {
  document.getElementById('login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var pw = document.getElementById('password');
    var err = document.getElementById('login-error');
    if (!pw.value) { err.textContent = A.t('login_wrong'); pw.focus(); return; }
    err.textContent = '';
    say('logging_in');
    send('POST', '/api/v1/session', { password: pw.value }).then(function (r) {
      pw.value = '';
      say(null);
      if (r.status === 201 && r.data && r.data.csrf_token) { showConsole(r.data); return; }
      err.textContent = r.status === 401 ? A.t('login_wrong')
        : r.status === 429 ? A.t('login_too_many') : A.t('save_failed', { m: errorText(r) });
      pw.focus();
    });
  });
  /* the header's tools (the consoles' shared header, web/shell.tpl) get
     the logout button, shown while signed in */
  var logout = A.el('button', { type: 'button', className: 'tool', id: 'logout', hidden: true },
    A.el('span', { 'data-i18n': 'logout', text: A.t('logout') }));
  document.querySelector('.site-header .tools').appendChild(logout);
  logout.addEventListener('click', function () {
    send('DELETE', '/api/v1/session').then(function () { showLogin('logged_out'); });
  });
  A.api('/api/v1/session').then(function (r) {
    if (r.ok && r.data && r.data.csrf_token) showConsole(r.data);
    else showLogin(null);
  });
}

/* signedIn: register part {start, stop} of the page, started when a
 * manager signs in (or the page finds her session) and stopped when the
 * session ends. */
function signedIn(part) { sessionParts.push(part); }

A.page({ start: start, render: renderHeading });

Object.assign(A, {
  errorText: errorText, mgr: mgr, say: say, send: send, signedIn: signedIn
});
})(Alliance);
