/* common.js: what every resident page shares: building DOM safely, the API,
 * labels and formats, the language and text-size switches, service cards,
 * and the live bulletin banner.
 *
 * Safety: nothing from the API is ever parsed as HTML. Text goes in with
 * textContent (el() below); links are built from ids with
 * encodeURIComponent; phone links keep only digits and '+'.
 *
 * Parts: DOM helpers; API; labels and formats; preferences; the resident;
 * service cards; bulletins (banner, live feed); start-up. A page script sets
 * window.PAGE = {render: fn} to be called on start and on a language
 * change. */
'use strict';

/* ---- DOM helpers --------------------------------------------------------- */

var SVG_NS = 'http://www.w3.org/2000/svg';

/* el: a new element. attrs: className, text, and plain attributes (set with
 * setAttribute, never on* handlers); children: nodes or strings (as text). */
function el(tag, attrs) {
  var e = document.createElement(tag);
  var a = attrs || {};
  Object.keys(a).forEach(function (k) {
    var v = a[k];
    if (v === undefined || v === null || v === false) return;
    if (k === 'className') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.slice(0, 2) === 'on') throw new Error('no handlers in el()');
    else e.setAttribute(k, v === true ? '' : String(v));
  });
  for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
  return e;
}

/* append: add each child (a node, a string as text, an array, or nothing). */
function append(parent) {
  for (var i = 1; i < arguments.length; i++) {
    var child = arguments[i];
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) child.forEach(function (c) { append(parent, c); });
    else parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/* icon: an inline <svg> showing symbol name of img/icons.svg; decorative. */
function icon(name, cls) {
  var svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', 'icon' + (cls ? ' ' + cls : ''));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  var use = document.createElementNS(SVG_NS, 'use');
  use.setAttribute('href', 'img/icons.svg#' + name);
  svg.appendChild(use);
  return svg;
}

/* ---- API ----------------------------------------------------------------- */

/* api: GET path; resolves {ok, status, data} and never rejects. */
function api(path) {
  return fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
    .then(function (r) {
      return r.json().then(function (d) { return { ok: r.ok, status: r.status, data: d }; },
        function () { return { ok: false, status: r.status, data: null }; });
    }, function () { return { ok: false, status: 0, data: null }; });
}

/* apiSend: method path with body (an object, sent as JSON), with the
 * signed-in resident's bearer token when there is one; resolves
 * {ok, status, data} like api() and never rejects. */
function apiSend(method, path, body) {
  var headers = { Accept: 'application/json' };
  var who = residentGet();
  if (who) headers.Authorization = 'Bearer ' + who.token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(path, { method: method, headers: headers, credentials: 'same-origin',
                       body: body === undefined ? undefined : JSON.stringify(body) })
    .then(function (r) {
      return r.json().then(function (d) { return { ok: r.ok, status: r.status, data: d }; },
        function () { return { ok: r.ok, status: r.status, data: null }; });
    }, function () { return { ok: false, status: 0, data: null }; });
}

function query(params) {
  var parts = [];
  Object.keys(params).forEach(function (k) {
    var v = params[k];
    if (v !== undefined && v !== null && v !== '')
      parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
  });
  return parts.length ? '?' + parts.join('&') : '';
}

function serviceHref(s) {
  return 'service.html' + query({ community: s.community, id: s.id });
}

/* telHref: "tel:" and the digits of a phone number, or null. */
function telHref(phone) {
  var digits = String(phone || '').replace(/[^0-9+]/g, '');
  return digits.length >= 3 ? 'tel:' + digits : null;
}

/* ---- labels and formats ---------------------------------------------------- */

function catLabel(id) { return t('cat_' + id, null, id); }
function deliveryLabel(id) { return t('delivery_' + id, null, id); }
function audienceLabel(id) { return t('audience_' + id, null, id); }
function languageLabel(id) { return t('lang_' + id, null, id); }
function isFree(fee) { return !fee || fee === 'free' || fee === '免费'; }
function feeText(fee) { return isFree(fee) ? t('free') : fee; }

function formatTime(iso) {
  var d = new Date(iso);
  if (!iso || isNaN(d.getTime())) return '';
  try {
    return new Intl.DateTimeFormat(currentLang() === 'en' ? 'en-GB' : 'zh-CN', {
      year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit'
    }).format(d);
  } catch (e) { return d.toISOString().slice(0, 16).replace('T', ' '); }
}

/* message: a paragraph for a status line (loading, empty, failed). */
function message(key, cls) {
  return el('p', { className: 'note ' + (cls || ''), text: t(key) });
}

/* ---- preferences --------------------------------------------------------- */

var SIZE_KEY = 'alliance.textsize';

function store(key, value) {
  try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ }
}

