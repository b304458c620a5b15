// Why: starts the app: registers the service worker (and handles a new version safely), opens the
// local store, routes between screens, keeps the sync bar current and starts sync on load, on
// `online`, when the app becomes visible, on a timer, after each record, and via Background Sync.
import * as access from './access.js';
import * as db from './db.js';
import { canSync, SyncScheduler, whenIdle } from './sync.js';
import { SYNC_TAG } from './sw-strategies.js';
import { mountStatusBar, renderSync } from './ui/status.js';
import { esc, hideToast, toast } from './ui/common.js';

const main = document.getElementById('main');
const scheduler = new SyncScheduler();
let cleanup = null;
let refreshStatus = () => {};
let started = false;

const ROUTES = [
  [/^#\/login$/, () => import('./ui/login.js').then((m) => m.renderLogin), () => ({})],
  [/^#\/sync$/, async () => renderSync, () => ({})],
  [/^#\/account$/, () => import('./ui/account.js').then((m) => m.renderAccount), () => ({})],
  [/^#\/walk\/(\d+)$/, () => import('./ui/walk.js').then((m) => m.renderWalk), (m) => ({ assignmentId: Number(m[1]) })],
  [/^#\/door\/(\d+)\/(\d+)$/, () => import('./ui/door.js').then((m) => m.renderDoor),
    (m) => ({ assignmentId: Number(m[1]), propertyId: Number(m[2]) })],
  [/^#\/call\/(\d+)$/, () => import('./ui/call.js').then((m) => m.renderCall), (m) => ({ assignmentId: Number(m[1]) })],
  [/^#\/thanks$/, () => import('./ui/thanks.js').then((m) => m.renderThanks), () => ({})],
  [/^#\/boards$/, () => import('./ui/boards.js').then((m) => m.renderBoards), () => ({})],
  [/^#\/elsewhere$/, () => import('./ui/no-canvassing.js').then((m) => m.renderNoCanvassing), () => ({})],
  [/^#\/admin(?:\/([a-z-]+)(?:\/([a-z0-9-]+))?)?$/, () => import('./admin/shell.js').then((m) => m.renderAdmin),
    (m) => ({ section: m[1] || null, sub: m[2] || null })],
  [/^#\/lists$/, () => import('./ui/lists.js').then((m) => m.renderLists), () => ({})],
];
// The screens a role that does not canvass may open; anything else takes it to #/elsewhere.
const OPEN_TO_EVERY_ROLE = new Set(['#/login', '#/account', '#/elsewhere']);
const isAdmin = (hash) => /^#\/admin(\/|$)/.test(hash);
// The console (admin/shell.js) is for anyone with one of its sections: CLP admins, membership secretaries,
// regional staff and national admins.
const CONSOLE = ['lists:manage', 'members:read', 'members:access-log', 'members:import', 'access:manage', 'activity:read'];
const canManage = (user) => !!(user && CONSOLE.some((p) => (user.permissions || []).includes(p)));
// CLP admins start in the console, volunteers with their lists (even while they stand in as membership
// secretary), and the roles that do not canvass in the console (regional staff on its dashboard).
const home = (user) => ((user && (user.permissions || []).includes('lists:manage')) || (canManage(user) && !canSync(user))
  ? '#/admin' : '#/lists');

const ctx = {
  scheduler,
  refreshStatus: () => refreshStatus(),
  rerender: () => route(),
  /** Say something once the next screen is drawn (a route hides the last screen's toast). */
  flash(message, options = {}) { pendingFlash = { message, options }; },
  /** A record was committed: update the bar and send it soon. */
  recorded() {
    refreshStatus();
    scheduler.soon();
    registerBackgroundSync();
  },
  async loggedIn() {
    const { user } = await db.session();
    refreshStatus();
    access.refresh({ force: true });
    if (canSync(user)) {
      startSync();
      scheduler.request('login');
    }
    if (!canSync(user) && !canManage(user)) return go('#/elsewhere');
    go(home(user));
  },
  loggedOut(message) {
    scheduler.stop();
    started = false;
    refreshStatus();
    access.show();
    go('#/login', { message });
  },
};

/** Check the CLP's access and the user's permissions; a change of permissions redraws the screens offered. */
function checkAccess(options) {
  return access.refresh(options).then((changed) => { if (changed && !busyOnScreen()) route(); });
}

let pendingParams = null;
let pendingFlash = null;
function go(hash, params = null) {
  pendingParams = params;
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  performance.mark('gw:route');
  const { token, authProblem, user } = await db.session();
  let hash = location.hash || '';
  if (!token && hash !== '#/login' && hash !== '#/sync') {
    hash = '#/login';
    history.replaceState(null, '', hash);
  }
  // With a working login the login screen is skipped; after an expired one it is where to go.
  if (token && (hash === '' || hash === '#/' || (hash === '#/login' && !authProblem))) {
    const { lastRoute } = await db.getMeta(['lastRoute']);
    hash = lastRoute && hash !== '#/login' ? lastRoute : home(user);
    history.replaceState(null, '', hash);
  }
  if (token && !canSync(user) && !OPEN_TO_EVERY_ROLE.has(hash) && !(isAdmin(hash) && canManage(user))) {
    hash = '#/elsewhere';
    history.replaceState(null, '', hash);
  }
  const found = ROUTES.find(([pattern]) => pattern.test(hash)) || ROUTES[ROUTES.length - 1];
  const match = hash.match(found[0]) || [];
  const params = { ...found[2](match), ...(pendingParams || {}) };
  pendingParams = null;
  if (cleanup) { try { cleanup(); } catch (e) { /* screen already gone */ } }
  hideToast();
  cleanup = null;
  const view = document.createElement('div');
  view.className = 'view';
  main.replaceChildren(view);
  document.body.classList.toggle('wide', isAdmin(hash));
  document.querySelectorAll('[data-nav]').forEach((a) => {
    const href = a.getAttribute('href');
    a.toggleAttribute('aria-current', href === hash || (isAdmin(href) && isAdmin(hash)));
    // Lists and sync mean nothing to a role that does not canvass: only its account is offered.
    if (isAdmin(href)) a.hidden = !canManage(user);
    else a.hidden = !!token && !canSync(user) && !OPEN_TO_EVERY_ROLE.has(href);
  });
  try {
    const render = await found[1]();
    cleanup = await render(view, ctx, params);
    if (pendingFlash) toast(pendingFlash.message, pendingFlash.options);
    pendingFlash = null;
  } catch (error) {
    console.error(error);
    view.innerHTML = `<h1>Something went wrong</h1><p>${esc(error.message)}</p><p>Your records are safe on this phone.</p>
      <p><a class="btn" href="#/lists">Back to your lists</a></p>`;
  }
  if (token && (/^#\/(walk|call)\/\d+$/.test(hash) || isAdmin(hash))) db.setMeta({ lastRoute: hash });
  else if (token && hash === '#/lists') db.setMeta({ lastRoute: undefined });
}

async function registerBackgroundSync() {
  try {
    const registration = await navigator.serviceWorker?.ready;
    if (registration && registration.sync) await registration.sync.register(SYNC_TAG);
  } catch (error) { /* Background Sync is a bonus: the timers and events cover every browser */ }
}

function startSync() {
  if (started) return;
  started = true;
  scheduler.start();
}

// ---- a new version of the app ----------------------------------------------------------------------

function offerUpdate(worker) {
  const banner = document.getElementById('banner');
  // Wait until no sync cycle is in flight, so a push is never cut off by the switch of versions.
  whenIdle().then(() => {
    banner.innerHTML = '<p>A new version of Groundwork is ready. Your records are safe.</p>' +
      '<button type="button" class="btn btn-small btn-inverse" data-reload>Reload now</button>';
    banner.hidden = false;
    banner.querySelector('[data-reload]').addEventListener('click', () => {
      whenIdle(() => new Promise((resolve) => {
        let reloading = false;
        navigator.serviceWorker.addEventListener('controllerchange', () => {
          if (reloading) return;
          reloading = true;
          resolve();
          location.reload();
        });
        worker.postMessage({ type: 'SKIP_WAITING' });
        setTimeout(resolve, 10000);
      }));
    });
  });
}

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  try {
    const registration = await navigator.serviceWorker.register('/sw.js', { type: 'module', updateViaCache: 'none' });
    if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration.waiting);
    registration.addEventListener('updatefound', () => {
      const worker = registration.installing;
      worker.addEventListener('statechange', () => {
        if (worker.state === 'installed' && navigator.serviceWorker.controller) offerUpdate(worker);
      });
    });
    setInterval(() => registration.update().catch(() => {}), 60 * 60 * 1000);
    navigator.serviceWorker.addEventListener('message', (event) => {
      if (event.data && event.data.type === 'synced') { refreshStatus(); onSynced(); }
    });
  } catch (error) {
    console.warn('Groundwork: the service worker could not be registered; the app will not work offline.', error);
  }
}

// ---- start ------------------------------------------------------------------------------------------

// New data (a suppression, a changed list) is shown at once, unless the volunteer is in the middle of
// something: typing, choosing in an open panel or dialog. Then it waits for the next screen.
function busyOnScreen() {
  const active = document.activeElement;
  if (active && active.matches('input, textarea, select')) return true;
  return !!document.querySelector('main .panel, dialog[open]');
}

const NOTICES = {
  suppressed: (n) => `${n === 1 ? 'Someone you recorded has' : n + ' people you recorded have'} asked not to be ` +
    'contacted. Their records were not kept, and they have been taken off this phone.',
  id_reused: (n) => `${n === 1 ? 'One record' : n + ' records'} could not be stored because of a fault in the app. ` +
    'Please tell your organiser.',
};

/** What the server said about records that the volunteer should hear, gently and once. */
async function showNotices() {
  const notices = await db.takeNotices();
  const byKind = new Map();
  for (const n of notices) byKind.set(n.kind, (byKind.get(n.kind) || 0) + 1);
  const text = [...byKind].filter(([kind]) => NOTICES[kind]).map(([kind, n]) => NOTICES[kind](n)).join(' ');
  if (text) toast(text, { ms: 12000 });
}

async function onSynced() {
  const { token } = await db.session();
  if (!token) return ctx.loggedOut('wiped');
  await showNotices();
  if (/^#\/(lists|walk\/\d+)$/.test(location.hash || '') && !busyOnScreen()) {
    const y = window.scrollY;
    await route();
    window.scrollTo(0, y);
  } else {
    // The record and call screens keep their place and only drop people who have left the phone.
    window.dispatchEvent(new CustomEvent('gw:data-changed'));
  }
}

async function boot() {
  refreshStatus = mountStatusBar(document.getElementById('sync-status'), scheduler);
  scheduler.addEventListener('synced', (event) => {
    checkAccess();
    const result = event.detail || {};
    const pushed = result.pushed || {};
    if (result.received || result.resets || (result.ended && result.ended.length) || pushed.suppressed || pushed.reused) {
      onSynced();
    }
  });
  scheduler.addEventListener('wiped', () => ctx.loggedOut('wiped'));
  scheduler.addEventListener('auth', () => refreshStatus());
  window.addEventListener('hashchange', route);
  window.addEventListener('online', () => { scheduler.request('online'); checkAccess({ force: true }); });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && started) scheduler.request('visible');
  });
  await db.open();
  await route();
  checkAccess({ force: true });
  const { token, user } = await db.session();
  if (token && canSync(user)) startSync();
  registerServiceWorker();
  document.documentElement.dataset.ready = 'true';
}

boot();
