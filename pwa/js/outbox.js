// Why: delivers the outbox to the server through /sync/push so that each record lands exactly once,
// and decides what each answer means for the outbox. It knows nothing about the DOM: sync.js calls it,
// in the page or in the service worker. Retries after 5xx and network failures back off exponentially
// with a cap and jitter; per-mutation refusals are final and never block the rest of the queue.
import * as api from './api.js';
import * as db from './db.js';

export const DEFAULT_LIMITS = { max_mutations_per_push: 500, max_push_bytes: 2097152 };
const ENVELOPE_SLACK = 512; // bytes for the envelope (with its outbox report) and the device_time
// Reported with each push so organisers can see which phones run an old app (sync health). Bump it with
// any change to the app a support person would need to know about.
export const APP_VERSION = 'pwa-2026.11';

/**
 * The outbox report a push carries (docs/sync-protocol.md 7.11): what will still be undelivered once the
 * mutations of this batch are, when the oldest of it was made (device clock), and the app's version.
 */
export async function outboxReport(batch) {
  const sending = new Set(batch.map((m) => m.id));
  const left = (await db.outboxEntries()).filter((e) => !sending.has(e.id));
  let oldest = null;
  for (const { mutation } of left) {
    if (oldest === null || Date.parse(mutation.occurred_at) < Date.parse(oldest)) oldest = mutation.occurred_at;
  }
  return { unsent: left.length, oldest_at: oldest, app_version: APP_VERSION };
}

/** A request the server will never accept as it is: stop, keep the outbox, and tell the user. */
export class PushStopped extends Error {
  constructor(kind, message, cause) {
    super(message);
    this.name = 'PushStopped';
    this.kind = kind; // 'auth' | 'wipe' | 'forbidden' | 'update' | 'defect'
    this.cause = cause;
    this.retryable = false;
  }
}

/** Exponential backoff with full jitter: base, 2×base, 4×base ... never above cap. */
export class Backoff {
  constructor({ baseMs = 2000, capMs = 5 * 60 * 1000, random = Math.random } = {}) {
    this.baseMs = baseMs;
    this.capMs = capMs;
    this.random = random;
    this.attempts = 0;
  }

  /** The wait before the next attempt, in ms; each call counts one more failure. */
  next() {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempts);
    this.attempts += 1;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset() {
    this.attempts = 0;
  }
}

/** Trim a batch so that its JSON stays under the byte limit (always at least one mutation). */
export function fitBatch(batch, maxBytes) {
  const encoder = new TextEncoder();
  let size = ENVELOPE_SLACK;
  const out = [];
  for (const mutation of batch) {
    const bytes = encoder.encode(JSON.stringify(mutation)).length + 1;
    if (out.length && size + bytes > maxBytes) break;
    size += bytes;
    out.push(mutation);
  }
  return out;
}

function stopFor(error) {
  if (!(error instanceof api.ApiError)) return null;
  // A phone reported lost or stolen: nothing from it is accepted, and it must forget what it holds.
  if (error.status === 401 && error.details && error.details.wipe) return new PushStopped('wipe', error.message, error);
  if (error.status === 401) return new PushStopped('auth', error.message, error);
  if (error.code === 'unsupported_version') {
    return new PushStopped('update', 'This version of the app is too old for the server. Please update it.', error);
  }
  if (error.status === 403) return new PushStopped('forbidden', error.message, error);
  if (error.status === 422 || error.status === 400) return new PushStopped('defect', error.message, error);
  return null;
}

/** What a push cycle delivered when it delivered nothing (the start of pushAll's count). */
export function emptyTotals() {
  return { delivered: 0, failed: 0, suppressed: 0, reused: 0, batches: 0 };
}

/**
 * Push every pending mutation, batch by batch, oldest first. Resolves with totals; throws a
 * retryable error (network, 5xx) with the outbox unchanged, or PushStopped.
 */