function large() {
  try { return window.localStorage.getItem(SIZE_KEY) === 'large'; } catch (e) { return false; }
}

function applyPrefs() {
  var root = document.documentElement;
  root.lang = currentLang();
  root.classList.toggle('large', large());
  var size = document.getElementById('size-toggle');
  if (size) size.setAttribute('aria-pressed', large() ? 'true' : 'false');
  var lang = document.getElementById('lang-toggle');
  if (lang) lang.setAttribute('lang', currentLang() === 'en' ? 'zh-CN' : 'en');
  applyI18n(document);
  renderAccountLink();
}

function renderAll() {
  applyPrefs();
  renderBanner();
  if (window.PAGE && window.PAGE.render) window.PAGE.render();
}

function setupSwitches() {
  var lang = document.getElementById('lang-toggle');
  if (lang) lang.addEventListener('click', function () {
    store(LANG_KEY, currentLang() === 'en' ? 'zh-CN' : 'en');
    renderAll();
  });
  var size = document.getElementById('size-toggle');
  if (size) size.addEventListener('click', function () {
    store(SIZE_KEY, large() ? 'normal' : 'large');
    applyPrefs();
  });
  /* another tab changed a preference */
  window.addEventListener('storage', function (ev) {
    if (ev.key === LANG_KEY || ev.key === SIZE_KEY) renderAll();
  });
}

/* ---- the resident -----------------------------------------------------------
 *
 * A signed-in resident's bearer token (from POST /api/v1/residents or
 * /api/v1/residents/login) is kept in localStorage under RESIDENT_KEY as
 * {"token","resident"}; the requests made from this browser under
 * MY_REQUESTS_KEY, a list of {"id","token"} (Open311's service_request_id
 * and the request's own token), newest first, so "我的申请" works without an
 * account. */

var RESIDENT_KEY = 'alliance.resident';
var MY_REQUESTS_KEY = 'alliance.requests';

function readJson(key) {
  try { return JSON.parse(window.localStorage.getItem(key) || 'null'); } catch (e) { return null; }
}

function residentGet() {
  var r = readJson(RESIDENT_KEY);
  return r && typeof r.token === 'string' && r.token ? r : null;
}

function residentSet(r) { store(RESIDENT_KEY, JSON.stringify(r)); renderAccountLink(); }

function residentClear() {
  try { window.localStorage.removeItem(RESIDENT_KEY); } catch (e) { /* private mode */ }
  renderAccountLink();
}

function myRequestsGet() {
  var list = readJson(MY_REQUESTS_KEY);
  return Array.isArray(list) ? list.filter(function (x) { return x && typeof x.id === 'string'; }) : [];
}

/* myRequestsAdd: remember a request made here ({id, token}), newest first. */
function myRequestsAdd(entry) {
  var list = myRequestsGet().filter(function (x) { return x.id !== entry.id; });
  list.unshift(entry);
  store(MY_REQUESTS_KEY, JSON.stringify(list.slice(0, 200)));
}

/* renderAccountLink: the header's link reads 登录 or 我的账户. */
function renderAccountLink() {
  var link = document.getElementById('account-link');
  if (!link) return;
  var label = link.querySelector('span');
  var key = residentGet() ? 'nav_account_signed_in' : 'nav_account';
  label.setAttribute('data-i18n', key);
  label.textContent = t(key);
}

/* ---- community names ----------------------------------------------------
 *
 * GET /api/v1/communities gives the names residents see: the hub's
 * directory of every community, which reaches every node; at a node its own
 * community comes first, marked "self". Names are shown in
 * [data-community] spans (and options), filled in place when the list
 * arrives, so no page waits for it or renders twice; the header's
 * #site-community names the node's own community (empty at the hub). */

