/* common.js: what every page shares, the resident pages and the consoles
 * (manage/, district/) alike: building DOM safely, the API, labels and
 * formats, the language and text-size switches, community names. Loaded
 * by every page after i18n.js; the resident pages load resident.js after
 * it (the resident's token, service cards, the bulletin banner).
 *
 * Safety: nothing from the API is ever parsed as HTML. Text goes in with
 * textContent (el() below); links are built from ids with
 * encodeURIComponent; phone links (resident.js) keep only digits and
 * '+'.
 *
 * Parts: DOM helpers; API; labels and formats; preferences; community
 * names; start-up: the one bootstrap. Each script with a part on the
 * page registers it with Alliance.page({start, render}) (resident.js
 * for what every resident page has around its own: account link,
 * banner; then the page's own script); this file starts them all. */
'use strict';

(function (A) {

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

/* The icon sprite, found from this script's own address so that pages in
 * a folder (district/, manage/) reach it as well as the resident pages. */
var ICONS = document.currentScript ?
  new URL('../img/icons.svg', document.currentScript.src).pathname :
  'img/icons.svg';

/* icon: an inline <svg> showing symbol name of img/icons.svg; decorative. */
function icon(name, cls) {
  var svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', 'icon' + (cls ? ' ' + cls : ''));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  var use = document.createElementNS(SVG_NS, 'use');
  use.setAttribute('href', ICONS + '#' + name);
  svg.appendChild(use);
  return svg;
}

/* ---- API ----------------------------------------------------------------- */

/* request: method path, with body unless it is undefined (an object is
 * sent as JSON; a string as it is, its Content-Type in headers), and
 * headers added to Accept;
 * resolves {ok, status, data} (data: the JSON reply, null when there is
 * none or it is not JSON) and never rejects. resident.js (apiSend) and
 * manage.js (send) add their credentials to it. */
function request(method, path, body, headers) {
  var json = body !== undefined && typeof body !== 'string';
  var h = Object.assign({ Accept: 'application/json' }, json ? { 'Content-Type': 'application/json' } : {},
                        headers || {});
  return fetch(path, { method: method, headers: h, credentials: 'same-origin',
                       body: json ? JSON.stringify(body) : body })
    .then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { ok: r.ok, status: r.status, data: data };
      }, function () { return { ok: r.ok, status: r.status, data: null }; });
    }, function () { return { ok: false, status: 0, data: null }; });
}

