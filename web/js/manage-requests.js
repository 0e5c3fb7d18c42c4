/* manage-requests.js: the request queue of the manager console
 * (manage/index.html), loaded after manage.js and using its send().
 *
 * GET /api/v1/requests gives this community's queue a page at a time
 * (QUEUE_PAGE, ?after= its next), open requests first in turns per
 * origin community (ours first, then each community's longest waiting:
 * a flood from one community cannot push the others off the first page),
 * each with the resident's contact (only the owning community's managers
 * get it, and only here), and the open count, the total and the open
 * count per origin, which the page shows above the list. It is polled every
 * QUEUE_EVERY_MS while the console shows, so new requests arrive without a
 * reload; rows are kept by id and updated in place, so a status being
 * edited is never wiped by a refresh. A change goes out as PATCH
 * /api/v1/requests/{id} {status, status_notes, scheduled} with the CSRF
 * token (send() adds it), and travels back to the resident's node, where
 * the resident sees it in "我的申请" (no SMS or push yet: the console says
 * so). A request the resident withdrew shows as such, without the form;
 * one whose resident deleted her account (erased) says so where the
 * contact was.
 *
 * Parts: state; formats; rows; the list; pages; start and stop. */
'use strict';

(function (A) {

var queue = {
  items: null,            /* the last answer's items, or null */
  failed: false,
  rows: {},               /* id -> {li, parts} */
  known: null,            /* ids seen at the last refresh (null: first) */
  timer: null,
  counts: null,           /* {total, open, origins} of the last answer */
  after: '',              /* the page shown: its ?after= ('' the first) */
  first: 0,               /* how many requests come before it */
  back: [],               /* {after, first} of the pages before it */
  next: null              /* the answer's next, or null on the last page */
};
var QUEUE_EVERY_MS = 3000;
var QUEUE_PAGE = 20;
var QUEUE_ORIGINS_SHOWN = 5;
var QUEUE_STATUSES = ['acknowledged', 'scheduled', 'done', 'declined'];

/* ---- formats ------------------------------------------------------------------- */

/* waited: seconds as "3 分钟", "2 小时 5 分钟", "1 天 3 小时". */
function waited(s) {
  var m = Math.floor((s || 0) / 60);
  if (m < 1) return A.t('wait_now');
  if (m < 60) return A.t('wait_min', { m: m });
  var h = Math.floor(m / 60);
  if (h < 24) return A.t('wait_h', { h: h, m: m % 60 });
  return A.t('wait_d', { d: Math.floor(h / 24), h: h % 24 });
}

function statusLabel(s) { return A.t('rq_status_' + s, null, s); }

/* localInput: an RFC 3339 time as a datetime-local value (local time). */
function localInput(iso) {
  var d = new Date(iso);
  if (isNaN(d.getTime())) return '';
  var p = function (n) { return (n < 10 ? '0' : '') + n; };
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) +
    'T' + p(d.getHours()) + ':' + p(d.getMinutes());
}

/* ---- rows ------------------------------------------------------------------------ */

function contact(x) {
  if (x.erased) return A.t('rq_erased');   /* she deleted her account */
  var bits = [x.name, x.phone, x.address, x.email].filter(function (v) { return v; });
  return bits.length ? bits.join(' · ') : A.t('rq_no_contact');
}

/* preferred: "2030-01-02 morning" in words. */
function preferred(p) {
  var m = /^(\d{4}-\d{2}-\d{2})(?: (morning|afternoon|evening))?$/.exec(p || '');
  return m ? m[1] + (m[2] ? ' ' + A.t('ask_part_' + m[2]) : '') : '';
}

/* makeRow: the row of request x: what it is, and a form to answer it. */
function makeRow(x) {
  var id = x.service_request_id;
  var uid = 'rq-' + id.replace(/[^A-Za-z0-9_-]/g, '_');
  var parts = {
    title: A.el('h3', { className: 'card-title' }),
    desc: A.el('p', { className: 'rq-desc' }),
    info: A.el('dl', { className: 'kv' }),
    status: A.el('select', { id: uid + '-status', name: 'status' }),
    when: A.el('input', { id: uid + '-when', name: 'scheduled', type: 'datetime-local' }),
    notes: A.el('textarea', { id: uid + '-notes', name: 'status_notes', rows: '2', maxlength: '1000' }),
    error: A.el('p', { className: 'note error form-error', role: 'alert' }),
    save: A.el('button', { type: 'submit', className: 'primary' })
  };
  parts.whenField = A.el('div', { className: 'field' },
    parts.whenLabel = A.el('label', { for: uid + '-when' }), parts.when);
  var form = A.el('form', { className: 'stack rq-form', novalidate: true },
    A.el('div', { className: 'field' }, parts.statusLabel = A.el('label', { for: uid + '-status' }), parts.status),
    parts.whenField,
    A.el('div', { className: 'field' }, parts.notesLabel = A.el('label', { for: uid + '-notes' }), parts.notes),
    parts.error,
    A.el('div', { className: 'actions' }, parts.save));
  parts.status.addEventListener('change', function () {
    parts.whenField.hidden = parts.status.value !== 'scheduled';
  });
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    answer(id, parts);
  });
  parts.form = form;
  parts.gone = A.el('p', { className: 'note rq-withdrawn' });
  var li = A.el('li', { className: 'card rq', 'data-id': id },
    A.el('div', { className: 'row-main' }, parts.title, parts.desc, parts.info), form, parts.gone);
  var row = { li: li, parts: parts, dirty: false, item: null };
  [parts.status, parts.when, parts.notes].forEach(function (f) {
    f.addEventListener('input', function () { row.dirty = true; });
  });
  return row;
}

