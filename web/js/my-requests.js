/* my-requests.js: "我的申请": every request made from this browser (their
 * ids and tokens in localStorage, myRequestsGet) and, when signed in,
 * every request of the account from any browser
 * (GET /api/v1/residents/me/requests with the bearer token), newest
 * first, each with its service and community, its progress in words with
 * the time of each step (submitted, delivered to the community,
 * acknowledged, scheduled with the time, done, declined, withdrawn), the
 * community's reply, and a button to withdraw it while it is not done.
 *
 * While the page is visible it polls every POLL_MS: the account's list in
 * one call, and this browser's requests one by one
 * (GET /open311/v2/requests/{id}.json?token=), at most POLL_MAX of them
 * and only those still open. A change (a new step or reply) is said in
 * #my-news (role=status). Cards are kept by id and filled in place, so an
 * open withdrawal question is not wiped by a refresh.
 *
 * Parts: state; loading; a card; the list; withdrawing; start-up. */
'use strict';

(function (A) {

var POLL_MS = 3000;
var POLL_MAX = 30;

var my = {
  site: null,
  items: {},        /* id -> the last answer for it */
  tokens: {},       /* id -> this browser's token for it */
  order: [],        /* ids, newest first */
  failed: {},       /* id -> true when its last read failed */
  seen: {},         /* id -> signature of what was last shown */
  cards: {},        /* id -> {li, parts} */
  loaded: false,
  timer: null
};

/* ---- loading ------------------------------------------------------------------ */

function signature(x) {
  return [A.stepOf(x), x.status_notes || '', x.expected_datetime || '', (x.steps || []).length].join('|');
}

function remember(x) {
  if (!x || typeof x.service_request_id !== 'string') return;
  my.items[x.service_request_id] = x;
  delete my.failed[x.service_request_id];
}

function loadAccount() {
  if (!A.residentGet()) return Promise.resolve();
  return A.apiSend('GET', '/api/v1/residents/me/requests').then(function (r) {
    if (r.ok && r.data && Array.isArray(r.data.items)) r.data.items.forEach(remember);
  });
}

function loadOne(entry) {
  var path = '/open311/v2/requests/' + encodeURIComponent(entry.id) + '.json' +
    A.query({ token: entry.token || '' });
  return A.api(path).then(function (r) {
    if (r.ok && Array.isArray(r.data) && r.data[0]) remember(r.data[0]);
    else my.failed[entry.id] = true;
  });
}

/* load: the account's list and this browser's requests (all the first
 * time; later only those not yet closed, POLL_MAX at most). */
function load() {
  var local = A.myRequestsGet();
  local.forEach(function (e) { my.tokens[e.id] = e.token; });
  var wanted = local.filter(function (e) {
    var x = my.items[e.id];
    return !my.loaded || !x || !A.closedStep(A.stepOf(x));
  }).slice(0, POLL_MAX);
  return Promise.all([loadAccount()].concat(wanted.map(loadOne))).then(function () {
    var ids = Object.keys(my.items).concat(local.map(function (e) { return e.id; }));
    var uniq = ids.filter(function (id, i) { return ids.indexOf(id) === i; });
    uniq.sort(function (a, b) {
      var ta = my.items[a] ? my.items[a].requested_datetime : '';
      var tb = my.items[b] ? my.items[b].requested_datetime : '';
      return String(tb || '').localeCompare(String(ta || ''));
    });
    my.order = uniq;
    announce();
    my.loaded = true;
    renderList();
  });
}

/* announce: say in #my-news what changed since the last look. */
function announce() {
  var news = [];
  Object.keys(my.items).forEach(function (id) {
    var x = my.items[id], sig = signature(x);
    if (my.loaded && my.seen[id] && my.seen[id] !== sig)
      news.push(A.t('my_changed', { s: x.service_name || x.service_code, st: A.stepWord(A.stepOf(x)) }));
    my.seen[id] = sig;
  });
  if (news.length) document.getElementById('my-news').textContent = news.join(' ');
}

/* ---- a card ---------------------------------------------------------------------- */

function ownerOf(x) {
  return x.agency_responsible || String(x.service_code || '').split(/[./]/)[0];
}

function stepItem(s) {
  var extra = [];
  if (s.status === 'scheduled' && s.scheduled) extra.push(A.t('my_scheduled_for', { t: A.formatTime(s.scheduled) }));
  return A.el('li', { className: 'step step-' + s.status },
    A.el('span', { className: 'step-word', text: A.stepWord(s.status) }),
    A.el('time', { datetime: s.at, text: A.formatTime(s.at) }),
    extra.length ? A.el('span', { className: 'step-extra', text: extra.join(' ') }) : null,
    s.notes ? A.el('span', { className: 'step-notes', text: s.notes }) : null);
}

/* steps: x's steps, or what its fields tell when it has none. */
function steps(x) {
  if (Array.isArray(x.steps) && x.steps.length) return x.steps;
  var out = [{ status: 'submitted', at: x.requested_datetime }];
  if (x.delivered_datetime) out.push({ status: 'delivered', at: x.delivered_datetime });
  var now = A.stepOf(x);
  if (now !== 'submitted' && now !== 'delivered')
    out.push({ status: now, at: x.withdrawn_datetime || x.updated_datetime, notes: x.status_notes,
               scheduled: x.expected_datetime });
  return out;
}

function makeCard(id) {
  var parts = {
    title: A.el('h2', { className: 'card-title' }),
    body: A.el('div', { className: 'my-body' }),
    actions: A.el('div', { className: 'actions my-actions' }),
    error: A.el('p', { className: 'field-error', role: 'alert' })
  };
  var li = A.el('li', { className: 'card my-request', 'data-id': id }, parts.title, parts.body, parts.error, parts.actions);
  return { li: li, parts: parts, confirming: false };
}

function fillCard(card, id) {
  var x = my.items[id], p = card.parts;
  A.clear(p.body);
  if (!x) {
    p.title.textContent = A.t('my_number', { id: id });
    A.append(p.body, A.el('p', { className: 'note', text: A.t('my_unreadable', { id: id }) }));
    A.clear(p.actions);
    return;
  }
  var step = A.stepOf(x);
  card.li.setAttribute('data-step', step);
  p.title.textContent = x.service_name || x.service_code;
  A.append(p.body,
    A.el('p', { className: 'my-status step-' + step }, A.el('span', { text: A.t('my_status') + A.colon() }),
      A.el('strong', { className: 'my-step', text: A.stepWord(step) }),
      step === 'scheduled' && x.expected_datetime
        ? A.el('span', { className: 'my-when', text: ' · ' + A.t('my_scheduled_for', { t: A.formatTime(x.expected_datetime) }) }) : null),
    x.status_notes ? A.el('div', { className: 'reply' },
      A.el('p', { className: 'label', text: A.t('my_reply') }), A.el('p', { className: 'reply-text', text: x.status_notes })) : null,
    A.el('ol', { className: 'steps', 'aria-label': A.t('my_status') }, steps(x).map(stepItem)),
    A.el('dl', { className: 'my-facts' },
      A.el('dt', { text: A.t('my_offered_by') }), A.el('dd', null, A.communityLabel(ownerOf(x))),
      x.preferred ? A.el('dt', { text: A.t('my_preferred') }) : null,
      x.preferred ? A.el('dd', { text: A.preferredText(x.preferred) }) : null,
      A.el('dt', { text: A.t('ask_done_number') }), A.el('dd', { className: 'number', text: id })));
  if (!card.confirming) renderActions(card, id);
}

/* ---- withdrawing ------------------------------------------------------------------ */

function renderActions(card, id) {
  var x = my.items[id], p = card.parts;
  A.clear(p.actions);
  if (!x || A.closedStep(A.stepOf(x))) return;
  var name = x.service_name || x.service_code;
  if (!card.confirming) {
    var ask = A.el('button', { type: 'button', className: 'button secondary danger',
      'aria-label': A.t('my_withdraw_named', { s: name }), text: A.t('my_withdraw') });
    ask.addEventListener('click', function () {
      card.confirming = true;
      renderActions(card, id);
      card.parts.actions.querySelector('button').focus();
    });
    A.append(p.actions, ask);
    return;
  }
  var yes = A.el('button', { type: 'button', className: 'button danger-solid', text: A.t('my_withdraw_yes') });
  var no = A.el('button', { type: 'button', className: 'button secondary', text: A.t('my_withdraw_no') });
  yes.addEventListener('click', function () { withdraw(card, id, yes); });
  no.addEventListener('click', function () { card.confirming = false; renderActions(card, id); });
  A.append(p.actions, A.el('p', { className: 'confirm', text: A.t('my_withdraw_confirm') }), yes, no);
}

function withdraw(card, id, button) {
  button.disabled = true;
  card.parts.error.textContent = '';
  A.postForm('/open311/v2/requests/' + encodeURIComponent(id) + '/withdraw.json',
    { token: my.tokens[id] || '' }).then(function (r) {
    button.disabled = false;
    if (r.ok && Array.isArray(r.data) && r.data[0]) {
      remember(r.data[0]);
      my.seen[id] = signature(r.data[0]);
      card.confirming = false;
      document.getElementById('my-news').textContent = A.t('my_withdrawn_ok');
      fillCard(card, id);
      return;
    }
    card.parts.error.textContent = A.t('my_withdraw_failed', { m: A.open311Message(r) || r.status });
  });
}

/* ---- the list ------------------------------------------------------------------------ */

function renderList() {
  var box = document.getElementById('my-requests');
  if (my.site && my.site.node === false) {
    A.clear(box);
    A.append(box, A.el('p', { className: 'note error', text: A.t('ask_at_hub') }));
    return;
  }
  if (!my.loaded) { A.clear(box); A.append(box, A.message('loading')); return; }
  if (!my.order.length) {
    A.clear(box);
    A.append(box, A.message('my_none'), A.residentGet() ? null : A.message('my_none_here'));
    return;
  }
  var list = box.querySelector('ul.cards');
  if (!list) {
    A.clear(box);
    list = A.el('ul', { className: 'cards' });
    A.append(box, list, A.el('p', { className: 'note my-here' }));
  }
  box.querySelector('.my-here').textContent = A.residentGet() ? '' : A.t('my_none_here');
  my.order.forEach(function (id, i) {
    var card = my.cards[id] || (my.cards[id] = makeCard(id));
    fillCard(card, id);
    if (list.children[i] !== card.li) list.insertBefore(card.li, list.children[i] || null);
  });
}

/* ---- start-up --------------------------------------------------------------------------- */

function poll() {
  if (document.visibilityState === 'visible' && my.site && my.site.node) load();
}

function render() {
  Object.keys(my.cards).forEach(function (id) { my.cards[id].confirming = false; });
  renderList();
}

function start() {
  A.siteKind().then(function (k) {
    my.site = k;
    if (k.node === false) { renderList(); return; }
    load();
    my.timer = setInterval(poll, POLL_MS);
    document.addEventListener('visibilitychange', poll);
  });
}

A.page({ start: start, render: render });
})(Alliance);
