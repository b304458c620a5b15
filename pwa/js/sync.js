// Why: a sync cycle is "push the outbox, then pull pages until has_more is false", obeying wipe and
// reset_required, and only one may run at a time per storage, across tabs and the service worker
// (navigator.locks). A push that fails for a reason worth retrying still lets the pull run, so objections
// reach a phone the server is too busy to hear. runSyncCycle is that cycle; SyncScheduler decides when to
// run it (load, online, a timer, after a record, a button) and retries with backoff. No DOM here: the
// worker uses it too.
import * as api from './api.js';
import * as db from './db.js';
import { Backoff, DEFAULT_LIMITS, emptyTotals, pushAll, PushStopped } from './outbox.js';

export const LOCK_NAME = 'groundwork-sync';
const PAGE_LIMIT = 500;
const MAX_RESETS = 3;
let helloChecked = false;

// One cycle at a time: a Web Lock where the browser has them, else a queue within this context.
let localQueue = Promise.resolve();
function withLock(fn) {
  const locks = typeof navigator !== 'undefined' && navigator.locks;
  if (locks) return locks.request(LOCK_NAME, fn);
  const next = localQueue.then(fn, fn);
  localQueue = next.catch(() => {});
  return next;
}

/** Whether the user's role canvasses or phone banks: only then does the app sync anything. */
export function canSync(user) {
  return !!(user && (user.permissions || []).includes('sync'));
}

/** Resolves when no cycle is running (used before an app update takes over). */
export function whenIdle(fn = () => {}) {
  return withLock(fn);
}

async function checkHello() {
  if (helloChecked) return (await db.getMeta(['limits'])).limits || DEFAULT_LIMITS;
  const started = Date.now();
  const hello = await api.hello();
  const received = Date.now();
  if (!(hello.supported_protocol_versions || []).includes(api.PROTOCOL_VERSION)) {
    throw new PushStopped('update', 'This version of the app is too old for the server. Please update it.');
  }
  const offset = Date.parse(hello.server_time) - (started + received) / 2;
  await db.setMeta({ limits: hello.limits, clockOffsetMs: Math.round(offset) });
  helloChecked = true;
  return hello.limits;
}

/**
 * One sync cycle under the lock. Resolves with what happened; throws what went wrong (after storing it
 * for the screens as lastError).
 */
export function runSyncCycle(reason, { onProgress = () => {} } = {}) {
  return withLock(async () => {
    try {
      const result = await cycle(onProgress);
      if (!result.wiped && !result.skipped) {
        await db.setMeta({ lastSync: new Date().toISOString(), lastError: undefined, authProblem: undefined });
      }
      return result;
    } catch (error) {
      await db.setMeta({ lastError: { kind: errorKind(error), message: error.message, at: new Date().toISOString() } })
        .catch(() => {});
      if (error instanceof PushStopped && error.kind === 'auth') {
        await db.setMeta({ authProblem: { code: error.cause && error.cause.code, message: error.message } });
      }
      throw error;
    }
  });
}

async function cycle(onProgress) {
  const session = await db.session();
  if (!session.token) return { skipped: 'not_logged_in' };
  if (!canSync(session.user)) return { skipped: 'role_does_not_sync' };
  const limits = await checkHello();
  let pushed;
  let pushFailure = null;
  try {
    pushed = await pushAll({ session, limits, onProgress: (p) => onProgress({ phase: 'push', ...p }) });
  } catch (error) {
    if (error instanceof PushStopped && error.kind === 'wipe') return wipeDevice({}, 'lost');
    if (!error.retryable) throw error;
    // The server is busy or the signal weak: the records stay in the outbox and the cycle fails (so the
    // scheduler backs off), but first pull. An objection or a changed list must reach the doorstep even
    // while the server cannot yet take this phone's records (on polling day, pushes queue; pulls are cheap).
    pushFailure = error;
    pushed = emptyTotals();
  }
  onProgress({ phase: 'pull', received: 0, pages: 0, more: true });
  if (pushed.clock) await db.setMeta({ clockOffsetMs: Math.round(pushed.clock.offset_seconds * 1000) });

  let { cursor } = await db.getMeta(['cursor']);
  let received = 0;
  let pages = 0;
  let resets = 0;
  for (;;) {
    let page;
    try {
      page = await api.pull(session.token, { storageId: session.storageId, cursor, limit: PAGE_LIMIT });
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 401) throw new PushStopped('auth', error.message, error);
      throw pushFailure || error;
    }
    if (page.wipe) {
      // Never wipe records the server has not had: with the push failing, wait for a cycle that delivers.
      if (pushFailure) throw pushFailure;
      // Access has ended. The push above has normally delivered everything (held for an organiser to
      // review); one more try, then wipe.
      try { await pushAll({ session, limits }); } catch (error) { /* wiping regardless */ }
      return wipeDevice(pushed, 'ended');
    }
    if (page.reset_required) {
      // Drop entity data and cursor (keeping the outbox and records) and start again from nothing.
      if (++resets > MAX_RESETS) throw new Error('The server keeps asking this phone to start again.');
      await db.resetEntities();
      cursor = undefined;
      continue;
    }
    await db.applyPullPage(page.changes, page.cursor, { complete: !page.has_more });
    cursor = page.cursor;
    received += page.changes.length;
    pages += 1;
    onProgress({ phase: 'pull', received, pages, more: page.has_more });
    if (!page.has_more) break;
  }
  const { clockOffsetMs = 0 } = await db.getMeta(['clockOffsetMs']);
  const ended = await db.expireEnded(Date.now() + clockOffsetMs);
  if (pushFailure) throw pushFailure;
  return { pushed, received, pages, resets, ended };
}

