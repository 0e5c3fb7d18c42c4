/* resident.js: what every resident page (web/*.html) adds to common.js and
 * the consoles do not need: the signed-in resident and the requests made
 * from this browser, the account link, services' links, labels and cards,
 * and the live bulletin banner. Loaded by every resident page after
 * common.js.
 *
 * Parts: the resident; services (links, labels, cards); bulletins (banner,
 * live feed); start-up (its part of the page, registered with
 * Alliance.page before the page's own). */
'use strict';

(function (A) {

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

function residentSet(r) { A.store(RESIDENT_KEY, JSON.stringify(r)); renderAccountLink(); }

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
  A.store(MY_REQUESTS_KEY, JSON.stringify(list.slice(0, 200)));
}

/* renderAccountLink: the header's link reads 登录 or 我的账户. */
function renderAccountLink() {
  var link = document.getElementById('account-link');
  if (!link) return;
  var label = link.querySelector('span');
  var key = residentGet() ? 'nav_account_signed_in' : 'nav_account';
  label.setAttribute('data-i18n', key);
  label.textContent = A.t(key);
}

/* apiSend: A.request (common.js) of method path with body and headers,
 * with the signed-in resident's bearer token when there is one. */
function apiSend(method, path, body, headers) {
  var who = residentGet();
  return A.request(method, path, body,
                   Object.assign(who ? { Authorization: 'Bearer ' + who.token } : {}, headers || {}));
}

/* siteKind: whether this site is a community's node, where residents
 * sign up, request and vote, or the district hub, which has no residents:
 * a node's /healthz names its community, the hub's does not (it counts
 * communities and sessions). Resolves {node: true, community} at a node,
 * {node: false} at the hub, {node: null} when /healthz cannot be read. */
function siteKind() {
  return A.api('/healthz').then(function (r) {
    if (!r.ok || !r.data) return { node: null };
    return typeof r.data.community === 'string' && r.data.community
      ? { node: true, community: r.data.community } : { node: false };
  });
}

/* ---- services: links, labels, cards ----------------------------------------- */

function serviceHref(s) {
  return 'service.html' + A.query({ community: s.community, id: s.id });
}

/* addressedService: the service this page's address names
 * (?community=&id=, as serviceHref makes it): resolves GET
 * /api/v1/catalog/{community}/{id} as api() does, or a 404 without
 * asking when the address names no valid one. */
function addressedService() {
  var u = new URLSearchParams(window.location.search);
  var community = u.get('community') || '';
  var id = u.get('id') || '';
  if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(community) || !/^[A-Za-z0-9._-]{1,128}$/.test(id))
    return Promise.resolve({ ok: false, status: 404, data: null });
  return A.api('/api/v1/catalog/' + encodeURIComponent(community) + '/' + encodeURIComponent(id));
}

/* telHref: "tel:" and the digits of a phone number, or null. */
function telHref(phone) {
  var digits = String(phone || '').replace(/[^0-9+]/g, '');
  return digits.length >= 3 ? 'tel:' + digits : null;
}

function audienceLabel(id) { return A.t('audience_' + id, null, id); }
function languageLabel(id) { return A.t('lang_' + id, null, id); }
function feeText(fee) { return A.isFree(fee) ? A.t('free') : fee; }

/* eligibleText: who may use s when that is restricted, as nodes: "仅限
 * 珠海路街道 居民" (eligible_communities, by name) and/or its eligibility
 * text (80岁以上老人); null when every resident may. */
function eligibleText(s) {
  var ids = Array.isArray(s.eligible_communities) ? s.eligible_communities : [];
  var out = [];
  if (ids.length) out.push(A.t('eligible_only'), A.communityList(ids), A.t('eligible_residents'));
  if (s.eligibility) out.push(out.length ? '；' : '', s.eligibility);
  return out.length ? out : null;
}

/* serviceCard: a list item for a service, like a shop's: the category's
 * icon, the title as the card's one link (it covers the whole card, so the
 * card is one tap target named by the title), summary, fee and badges,
 * hours, who may use it when restricted, and the offering community. */
