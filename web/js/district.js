/* district.js: the district console (district/index.html), served on the
 * hub's alliance port to operator certificates only; the certificate in
 * the browser is the credential, so there is no login and no change here.
 *
 * Every POLL_MS it reads GET /api/v1/communities (the hub's warnings:
 * certificates expiring, the CRL due, nodes silent, bulletins undelivered,
 * by the thresholds of deploy/prometheus/alliance-rules.yml; sync state of
 * each community, a store restored from an older backup, its usage
 * against its quota, its node's clock skew) and GET /api/v1/bulletins (targets,
 * delivered, pending), and
 * the per-community delivery (GET /api/v1/bulletins/{id}) of the newest
 * DETAIL_MAX bulletins, with a check-in's counts per community (who
 * answered stays at each node). Issuing stays with alliancectl, which holds the
 * signing key.
 *
 * Parts: loading; warnings; communities; bulletins; start. */
'use strict';

(function (A) {

var POLL_MS = 3000;
var DETAIL_MAX = 10;
var district = { communities: null, warnings: [], bulletins: null, details: {}, updated: null, failed: false };

/* ---- loading ------------------------------------------------------------------ */

function refresh() {
  Promise.all([A.api('/api/v1/communities'), A.api('/api/v1/bulletins')]).then(function (rs) {
    var c = rs[0], b = rs[1];
    district.failed = !(c.ok && c.data && Array.isArray(c.data.items));
    if (!district.failed) {
      district.communities = c.data.items;
      district.warnings = Array.isArray(c.data.warnings) ? c.data.warnings : [];
    }
    if (b.ok && b.data && Array.isArray(b.data.items)) district.bulletins = b.data.items;
    var ids = (district.bulletins || []).slice(0, DETAIL_MAX).map(function (x) { return x.id; });
    return Promise.all(ids.map(function (id) {
      return A.api('/api/v1/bulletins/' + encodeURIComponent(id)).then(function (r) {
        if (r.ok && r.data) district.details[id] = r.data;
      });
    }));
  }).then(function () {
    if (!district.failed) district.updated = new Date().toISOString();
    render();
  });
}

/* ---- warnings ------------------------------------------------------------------ */

/* warningText: one of the hub's warnings ({code, community, cert, at};
 * store_disk_low also free_bytes, total_bytes) as a sentence. */
function warningText(w) {
  var t = A.formatTime(w.at), c = w.community ? nameOf(w.community) : '';
  if (w.code === 'cert_expiring') return A.t('warn_cert_' + w.cert, { t: t, c: c });
  if (w.code === 'store_disk_low')
    return A.t('warn_store_disk_low', { f: A.sizeText(w.free_bytes), s: A.sizeText(w.total_bytes) });
  return A.t('warn_' + w.code, { t: t, c: c });
}

function renderWarnings() {
  var box = document.getElementById('warnings-box');
  var list = A.clear(document.getElementById('warnings'));
  box.hidden = !district.warnings.length;
  district.warnings.forEach(function (w) {
    A.append(list, A.el('li', { className: 'warning', 'data-code': w.code,
      'data-community': w.community || '', 'data-cert': w.cert || '', text: warningText(w) }));
  });
}

/* ---- communities ------------------------------------------------------------------ */

function nameOf(id) {
  var list = district.communities || [];
  for (var i = 0; i < list.length; i++) if (list[i].id === id) return list[i].name || id;
  return id;
}

function renderCommunities() {
  var body = A.clear(document.querySelector('#communities tbody'));
  var list = district.communities || [];
  var connected = list.filter(function (c) { return c.connected; }).length;
  document.getElementById('summary').textContent = district.communities
    ? A.t('summary_connected', { c: connected, n: list.length }) : A.t('loading');
  list.forEach(function (c) {
    var counts = c.counts || {};
    A.append(body, A.el('tr', { 'data-community': c.id },
      A.el('th', { scope: 'row' }, A.el('span', { className: 'cname', text: c.name || c.id }),
        c.name && c.name !== c.id ? A.el('span', { className: 'cid', text: c.id }) : null),
      A.el('td', null, A.el('span', { className: 'state-pill ' + (c.connected ? 'ok' : 'bad'),
        'data-state': c.connected ? 'connected' : 'disconnected',
        text: c.connected ? A.t('sync_yes') : A.t('sync_no') }), closeNote(c), restoredNote(c)),
      A.el('td', { className: 'seen' }, A.el('span', { text: c.last_seen ? A.formatTime(c.last_seen) : A.t('never') }),
        skewFlag(c.clock)),
      A.el('td', { className: 'num', text: (c.up_lag || 0) + ' / ' + (c.down_lag || 0) }),
      A.el('td', { className: 'num', text: (counts.services || 0) + ' / ' + (counts.announcements || 0) }),
      quotaCell(c.quota),
      A.el('td', { className: 'num relay-refused', text: refusedText(c.relay_refused) })));
  });
}

/* closeNote: while the community's node is away, how its last session
 * ended (last_close): who closed it, with what code and reason (a node
 * whose disk is full says so), or that the connection dropped. */
function closeNote(c) {
  var l = c.last_close;
  if (c.connected || !l) return null;
  var t = A.formatTime(l.at);
  return A.el('span', { className: 'last-close', 'data-by': l.by, 'data-code': l.code,
    text: l.code ? A.t(l.by === 'node' ? 'closed_by_node' : 'closed_by_hub', { t: t, c: l.code, r: l.reason })
      : A.t('closed_dropped', { t: t }) });
}

/* restoredNote: when the community's node came back with a store gone
 * back in time (restored from an older backup) since the hub started: how
 * often and when last; its edits since were renumbered and sent. */
function restoredNote(c) {
  if (!c.store_restores) return null;
  return A.el('span', { className: 'store-restored', 'data-restores': c.store_restores,
    text: A.t('store_restored', { n: c.store_restores, t: A.formatTime(c.store_restored_at) }) });
}

/* skewFlag: a warning under Last seen when the community's node clock
 * was off the hub's by more than 60 s at its last Hello (clock.skewed;
 * the node judges time by the hub's, but its system clock wants fixing). */
function skewFlag(clock) {
  if (!clock || !clock.skewed) return null;
  var s = Math.round(Math.abs(clock.skew_ms) / 1000);
  return A.el('span', { className: 'skew', 'data-skew-ms': clock.skew_ms,
    text: A.t(clock.skew_ms > 0 ? 'clock_ahead' : 'clock_behind', { d: A.durationText(s) }) });
}

/* quotaCell: a community's usage against its quota ([quota] at the hub)
 * and how often its node was closed for passing it or the batch limits;
 * marked when full or ever closed. */
function quotaCell(q) {
  if (!q) return A.el('td', { text: '—' });
  var closes = (q.closed_quota || 0) + (q.closed_batch || 0);
  var full = q.records.used >= q.records.limit || q.bytes.used >= q.bytes.limit;
  return A.el('td', { className: 'quota' + (full || closes ? ' over' : ''), 'data-closes': closes },
    A.el('span', { className: 'q-records num', text: A.t('quota_records', { u: q.records.used, l: q.records.limit }) }),
    A.el('span', { className: 'q-bytes num', text: A.t('quota_bytes', { u: A.sizeText(q.bytes.used), l: A.sizeText(q.bytes.limit) }) }),
    closes ? A.el('span', { className: 'q-closes', text: A.t('quota_closes', { n: closes }) }) : null);
}

/* refusedText: a community's relayed requests and statuses the hub
 * refused (relay_refused, by reason): how many for its quota and for any
 * other reason, or "0". */
function refusedText(by) {
  var quota = 0, other = 0;
  Object.keys(by || {}).forEach(function (k) {
    if (k === 'quota') quota += by[k]; else other += by[k];
  });
  return quota || other ? A.t('relay_refused_why', { quota: quota, other: other }) : '0';
}

/* ---- bulletins ---------------------------------------------------------------------- */

function deliveryList(d) {
  return A.el('ul', { className: 'delivery' }, (d.delivery || []).map(function (row) {
    var done = !!row.delivered;
    return A.el('li', { className: done ? 'done' : (row.refused ? 'refused' : 'waiting'), 'data-community': row.community },
      A.el('span', { className: 'mark', 'aria-hidden': 'true', text: done ? '✓' : row.refused ? '✕' : '…' }),
      A.el('span', { className: 'cname', text: nameOf(row.community) }),
      A.el('span', { className: 'when', text: done
        ? A.t('delivered_at', { t: A.formatTime(row.delivered) }) + (row.delivery_ms !== null && row.delivery_ms !== undefined ? ' (' + row.delivery_ms + ' ms)' : '')
        : row.refused ? A.t('refused', { r: row.refused }) : A.t('not_delivered') }));
  }));
}

/* checkinTable: a check-in's counts, in all and per community (counts
 * only: who answered stays at each node). */
function checkinTable(ci) {
  var cell = function (v, cls) { return A.el('td', { className: 'num ' + (cls || ''), text: String(v) }); };
  return A.el('div', { className: 'checkin-progress' },
    A.el('p', { className: 'count checkin-total', 'data-confirmed': ci.confirmed, 'data-not-yet': ci.not_yet,
      'data-needs-help': ci.needs_help, text: A.t('ci_total', { s: ci.confirmed, y: ci.not_yet, h: ci.needs_help,
        as: ci.anonymous_safe, ah: ci.anonymous_help }) }),
    A.el('div', { className: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': A.t('ci_heading') },
      A.el('table', { className: 'checkin-table' },
        A.el('caption', { text: A.t('ci_heading') }),
        A.el('thead', null, A.el('tr', null, ['col_community', 'ci_confirmed', 'ci_not_yet', 'ci_needs_help', 'ci_anonymous']
          .map(function (k) { return A.el('th', { scope: 'col', text: A.t(k) }); }))),
        A.el('tbody', null, (ci.communities || []).map(function (c) {
          return A.el('tr', { 'data-community': c.community },
            A.el('th', { scope: 'row', text: nameOf(c.community) }),
            cell(c.confirmed, 'ci-confirmed'), cell(c.not_yet, 'ci-not-yet'), cell(c.needs_help, 'ci-needs-help'),
            cell(c.anonymous_safe + ' / ' + c.anonymous_help, 'ci-anonymous'));
        })))));
}

function bulletinCard(b) {
  var d = district.details[b.id] || b;
  var targets = d.targets !== undefined ? d.targets : 0;
  var delivered = d.delivered !== undefined ? d.delivered : 0;
  var status = b.status && b.status !== 'current' ? A.t('status_' + b.status, null, b.status) : A.t('status_current');
  return A.el('li', { className: 'card bulletin-row', 'data-bulletin': b.id },
    A.el('p', { className: 'banner-head' }, A.severityBadge(b), A.el('strong', { text: A.bulletinText(b, 'headline') || b.id })),
    A.el('p', { className: 'meta' }, [status, b.sent ? A.t('bulletin_sent', { t: A.formatTime(b.sent) }) : null,
      d.posted_by ? A.t('posted_by', { p: d.posted_by }) : null].filter(Boolean).join(' · ')),
    A.el('p', { className: 'count delivered-count', text: A.t('delivered_count', { d: delivered, n: targets }) }),
    A.el('progress', { max: String(targets || 1), value: String(delivered), 'aria-label': A.t('delivered_count', { d: delivered, n: targets }) }),
    d.delivery ? deliveryList(d) : null,
    d.check_in_counts ? checkinTable(d.check_in_counts) : null);
}

function renderBulletins() {
  var box = A.clear(document.getElementById('bulletins'));
  if (!district.bulletins) { A.append(box, A.message(district.failed ? 'load_failed' : 'loading', district.failed ? 'error' : '')); return; }
  if (!district.bulletins.length) { A.append(box, A.message('none_district_bulletins')); return; }
  A.append(box, A.el('ul', { className: 'cards' }, district.bulletins.map(bulletinCard)));
}

/* ---- start ---------------------------------------------------------------------------- */

function render() {
  renderWarnings();
  renderCommunities();
  renderBulletins();
  document.getElementById('status').textContent = district.failed ? A.t('refresh_failed') : '';
  document.getElementById('updated').textContent = district.updated ? A.t('updated_at', { t: A.formatTime(district.updated) }) : '';
}

A.page({
  start: function () {
    refresh();
    setInterval(refresh, POLL_MS);
  },
  render: render
});
})(Alliance);
