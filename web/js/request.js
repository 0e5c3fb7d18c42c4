/* request.js: request.html?community=&id=: ask for one service, then say
 * what was sent and what happens next.
 *
 * The form asks only what the service needs: what is wanted (prefilled
 * from the service's title), the address only for a home visit, a
 * preferred day and part of it, one name field (Chinese names are not
 * "given family": it goes as Open311's extension field name), the phone,
 * and, for a relative, the relative's name and phone. Name and phone are
 * filled in for a signed-in resident from her account. Every field is
 * checked here and again at the node; a message stands next to the field
 * (aria-describedby, aria-invalid) and nothing is sent or stored. It posts
 * to Open311 at this node (POST /open311/v2/requests.json), with the
 * bearer token when signed in; the answer's service_request_id and token
 * are kept in this browser (myRequestsAdd) for "我的申请".
 *
 * Parts: limits; fields; checks; sending; the confirmation; start-up. */
'use strict';

(function (A) {

/* ---- limits (characters; the node's are bytes, 3 to a Chinese character) */

var LIMITS = { what: 1000, address: 120, name: 60, phone: 40 };
var PARTS = ['any', 'morning', 'afternoon', 'evening'];

var rq = { site: null, service: null, result: null, sent: null, profile: null, fields: {} };

/* ---- fields ---------------------------------------------------------------- */

/* field: a labelled control with its hint and its error line, remembered
 * under name in rq.fields. */
function field(name, labelKey, control, hintKey) {
  var id = 'rq-' + name;
  control.id = id;
  control.name = name;
  var hint = hintKey ? A.el('p', { className: 'hint', id: id + '-hint', text: A.t(hintKey) }) : null;
  var error = A.el('p', { className: 'field-error', id: id + '-error' });
  control.setAttribute('aria-describedby', (hint ? id + '-hint ' : '') + id + '-error');
  var box = A.el('div', { className: 'field' }, A.el('label', { for: id, text: A.t(labelKey) }), hint, control, error);
  rq.fields[name] = { control: control, error: error, box: box };
  return box;
}

function homeVisit(s) { return (s.delivery || []).indexOf('home-visit') >= 0; }

function isoDay(d) {
  var p = function (n) { return (n < 10 ? '0' : '') + n; };
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
}

function renderForm(s) {
  var box = A.clear(document.getElementById('request'));
  rq.fields = {};
  var today = new Date();
  var ahead = new Date(today.getTime() + 365 * 86400000);
  var what = A.el('textarea', { rows: '5', required: true });
  what.value = A.t('ask_what_prefill', { t: s.title });
  var date = A.el('input', { type: 'date', min: isoDay(today), max: isoDay(ahead) });
  var part = A.el('select');
  PARTS.forEach(function (p) { A.append(part, A.el('option', { value: p, text: A.t('ask_part_' + p) })); });
  var relative = A.el('input', { type: 'checkbox', id: 'rq-relative', name: 'for_relative' });
  var relBox = A.el('div', { className: 'stack', id: 'rq-relative-fields', hidden: true },
    field('relative_name', 'ask_relative_name', A.el('input', { type: 'text', autocomplete: 'off', required: true })),
    field('relative_phone', 'ask_relative_phone', A.el('input', { type: 'tel', inputmode: 'tel', autocomplete: 'off', required: true })));
  relative.addEventListener('change', function () { relBox.hidden = !relative.checked; });
  var status = A.el('p', { className: 'form-status', id: 'rq-status', role: 'alert' });
  var submit = A.el('button', { type: 'submit', className: 'primary big', text: A.t('ask_submit') });
  var form = A.el('form', { className: 'stack request-form', novalidate: true },
    A.el('p', { className: 'note', text: A.t('ask_required_note') }),
    field('description', 'ask_what', what, 'ask_what_hint'),
    homeVisit(s) ? field('address_string', 'ask_address',
      A.el('input', { type: 'text', autocomplete: 'street-address', required: true }), 'ask_address_hint') : null,
    A.el('div', { className: 'two' },
      field('preferred_day', 'ask_when', date, 'ask_when_hint'),
      field('preferred_part', 'ask_part', part)),
    field('name', 'ask_name', A.el('input', { type: 'text', autocomplete: 'name', required: true })),
    field('phone', 'ask_phone', A.el('input', { type: 'tel', inputmode: 'tel', autocomplete: 'tel', required: true }),
      'ask_phone_hint'),
    A.residentGet() ? A.el('p', { className: 'note', text: A.t('ask_signed_in') }) : null,
    A.el('label', { className: 'check' }, relative, A.el('span', { text: A.t('ask_for_relative') })),
    relBox,
    A.el('p', { className: 'privacy' }, A.icon('info'), A.el('span', { text: A.t('ask_privacy') })),
    status,
    A.el('div', { className: 'actions' }, submit));
  form.addEventListener('submit', function (ev) { ev.preventDefault(); send(s, submit, status); });
  A.append(box,
    A.el('h1', { className: 'section', text: A.t('ask_heading', { t: s.title }) }),
    A.el('p', { className: 'where' }, A.icon('pin'), A.t('offered_by') + A.colon(), A.communityLabel(s.community)),
    form,
    A.el('a', { className: 'back', href: A.serviceHref(s), text: A.t('ask_back_service') }));
  fillProfile();
}

/* fillProfile: a signed-in resident's name and phone into empty fields:
 * from her account (GET /api/v1/residents/me, where the node has it),
 * else from the account's last request. */
function fillProfile() {
  if (!A.residentGet()) return;
  var fill = function (p) {
    if (!p) return;
    ['name', 'phone'].forEach(function (k) {
      var f = rq.fields[k];
      if (f && !f.control.value && p[k]) f.control.value = p[k];
    });
  };
  if (rq.profile) { fill(rq.profile); return; }
  var text = function (v) { return typeof v === 'string' ? v : ''; };
  A.apiSend('GET', '/api/v1/residents/me').then(function (me) {
    var own = me.ok && me.data ? { name: text(me.data.name), phone: text(me.data.phone_number) } : {};
    return A.apiSend('GET', '/api/v1/residents/me/requests').then(function (r) {
      var last = r.ok && r.data && Array.isArray(r.data.items) && r.data.items[0];
      rq.profile = { name: own.name || (last ? text(last.name) : ''),
                     phone: own.phone || (last ? text(last.phone) : '') };
      fill(rq.profile);
    });
  });
}

/* ---- checks ------------------------------------------------------------------ */

function chars(s) { return Array.from(s).length; }

function phoneOk(v) {
  var digits = v.replace(/[^0-9]/g, '').length;
  return /^[0-9 +()-]*$/.test(v) && digits >= 5 && digits <= 20 && v.length <= LIMITS.phone;
}

/* mark: show msg (or clear) at field name. */
function mark(name, msg) {
  var f = rq.fields[name];
  if (!f) return;
  f.error.textContent = msg || '';
  if (msg) f.control.setAttribute('aria-invalid', 'true');
  else f.control.removeAttribute('aria-invalid');
}

/* check: the form's values, or null with every problem marked. */
function check() {
  var v = {}, bad = [];
  var val = function (k) { return rq.fields[k] ? rq.fields[k].control.value.trim() : ''; };
  var need = function (k, max) {
    var x = val(k);
    if (!x) bad.push([k, A.t('ask_err_required')]);
    else if (chars(x) > max) bad.push([k, A.t('ask_err_long', { n: max })]);
    return x;
  };
  Object.keys(rq.fields).forEach(function (k) { mark(k, ''); });
  v.description = need('description', LIMITS.what);
  if (rq.fields.address_string) v.address_string = need('address_string', LIMITS.address);
  var day = val('preferred_day');
  if (day) {
    var min = rq.fields.preferred_day.control.min, max = rq.fields.preferred_day.control.max;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || day < min || day > max) bad.push(['preferred_day', A.t('ask_err_date')]);
    var part = val('preferred_part');
    v.preferred = day + (part && part !== 'any' ? ' ' + part : '');
  }
  v.name = need('name', LIMITS.name);
  v.phone = need('phone', LIMITS.phone);
  if (v.phone && !phoneOk(v.phone)) bad.push(['phone', A.t('ask_err_phone')]);
  if (document.getElementById('rq-relative').checked) {
    v.relative_name = need('relative_name', LIMITS.name);
    v.relative_phone = need('relative_phone', LIMITS.phone);
    if (v.relative_phone && !phoneOk(v.relative_phone)) bad.push(['relative_phone', A.t('ask_err_phone')]);
  }
  bad.forEach(function (b) { if (!rq.fields[b[0]].error.textContent) mark(b[0], b[1]); });
  if (bad.length) { rq.fields[bad[0][0]].control.focus(); return null; }
  return v;
}

/* ---- sending ---------------------------------------------------------------------- */

/* The node's field names, as its errors start ("phone: ..."). */
var SERVER_FIELDS = { description: 'description', address_string: 'address_string', name: 'name',
  phone: 'phone', preferred: 'preferred_day', relative_name: 'relative_name',
  relative_phone: 'relative_phone' };

/* serverWords: the node's complaint about field in the page's words. */
function serverWords(name, msg) {
  if (/phone/.test(name)) return A.t('ask_err_phone');
  if (name === 'preferred') return A.t('ask_err_date');
  if (/required/.test(msg)) return A.t('ask_err_required');
  if (/longer than/.test(msg)) return A.t('ask_err_shorter');
  return A.t('ask_err_server', { m: msg });
}

function send(s, submit, status) {
  status.textContent = '';
  var v = check();
  if (!v) { status.textContent = A.t('ask_fix'); return; }
  v.service_code = s.community + '.' + s.id;
  submit.disabled = true;
  submit.textContent = A.t('ask_sending');
  A.postForm('/open311/v2/requests.json', v).then(function (r) {
    submit.disabled = false;
    submit.textContent = A.t('ask_submit');
    var got = r.ok && Array.isArray(r.data) && r.data[0];
    if (got && got.service_request_id) {
      A.myRequestsAdd({ id: got.service_request_id, token: got.request_secret });
      rq.sent = { id: got.service_request_id, service: s };
      renderDone();
      return;
    }
    var msg = A.open311Message(r);
    var m = /^([a-z_]+)(?:\/[a-z_]+)?(?: or [a-z_/]+)?: (.*)$/.exec(msg);
    if (m && SERVER_FIELDS[m[1]] && rq.fields[SERVER_FIELDS[m[1]]]) {
      mark(SERVER_FIELDS[m[1]], serverWords(m[1], m[2]));
      rq.fields[SERVER_FIELDS[m[1]]].control.focus();
      status.textContent = A.t('ask_fix');
    } else if (r.status === 429) {
      status.textContent = A.t('ask_err_limit');
    } else {
      status.textContent = r.status === 0 ? A.t('ask_err_network') : A.t('ask_err_server', { m: msg || r.status });
    }
  });
}

/* ---- the confirmation ------------------------------------------------------------- */

function renderDone() {
  var s = rq.sent.service;
  var box = A.clear(document.getElementById('request'));
  var next = A.el('p', { className: 'next' });
  var text = A.t('ask_done_next', { c: '\u0001' }).split('\u0001');
  A.append(next, text[0], A.communityLabel(s.community), text[1]);
  var h = A.el('h1', { className: 'section done-head', tabindex: '-1' }, A.icon('check'), A.el('span', { text: A.t('ask_done_heading') }));
  A.append(box, h,
    A.el('p', { className: 'summary', text: s.title }),
    A.el('div', { className: 'tracking' },
      A.el('p', { className: 'label', text: A.t('ask_done_number') }),
      A.el('p', { className: 'number', id: 'tracking-number', text: rq.sent.id })),
    next,
    A.el('p', { className: 'note', text: A.t('ask_done_keep') }),
    A.el('div', { className: 'actions' },
      A.el('a', { className: 'button', href: 'my-requests.html', text: A.t('ask_go_mine') }),
      A.el('a', { className: 'button secondary', href: A.serviceHref(s), text: A.t('ask_back_service') })));
  h.focus();
}

/* ---- start-up ------------------------------------------------------------------------ */

function renderRequest() {
  var box = document.getElementById('request');
  if (rq.sent) { renderDone(); return; }
  if (rq.site && rq.site.node === false) {
    A.clear(box);
    A.append(box, A.el('h1', { className: 'section', text: A.t('ask_request') }),
      A.el('p', { className: 'note error', text: A.t('ask_at_hub') }));
    return;
  }
  var r = rq.result;
  if (!r || !rq.site) { A.clear(box); A.append(box, A.message('loading', 'section')); return; }
  if (r.status === 404 || r.status === 400) { A.clear(box); A.append(box, A.message('no_service', 'error section')); return; }
  if (!r.ok || !r.data) { A.clear(box); A.append(box, A.message('load_failed', 'error section')); return; }
  if (r.data.status === 'inactive') {
    A.clear(box);
    A.append(box, A.el('h1', { className: 'section', text: A.t('ask_heading', { t: r.data.title }) }),
      A.el('p', { className: 'status-warn', text: A.t('ask_not_open') }),
      A.el('a', { className: 'back', href: A.serviceHref(r.data), text: A.t('ask_back_service') }));
    return;
  }
  /* a new language: the same form again, with what was typed */
  var kept = {};
  Object.keys(rq.fields).forEach(function (k) { kept[k] = rq.fields[k].control.value; });
  var rel = document.getElementById('rq-relative');
  var relChecked = rel && rel.checked;
  renderForm(r.data);
  Object.keys(kept).forEach(function (k) { if (rq.fields[k]) rq.fields[k].control.value = kept[k]; });
  if (relChecked) {
    document.getElementById('rq-relative').checked = true;
    document.getElementById('rq-relative-fields').hidden = false;
  }
}

function start() {
  A.siteKind().then(function (k) { rq.site = k; renderRequest(); });
  A.addressedService().then(function (r) { rq.result = r; renderRequest(); });
}

A.page({ start: start, render: renderRequest });
})(Alliance);
