/* sw.js: the pages' service worker (scope /): shows a Web Push message of
 * this community's node ({"title", "body", "url", "id", "check_in"?},
 * README "Web Push") as a notification even when no page is open, and
 * opens its url (on this site only) when the notification is tapped.
 *
 * A bulletin asking for a safety check-in ("check_in": true) stays until
 * answered (requireInteraction) and carries the two answers as actions,
 * "我安全" and "我需要帮助" / "I'm safe" and "I need help" (ANSWERS).
 * An action opens the bulletins
 * page with the answer chosen (bulletins.html?b=ID&answer=safe#b-ID); the
 * page, which holds her sign-in, sends it after one confirming tap. The
 * worker itself answers nothing. Tapping the body opens the bulletin.
 * A notification's data keeps the pages it opens: url (the body) and,
 * for a check-in, answers.safe and answers.help. */
'use strict';

/* The answers' labels: in the pages' language when a page told it
 * (common.js posts {lang} to its worker; kept in Cache Storage, as the
 * worker has no localStorage), else in both. */
var ANSWERS = {
  'zh-CN': [{ action: 'safe', title: '我安全' }, { action: 'help', title: '我需要帮助' }],
  en: [{ action: 'safe', title: 'I\u2019m safe' }, { action: 'help', title: 'I need help' }],
  both: [{ action: 'safe', title: '我安全 / I\u2019m safe' }, { action: 'help', title: '我需要帮助 / I need help' }]
};
var PREFS = 'alliance-sw', LANG_URL = '/sw-lang';

self.addEventListener('message', function (event) {
  var lang = event.data && event.data.lang;
  if (lang !== 'zh-CN' && lang !== 'en') return;
  event.waitUntil(caches.open(PREFS).then(function (c) {
    return c.put(LANG_URL, new Response(lang));
  }));
});

/* pageLang: the pages' language, or 'both' when none told it. */
function pageLang() {
  return caches.open(PREFS).then(function (c) { return c.match(LANG_URL); })
    .then(function (r) { return r ? r.text() : 'both'; })
    .then(function (l) { return ANSWERS[l] ? l : 'both'; }, function () { return 'both'; });
}

/* bulletinUrl: the bulletins page at bulletin id, with answer when one
 * was chosen. */
function bulletinUrl(id, answer) {
  return '/bulletins.html?b=' + encodeURIComponent(id) +
    (answer ? '&answer=' + answer : '') + '#b-' + encodeURIComponent(id);
}

self.addEventListener('push', function (event) {
  var m = {};
  try { m = event.data ? event.data.json() : {}; } catch (e) { m = {}; }
  if (!m || typeof m !== 'object') m = {};
  var title = typeof m.title === 'string' && m.title ? m.title : '通知 / Notice';
  var id = typeof m.id === 'string' && m.id ? m.id : null;
  var checkIn = m.check_in === true && id !== null;
  var options = {
    body: typeof m.body === 'string' ? m.body : '',
    tag: id || undefined,
    data: { url: checkIn ? bulletinUrl(id) : typeof m.url === 'string' ? m.url : '/',
      answers: checkIn ? { safe: bulletinUrl(id, 'safe'), help: bulletinUrl(id, 'help') } : null },
    icon: '/img/favicon.svg',
    lang: 'zh-CN'
  };
  if (!checkIn) {
    event.waitUntil(self.registration.showNotification(title, options));
    return;
  }
  options.requireInteraction = true;
  event.waitUntil(pageLang().then(function (lang) {
    options.actions = ANSWERS[lang];
    return self.registration.showNotification(title, options);
  }));
});

self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  var d = event.notification.data || {};
  var path = d.url || '/';
  if (d.answers && (event.action === 'safe' || event.action === 'help'))
    path = d.answers[event.action];
  var url;
  try { url = new URL(path, self.location.origin); } catch (e) { url = null; }
  if (!url || url.origin !== self.location.origin) url = new URL('/', self.location.origin);
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].url === url.href && 'focus' in list[i]) return list[i].focus();
    }
    return self.clients.openWindow(url.href);
  }));
});
