// Why: when the server cannot be reached for a long time, or access is about to end, the records not yet
// delivered leave the phone as a file a CLP admin can import (format: pwa/README.md). This builds that
// file's content from the outbox; the screen offers it for download. No DOM here.
import * as db from './db.js';
import { PROTOCOL_VERSION } from './api.js';
import { addressOf } from './walkorder.js';

export const EXPORT_FORMAT = 'groundwork.unsent-records';
export const EXPORT_FORMAT_VERSION = 1;

/** The export document: every outbox entry (pending or failed) with its mutation exactly as built. */
export async function buildExport() {
  const meta = await db.getMeta(['user', 'deviceId', 'deviceName', 'storageId']);
  const entries = await db.outboxEntries();
  const people = new Map();
  const out = [];
  for (const entry of entries) {
    const electorId = entry.mutation.data && entry.mutation.data.elector_id;
    let context = null;
    if (electorId != null) {
      if (!people.has(electorId)) {
        const elector = await db.get('elector', electorId);
        const property = elector ? await db.get('property', elector.property_id) : null;
        people.set(electorId, elector ? {
          elector_number: elector.elector_number,
          name: `${elector.forenames} ${elector.surname}`,
          address: property ? addressOf(property) + (property.postcode ? ', ' + property.postcode : '') : null,
        } : null);
      }
      context = people.get(electorId);
    }
    out.push({ status: entry.status, failure: entry.failure || null, mutation: entry.mutation, context });
  }
  const user = meta.user || {};
  return {
    format: EXPORT_FORMAT,
    format_version: EXPORT_FORMAT_VERSION,
    exported_at: new Date().toISOString(),
    protocol_version: PROTOCOL_VERSION,
    schema_version: db.SCHEMA_VERSION,
    user: { id: user.id ?? null, email: user.email ?? null, name: user.name ?? null },
    device: { id: meta.deviceId ?? null, name: meta.deviceName ?? null },
    storage_id: meta.storageId,
    records: out,
  };
}

export function exportFileName(date = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  return `groundwork-unsent-${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-` +
    `${pad(date.getHours())}${pad(date.getMinutes())}.json`;
}
