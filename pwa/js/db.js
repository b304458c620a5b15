// Why: the ONLY module that touches IndexedDB. It owns the numbered schema and its upgrade steps, and
// makes every change that must be atomic one transaction: a pulled page with its cursor; a record with
// its outbox entry and sequence number; push results with the removal of what they answer.
// Stores: meta (device, token, storage id, cursor, seq, last sync), entities (campaign, assignment,
// property, elector, member, activity keyed by [entity, id]), outbox (mutations waiting, with status and
// the chain of what the volunteer did), records (the user's own records, for the screens: visited doors,
// undo, corrections, call counts).

import { uuid } from './ids.js';

const DB_NAME = 'groundwork';
export const SCHEMA_VERSION = 1;
const STORAGE_MARK = 'groundwork.storage'; // in localStorage: lets us notice the database vanishing

export { uuid };

// UPGRADES[n] takes the database from version n to n + 1. Never edit a released step: add one.
const UPGRADES = [
  (db, tx) => {
    db.createObjectStore('meta', { keyPath: 'key' });
    const entities = db.createObjectStore('entities', { keyPath: ['entity', 'id'] });
    entities.createIndex('entity', 'entity');
    entities.createIndex('property', 'propertyId'); // electors only: who lives where
    const outbox = db.createObjectStore('outbox', { keyPath: 'id' });
    outbox.createIndex('seq', 'seq', { unique: true });
    const records = db.createObjectStore('records', { keyPath: 'id' });
    records.createIndex('elector', 'electorId');
    // A new database is a new storage instance: it gets its own id, and seq starts again at 1.
    freshStorage(tx.objectStore('meta'));
  },
];

function freshStorage(meta) {
  meta.put({ key: 'storageId', value: uuid() });
  meta.put({ key: 'seq', value: 0 });
  meta.put({ key: 'createdAt', value: new Date().toISOString() });
}

let opening = null;

/** Open (creating or upgrading) the database once per page or worker. */
export function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, SCHEMA_VERSION);
      let created = false;
      request.onupgradeneeded = (event) => {
        created = event.oldVersion === 0;
        for (let v = event.oldVersion; v < SCHEMA_VERSION; v++) UPGRADES[v](request.result, request.transaction);
      };
      request.onsuccess = () => {
        const db = request.result;
        // A newer version of the app in another tab wants to upgrade: step aside.
        db.onversionchange = () => { db.close(); opening = null; };
        resolve({ db, created });
      };
      request.onerror = () => { opening = null; reject(request.error); };
      request.onblocked = () => console.warn('Groundwork: close other tabs of the app to finish an update.');
    }).then(async ({ db, created }) => {
      if (created) await noticeLostStorage(db);
      return db;
    });
  }
  return opening;
}

// If a page marked that this origin held a storage and the database is new, the browser or the user
// deleted it (with any records not yet sent). Say so, once.
async function noticeLostStorage(db) {
  if (typeof localStorage === 'undefined') return;
  let previous = null;
  try { previous = localStorage.getItem(STORAGE_MARK); } catch (e) { return; }
  if (!previous) return;
  await run(db, ['meta'], 'readwrite', (s) => {
    s.meta.put({ key: 'storageLost', value: { at: new Date().toISOString(), previous } });
  });
  try { localStorage.removeItem(STORAGE_MARK); } catch (e) { /* private mode */ }
}

function markStorage(storageId) {
  if (typeof localStorage === 'undefined') return;
  try {
    if (storageId) localStorage.setItem(STORAGE_MARK, storageId);
    else localStorage.removeItem(STORAGE_MARK);
  } catch (e) { /* storage full or private mode: detection is best effort */ }
}

function req(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Runs fn with the named stores in one transaction; resolves with fn's result once it has COMMITTED.
function run(db, names, mode, fn) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(names, mode, { durability: 'strict' });
    const stores = {};
    for (const name of names) stores[name] = t.objectStore(name);
    let result;
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error('The transaction was aborted.'));
    Promise.resolve()
      .then(() => fn(stores, t))
      .then((value) => { result = value; }, (error) => { try { t.abort(); } catch (e) { /* done */ } reject(error); });
  });
}

async function tx(names, mode, fn) {
  return run(await open(), names, mode, fn);
}

// ---- meta -------------------------------------------------------------------------------------------

export async function getMeta(keys) {
  return tx(['meta'], 'readonly', async ({ meta }) => {
    const out = {};
    for (const key of keys) {
      const row = await req(meta.get(key));
      out[key] = row ? row.value : undefined;
    }
    return out;
  });
}

export async function setMeta(values) {
  return tx(['meta'], 'readwrite', ({ meta }) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) meta.delete(key);
      else meta.put({ key, value });
    }
  });
}