function serviceCard(s) {
  var badges = A.el('p', { className: 'badges' },
    A.isFree(s.fee) ? A.badge(A.t('free'), 'free', 'check') : A.badge(s.fee, 'fee', 'coin'),
    A.badge(A.catLabel(s.category), 'cat'));
  (s.delivery || []).forEach(function (d) { A.append(badges, A.badge(A.deliveryLabel(d), 'how')); });
  if (s.status && s.status !== 'active')
    A.append(badges, A.badge(A.t('status_' + s.status.replace(/-/g, '_'), null, s.status), 'closed'));
  var who = eligibleText(s);
  return A.el('li', { className: 'card service-card' },
    A.el('span', { className: 'card-icon' }, A.icon(A.CATEGORIES.indexOf(s.category) >= 0 ? s.category : 'other')),
    A.el('div', { className: 'card-body' },
      A.el('h3', { className: 'card-title' },
        A.el('a', { className: 'card-link', href: serviceHref(s), 'data-id': s.community + '/' + s.id }, s.title)),
      s.summary ? A.el('p', { className: 'summary', text: s.summary }) : null,
      badges,
      s.hours ? A.el('p', { className: 'card-line' }, A.icon('clock'), A.el('span', null,
        A.el('span', { className: 'visually-hidden', text: A.t('hours') + '：' }), s.hours)) : null,
      who ? A.el('p', { className: 'card-line eligible' }, A.icon('person'), A.el('span', null, who)) : null,
      A.el('p', { className: 'where' }, A.icon('pin'), A.t('offered_by') + '：', A.communityLabel(s.community))));
}

/* ---- bulletins --------------------------------------------------------------
 *
 * The banner (#alerts, at the top of every page) shows the bulletins in
 * force: extreme and severe ones large and as role="alert", the rest as a
 * compact line. The home and bulletins pages arrive with it already in
 * their HTML (the daemon renders the same markup, lib/pages.c); until the
 * list is loaded that banner is kept and only made foldable, so it never
 * flashes away. It is filled from GET /api/v1/bulletins and kept current
 * by the live feed GET /api/v1/bulletins/live (server-sent events): any
 * event re-reads the list, so it does not matter what an event carries.
 * While either endpoint is missing (404) the page simply shows no banner.
 *
 * Each bulletin but an extreme one folds to one line (its head becomes a
 * button with aria-expanded); the fold is kept in localStorage under
 * FOLDED_KEY per bulletin id and sent time, so an update (a new signed
 * bulletin) shows unfolded. Phone numbers in a bulletin's texts are tel:
 * links (phoneSpans, the same rules as lib/phone.c). */

var bulletins = { items: [], loaded: false, listeners: [] };
var FOLDED_KEY = 'alliance.folded';
var FOLDED_MAX = 50;

/* inForce: the node's status decides (it judges expiry by the hub's
 * clock); the browser's own clock, which may be off by days, only when
 * an item carries none. */
function inForce(b) {
  if (b.type === 'cancel') return false;
  if (b.status) return b.status === 'current';
  if (b.expires && new Date(b.expires).getTime() < Date.now()) return false;
  return true;
}

/* Phone numbers: a Chinese mobile (13800138000, 138-0013-8000), a number
 * with its area code (0532-12345678), +86 before either, 400/800 numbers,
 * 95xxx service numbers and the public hotlines; not inside a longer
 * number or word; a short hotline not followed by a unit (120人). */
var HOTLINES = ['110', '119', '120', '122', '12110', '12121', '12123', '12315',
  '12320', '12333', '12345', '12348', '12350', '12355', '12358', '12369', '12395'];
var PHONE_UNITS = '人个名位户岁元块米公千万亿年月日号楼室层栋次辆台度分秒小天周条家所间套平吨斤克里%℃';

function isDigit(c) { return c >= '0' && c <= '9'; }
function isAlnum(c) { return /^[0-9A-Za-z]$/.test(c || ''); }

