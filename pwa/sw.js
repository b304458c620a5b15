// Why: the service worker only wires the browser's events to sw-strategies.js. Its version (filled in
// by the server from a hash of the shell) names the cache, so any change to the app is a new worker,
// which waits until the page has checked that no sync is in flight and the user agreed to reload.
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