/** What the app needs to talk to the server: token, device and storage ids, the user. */
export async function session() {
  return getMeta(['token', 'deviceId', 'storageId', 'user', 'tokenExpiresAt', 'authProblem']);
}

/** Store a new login. A new device id means the server's pull state is gone: drop entities and cursor. */
export async function saveLogin({ token, deviceId, user, tokenExpiresAt, deviceName }) {
  const storageId = await tx(['meta', 'entities'], 'readwrite', async ({ meta, entities }) => {
    const previous = await req(meta.get('deviceId'));
    if (!previous || previous.value !== deviceId) {
      entities.clear();
      meta.delete('cursor');
      meta.delete('pullComplete');
    }
    for (const [key, value] of Object.entries({ token, deviceId, user, tokenExpiresAt, deviceName })) {
      meta.put({ key, value });
    }
    meta.delete('authProblem');
    meta.delete('storageLost');
    return (await req(meta.get('storageId'))).value;
  });
  markStorage(storageId);
}

// ---- entities ---------------------------------------------------------------------------------------

function entityRow(change) {
  const row = { entity: change.entity, id: change.id, version: change.version, data: change.data };
  if (change.entity === 'elector') row.propertyId = change.data.property_id;
  return row;
}

async function deleteRecordsOfElector(records, electorId, { all }) {
  const rows = await req(records.index('elector').getAll(electorId));
  for (const row of rows) if (all || row.state === 'sent') records.delete(row.id);
}

/** Store one pulled page and its cursor in ONE transaction: never a cursor without its data. */
export async function applyPullPage(changes, cursor, { complete }) {
  return tx(['entities', 'meta', 'records'], 'readwrite', async ({ entities, meta, records }) => {
    let removed = 0;
    for (const change of changes) {
      if (change.op === 'delete') {
        entities.delete([change.entity, change.id]);
        removed++;
        if (change.entity === 'elector') {
          // Our own records about someone no longer on our lists are no longer needed here; those not
          // yet delivered stay until the server answers them. An objection removes everything at once.
          const objected = change.reason === 'suppressed' || change.reason === 'erased';
          await deleteRecordsOfElector(records, change.id, { all: objected });
        }
      } else {
        entities.put(entityRow(change));
      }
    }
    meta.put({ key: 'cursor', value: cursor });
    meta.put({ key: 'pullComplete', value: !!complete });
    return { removed };
  });
}

/** reset_required: drop every entity and the cursor; keep the outbox and the user's records. */
export async function resetEntities() {
  return tx(['entities', 'meta'], 'readwrite', ({ entities, meta }) => {
    entities.clear();
    meta.delete('cursor');
    meta.put({ key: 'pullComplete', value: false });
  });
}

export async function all(entity) {
  return tx(['entities'], 'readonly', async ({ entities }) => {
    const rows = await req(entities.index('entity').getAll(entity));
    return rows.map((r) => r.data);
  });
}

export async function get(entity, id) {
  return tx(['entities'], 'readonly', async ({ entities }) => {
    const row = await req(entities.get([entity, id]));
    return row ? row.data : null;
  });
}

/** Several kinds of entity and the user's records, read in ONE transaction (a screen's whole data). */
export async function snapshot(kinds) {
  return tx(['entities', 'records'], 'readonly', async ({ entities, records }) => {
    const index = entities.index('entity');
    const lists = await Promise.all(kinds.map((kind) => req(index.getAll(kind))));
    const out = { records: await req(records.getAll()) };
    kinds.forEach((kind, i) => { out[kind] = lists[i].map((r) => r.data); });
    return out;
  });
}

export async function electorsAt(propertyId) {
  return tx(['entities'], 'readonly', async ({ entities }) => {
    const rows = await req(entities.index('property').getAll(propertyId));
    return rows.map((r) => r.data);
  });
}

/**
 * Lists whose end has passed (by the server's clock, as estimated from the device's) are removed with
 * every property, elector, member and activity no remaining list needs, even before the server can say so.
 */
