// Why: the service worker only wires the browser's events to sw-strategies.js (and web push's to
// sw-push.js). Its version (filled in by the server from a hash of the shell) names the cache, so any
// change to the app is a new worker, which waits until the page has checked that no sync is in flight
// and the user agreed to reload.
import { openNotice, resubscribe, showNotice } from './js/sw-push.js';
import { backgroundSync, dropOldCaches, precache, route, SYNC_TAG } from './js/sw-strategies.js';

const VERSION = '__SHELL_VERSION__';

self.addEventListener('install', (event) => {
  event.waitUntil(precache(VERSION));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(dropOldCaches(VERSION).then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const answer = route(event.request, self.location.origin, VERSION);
  if (answer) event.respondWith(answer);
});

self.addEventListener('message', (event) => {
  const type = event.data && event.data.type;
  if (type === 'SKIP_WAITING') self.skipWaiting();
  if (type === 'VERSION' && event.ports[0]) event.ports[0].postMessage({ version: VERSION });
});

self.addEventListener('sync', (event) => {
  if (event.tag === SYNC_TAG) event.waitUntil(backgroundSync(self.clients));
});

self.addEventListener('push', (event) => {
  event.waitUntil(showNotice(self.registration, event));
});

self.addEventListener('notificationclick', (event) => {
  event.waitUntil(openNotice(self.clients, self.location.origin, event.notification));
});

self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(resubscribe(self.registration, event));
});