/* phoneKind: 'long', 'short' or '' for digits d; tel target in out.tel. */
function phoneKind(d, plus, out) {
  if (plus) {
    var r = d.slice(2);
    if (d.length < 3 || d.slice(0, 2) !== '86') return '';
    if ((r.length === 11 && r[0] === '1' && r[1] >= '3') ||
        (r.length >= 9 && r.length <= 11 && r[0] !== '0')) { out.tel = '+86' + r; return 'long'; }
    return '';
  }
  out.tel = d;
  if ((d.length === 11 && d[0] === '1' && d[1] >= '3') ||
      (d.length >= 10 && d.length <= 12 && d[0] === '0' && d[1] !== '0') ||
      (d.length === 10 && (d.slice(0, 3) === '400' || d.slice(0, 3) === '800'))) return 'long';
  if ((d.length === 5 && d.slice(0, 2) === '95') || HOTLINES.indexOf(d) >= 0) return 'short';
  return '';
}

function phoneEndsWell(s, end, kind) {
  if (end >= s.length) return true;
  var c = s[end];
  if (isAlnum(c) || c === '%') return false;
  if ((c === '.' || c === ',') && isDigit(s[end + 1])) return false;
  if (kind !== 'short') return true;
  if ((c === '-' || c === '~') && isDigit(s[end + 1])) return false;
  return PHONE_UNITS.indexOf(c) < 0;
}

/* phoneSpans: [{start, end, tel}] of the phone numbers in s. */
function phoneSpans(s) {
  var found = [];
  var i = 0;
  s = String(s || '');
  while (i < s.length) {
    var plus = s[i] === '+';
    var prev = i > 0 ? s[i - 1] : '';
    if (!(isDigit(s[i]) || (plus && isDigit(s[i + 1]))) ||
        (prev && (isAlnum(prev) || '.,+-/_'.indexOf(prev) >= 0))) { i++; continue; }
    var j = i + (plus ? 1 : 0);
    var digits = '';
    var groups = [];
    var firstEnd = 0;
    var overflow = false;
    for (;;) {
      while (j < s.length && isDigit(s[j])) {
        if (digits.length < 16) digits += s[j]; else overflow = true;
        j++;
      }
      if (!firstEnd) firstEnd = j;
      groups.push({ end: j, n: digits.length });
      if (overflow || groups.length === 6 || (s[j] !== '-' && s[j] !== ' ') || !isDigit(s[j + 1])) break;
      j++;
    }
    var hit = null;
    for (var g = groups.length - 1; !overflow && g >= 0 && !hit; g--) {
      var out = {};
      var kind = phoneKind(digits.slice(0, groups[g].n), plus, out);
      if (kind && phoneEndsWell(s, groups[g].end, kind)) hit = { start: i, end: groups[g].end, tel: out.tel };
    }
    if (hit) { found.push(hit); i = hit.end; } else i = firstEnd;
  }
  return found;
}

/* withPhones: text as text nodes, each phone number a tel: link. */
function withPhones(text) {
  var s = String(text || '');
  var parts = [];
  var at = 0;
  phoneSpans(s).forEach(function (p) {
    if (p.start > at) parts.push(s.slice(at, p.start));
    parts.push(A.el('a', { className: 'tel', href: 'tel:' + p.tel }, s.slice(p.start, p.end)));
    at = p.end;
  });
  if (at < s.length) parts.push(s.slice(at));
  return parts;
}

function foldedKeys() {
  var list = readJson(FOLDED_KEY);
  return Array.isArray(list) ? list.filter(function (k) { return typeof k === 'string'; }) : [];
}

function setFolded(key, folded) {
  var list = foldedKeys().filter(function (k) { return k !== key; });
  if (folded) list.unshift(key);
  A.store(FOLDED_KEY, JSON.stringify(list.slice(0, FOLDED_MAX)));
}

/* showFold: the banner item's fold state on its button and class. */
function showFold(item, button, folded) {
  item.classList.toggle('folded', folded);
  button.setAttribute('aria-expanded', folded ? 'false' : 'true');
  var word = button.querySelector('.fold-word');
  word.setAttribute('data-i18n', folded ? 'banner_unfold' : 'banner_fold');
  word.textContent = A.t(folded ? 'banner_unfold' : 'banner_fold');
}