/* fillRow: row's texts from x; the form's fields only while the manager
 * is not editing them. */
function fillRow(row, x) {
  var p = row.parts;
  row.item = x;
  row.li.setAttribute('data-status', x.alliance_status);
  row.li.setAttribute('data-erased', x.erased ? 'true' : 'false');
  p.title.textContent = x.service_name || x.service_code;
  p.desc.textContent = x.description || '';
  var withdrawn = x.alliance_status === 'withdrawn';
  p.form.hidden = withdrawn;
  p.gone.textContent = withdrawn ? A.t('rq_withdrawn_note') : '';
  A.clear(p.info);
  A.append(p.info,
    A.el('dt', { text: A.t('rq_status') }),
    A.el('dd', { className: 'rq-status', text: statusLabel(x.alliance_status) +
      (x.expected_datetime ? ' · ' + A.formatTime(x.expected_datetime) : '') }),
    A.el('dt', { text: A.t('rq_waiting') }),
    A.el('dd', { className: 'rq-waiting', text: waited(x.waiting_s) }),
    A.el('dt', { text: A.t('rq_from') }),
    A.el('dd', null, A.communityLabel(x.community), ' · ' +
      A.formatTime(x.delivered_datetime || x.requested_datetime)),
    A.el('dt', { text: A.t('rq_contact') }),
    A.el('dd', { className: 'rq-contact', text: contact(x) }),
    x.relative_name ? A.el('dt', { text: A.t('rq_relative') }) : null,
    x.relative_name ? A.el('dd', { className: 'rq-relative', text: x.relative_name + ' · ' + (x.relative_phone || '') }) : null,
    x.preferred ? A.el('dt', { text: A.t('rq_preferred') }) : null,
    x.preferred ? A.el('dd', { className: 'rq-preferred', text: preferred(x.preferred) }) : null,
    x.status_notes ? A.el('dt', { text: A.t('rq_notes_sent') }) : null,
    x.status_notes ? A.el('dd', { text: x.status_notes }) : null);
  p.statusLabel.textContent = A.t('rq_new_status');
  p.whenLabel.textContent = A.t('rq_when');
  p.notesLabel.textContent = A.t('rq_notes');
  p.save.textContent = A.t('rq_save');
  p.save.setAttribute('aria-label', A.t('rq_save_named', { s: p.title.textContent }));
  if (p.optionsLang !== A.currentLang()) {
    /* rebuilt only for a new language: an open menu stays open */
    var value = p.status.value;
    A.clear(p.status);
    QUEUE_STATUSES.forEach(function (s) { A.append(p.status, A.el('option', { value: s, text: statusLabel(s) })); });
    p.status.value = value || 'acknowledged';
    p.optionsLang = A.currentLang();
  }
  if (!row.dirty) {
    p.status.value = QUEUE_STATUSES.indexOf(x.alliance_status) >= 0 ? x.alliance_status : 'acknowledged';
    p.when.value = x.expected_datetime ? localInput(x.expected_datetime) : '';
    p.notes.value = x.status_notes || '';
  }
  p.whenField.hidden = p.status.value !== 'scheduled';
}

/* answer: PATCH the row's status; the list is refreshed after. */
function answer(id, p) {
  var body = { status: p.status.value, status_notes: p.notes.value.trim() };
  p.error.textContent = '';
  if (body.status === 'scheduled') {
    var d = new Date(p.when.value);
    if (!p.when.value || isNaN(d.getTime())) {
      p.error.textContent = A.t('rq_when_needed');
      p.when.focus();
      return;
    }
    body.scheduled = d.toISOString().replace(/\.\d+Z$/, 'Z');
  }
  p.save.disabled = true;
  A.send('PATCH', '/api/v1/requests/' + encodeURIComponent(id), body).then(function (r) {
    p.save.disabled = false;
    if (!r.ok) { if (r.status !== 401) p.error.textContent = A.t('save_failed', { m: A.errorText(r) }); return; }
    var row = queue.rows[id];
    if (row) row.dirty = false;
    A.say('rq_saved');
    loadQueue();
  });
}

/* ---- the list ------------------------------------------------------------------------ */

