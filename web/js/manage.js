/* manage.js: the manager console (manage/index.html) of one node, after
 * manage-session.js (the login, the session and send()).
 *
 * Own services come from GET /api/v1/catalog?community=OWN, own notices
 * from GET /api/v1/announcements?community=OWN; editing reads the record
 * with GET /api/v1/services/{id} and writes it back whole (PUT). The sync
 * state (GET /api/v1/manager/sync, with the store disk's free space: a
 * warning under 10 %) is polled while the console shows;
 * the request queue is manage-requests.js, the polls manage-polls.js,
 * accounts to confirm manage-residents.js: each registers with
 * Alliance.page like this file, and with Alliance.signedIn for its
 * start and stop with the session.
 *
 * The service form asks for the fee without English words (免费, or 收费
 * and an amount: fee "free" or "10 元"), who may use the service (the
 * eligibility text, and eligible_communities ticked from the directory of
 * GET /api/v1/communities) and search keywords. A bad field, found here or
 * named by the node's 422, gets its message next to it and nothing is
 * sent or saved.
 *
 * Parts: sync state; lists; forms; start. */
'use strict';

(function (A) {

var mgr = Object.assign(A.mgr, {
  services: null,         /* own services, or null while loading */
  announcements: null,
  sync: null,
  failed: {},             /* list name -> true when it could not load */
  timer: null
});
var SYNC_EVERY_MS = 5000;
var STATUSES = ['active', 'temporarily-closed', 'inactive'];
var send = A.send, say = A.say, errorText = A.errorText;

/* ---- sync state ---------------------------------------------------------------- */

function loadSync() {
  if (!mgr.session) return;
  send('GET', '/api/v1/manager/sync').then(function (r) {
    if (r.status === 401) return;
    mgr.sync = r.ok ? r.data : null;
    renderSync();
  });
}

function kv(labelKey, value, cls) {
  return [A.el('dt', { text: A.t(labelKey) }), A.el('dd', { className: cls || null }, value)];
}

function renderSync() {
  var box = A.clear(document.getElementById('sync'));
  var s = mgr.sync;
  if (!s) { A.append(box, kv('sync_connected', A.t('load_failed'))); return; }
  var hub = s.hub || {};
  A.append(box,
    kv('sync_connected', A.el('span', { className: 'state-pill ' + (hub.connected ? 'ok' : 'bad'),
      'data-state': hub.connected ? 'connected' : 'disconnected',
      text: hub.connected ? A.t('sync_yes') : A.t('sync_no') })),
    kv('sync_since', hub.since ? A.formatTime(hub.since) : '—'),
    kv('sync_hub_url', A.el('code', { id: 'hub-url', text: hub.url || '—' })),
    kv('sync_last_error', hub.last_error || A.t('sync_none')),
    clockRow(hub.clock_offset_ms),
    kv('sync_lag', s.up && s.up.lag !== null && s.up.lag !== undefined ? String(s.up.lag) : A.t('sync_lag_unknown')),
    kv('sync_counts', A.t('sync_counts_value', { s: s.counts ? s.counts.services : '?', a: s.counts ? s.counts.announcements : '?' })),
    s.quota ? kv('sync_quota', A.t('sync_quota_value', { r: s.quota.records.used, rl: s.quota.records.limit,
      b: A.sizeText(s.quota.bytes.used), bl: A.sizeText(s.quota.bytes.limit), h: s.quota.changes_per_hour.limit })) : null,
    s.disk ? kv('sync_disk', A.el('span', { id: 'disk-state', className: s.disk.low ? 'state-pill bad' : null,
      'data-state': s.disk.low ? 'low' : 'ok',
      text: A.t(s.disk.low ? 'sync_disk_low' : 'sync_disk_value',
        { f: A.sizeText(s.disk.free_bytes), t: A.sizeText(s.disk.total_bytes) }) })) : null);
}

/* clockRow: a warning when this node's clock is over 60 s off the hub's
 * (hub.clock_offset_ms: the hub's time minus the node's); the node
 * already judges time by the hub's, but the system clock wants fixing. */
function clockRow(off) {
  if (off === null || off === undefined || Math.abs(off) <= 60000) return null;
  return kv('sync_clock', A.t(off < 0 ? 'sync_clock_ahead' : 'sync_clock_behind',
    { d: A.durationText(Math.round(Math.abs(off) / 1000)) }), 'clock-skew');
}

/* ---- lists ------------------------------------------------------------------------ */

/* loadAll: every page of a catalog listing (at most 20 pages of 100). */
function loadAll(path, params, items, pages) {
  var p = Object.assign({ limit: 100 }, params);
  return A.api(path + A.query(p)).then(function (r) {
    if (!r.ok || !r.data || !Array.isArray(r.data.items)) return null;
    var all = items.concat(r.data.items);
    if (r.data.next && pages < 20)
      return loadAll(path, Object.assign({}, params, { after: r.data.next }), all, pages + 1);
    return all;
  });
}

function loadLists() {
  var own = mgr.session.community;
  loadAll('/api/v1/catalog', { community: own }, [], 1).then(function (items) {
    mgr.failed.services = !items;
    mgr.services = (items || []).filter(function (s) { return s.community === own; });
    renderList('services');
  });
  A.api('/api/v1/announcements' + A.query({ community: own, limit: 100 })).then(function (r) {
    var items = r.ok && r.data && Array.isArray(r.data.items) ? r.data.items : null;
    mgr.failed.announcements = !items;
    mgr.announcements = (items || []).filter(function (a) { return a.community === own; });
    renderList('announcements');
  });
}

function itemRow(kind, item) {
  var del = A.el('button', { type: 'button', className: 'button secondary danger',
    'aria-label': A.t('delete_named', { t: item.title }), text: A.t('delete') });
  var edit = A.el('button', { type: 'button', className: 'button secondary',
    'aria-label': A.t('edit_named', { t: item.title }), text: A.t('edit') });
  edit.addEventListener('click', function () { openForm(kind, item.id); });
  del.addEventListener('click', function () {
    /* two steps, no dialog: the first click asks, the second deletes */
    if (del.getAttribute('data-armed') !== 'true') {
      del.setAttribute('data-armed', 'true');
      del.textContent = A.t('confirm_delete', { t: item.title });
      return;
    }
    send('DELETE', '/api/v1/' + kind + '/' + encodeURIComponent(item.id)).then(function (r) {
      if (r.ok || r.status === 404) {
        mgr[kind] = mgr[kind].filter(function (x) { return x.id !== item.id; });
        renderList(kind);
        say('deleted');
        loadSync();
      } else if (r.status !== 401) say('save_failed', { m: errorText(r) });
    });
  });
  var meta = kind === 'services'
    ? A.el('p', { className: 'badges' }, A.badge(A.catLabel(item.category), 'cat'),
      A.isFree(item.fee) ? A.badge(A.t('free'), 'free') : A.badge(item.fee, 'fee'),
      item.status && item.status !== 'active' ? A.badge(A.t('status_' + item.status.replace(/-/g, '_'), null, item.status), 'closed') : null)
    : A.el('p', { className: 'meta', text: A.t('published', { t: A.formatTime(item.published) }) +
      (item.expires ? ' · ' + A.t('expires', { t: A.formatTime(item.expires) }) : '') });
  return A.el('li', { className: 'card row', 'data-id': item.id },
    A.el('div', { className: 'row-main' }, A.el('h3', { className: 'card-title', text: item.title }), meta),
    A.el('div', { className: 'row-actions' }, edit, del));
}

function renderList(kind) {
  var box = A.clear(document.getElementById(kind));
  var items = mgr[kind];
  if (!items) { A.append(box, A.message('loading')); return; }
  if (mgr.failed[kind]) { A.append(box, A.message('load_failed', 'error')); return; }
  if (!items.length) {
    A.append(box, A.message(kind === 'services' ? 'none_own_services' : 'none_own_announcements'));
    return;
  }
  A.append(box, A.el('ul', { className: 'cards' }, items.map(function (x) { return itemRow(kind, x); })));
}

/* ---- forms --------------------------------------------------------------------------- */

var editing = { services: null, announcements: null };   /* the record being edited */

function formOf(kind) {
  return document.getElementById(kind === 'services' ? 'service-form' : 'announcement-form');
}

function fillSelects() {
  [['s-category', A.CATEGORIES, A.catLabel], ['a-category', A.CATEGORIES, A.catLabel],
   ['s-status', STATUSES, function (s) { return A.t('status_' + s.replace(/-/g, '_'), null, s); }]]
    .forEach(function (spec) {
      var sel = document.getElementById(spec[0]);
      var value = sel.value;
      A.clear(sel);
      spec[1].forEach(function (id) { A.append(sel, A.el('option', { value: id, text: spec[2](id) })); });
      if (value) sel.value = value;
    });
  fillEligible();
  var box = document.getElementById('s-delivery');
  var checked = {};
  box.querySelectorAll('input').forEach(function (i) { checked[i.value] = i.checked; });
  A.clear(box);
  A.DELIVERIES.forEach(function (d) {
    A.append(box, A.el('label', { className: 'check' },
      A.el('input', { type: 'checkbox', name: 'delivery', value: d, checked: !!checked[d] }), A.deliveryLabel(d)));
  });
}

/* fillEligible: a checkbox per community of the directory, by name,
 * keeping what is ticked (the directory may arrive after the form). */
function fillEligible() {
  var box = document.getElementById('s-eligible');
  var checked = {};
  box.querySelectorAll('input').forEach(function (i) { checked[i.value] = i.checked; });
  (editing.services && editing.services.eligible_communities || []).forEach(function (id) {
    if (!(id in checked)) checked[id] = true;
  });
  var ids = A.communities.order.slice();
  Object.keys(checked).forEach(function (id) { if (ids.indexOf(id) < 0) ids.push(id); });
  A.clear(box);
  ids.forEach(function (id) {
    A.append(box, A.el('label', { className: 'check' },
      A.el('input', { type: 'checkbox', name: 'eligible', value: id, checked: !!checked[id] }),
      A.communityLabel(id)));
  });
}

/* ---- the service form's own fields --------------------------------------------- */

var AMOUNT = /^\d{1,7}(\.\d{1,2})?$/;

/* feeOf: the fee the form says ("free", "10 元"), or null when the amount
 * is not a number; an amount left as the record had it keeps its text. */
function feeOf() {
  if (document.getElementById('s-fee-free').checked) return 'free';
  var amount = field('s-fee-amount');
  var old = editing.services && editing.services.fee;
  if (AMOUNT.test(amount)) return amount + ' 元';
  return amount && old && amount === old ? old : null;
}

function setFee(fee) {
  var free = !fee || A.isFree(fee);
  var m = /^\s*(\d+(?:\.\d+)?)\s*元\s*$/.exec(fee || '');
  document.getElementById('s-fee-free').checked = free;
  document.getElementById('s-fee-paid').checked = !free;
  setField('s-fee-amount', free ? '' : m ? m[1] : fee);
}

/* keywordsOf: the keywords field as a list (spaces, commas, 、 separate). */
function keywordsOf() {
  return field('s-keywords').split(/[\s,，、;；]+/).filter(function (w) { return w; });
}

/* fieldError: show message next to the field the node or the form names
 * (its data-error-for); false when the form has no such field. */
function fieldError(form, name, text) {
  var box = form.querySelector('[data-error-for="' + name + '"]');
  if (!box) return false;
  box.textContent = text;
  var input = box.parentNode.querySelector('input:not([type=radio]):not([type=checkbox]), select, textarea');
  if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
  else if (box.parentNode.querySelector('input')) box.parentNode.querySelector('input').focus();
  return true;
}

function clearErrors(form) {
  form.querySelectorAll('[data-error-for]').forEach(function (b) { b.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach(function (i) { i.removeAttribute('aria-invalid'); });
  form.querySelector('.form-error').textContent = '';
}

/* The node's 422 for these fields, said in the page's language. */
var FIELD_MESSAGES = { title: 'err_title_required', fee: 'err_fee_amount', keywords: 'err_keywords_long' };

/* checkService: the form's own checks; the first bad field's message is
 * shown next to it. Returns true when the form may be sent. */
function checkService(form) {
  var bad = null;
  var words = keywordsOf();
  if (!field('s-title')) bad = ['title', A.t('err_title_required')];
  else if (feeOf() === null) bad = ['fee', A.t('err_fee_amount')];
  else if (words.length > 16) bad = ['keywords', A.t('err_keywords_many')];
  else if (words.some(function (w) { return Array.from(w).length > 16; }))
    bad = ['keywords', A.t('err_keywords_long')];
  if (!bad) return true;
  fieldError(form, bad[0], bad[1]);
  form.querySelector('.form-error').textContent = A.t('err_fix_fields');
  return false;
}

function setField(id, value) { document.getElementById(id).value = value === undefined || value === null ? '' : value; }
function field(id) { return document.getElementById(id).value.trim(); }

function openForm(kind, id) {
  var form = formOf(kind);
  var service = kind === 'services';
  clearErrors(form);
  form.querySelector('h3').textContent = A.t(service ? (id ? 'form_service_edit' : 'form_service_add')
    : (id ? 'form_announcement_edit' : 'form_announcement_add'));
  form.reset();
  fillSelects();
  editing[kind] = null;
  var idInput = document.getElementById(service ? 's-id' : 'a-id');
  idInput.readOnly = !!id;
  form.hidden = false;
  if (!id) { document.getElementById(service ? 's-title' : 'a-title').focus(); return; }
  A.api('/api/v1/' + kind + '/' + encodeURIComponent(id)).then(function (r) {
    if (!r.ok || !r.data) { form.querySelector('.form-error').textContent = A.t('save_failed', { m: errorText(r) }); return; }
    var x = r.data;
    editing[kind] = x;
    if (service) {
      ['id', 'title', 'summary', 'hours', 'phone', 'address', 'description', 'eligibility'].forEach(function (k) { setField('s-' + k, x[k]); });
      setFee(x.fee);
      setField('s-keywords', (x.keywords || []).join(' '));
      fillEligible();
      document.querySelectorAll('#s-eligible input').forEach(function (i) {
        i.checked = (x.eligible_communities || []).indexOf(i.value) >= 0;
      });
      setField('s-category', x.category);
      setField('s-status', x.status || 'active');
      document.querySelectorAll('#s-delivery input').forEach(function (i) {
        i.checked = (x.delivery || []).indexOf(i.value) >= 0;
      });
    } else {
      ['id', 'title', 'body'].forEach(function (k) { setField('a-' + k, x[k]); });
      setField('a-category', x.category || 'other');
      setField('a-expires', x.expires ? String(x.expires).slice(0, 10) : '');
    }
    document.getElementById(service ? 's-title' : 'a-title').focus();
  });
}

function closeForm(kind) {
  formOf(kind).hidden = true;
  editing[kind] = null;
}

/* record: the body to send: the record being edited with the form's
 * fields over it (fields the form does not show are kept). */
function record(kind) {
  var base = Object.assign({}, editing[kind] || {});
  ['community', 'updated', 'version', 'published'].forEach(function (k) { delete base[k]; });
  if (kind === 'services') {
    ['title', 'summary', 'hours', 'phone', 'address', 'description', 'eligibility'].forEach(function (k) {
      var v = field('s-' + k);
      if (v) base[k] = v; else delete base[k];
    });
    base.fee = feeOf();
    base.keywords = keywordsOf();
    base.eligible_communities = [];
    document.querySelectorAll('#s-eligible input').forEach(function (i) {
      if (i.checked) base.eligible_communities.push(i.value);
    });
    base.category = field('s-category');
    base.status = field('s-status') || 'active';
    base.delivery = [];
    document.querySelectorAll('#s-delivery input').forEach(function (i) { if (i.checked) base.delivery.push(i.value); });
    if (field('s-id')) base.id = field('s-id'); else delete base.id;
  } else {
    base.title = field('a-title');
    var body = field('a-body');
    if (body) base.body = body; else delete base.body;
    base.category = field('a-category');
    var exp = field('a-expires');
    if (exp) base.expires = exp + 'T23:59:59Z'; else delete base.expires;
    if (field('a-id')) base.id = field('a-id'); else delete base.id;
  }
  return base;
}

function setupForm(kind) {
  var form = formOf(kind);
  var service = kind === 'services';
  form.querySelector('.cancel').addEventListener('click', function () { closeForm(kind); });
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var errBox = form.querySelector('.form-error');
    var title = document.getElementById(service ? 's-title' : 'a-title');
    if (service) { clearErrors(form); if (!checkService(form)) return; }
    else if (!title.value.trim()) { errBox.textContent = A.t('save_failed', { m: A.t('f_title') }); title.focus(); return; }
    var body = record(kind);
    var old = editing[kind];
    var req = old ? send('PUT', '/api/v1/' + kind + '/' + encodeURIComponent(old.id), body)
                  : send('POST', '/api/v1/' + kind, body);
    req.then(function (r) {
      if (!r.ok) {
        if (r.status === 401) return;
        /* the node's 422 names the field first ("keywords: ...") */
        var named = /^([a-z_]+):/.exec(errorText(r));
        var said = named && FIELD_MESSAGES[named[1]] ? A.t(FIELD_MESSAGES[named[1]]) : errorText(r);
        if (r.status === 429 && r.data && r.data.error && r.data.error.code === 'over_quota') {
          /* the node names the quota first ("quota records: ...") */
          var quota = /^quota ([a-z_]+):/.exec(errorText(r));
          errBox.textContent = A.t('err_over_quota', { q: A.t('quota_name_' + (quota ? quota[1] : 'unknown')), m: errorText(r) });
        }
        else if (service && named && fieldError(form, named[1], said))
          errBox.textContent = A.t('err_fix_fields');
        else errBox.textContent = A.t('save_failed', { m: errorText(r) });
        return;
      }
      var id = old ? old.id : r.data && r.data.id;
      closeForm(kind);
      say('saved');
      loadSync();
      /* the record as the node now holds it, into the list */
      A.api('/api/v1/' + kind + '/' + encodeURIComponent(id)).then(function (g) {
        var x = g.ok && g.data ? g.data : Object.assign({ id: id }, body);
        mgr[kind] = (mgr[kind] || []).filter(function (y) { return y.id !== id; });
        mgr[kind].unshift(x);
        renderList(kind);
      });
    });
  });
  document.getElementById(service ? 'add-service' : 'add-announcement')
    .addEventListener('click', function () { openForm(kind, null); });
}

/* ---- start ------------------------------------------------------------------------------ */

function render() {
  fillSelects();
  if (mgr.session) { renderSync(); renderList('services'); renderList('announcements'); }
}

function start() {
  A.loadCommunities().then(fillEligible);
  setupForm('services');
  setupForm('announcements');
}

/* the console's own part of a session, first of the parts */
A.signedIn({
  start: function () {
    loadLists();
    loadSync();
    if (!mgr.timer) mgr.timer = setInterval(loadSync, SYNC_EVERY_MS);
  },
  stop: function () {
    if (mgr.timer) { clearInterval(mgr.timer); mgr.timer = null; }
  }
});

A.page({ start: start, render: render });
})(Alliance);
