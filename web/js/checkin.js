/* checkin.js: a safety check-in's two answers, "我安全 / I'm safe" and
 * "我需要帮助 / I need help", as two large buttons (both languages on
 * each, whichever the page shows), and the page a resident's personal
 * link opens (checkin.html?b=BULLETIN#TOKEN: the token after '#' never
 * leaves the phone but in the answer itself).
 *
 * An answer is POST /api/v1/bulletins/{id}/check-in {answer, token?},
 * with the signed-in resident's bearer token when there is one
 * (resident.js apiSend): the node counts it for her, for the listed
 * resident her link names, or else apart as anonymous. bulletins.js puts
 * the panel under every check-in bulletin in force; checkin.html shows
 * the one its link names. After "safe", "help" stays possible (a link
 * answers once: then the grid worker's phone).
 *
 * Parts: the panel; the link's page. */
'use strict';

(function (A) {

/* ---- the panel --------------------------------------------------------------- */

/* What this browser answered, by bulletin id, kept so that a list
 * rendered again (a live bulletin, the language switch, a reload) shows
 * the answer given rather than the buttons. */
var ANSWERED_KEY = 'alliance.checkin';

function answered() {
  var v = null;
  try { v = JSON.parse(window.localStorage.getItem(ANSWERED_KEY) || '{}'); } catch (e) { v = null; }
  return v && typeof v === 'object' ? v : {};
}

function remember(id, state) {
  var all = answered();
  all[id] = state;
  A.store(ANSWERED_KEY, JSON.stringify(all));
}

/* answerButton: one big button, its words in Chinese and English. */
function answerButton(state) {
  var zh = state === 'safe' ? '我安全' : '我需要帮助';
  var en = state === 'safe' ? 'I\u2019m safe' : 'I need help';
  return A.el('button', { type: 'button', className: 'checkin-answer checkin-' + state,
    'data-answer': state },
    A.el('span', { className: 'checkin-zh', lang: 'zh-CN', text: zh }),
    A.el('span', { className: 'checkin-en', lang: 'en', text: en }));
}

/* checkinPanel: the question and the two answers for bulletin b (token:
 * the resident's link, or undefined); the reply is said in its status
 * line and both buttons stop once one is taken. chosen ('safe' or
 * 'help'): the answer tapped on the push notification (sw.js), marked
 * and named for her to send with one tap (nothing is sent unasked). */
function checkinPanel(b, token, chosen) {
  var status = A.el('p', { className: 'checkin-status', role: 'status', 'aria-live': 'polite' });
  var safe = answerButton('safe'), help = answerButton('help');
  var pick = chosen === 'safe' ? safe : chosen === 'help' ? help : null;
  var confirm = pick ? A.el('p', { className: 'checkin-confirm', id: 'checkin-confirm-' + b.id,
    text: A.t('checkin_confirm_' + chosen) }) : null;
  var box = A.el('section', { className: 'checkin', 'data-checkin': b.id,
    'aria-label': A.t('checkin_question') },
    A.el('p', { className: 'checkin-question', text: A.t('checkin_question') }), confirm,
    A.el('div', { className: 'checkin-buttons' }, safe, help), status);
  if (pick) {
    pick.classList.add('checkin-chosen');
    pick.setAttribute('aria-describedby', confirm.id);
  }
  function unpick() {
    if (!pick) return;
    confirm.remove();
    pick.classList.remove('checkin-chosen');
    pick.removeAttribute('aria-describedby');
  }
  function send(state) {
    var body = { answer: state };
    if (token) body.token = token;
    safe.disabled = help.disabled = true;
    status.textContent = A.t('checkin_sending');
    A.apiSend('POST', '/api/v1/bulletins/' + encodeURIComponent(b.id) + '/check-in', body).then(function (r) {
      if (r.ok) {
        unpick();
        status.textContent = A.t(state === 'safe' ? 'checkin_thanks_safe' : 'checkin_thanks_help');
        box.setAttribute('data-answered', state);
        remember(b.id, state);
        help.disabled = state === 'help' || !!token;
        return;
      }
      safe.disabled = help.disabled = r.status === 409 || r.status === 401;
      var e = r.data && r.data.error;
      status.textContent = A.t(r.status === 409 ? 'checkin_already' : r.status === 401
        ? 'checkin_bad_link' : 'checkin_failed') + (e && e.message ? ' (' + e.message + ')' : '');
    });
  }
  safe.addEventListener('click', function () { send('safe'); });
  help.addEventListener('click', function () { send('help'); });
  var was = answered()[b.id];
  if (was === 'safe' || was === 'help') {
    /* "help" stays possible after "safe": things change */
    safe.disabled = true;
    help.disabled = was === 'help' || !!token;
    status.textContent = A.t(was === 'safe' ? 'checkin_thanks_safe' : 'checkin_thanks_help');
    box.setAttribute('data-answered', was);
  }
  if (pick && pick.disabled) unpick();     /* answered so already */
  return box;
}

/* ---- the link's page ------------------------------------------------------------ */

var link = { bulletin: null, id: null, token: null, failed: false };

function renderLink() {
  var box = document.getElementById('checkin');
  if (!box) return;
  A.clear(box);
  if (!link.id || !link.token) {
    A.append(box, A.message('checkin_bad_link', 'error'));
    return;
  }
  if (!link.bulletin) {
    A.append(box, A.message(link.failed ? 'load_failed' : 'loading', link.failed ? 'error' : ''));
    return;
  }
  var b = link.bulletin;
  A.append(box, A.el('h2', { text: A.bulletinText(b, 'headline') }));
  if (A.bulletinText(b, 'instructions'))
    A.append(box, A.el('p', { className: 'body-text do' }, A.withPhones(A.bulletinText(b, 'instructions'))));
  if (!b.check_in || !A.inForce(b))
    A.append(box, A.message('checkin_over', 'error'));
  else
    A.append(box, checkinPanel(b, link.token));
}

A.page({
  start: function () {
    if (!document.getElementById('checkin')) return;
    var m = /[?&]b=([A-Za-z0-9._-]{1,128})(?:&|$)/.exec(window.location.search);
    link.id = m ? m[1] : null;
    link.token = /^#[0-9a-f]{32}$/.test(window.location.hash) ? window.location.hash.slice(1) : null;
    if (!link.id || !link.token) return;
    A.api('/api/v1/bulletins/' + encodeURIComponent(link.id)).then(function (r) {
      link.failed = !(r.ok && r.data);
      link.bulletin = link.failed ? null : r.data;
      renderLink();
    });
  },
  render: renderLink
});

Object.assign(A, { checkinPanel: checkinPanel });
})(Alliance);