/**
 * Forget every piece of personal data on this phone, as the server told us to. `reason`: 'ended' (access
 * ended; what was unsent has been delivered for review) or 'lost' (reported lost: nothing was accepted).
 */
async function wipeDevice(pushed, reason) {
  await db.wipe();
  await db.setMeta({ wiped: { at: new Date().toISOString(), reason } });
  return { wiped: true, pushed };
}

function errorKind(error) {
  if (error instanceof PushStopped) return error.kind;
  if (error instanceof api.NetworkError) return 'offline';
  if (error instanceof api.ApiError) return error.retryable ? 'server' : 'refused';
  return 'other';
}

/** The sentence the sync bar shows for an error, in plain words. */
export function describeError(error) {
  if (!error) return '';
  switch (error.kind) {
    case 'offline':
      return 'No connection. Your records are safe on this phone and will be sent when there is signal.';
    case 'server':
      return 'The server is having trouble. Your records are safe; the app will keep trying.';
    case 'auth':
      return 'Please log in again to send your records. They are safe on this phone.';
    case 'update':
      return 'This version of the app is too old for the server. Close and reopen it to update; your records are kept.';
    case 'forbidden':
      return 'The server refused this phone: ' + error.message + ' Your records are kept; ask your organiser.';
    default:
      return 'Sync did not finish: ' + error.message + ' Your records are kept; you can export them from the Sync page.';
  }
}

/** When to sync: on demand, soon after a record, on a timer while open, and again after failures. */
export class SyncScheduler extends EventTarget {
  constructor({ intervalMs = 60000, backoff = new Backoff() } = {}) {
    super();
    this.intervalMs = intervalMs;
    this.backoff = backoff;
    this.state = { running: false, progress: null, error: null, nextRetryAt: null };
    this.current = null;
    this.again = false;
    this.retryTimer = null;
    this.soonTimer = null;
    this.interval = null;
  }

  start() {
    if (!this.interval) this.interval = setInterval(() => this.request('timer'), this.intervalMs);
    return this.request('load');
  }

  stop() {
    clearInterval(this.interval);
    clearTimeout(this.retryTimer);
    clearTimeout(this.soonTimer);
    this.interval = null;
  }

  /** Run a cycle now, or straight after the one in progress. */
  request(reason = 'manual') {
    if (this.current) {
      this.again = true;
      return this.current;
    }
    this.current = this.run(reason).finally(() => {
      this.current = null;
      if (this.again) {
        this.again = false;
        this.request('again');
      }
    });
    return this.current;
  }

  /** A record was just made: send it shortly, gathering any made in the next moments. */
  soon(delayMs = 1500) {
    clearTimeout(this.soonTimer);
    this.soonTimer = setTimeout(() => this.request('record'), delayMs);
  }

  async run(reason) {
    clearTimeout(this.retryTimer);
    this.state = { ...this.state, running: true, progress: null, nextRetryAt: null };
    this.emit('change');
    try {
      const result = await runSyncCycle(reason, {
        onProgress: (progress) => { this.state = { ...this.state, progress }; this.emit('change'); },
      });
      this.backoff.reset();
      this.state = { ...this.state, error: null };
      if (result.wiped) this.emit('wiped');
      else this.emit('synced', result);
      return result;
    } catch (error) {
      this.state = { ...this.state, error: { kind: errorKind(error), message: error.message } };
      if (error.retryable) {
        const offline = typeof navigator !== 'undefined' && navigator.onLine === false;
        if (!offline) { // offline, the 'online' event will bring us back
          const wait = this.backoff.next();
          this.state.nextRetryAt = Date.now() + wait;
          this.retryTimer = setTimeout(() => this.request('retry'), wait);
        }
      } else if (error instanceof PushStopped && error.kind === 'auth') {
        this.emit('auth');
      }
      return { error };
    } finally {
      this.state = { ...this.state, running: false, progress: null };
      this.emit('change');
    }
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
