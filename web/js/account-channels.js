/* account-channels.js: the signed-in resident's SMS alerts, on the page of
 * her alerts (notifications.html), before notifications.js.
 *
 * GET /api/v1/residents/me/channels says whether the community sends
 * texts and what she chose; the form PUTs {"sms": {"enabled", "phone"
 * (empty: her account's), "bulletins" (the lowest severity, or null),
 * "requests"}}. Shown only to a signed-in resident. */
'use strict';

(function (A) {

var SEVERITIES = ['', 'extreme', 'severe', 'moderate', 'minor'];
var ch = { sms: null };

function fillSeverities() {
  A.fillSelect(document.getElementById('ch-bulletins'), SEVERITIES, function (s) {
    return A.t(s ? 'ch_sev_' + s : 'ch_sev_none');
  }, 'severe');
}

function show(sms) {
  ch.sms = sms;
  document.getElementById('ch-unavailable').hidden = sms.available;
  document.getElementById('channels-form').hidden = !sms.available;
  document.getElementById('ch-sms').checked = sms.enabled;
  document.getElementById('ch-phone').placeholder = sms.phone || '';
  document.getElementById('ch-bulletins').value = sms.enabled ? sms.bulletins || '' : 'severe';
  document.getElementById('ch-requests').checked = sms.enabled ? sms.requests : true;
}

function load() {
  if (!A.residentGet()) return;
  A.apiSend('GET', '/api/v1/residents/me/channels').then(function (r) {
    if (!r.ok || !r.data || !r.data.sms) return;
    document.getElementById('channels-section').hidden = false;
    show(r.data.sms);
  });
}

function error(id, key, text) {
  var box = document.getElementById(id);
  box.setAttribute('data-key', key || '');
  box.textContent = text || (key ? A.t(key) : '');
  var input = document.getElementById('ch-phone');
  if (id === 'ch-phone-error') {
    if (key) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
  }
}

function save(ev) {
  ev.preventDefault();
  var phone = document.getElementById('ch-phone').value.replace(/[\s()+-]/g, '');
  var on = document.getElementById('ch-sms').checked;
  var status = document.getElementById('ch-status');
  status.textContent = '';
  error('ch-phone-error', null);
  error('ch-error', null);
  if (on && phone && !/^(86)?1[3-9]\d{9}$/.test(phone)) {
    error('ch-phone-error', 'ch_err_phone');
    document.getElementById('ch-phone').focus();
    return;
  }
  var sev = document.getElementById('ch-bulletins').value;
  var sms = { enabled: on, bulletins: sev || null,
              requests: document.getElementById('ch-requests').checked };
  if (on && phone) sms.phone = phone;
  A.apiSend('PUT', '/api/v1/residents/me/channels', { sms: sms }).then(function (r) {
    if (!r.ok || !r.data || !r.data.sms) {
      var e = r.data && r.data.error;
      var target = e && /^sms\.phone/.test(e.message) ? 'ch-phone-error' : 'ch-error';
      error(target, null, e ? e.message : A.t('load_failed'));
      return;
    }
    show(r.data.sms);
    status.textContent = r.data.sms.enabled ? A.t('ch_saved_on', { p: r.data.sms.phone }) : A.t('ch_saved_off');
  });
}

A.page({
  start: function () {
    fillSeverities();
    document.getElementById('channels-form').addEventListener('submit', save);
    load();
  },
  render: fillSeverities
});
})(Alliance);
