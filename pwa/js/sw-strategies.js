// Why: the service worker's decisions live here, apart from its event wiring in sw.js: which requests
// it answers, from which versioned cache, and what it does when Background Sync fires. API responses
// (personal data) never enter Cache Storage: /api requests are left to the network.
import { runSyncCycle } from './sync.js';

export const CACHE_PREFIX = 'groundwork-shell-';
export const SYNC_TAG = 'groundwork-outbox';

// The app shell: everything needed to start with no connection. The server's tests check this list
// against the files in pwa/, so a new module cannot be forgotten here.
export const SHELL = [
  '/',
  '/manifest.webmanifest',
  '/css/app.css',
  '/js/app.js',
  '/js/api.js',
  '/js/db.js',
  '/js/ids.js',
  '/js/outbox.js',
  '/js/sync.js',
  '/js/sw-strategies.js',
  '/js/push.js',
  '/js/sw-push.js',
  '/js/walkorder.js',
  '/js/recording.js',
  '/js/export.js',
  '/js/access.js',
  '/js/ui/common.js',
  '/js/ui/status.js',
  '/js/ui/login.js',
  '/js/ui/lists.js',
  '/js/ui/walk.js',
  '/js/ui/door.js',
  '/js/ui/call.js',
  '/js/ui/survey.js',
  '/js/ui/account.js',
  '/js/ui/no-canvassing.js',
  '/js/ui/thanks.js',
  '/js/ui/boards.js',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/icon-maskable-192.png',
  '/icons/icon-maskable-512.png',
];

// The console's modules: only admins open them, so they are cached on first use (with the same version),
// not downloaded to every volunteer's phone at install. They are never needed offline: the console
// works on the server's data.
export const ADMIN = [
  '/js/admin/common.js',
  '/js/admin/shell.js',
  '/js/admin/lists.js',
  '/js/admin/list-builder.js',
  '/js/admin/campaign.js',
  '/js/admin/volunteers.js',
  '/js/admin/do-not-contact.js',
  '/js/admin/review.js',
  '/js/admin/imports.js',
  '/js/admin/import-batch.js',
  '/js/admin/members.js',
  '/js/admin/member-access.js',
  '/js/admin/clp-access.js',
  '/js/admin/grants.js',
  '/js/admin/rights.js',
  '/js/admin/member-imports.js',
  '/js/admin/monitoring.js',
  '/js/admin/monitoring-common.js',
  '/js/admin/monitoring-charts.js',
  '/js/admin/monitoring-seat.js',
  '/js/admin/sync-health.js',
  '/js/admin/recognition.js',
  '/js/admin/scheduler.js',
  // The chart library (uPlot, MIT, vendored unmodified): only the dashboard imports it.
  '/vendor/uplot/uPlot.esm.js',
  '/vendor/uplot/uPlot.min.css',
];

export function cacheName(version) {
  return CACHE_PREFIX + version;
}

/** Fetch every shell file afresh (bypassing the HTTP cache) into this version's cache. */
export async function precache(version) {
  const cache = await caches.open(cacheName(version));
  await cache.addAll(SHELL.map((url) => new Request(url, { cache: 'no-cache' })));
}

/** Delete the caches of every other version of the shell. */
export async function dropOldCaches(version) {
  const keep = cacheName(version);
  const names = await caches.keys();
  await Promise.all(names.filter((n) => n.startsWith(CACHE_PREFIX) && n !== keep).map((n) => caches.delete(n)));
}

/**
 * How to answer a request: a Promise of a Response for the shell, or null to leave it alone
 * (non-GET, cross-origin, the API, anything that is not part of the shell).
 */
export function route(request, origin, version) {
  if (request.method !== 'GET') return null;
  const url = new URL(request.url);
  if (url.origin !== origin) return null;
  if (url.pathname === '/api' || url.pathname.startsWith('/api/')) return null; // network only
  if (request.mode === 'navigate') {
    return url.pathname === '/' || url.pathname === '/index.html' ? cacheFirst('/', version) : null;
  }
  if (!SHELL.includes(url.pathname) && !ADMIN.includes(url.pathname)) return null;
  return cacheFirst(url.pathname, version);
}

let openCache = null; // opened once per worker: a cold start asks for some twenty files at once

/** The versioned cache first; the network only if the shell was never cached (or was evicted). */
async function cacheFirst(key, version) {
  if (!openCache) openCache = caches.open(cacheName(version));
  const cache = await openCache;
  const hit = await cache.match(key);
  if (hit) return hit;
  const response = await fetch(key, { cache: 'no-cache' });
  if (response.ok) await cache.put(key, response.clone());
  return response;
}

/** Background Sync fired: deliver the outbox and refresh the lists, then tell any open page. */
export async function backgroundSync(clients) {
  let outcome = 'done';
  try {
    await runSyncCycle('background');
  } catch (error) {
    outcome = 'failed';
    // A failure that is worth retrying makes the browser try again later.
    if (error && error.retryable) throw error;
  } finally {
    const windows = await clients.matchAll({ type: 'window' });
    for (const client of windows) client.postMessage({ type: 'synced', outcome });
  }
}