var communities = { names: {}, order: [], self: null, ready: null };

function communityName(id) { return communities.names[id] || id; }

function communityLabel(id) {
  return el('span', { 'data-community': id, text: communityName(id) });
}

/* communityList: labels of ids joined by 、 (nodes, for append). */
function communityList(ids) {
  var out = [];
  ids.forEach(function (id, i) { if (i) out.push('、'); out.push(communityLabel(id)); });
  return out;
}

/* loadCommunities: read the directory once (later calls share it); resolves
 * the communities object. */
function loadCommunities() {
  communities.ready = communities.ready || api('/api/v1/communities').then(function (r) {
    if (!r.ok || !r.data || !Array.isArray(r.data.items)) return communities;
    r.data.items.forEach(function (c) {
      if (!c || typeof c.id !== 'string' || typeof c.name !== 'string' || !c.name) return;
      communities.names[c.id] = c.name;
      communities.order.push(c.id);
      if (c.self === true) communities.self = c.id;
    });
    var spans = document.querySelectorAll('[data-community]');
    for (var i = 0; i < spans.length; i++)
      spans[i].textContent = communityName(spans[i].getAttribute('data-community'));
    var site = document.getElementById('site-community');
    if (site) site.textContent = communities.self ? communityName(communities.self) : '';
    return communities;
  });
  return communities.ready;
}

/* ---- service cards --------------------------------------------------------- */

function badge(text, cls, iconName) {
  return el('span', { className: 'badge ' + (cls || '') }, iconName ? icon(iconName) : null, text);
}

/* eligibleText: who may use s when that is restricted, as nodes: "仅限
 * 珠海路街道 居民" (eligible_communities, by name) and/or its eligibility
 * text (80岁以上老人); null when every resident may. */
function eligibleText(s) {
  var ids = Array.isArray(s.eligible_communities) ? s.eligible_communities : [];
  var out = [];
  if (ids.length) out.push(t('eligible_only'), communityList(ids), t('eligible_residents'));
  if (s.eligibility) out.push(out.length ? '；' : '', s.eligibility);
  return out.length ? out : null;
}

/* serviceCard: a list item for a service, like a shop's: the category's
 * icon, the title as the card's one link (it covers the whole card, so the
 * card is one tap target named by the title), summary, fee and badges,
 * hours, who may use it when restricted, and the offering community. */
function serviceCard(s) {
  var badges = el('p', { className: 'badges' },
    isFree(s.fee) ? badge(t('free'), 'free', 'check') : badge(s.fee, 'fee', 'coin'),
    badge(catLabel(s.category), 'cat'));
  (s.delivery || []).forEach(function (d) { append(badges, badge(deliveryLabel(d), 'how')); });
  if (s.status && s.status !== 'active')
    append(badges, badge(t('status_' + s.status.replace(/-/g, '_'), null, s.status), 'closed'));
  var who = eligibleText(s);
  return el('li', { className: 'card service-card' },
    el('span', { className: 'card-icon' }, icon(CATEGORIES.indexOf(s.category) >= 0 ? s.category : 'other')),
    el('div', { className: 'card-body' },
      el('h3', { className: 'card-title' },
        el('a', { className: 'card-link', href: serviceHref(s), 'data-id': s.community + '/' + s.id }, s.title)),
      s.summary ? el('p', { className: 'summary', text: s.summary }) : null,
      badges,
      s.hours ? el('p', { className: 'card-line' }, icon('clock'), el('span', null,
        el('span', { className: 'visually-hidden', text: t('hours') + '：' }), s.hours)) : null,
      who ? el('p', { className: 'card-line eligible' }, icon('person'), el('span', null, who)) : null,
      el('p', { className: 'where' }, icon('pin'), t('offered_by') + '：', communityLabel(s.community))));
}

/* ---- bulletins --------------------------------------------------------------
 *
 * The banner (#alerts, at the top of every page) shows the bulletins in
 * force: extreme and severe ones large and as role="alert", the rest as a
 * compact line. It is filled from GET /api/v1/bulletins and kept current
 * by the live feed GET /api/v1/bulletins/live (server-sent events): any
 * event re-reads the list, so it does not matter what an event carries.
 * While either endpoint is missing (404) the page simply shows no banner. */