export async function expireEnded(nowMs) {
  return tx(['entities', 'records'], 'readwrite', async ({ entities, records }) => {
    const assignments = (await req(entities.index('entity').getAll('assignment'))).map((r) => r.data);
    const ended = assignments.filter((a) => Date.parse(a.ends_at) <= nowMs);
    if (!ended.length) return [];
    const current = assignments.filter((a) => !ended.includes(a));
    const keepProps = new Set();
    const keepElectors = new Set();
    const keepMembers = new Set();
    for (const a of current) {
      for (const item of a.items) {
        if (item.property_id != null) keepProps.add(item.property_id);
        if (item.elector_id != null) keepElectors.add(item.elector_id);
        if (item.member_id != null) keepMembers.add(item.member_id);
      }
    }
    for (const m of await req(entities.index('entity').getAll('member'))) {
      if (!keepMembers.has(m.id)) entities.delete(['member', m.id]);
    }
    const electors = (await req(entities.index('entity').getAll('elector'))).map((r) => r.data);
    for (const e of electors) if (keepElectors.has(e.id)) keepProps.add(e.property_id);
    for (const e of electors) {
      if (keepElectors.has(e.id) || keepProps.has(e.property_id)) continue;
      entities.delete(['elector', e.id]);
      entities.delete(['activity', e.id]);
      await deleteRecordsOfElector(records, e.id, { all: false });
    }
    for (const p of await req(entities.index('entity').getAll('property'))) {
      if (!keepProps.has(p.id)) entities.delete(['property', p.id]);
    }
    const campaigns = new Set(current.map((a) => a.campaign_id));
    for (const c of await req(entities.index('entity').getAll('campaign'))) {
      if (!campaigns.has(c.id)) entities.delete(['campaign', c.id]);
    }
    for (const a of ended) entities.delete(['assignment', a.id]);
    return ended.map((a) => a.name);
  });
}

// ---- outbox and records -----------------------------------------------------------------------------

// The phone banker's counts move in the same transaction as the calls they count.
async function countCalls(meta, calls) {
  if (!calls) return;
  const total = await req(meta.get('callTotal'));
  meta.put({ key: 'callTotal', value: Math.max(0, ((total && total.value) || 0) + calls) });
  const session = await req(meta.get('callSession'));
  if (session && session.value) {
    meta.put({ key: 'callSession', value: { ...session.value, count: Math.max(0, session.value.count + calls) } });
  }
}

/**
 * Commit mutations the user just made, numbering them with this storage's seq, with their records, in
 * ONE transaction. Resolves only once committed: the screen may then say "saved".
 */
export async function commitMutations(items, { calls = 0 } = {}) {
  return tx(['meta', 'outbox', 'records'], 'readwrite', async ({ meta, outbox, records }) => {
    await countCalls(meta, calls);
    let seq = (await req(meta.get('seq'))).value;
    const now = new Date().toISOString();
    const out = [];
    for (const { mutation, record, chain } of items) {
      seq += 1;
      const built = { ...mutation, seq };
      // chain: the thing the volunteer did that this mutation belongs to (a call, its correction, its undo).
      outbox.add({ id: built.id, seq, status: 'pending', mutation: built, createdAt: now, chain: chain || built.id });
      if (record) records.put({ ...record, id: built.id, state: 'waiting' });
      out.push(built);
    }
    meta.put({ key: 'seq', value: seq });
    return out;
  });
}

/**
 * The oldest pending mutations, by seq, exactly as first built. Each is marked as attempted in the same
 * transaction: from then on the server may have it, so it can only be withdrawn by a retraction.
 */
export async function pendingBatch(max, throughSeq = Infinity) {
  return tx(['outbox'], 'readwrite', ({ outbox }) => new Promise((resolve, reject) => {
    const batch = [];
    const cursor = outbox.index('seq').openCursor(IDBKeyRange.upperBound(throughSeq));
    cursor.onerror = () => reject(cursor.error);
    cursor.onsuccess = () => {
      const c = cursor.result;
      if (!c || batch.length >= max) return resolve(batch);
      if (c.value.status === 'pending') {
        batch.push(c.value.mutation);
        if (!c.value.attempted) c.update({ ...c.value, attempted: true });
      }
      c.continue();
    };
  }));
}

/**
 * Undo something the server has never been sent: forget it on the phone instead of sending a retraction.
 * Only if every mutation of the chain is still pending and was never in a push (one transaction, so a push
 * starting at the same moment either takes none of it or makes this answer false). Resolves true if undone.
 */
export async function cancelUnsent(chain, { calls = 0 } = {}) {
  return tx(['outbox', 'records', 'meta'], 'readwrite', async ({ outbox, records, meta }) => {
    const entries = (await req(outbox.getAll())).filter((e) => (e.chain || e.id) === chain);
    const mine = (await req(records.getAll())).filter((r) => r.chain === chain);
    if (!entries.length || entries.some((e) => e.status !== 'pending' || e.attempted)
        || mine.some((r) => r.state !== 'waiting')) return false;
    for (const e of entries) outbox.delete(e.id);
    for (const r of mine) records.delete(r.id);
    await countCalls(meta, calls);
    return true;
  });
}

// held: delivered after this device's access ended; an organiser decides whether it counts.
const DELIVERED = new Set(['applied', 'duplicate', 'conflict', 'held']);
const REFUSED = new Set(['rejected', 'forbidden']);

/**
 * Record the server's answer for each mutation of a batch and remove what it answered, in ONE
 * transaction. Refusals stay in the outbox as "failed" (never resent) so the user sees why, and can
 * export them; a suppression removes the person from this phone at once.
 */
