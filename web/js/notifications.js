/* notifications.js: the signed-in resident's notifications on this
 * device (notifications.html, linked from the account page): offered only
 * when the browser has service workers, Push and Notification and the
 * node has a VAPID key (GET /api/v1/push/key); otherwise the page says
 * so (and asks her to sign in first when she is not).
 *
 * Turning them on registers /sw.js (scope /), asks for permission,
 * subscribes with the node's key and POSTs the subscription with her
 * choices to /api/v1/residents/me/push; turning them off DELETEs it and
 * unsubscribes. The severity labels are the SMS form's. */
'use strict';

(function (A) {

var SEVERITIES = ['', 'extreme', 'severe', 'moderate', 'minor'];
var st = { key: null, mine: null };

function supported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

function fillSeverities() {
  var sel = document.getElementById('push-bulletins');
  var was = sel.value || 'severe';
  A.clear(sel);
  SEVERITIES.forEach(function (s) {
    A.append(sel, A.el('option', { value: s, text: A.t(s ? 'ch_sev_' + s : 'ch_sev_none') }));
  });
  sel.value = was;
}

function keyBytes(b64) {
  var s = atob(b64.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((b64.length + 3) % 4));
  var out = new Uint8Array(s.length);
  for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function say(id, key, text) {
  var box = document.getElementById(id);
  box.setAttribute('data-key', key || '');
  box.textContent = text || (key ? A.t(key) : '');
}

/* show: this device's subscription as she chose it (mine), or off. */
function show(mine) {
  st.mine = mine;
  document.getElementById('push-on').checked = !!mine;
  document.getElementById('push-bulletins').value = mine ? mine.bulletins || '' : 'severe';
  document.getElementById('push-requests').checked = mine ? mine.requests : true;
}

function registration() {
  return navigator.serviceWorker.register('/sw.js', { scope: '/' }).then(function () {
    return navigator.serviceWorker.ready;
  });
}

function load() {
  if (!A.residentGet()) {
    document.getElementById('push-signin').hidden = false;
    return;
  }
  var none = function () { document.getElementById('push-unsupported').hidden = false; };
  if (!supported()) return none();
  A.apiSend('GET', '/api/v1/push/key').then(function (r) {
    if (!r.ok || !r.data || !r.data.key) return none();
    st.key = r.data.key;
    document.getElementById('push-section').hidden = false;
    return Promise.all([
      A.apiSend('GET', '/api/v1/residents/me/push'),
      registration().then(function (reg) { return reg.pushManager.getSubscription(); })
    ]).then(function (both) {
      var items = both[0].ok && both[0].data ? both[0].data.items : [];
      var sub = both[1];
      show(sub ? items.filter(function (i) { return i.endpoint === sub.endpoint; })[0] || null : null);
    });
  }).catch(none);
}

function turnOn(choices) {
  return Notification.requestPermission().then(function (p) {
    if (p !== 'granted') throw { key: 'push_denied' };
    return registration();
  }).then(function (reg) {
    return reg.pushManager.getSubscription().then(function (sub) {
      return sub || reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(st.key) });
    });
  }).then(function (sub) {
    var j = sub.toJSON();
    return A.apiSend('POST', '/api/v1/residents/me/push', {
      endpoint: j.endpoint, keys: { p256dh: j.keys.p256dh, auth: j.keys.auth },
      bulletins: choices.bulletins, requests: choices.requests });
  }).then(function (r) {
    if (!r.ok || !r.data || !r.data.id) throw { text: r.data && r.data.error ? r.data.error.message : null };
    return r.data;
  });
}

function turnOff() {
  var id = st.mine && st.mine.id;
  return (id ? A.apiSend('DELETE', '/api/v1/residents/me/push/' + id) : Promise.resolve()).then(function () {
    return registration();
  }).then(function (reg) { return reg.pushManager.getSubscription(); })
    .then(function (sub) { return sub ? sub.unsubscribe() : null; })
    .then(function () { return null; });
}

function save(ev) {
  ev.preventDefault();
  var on = document.getElementById('push-on').checked;
  var choices = { bulletins: document.getElementById('push-bulletins').value || null,
                  requests: document.getElementById('push-requests').checked };
  say('push-error', null);
  say('push-status', null);
  if (on && !choices.bulletins && !choices.requests) {
    say('push-error', 'push_choose');
    return;
  }
  (on ? turnOn(choices) : turnOff()).then(function (mine) {
    show(mine);
    say('push-status', mine ? 'push_saved_on' : 'push_saved_off');
  }, function (e) {
    say('push-error', e && e.key ? e.key : e && e.text ? null : 'push_failed', e && e.text);
  });
}

A.page({
  start: function () {
    fillSeverities();
    document.getElementById('push-form').addEventListener('submit', save);
    load();
  },
  render: fillSeverities
});
})(Alliance);
