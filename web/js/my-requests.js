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
  return [stepOf(x), x.status_notes || '', x.expected_datetime || '', (x.steps || []).length].join('|');
}

function remember(x) {
  if (!x || typeof x.service_request_id !== 'string') return;
  my.items[x.service_request_id] = x;
  delete my.failed[x.service_request_id];
}

function loadAccount() {
  if (!residentGet()) return Promise.resolve();
  return apiSend('GET', '/api/v1/residents/me/requests').then(function (r) {
    if (r.ok && r.data && Array.isArray(r.data.items)) r.data.items.forEach(remember);
  });
}

function loadOne(entry) {
  var path = '/open311/v2/requests/' + encodeURIComponent(entry.id) + '.json' +
    query({ token: entry.token || '' });
  return api(path).then(function (r) {
    if (r.ok && Array.isArray(r.data) && r.data[0]) remember(r.data[0]);
    else my.failed[entry.id] = true;
  });
}

/* load: the account's list and this browser's requests (all the first
 * time; later only those not yet closed, POLL_MAX at most). */
function load() {
  var local = myRequestsGet();
  local.forEach(function (e) { my.tokens[e.id] = e.token; });
  var wanted = local.filter(function (e) {
    var x = my.items[e.id];
    return !my.loaded || !x || !closedStep(stepOf(x));
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
      news.push(t('my_changed', { s: x.service_name || x.service_code, st: stepWord(stepOf(x)) }));
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
  if (s.status === 'scheduled' && s.scheduled) extra.push(t('my_scheduled_for', { t: formatTime(s.scheduled) }));
  return el('li', { className: 'step step-' + s.status },
    el('span', { className: 'step-word', text: stepWord(s.status) }),
    el('time', { datetime: s.at, text: formatTime(s.at) }),
    extra.length ? el('span', { className: 'step-extra', text: extra.join(' ') }) : null,
    s.notes ? el('span', { className: 'step-notes', text: s.notes }) : null);
}

/* steps: x's steps, or what its fields tell when it has none. */
function steps(x) {
  if (Array.isArray(x.steps) && x.steps.length) return x.steps;
  var out = [{ status: 'submitted', at: x.requested_datetime }];
  if (x.delivered_datetime) out.push({ status: 'delivered', at: x.delivered_datetime });
  var now = stepOf(x);
  if (now !== 'submitted' && now !== 'delivered')
    out.push({ status: now, at: x.withdrawn_datetime || x.updated_datetime, notes: x.status_notes,
               scheduled: x.expected_datetime });
  return out;
}

function makeCard(id) {
  var parts = {
    title: el('h2', { className: 'card-title' }),
    body: el('div', { className: 'my-body' }),
    actions: el('div', { className: 'actions my-actions' }),
    error: el('p', { className: 'field-error', role: 'alert' })
  };
  var li = el('li', { className: 'card my-request', 'data-id': id }, parts.title, parts.body, parts.error, parts.actions);
  return { li: li, parts: parts, confirming: false };
}

function fillCard(card, id) {
  var x = my.items[id], p = card.parts;
  clear(p.body);
  if (!x) {
    p.title.textContent = t('my_number', { id: id });
    append(p.body, el('p', { className: 'note', text: t('my_unreadable', { id: id }) }));
    clear(p.actions);
    return;
  }
  var step = stepOf(x);
  card.li.setAttribute('data-step', step);
  p.title.textContent = x.service_name || x.service_code;
  append(p.body,
    el('p', { className: 'my-status step-' + step }, el('span', { text: t('my_status') + colon() }),
      el('strong', { className: 'my-step', text: stepWord(step) }),
      step === 'scheduled' && x.expected_datetime
        ? el('span', { className: 'my-when', text: ' · ' + t('my_scheduled_for', { t: formatTime(x.expected_datetime) }) }) : null),
    x.status_notes ? el('div', { className: 'reply' },
      el('p', { className: 'label', text: t('my_reply') }), el('p', { className: 'reply-text', text: x.status_notes })) : null,
    el('ol', { className: 'steps', 'aria-label': t('my_status') }, steps(x).map(stepItem)),
    el('dl', { className: 'my-facts' },
      el('dt', { text: t('my_offered_by') }), el('dd', null, communityLabel(ownerOf(x))),
      x.preferred ? el('dt', { text: t('my_preferred') }) : null,
      x.preferred ? el('dd', { text: preferredText(x.preferred) }) : null,
      el('dt', { text: t('ask_done_number') }), el('dd', { className: 'number', text: id })));
  if (!card.confirming) renderActions(card, id);
}

/* ---- withdrawing ------------------------------------------------------------------ */

function renderActions(card, id) {
  var x = my.items[id], p = card.parts;
  clear(p.actions);
  if (!x || closedStep(stepOf(x))) return;
  var name = x.service_name || x.service_code;
  if (!card.confirming) {
    var ask = el('button', { type: 'button', className: 'button secondary danger',
      'aria-label': t('my_withdraw_named', { s: name }), text: t('my_withdraw') });
    ask.addEventListener('click', function () {
      card.confirming = true;
      renderActions(card, id);
      card.parts.actions.querySelector('button').focus();
    });
    append(p.actions, ask);
    return;
  }
  var yes = el('button', { type: 'button', className: 'button danger-solid', text: t('my_withdraw_yes') });
  var no = el('button', { type: 'button', className: 'button secondary', text: t('my_withdraw_no') });
  yes.addEventListener('click', function () { withdraw(card, id, yes); });
  no.addEventListener('click', function () { card.confirming = false; renderActions(card, id); });
  append(p.actions, el('p', { className: 'confirm', text: t('my_withdraw_confirm') }), yes, no);
}

function withdraw(card, id, button) {
  button.disabled = true;
  card.parts.error.textContent = '';
  postForm('/open311/v2/requests/' + encodeURIComponent(id) + '/withdraw.json',
    { token: my.tokens[id] || '' }).then(function (r) {
    button.disabled = false;
    if (r.ok && Array.isArray(r.data) && r.data[0]) {
      remember(r.data[0]);
      my.seen[id] = signature(r.data[0]);
      card.confirming = false;
      document.getElementById('my-news').textContent = t('my_withdrawn_ok');
      fillCard(card, id);
      return;
    }
    card.parts.error.textContent = t('my_withdraw_failed', { m: open311Message(r) || r.status });
  });
}

/* ---- the list ------------------------------------------------------------------------ */

function renderList() {
  var box = document.getElementById('my-requests');
  if (my.site && my.site.node === false) {
    clear(box);
    append(box, el('p', { className: 'note error', text: t('ask_at_hub') }));
    return;
  }
  if (!my.loaded) { clear(box); append(box, message('loading')); return; }
  if (!my.order.length) {
    clear(box);
    append(box, message('my_none'), residentGet() ? null : message('my_none_here'));
    return;
  }
  var list = box.querySelector('ul.cards');
  if (!list) {
    clear(box);
    list = el('ul', { className: 'cards' });
    append(box, list, el('p', { className: 'note my-here' }));
  }
  box.querySelector('.my-here').textContent = residentGet() ? '' : t('my_none_here');
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

window.PAGE = {
  render: function () {
    Object.keys(my.cards).forEach(function (id) { my.cards[id].confirming = false; });
    renderList();
  }
};

siteKind().then(function (k) {
  my.site = k;
  if (k.node === false) { renderList(); return; }
  load();
  my.timer = setInterval(poll, POLL_MS);
  document.addEventListener('visibilitychange', poll);
});