export async function applyPushResults(batch, results) {
  return tx(['outbox', 'records', 'entities', 'meta'], 'readwrite', async ({ outbox, records, entities, meta }) => {
    const summary = { delivered: 0, failed: 0, suppressed: 0, reused: 0 };
    const now = new Date().toISOString();
    const notices = [];
    for (let i = 0; i < batch.length; i++) {
      const mutation = batch[i];
      const result = results[i];
      if (!result || result.id !== mutation.id) continue; // no definite answer for this one: keep it
      const record = await req(records.get(mutation.id));
      if (DELIVERED.has(result.status)) {
        outbox.delete(mutation.id);
        summary.delivered++;
        if (record) {
          records.put({ ...record, state: 'sent', sentAt: now, conflict: result.status === 'conflict',
            held: result.status === 'held' });
        }
      } else if (REFUSED.has(result.status)) {
        const entry = await req(outbox.get(mutation.id));
        outbox.put({ ...entry, status: 'failed', failure: { status: result.status, details: result.details || null, at: now } });
        summary.failed++;
        if (record) records.put({ ...record, state: 'failed' });
      } else if (result.status === 'suppressed') {
        outbox.delete(mutation.id);
        summary.suppressed++;
        const electorId = mutation.data && mutation.data.elector_id;
        if (electorId != null) {
          entities.delete(['elector', electorId]);
          await deleteRecordsOfElector(records, electorId, { all: true });
        }
        records.delete(mutation.id);
        notices.push({ kind: 'suppressed', at: now });
      } else {
        // id_reused (or a status this app does not know): the first version stands on the server.
        outbox.delete(mutation.id);
        summary.reused++;
        if (record) records.put({ ...record, state: 'sent', sentAt: now });
        notices.push({ kind: 'id_reused', at: now, status: result.status });
      }
    }
    if (notices.length) {
      const row = await req(meta.get('notices'));
      meta.put({ key: 'notices', value: [...((row && row.value) || []), ...notices].slice(-20) });
    }
    return summary;
  });
}

/** Mark a single mutation that can never be sent (too large for the server) as failed. */
export async function failMutation(id, failure) {
  return tx(['outbox', 'records'], 'readwrite', async ({ outbox, records }) => {
    const entry = await req(outbox.get(id));
    if (entry) outbox.put({ ...entry, status: 'failed', failure });
    const record = await req(records.get(id));
    if (record) records.put({ ...record, state: 'failed' });
  });
}

/**
 * What is waiting, counted as the volunteer would count it: one per thing they did (a call or a door
 * knock, with its do-not-contact flag, corrections and undo), not one per protocol mutation.
 */
export async function outboxCounts() {
  return tx(['outbox'], 'readonly', async ({ outbox }) => {
    const rows = await req(outbox.getAll());
    const things = (status) => new Set(rows.filter((r) => r.status === status).map((r) => r.chain || r.id)).size;
    return { pending: things('pending'), failed: things('failed') };
  });
}

/** How many mutations wait to be pushed: the unit of a push's progress. */
export async function pendingMutations() {
  return tx(['outbox'], 'readonly', async ({ outbox }) => (await req(outbox.getAll())).filter((r) => r.status === 'pending').length);
}

/** Every outbox entry (pending and failed), oldest first: for the failure list and the export. */
export async function outboxEntries() {
  return tx(['outbox'], 'readonly', async ({ outbox }) => req(outbox.index('seq').getAll()));
}

/** The user chose to drop failed records (after being told what they are). */
export async function discardFailed(ids) {
  return tx(['outbox', 'records'], 'readwrite', async ({ outbox, records }) => {
    for (const id of ids) {
      const entry = await req(outbox.get(id));
      if (entry && entry.status === 'failed') {
        outbox.delete(id);
        records.delete(id);
      }
    }
  });
}

export async function allRecords() {
  return tx(['records'], 'readonly', ({ records }) => req(records.getAll()));
}

export async function record(id) {
  return tx(['records'], 'readonly', ({ records }) => req(records.get(id)));
}

export async function recordsOf(electorId) {
  return tx(['records'], 'readonly', ({ records }) => req(records.index('elector').getAll(electorId)));
}

export async function takeNotices() {
  return tx(['meta'], 'readwrite', async ({ meta }) => {
    const row = await req(meta.get('notices'));
    meta.delete('notices');
    return (row && row.value) || [];
  });
}

// ---- wiping -----------------------------------------------------------------------------------------

/**
 * Delete every piece of personal data: entities, outbox, records, token, cursor. The storage starts
 * again as a new instance (new storage id, seq from 1), and is no longer marked as in use.
 */
export async function wipe() {
  await tx(['meta', 'entities', 'outbox', 'records'], 'readwrite', ({ meta, entities, outbox, records }) => {
    meta.clear();
    entities.clear();
    outbox.clear();
    records.clear();
    freshStorage(meta);
  });
  markStorage(null);
}