function loadQueue() {
  if (!A.mgr.session) return;
  var after = queue.after;
  A.send('GET', '/api/v1/requests?limit=' + QUEUE_PAGE +
    (after ? '&after=' + encodeURIComponent(after) : '')).then(function (r) {
    if (r.status === 401 || !A.mgr.session || after !== queue.after) return;
    var items = r.ok && r.data && Array.isArray(r.data.items) ? r.data.items : null;
    queue.failed = !items;
    if (items) {
      queue.items = items;
      queue.next = typeof r.data.next === 'string' ? r.data.next : null;
      queue.counts = { total: r.data.total || 0, open: r.data.open || 0,
        origins: Array.isArray(r.data.origins) ? r.data.origins : [] };
    }
    renderQueue();
  });
}

/* renderCounts: the open count, where the open requests come from (the
 * most first), and the page's place in the queue. */
function renderCounts() {
  var c = queue.counts;
  document.getElementById('requests-count').textContent = A.t('rq_count', { n: c.open });
  var from = c.origins.filter(function (o) { return o.open > 0; }).slice(0, QUEUE_ORIGINS_SHOWN)
    .map(function (o) { return A.t('rq_origin_n', { c: A.communityName(o.community), n: o.open }); });
  document.getElementById('requests-origins').textContent =
    from.length ? A.t('rq_origins', { list: from.join(' · ') }) : '';
  document.getElementById('requests-pages').hidden = !queue.next && !queue.after;
  document.getElementById('requests-prev').disabled = !queue.after;
  document.getElementById('requests-next').disabled = !queue.next;
  document.getElementById('requests-range').textContent = queue.items.length
    ? A.t('rq_range', { a: queue.first + 1, b: queue.first + queue.items.length, n: c.total }) : '';
}

function renderQueue() {
  var box = document.getElementById('requests');
  var items = queue.items;
  if (!items) {
    A.clear(box);
    A.append(box, A.message(queue.failed ? 'load_failed' : 'loading', queue.failed ? 'error' : null));
    return;
  }
  renderCounts();
  var list = box.querySelector('ul.cards');
  if (!items.length) {
    queue.rows = {};
    A.clear(box);
    A.append(box, A.message('rq_none'));
    queue.known = {};
    return;
  }
  if (!list) { A.clear(box); list = A.el('ul', { className: 'cards' }); A.append(box, list); }
  var seen = {}, fresh = 0;
  items.forEach(function (x, i) {
    var id = x.service_request_id;
    var row = queue.rows[id] || (queue.rows[id] = makeRow(x));
    seen[id] = true;
    if (queue.known && !queue.known[id]) fresh++;
    fillRow(row, x);
    /* in queue order; a row already in place is not moved (keeps focus) */
    if (list.children[i] !== row.li) list.insertBefore(row.li, list.children[i] || null);
  });
  Object.keys(queue.rows).forEach(function (id) {
    if (!seen[id]) { list.removeChild(queue.rows[id].li); delete queue.rows[id]; }
  });
  if (fresh) document.getElementById('requests-news').textContent = A.t('rq_new_arrived', { n: fresh });
  queue.known = seen;
}

/* ---- pages ------------------------------------------------------------------------------ */

/* turnPage: show the page at after, first requests in (back: the way we
 * came), from the top of the list. */
function turnPage(after, first, back) {
  queue.after = after;
  queue.first = first;
  queue.back = back;
  queue.known = null;     /* a page's rows are not new arrivals */
  loadQueue();
  document.getElementById('h-requests').scrollIntoView();
}

function pagesOnce() {
  var prev = document.getElementById('requests-prev');
  if (prev.getAttribute('data-bound')) return;
  prev.setAttribute('data-bound', '1');
  prev.addEventListener('click', function () {
    var back = queue.back.slice(), to = back.pop() || { after: '', first: 0 };
    turnPage(to.after, to.first, back);
  });
  document.getElementById('requests-next').addEventListener('click', function () {
    if (queue.next && queue.items) {
      turnPage(queue.next, queue.first + queue.items.length,
        queue.back.concat([{ after: queue.after, first: queue.first }]));
    }
  });
}

/* ---- start and stop ---------------------------------------------------------------------- */

A.signedIn({
  start: function () {
    pagesOnce();
    loadQueue();
    if (!queue.timer) queue.timer = setInterval(loadQueue, QUEUE_EVERY_MS);
  },
  stop: function () {
    if (queue.timer) { clearInterval(queue.timer); queue.timer = null; }
    queue.items = null;
    queue.rows = {};
    queue.known = null;
    queue.after = '';
    queue.first = 0;
    queue.back = [];
    queue.next = null;
    document.getElementById('requests-pages').hidden = true;
    document.getElementById('requests-origins').textContent = '';
    A.clear(document.getElementById('requests'));
  }
});

A.page({
  render: function () { if (A.mgr.session) renderQueue(); }
});
})(Alliance);