/* makeFoldable: turn a banner item's head (rendered here or by the
 * daemon) into its fold button; an extreme bulletin stays open. */
function makeFoldable(item) {
  var head = item.querySelector('p.banner-head');
  if (!head || item.classList.contains('sev-extreme')) return;
  var key = (item.getAttribute('data-bulletin') || '') + '@' + (item.getAttribute('data-sent') || '');
  var detail = item.querySelector('.banner-detail');
  var button = A.el('button', { type: 'button', className: 'banner-head banner-toggle',
                              'aria-controls': detail && detail.id ? detail.id : null });
  while (head.firstChild) button.appendChild(head.firstChild);
  A.append(button, A.el('span', { className: 'fold-word' }));
  head.parentNode.replaceChild(button, head);
  showFold(item, button, foldedKeys().indexOf(key) >= 0);
  button.addEventListener('click', function () {
    var folded = !item.classList.contains('folded');
    showFold(item, button, folded);
    setFolded(key, folded);
  });
}

/* bannerItem: one bulletin of the banner (lib/pages.c's banner_item). */
function bannerItem(b) {
  var sev = A.severityOf(b);
  var big = sev === 'extreme' || sev === 'severe';
  var id = b.id || '';
  return A.el('div', { className: 'banner sev-' + sev + (big ? ' big' : ''), role: big ? 'alert' : 'status',
                     'data-bulletin': id, 'data-sent': b.sent_unix || '' },
    A.el('p', { className: 'banner-head' }, A.severityBadge(b),
      A.el('strong', { className: 'banner-headline', text: A.bulletinText(b, 'headline') })),
    A.el('div', { className: 'banner-detail', id: 'bd-' + id },
      big && A.bulletinText(b, 'instructions') ? A.el('p', { className: 'banner-do' },
        A.el('span', { className: 'label', text: A.t('bulletin_instructions') + '：' }), withPhones(A.bulletinText(b, 'instructions'))) : null,
      A.el('a', { className: 'banner-more', href: 'bulletins.html#b-' + encodeURIComponent(id) }, A.t('bulletin_more'))));
}

function loadBulletins() {
  return A.api('/api/v1/bulletins').then(function (r) {
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

/* renderBanner: the banner from the list; before the list is loaded, the
 * daemon's banner (if any) is kept and made foldable. */
function renderBanner() {
  var box = document.getElementById('alerts');
  if (!box) return;
  if (!bulletins.loaded) {
    var served = box.querySelectorAll('.banner[data-bulletin]');
    for (var i = 0; i < served.length; i++) makeFoldable(served[i]);
    return;
  }
  var now = bulletins.items.filter(inForce).sort(function (a, b) {
    return A.severityRank(a) - A.severityRank(b) ||
      String(b.sent || '').localeCompare(String(a.sent || ''));
  });
  A.clear(box);
  box.hidden = now.length === 0;
  now.forEach(function (b) {
    var item = bannerItem(b);
    A.append(box, item);
    makeFoldable(item);
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

A.page({
  render: function () { renderAccountLink(); renderBanner(); },
  start: function () {
    loadBulletins();
    watchBulletins();
    /* a bulletin that expires leaves the banner without a reload */
    setInterval(renderBanner, 60000);
  }
});

/* live and phoneSpans: for the browser tests */
Object.assign(A, {
  addressedService: addressedService, apiSend: apiSend,
  audienceLabel: audienceLabel, bulletins: bulletins,
  eligibleText: eligibleText, feeText: feeText, inForce: inForce,
  languageLabel: languageLabel, live: live, myRequestsAdd: myRequestsAdd,
  myRequestsGet: myRequestsGet, phoneSpans: phoneSpans,
  residentClear: residentClear, residentGet: residentGet,
  residentSet: residentSet, serviceCard: serviceCard,
  serviceHref: serviceHref, siteKind: siteKind, telHref: telHref,
  withPhones: withPhones
});
})(Alliance);