var bulletins = { items: [], loaded: false, listeners: [] };
var SEVERITIES = ['extreme', 'severe', 'moderate', 'minor'];

function severityOf(b) {
  return SEVERITIES.indexOf(b.severity) >= 0 ? b.severity : 'unknown';
}

function severityRank(b) {
  var i = SEVERITIES.indexOf(b.severity);
  return i < 0 ? SEVERITIES.length : i;
}

function inForce(b) {
  if (b.status && b.status !== 'current') return false;
  if (b.type === 'cancel') return false;
  if (b.expires && new Date(b.expires).getTime() < Date.now()) return false;
  return true;
}

function severityBadge(b) {
  var sev = severityOf(b);
  return el('span', { className: 'sev-label sev-' + sev },
    icon(sev === 'minor' || sev === 'unknown' ? 'info' : 'warning'), t('severity_' + sev));
}

function loadBulletins() {
  return api('/api/v1/bulletins').then(function (r) {
    if (r.ok && r.data && Array.isArray(r.data.items)) {
      bulletins.items = r.data.items;
      bulletins.loaded = true;
    } else if (r.status === 404) {
      bulletins.items = [];
      bulletins.loaded = true;
    }
    renderBanner();
    bulletins.listeners.forEach(function (fn) { fn(r); });
    return r;
  });
}

function renderBanner() {
  var box = document.getElementById('alerts');
  if (!box) return;
  var now = bulletins.items.filter(inForce).sort(function (a, b) {
    return severityRank(a) - severityRank(b) ||
      String(b.sent || '').localeCompare(String(a.sent || ''));
  });
  clear(box);
  box.hidden = now.length === 0;
  now.forEach(function (b) {
    var sev = severityOf(b);
    var big = sev === 'extreme' || sev === 'severe';
    var more = el('a', { className: 'banner-more', href: 'bulletins.html#b-' + encodeURIComponent(b.id || '') },
      t('bulletin_more'));
    /* extreme and severe: large, what to do at once; the rest: one line */
    append(box, el('div', {
      className: 'banner sev-' + sev + (big ? ' big' : ''),
      role: big ? 'alert' : 'status',
      'data-bulletin': b.id || ''
    },
      el('p', { className: 'banner-head' }, severityBadge(b),
        el('strong', { className: 'banner-headline', text: b.headline || '' }), big ? null : more),
      big && b.instructions ? el('p', { className: 'banner-do' },
        el('span', { className: 'label', text: t('bulletin_instructions') + '：' }), b.instructions) : null,
      big ? more : null));
  });
}

var live = { source: null, delay: 5000 };

/* watchBulletins: the live feed; on any event re-read the list. An
 * EventSource retries by itself after a dropped connection; a refusal
 * (404, not yet built; 503, full) closes it, and we try again later. */
function watchBulletins() {
  if (!window.EventSource) return;
  var es = new EventSource('/api/v1/bulletins/live');
  live.source = es;
  var refresh = function () { live.delay = 5000; loadBulletins(); };
  es.onmessage = refresh;
  ['bulletin', 'alert', 'update', 'cancel', 'bulletins'].forEach(function (name) {
    es.addEventListener(name, refresh);
  });
  es.onopen = function () { loadBulletins(); };
  es.onerror = function () {
    if (es.readyState !== EventSource.CLOSED) return;
    live.source = null;
    setTimeout(watchBulletins, live.delay);
    live.delay = Math.min(live.delay * 2, 300000);
  };
}

/* ---- start-up ------------------------------------------------------------- */

function start() {
  setupSwitches();
  renderAll();
  loadCommunities();
  /* the consoles (manage/, district/) have no banner and no live feed */
  if (!document.getElementById('alerts')) return;
  loadBulletins();
  watchBulletins();
  /* a bulletin that expires leaves the banner without a reload */
  setInterval(renderBanner, 60000);
}

/* deferred scripts run before DOMContentLoaded: wait for the page's own */
if (document.readyState === 'complete') start();
else document.addEventListener('DOMContentLoaded', start);