/* api: GET path; like request, but not ok when the reply is not JSON. */
function api(path) {
  return request('GET', path).then(function (r) {
    return r.data === null ? { ok: false, status: r.status, data: null } : r;
  });
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

/* ---- labels and formats ---------------------------------------------------- */

function catLabel(id) { return A.t('cat_' + id, null, id); }
function deliveryLabel(id) { return A.t('delivery_' + id, null, id); }
function isFree(fee) { return !fee || fee === 'free' || fee === '免费'; }

/* sizeText: a byte count as KB under a megabyte ("12 KB"), else as MB
 * with one decimal ("16.0 MB"), for the consoles' quota figures. */
function sizeText(b) {
  b = b || 0;
  return b < 1048576 ? Math.ceil(b / 1024) + ' KB' : (Math.round(b / 104857.6) / 10).toFixed(1) + ' MB';
}

/* durationText: s seconds in the largest unit it reaches (days, hours
 * to two decimals; minutes, seconds whole), for the consoles' clock
 * skew. */
function durationText(s) {
  if (s >= 86400) return A.t('dur_days', { n: Math.round(s / 864) / 100 });
  if (s >= 3600) return A.t('dur_hours', { n: Math.round(s / 36) / 100 });
  if (s >= 60) return A.t('dur_minutes', { n: Math.round(s / 60) });
  return A.t('dur_seconds', { n: s });
}

function formatTime(iso) {
  var d = new Date(iso);
  if (!iso || isNaN(d.getTime())) return '';
  try {
    return new Intl.DateTimeFormat(A.currentLang() === 'en' ? 'en-GB' : 'zh-CN', {
      year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit'
    }).format(d);
  } catch (e) { return d.toISOString().slice(0, 16).replace('T', ' '); }
}

/* message: a paragraph for a status line (loading, empty, failed). */
function message(key, cls) {
  return el('p', { className: 'note ' + (cls || ''), text: A.t(key) });
}

/* fillSelect: replace the options of the <select> sel with one per value
 * of values, labelled label(value), keeping the one chosen (fallback when
 * none is); a language switch calls it again to relabel them. */
function fillSelect(sel, values, label, fallback) {
  var was = sel.value || fallback;
  clear(sel);
  values.forEach(function (v) { append(sel, el('option', { value: v, text: label(v) })); });
  sel.value = was;
}

/* badge: a small label (a fee, a category, a state), with an icon. */
function badge(text, cls, iconName) {
  return el('span', { className: 'badge ' + (cls || '') }, iconName ? icon(iconName) : null, text);
}

/* A bulletin's severity: its word, colour and icon (the banner, the
 * bulletins page and the district console show it). */
var SEVERITIES = ['extreme', 'severe', 'moderate', 'minor'];

function severityOf(b) {
  return SEVERITIES.indexOf(b.severity) >= 0 ? b.severity : 'unknown';
}

/* bulletinText: a bulletin's text field ('headline', 'description',
 * 'cause', 'response', 'instructions') in the page's language: the
 * English one (field_en) on an English page when the bulletin has it,
 * else the Chinese one. */
function bulletinText(b, field) {
  var en = b[field + '_en'];
  return A.currentLang() === 'en' && typeof en === 'string' && en ? en : b[field] || '';
}

function severityRank(b) {
  var i = SEVERITIES.indexOf(b.severity);
  return i < 0 ? SEVERITIES.length : i;
}

function severityBadge(b) {
  var sev = severityOf(b);
  return el('span', { className: 'sev-label sev-' + sev },
    icon(sev === 'minor' || sev === 'unknown' ? 'info' : 'warning'), A.t('severity_' + sev));
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
  root.lang = A.currentLang();
  root.classList.toggle('large', large());
  var size = document.getElementById('size-toggle');
  if (size) size.setAttribute('aria-pressed', large() ? 'true' : 'false');
  var lang = document.getElementById('lang-toggle');
  if (lang) lang.setAttribute('lang', A.currentLang() === 'en' ? 'zh-CN' : 'en');
  A.applyI18n(document);
  /* the service worker labels a check-in's answers in this language */
  var sw = navigator.serviceWorker && navigator.serviceWorker.controller;
  if (sw) sw.postMessage({ lang: A.currentLang() });
}

/* the parts registered with page(), in the order the scripts load */
var parts = [];

function renderAll() {
  applyPrefs();
  parts.forEach(function (p) { if (p.render) p.render(); });
}

function setupSwitches() {
  var lang = document.getElementById('lang-toggle');
  if (lang) lang.addEventListener('click', function () {
    store(A.LANG_KEY, A.currentLang() === 'en' ? 'zh-CN' : 'en');
    renderAll();
  });
  var size = document.getElementById('size-toggle');
  if (size) size.addEventListener('click', function () {
    store(SIZE_KEY, large() ? 'normal' : 'large');
    applyPrefs();
  });
  /* another tab changed a preference */
  window.addEventListener('storage', function (ev) {
    if (ev.key === A.LANG_KEY || ev.key === SIZE_KEY) renderAll();
  });
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
    /* only the spans and options named so: other elements carry
     * data-community as a key (the district console's rows, its
     * warnings), and their content is their own */
    var spans = document.querySelectorAll('span[data-community], option[data-community]');
    for (var i = 0; i < spans.length; i++)
      spans[i].textContent = communityName(spans[i].getAttribute('data-community'));
    var site = document.getElementById('site-community');
    if (site) site.textContent = communities.self ? communityName(communities.self) : '';
    return communities;
  });
  return communities.ready;
}

/* ---- start-up ------------------------------------------------------------- */

/* page: register part {start, render} (both optional) of the page. When
 * the page has loaded, each part's start runs once (in the order they
 * registered: its loading and its handlers), then every render; render
 * runs again on each language change. */
function page(part) { parts.push(part); }

function start() {
  setupSwitches();
  parts.forEach(function (p) { if (p.start) p.start(); });
  renderAll();
  loadCommunities();
}

/* deferred scripts run before DOMContentLoaded: wait for the page's own */
if (document.readyState === 'complete') start();
else document.addEventListener('DOMContentLoaded', start);

Object.assign(A, {
  api: api, append: append, badge: badge, catLabel: catLabel, clear: clear,
  communities: communities, communityLabel: communityLabel,
  communityList: communityList, communityName: communityName,
  deliveryLabel: deliveryLabel, durationText: durationText, el: el,
  fillSelect: fillSelect,
  formatTime: formatTime, icon: icon, isFree: isFree,
  loadCommunities: loadCommunities, message: message, page: page, query: query,
  request: request,
  severityBadge: severityBadge, severityOf: severityOf, bulletinText: bulletinText,
  severityRank: severityRank, sizeText: sizeText, store: store
});
})(Alliance);