export async function pushAll({ session, limits = DEFAULT_LIMITS, onProgress = () => {} }) {
  const totals = emptyTotals();
  let maxCount = limits.max_mutations_per_push || DEFAULT_LIMITS.max_mutations_per_push;
  const maxBytes = limits.max_push_bytes || DEFAULT_LIMITS.max_push_bytes;
  const total = await db.pendingMutations();
  // Only what was waiting when the cycle began: records made meanwhile go in the next cycle (the scheduler
  // runs one again at once). Otherwise a volunteer recording faster than a busy server answers keeps the
  // cycle pushing for ever, and the pull (objections, list changes) never comes.
  const { seq } = await db.getMeta(['seq']);
  const throughSeq = Number.isFinite(seq) ? seq : Infinity;
  for (;;) {
    const candidates = await db.pendingBatch(maxCount, throughSeq);
    const batch = fitBatch(candidates, maxBytes);
    const outbox = await outboxReport(batch);
    const reportKey = JSON.stringify([session.storageId, outbox]);
    if (!batch.length) {
      // Nothing to deliver: an empty push only when the report changed since the last one the server
      // took (a phone that only ever refused records, or a first sync), so the server's view stays true.
      if (totals.batches || (await db.getMeta(['lastOutboxReport'])).lastOutboxReport === reportKey) break;
    }
    const envelope = {
      device_id: session.deviceId,
      storage_id: session.storageId,
      protocol_version: api.PROTOCOL_VERSION,
      schema_version: db.SCHEMA_VERSION,
      device_time: new Date().toISOString(), // read just before sending, from the same clock as occurred_at
      mutations: batch,
      outbox,
    };
    let response;
    try {
      response = await api.push(session.token, JSON.stringify(envelope));
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 413) {
        if (batch.length === 1) {
          // One record alone is too large for the server: it can never be sent; let the user export it.
          await db.failMutation(batch[0].id, { status: 'too_large', details: error.details, at: new Date().toISOString() });
          continue;
        }
        maxCount = Math.max(1, Math.floor(batch.length / 2));
        continue;
      }
      throw stopFor(error) || error;
    }
    await db.setMeta({ lastOutboxReport: reportKey });
    if (!batch.length) break;
    const summary = await db.applyPushResults(batch, response.results || []);
    for (const key of ['delivered', 'failed', 'suppressed', 'reused']) totals[key] += summary[key];
    totals.batches += 1;
    totals.clock = response.clock;
    onProgress({ sent: totals.delivered + totals.failed + totals.suppressed + totals.reused, total });
    if (summary.delivered + summary.failed + summary.suppressed + summary.reused === 0) {
      // The answer did not match what we sent: resending blindly could loop for ever. Try later.
      const error = new Error('The server gave no usable answer for the records sent.');
      error.retryable = true;
      throw error;
    }
  }
  return totals;
}

/** Plain words for a refusal, for the person holding the phone. */
export function describeFailure(failure) {
  if (!failure) return '';
  const details = failure.details || {};
  switch (failure.status) {
    case 'rejected': {
      const messages = Object.values(details).flat().filter((m) => typeof m === 'string');
      return 'The server could not accept this record' + (messages.length ? ': ' + messages.join(' ') : '.');
    }
    case 'forbidden':
      if (details.reason === 'not_on_your_lists') {
        return 'This person is not on any of your lists (or the list ended more than a week ago), so the record was not accepted.';
      }
      if (details.reason === 'access_ended') return 'Your access had ended, and your organiser did not accept this record.';
      if (details.reason === 'access_suspended') {
        return 'Your CLP\'s access was suspended when you made this record, and your organiser did not accept it.';
      }
      return 'This person is outside the area you work in, so the record was not accepted.';
    case 'too_large':
      return 'This record is too large to send. Export it and give the file to your organiser.';
    default:
      return 'The server did not accept this record.';
  }
}
