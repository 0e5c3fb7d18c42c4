/* sw.js: the pages' service worker (scope /): shows a Web Push message of
 * this community's node ({"title", "body", "url", "id"}, README "Web
 * Push") as a notification even when no page is open, and opens its url
 * (on this site only) when the notification is tapped. */
'use strict';

self.addEventListener('push', function (event) {
  var m = {};
  try { m = event.data ? event.data.json() : {}; } catch (e) { m = {}; }
  var title = typeof m.title === 'string' && m.title ? m.title : '通知 / Notice';
  event.waitUntil(self.registration.showNotification(title, {
    body: typeof m.body === 'string' ? m.body : '',
    tag: typeof m.id === 'string' ? m.id : undefined,
    data: { url: typeof m.url === 'string' ? m.url : '/' },
    icon: '/img/favicon.svg',
    lang: 'zh-CN'
  }));
});

self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  var url;
  try { url = new URL(event.notification.data && event.notification.data.url || '/', self.location.origin); } catch (e) { url = null; }
  if (!url || url.origin !== self.location.origin) url = new URL('/', self.location.origin);
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].url === url.href && 'focus' in list[i]) return list[i].focus();
    }
    return self.clients.openWindow(url.href);
  }));
});
