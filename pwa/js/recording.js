// Why: turns what the user tapped into protocol mutations (contact, correction, retraction, elector
// update, a person not on the register), commits each with its local record in one IndexedDB transaction,
// and reads the user's own records back as "what happened last" per elector or member. Corrections and
// undo are new events, never edits. No DOM here.
import * as db from './db.js';

/** The codes or questions still offered: a retired one stays in the campaign only to name old records. */
export function inUse(list) {
  return (list || []).filter((x) => !x.retired);
}

/** The campaign's outcomes usable on a channel ('door' or 'phone'), in the campaign's order. */
export function outcomesFor(campaign, channel) {
  return inUse(campaign.outcomes).filter((o) => !o.channels || !o.channels.length || o.channels.includes(channel));
}

/** The campaign's outcome code for a meaning (spoke, not_home, ...) on a channel, or null. */
export function outcomeFor(campaign, channel, meaning) {
  return outcomesFor(campaign, channel).find((o) => o.meaning === meaning) || null;
}

export function labelOf(list, code) {
  const found = (list || []).find((c) => c.code === code);
  return found ? found.label : code;
}

function contactData({ campaign, elector, member, channel, outcome, intention, strength, survey, notes, callBackAt }) {
  // Built once and stored as built: the server compares a resend's content with the first sending.
  const data = { campaign_id: campaign.id };
  if (member) data.member_id = member.id;
  else data.elector_id = elector.id;
  Object.assign(data, { channel, outcome: outcome.code });
  if (intention && outcome.meaning === 'spoke') data.intention = intention;
  if (strength) data.strength = strength;
  if (survey && Object.keys(survey).length) data.survey_answers = survey;
  if (notes) data.notes = notes;
  if (callBackAt && outcome.meaning === 'call_back') data.call_back_at = callBackAt;
  return data;
}

function recordFor(data, extra, { campaign, elector, member, outcome, assignment }) {
  return {
    electorId: elector ? elector.id : null,
    memberId: member ? member.id : null,
    // Kept so a refused record can still say whose it was after the person has left the phone.
    name: elector ? `${elector.forenames} ${elector.surname}` : `${member.first_name} ${member.last_name}`,
    propertyId: elector ? elector.property_id : null,
    assignmentId: assignment ? assignment.id : null,
    campaignId: campaign.id,
    channel: data.channel,
    outcome: data.outcome,
    meaning: outcome ? outcome.meaning : null,
    intention: data.intention || null,
    strength: data.strength || null,
    survey: data.survey_answers || {},
    notes: data.notes || null,
    callBackAt: data.call_back_at || null,
    ...extra,
  };
}

/**
 * Record a contact. Resolves with the stored record once it is committed to IndexedDB (not before).
 * An outcome meaning do_not_contact also sends the elector_update that creates the suppression.
 */
export async function recordContact(args) {
  const occurredAt = new Date().toISOString();
  const id = db.uuid();
  const data = contactData(args);
  const mutation = { id, type: 'contact', occurred_at: occurredAt, base_version: null, data };
  const record = recordFor(data, { type: 'contact', chain: id, occurredAt }, args);
  const items = [{ mutation, record, chain: id }];
  if (args.outcome.meaning === 'do_not_contact' && args.elector) {
    // The flag makes the objection certain even where a campaign's outcome has no meaning set; the
    // server stores one suppression for the two. One thing the volunteer did: one chain.
    items.push({
      mutation: {
        id: db.uuid(), type: 'elector_update', occurred_at: occurredAt, base_version: null,
        data: { elector_id: args.elector.id, changes: { do_not_contact: true }, reason: args.reason || 'Asked not to be contacted' },
      },
      record: null,
      chain: id,
    });
  }
  await db.commitMutations(items, { calls: data.channel === 'phone' ? 1 : 0 });
  return { ...record, id, state: 'waiting' };
}

/** Correct an earlier record: the whole corrected content, superseding the latest of its chain. */
export async function correctContact(previous, args) {
  const id = db.uuid();
  const data = { supersedes: previous.id, ...contactData(args) };
  const mutation = { id, type: 'contact_correction', occurred_at: new Date().toISOString(), base_version: null, data };
  // The corrected contact keeps the time of the original for the screens too.
  const record = recordFor(data, { type: 'contact_correction', chain: previous.chain, supersedes: previous.id,
    occurredAt: previous.occurredAt, correctedAt: mutation.occurred_at }, args);
  await db.commitMutations([{ mutation, record, chain: previous.chain }]);
  return { ...record, id, state: 'waiting' };
}

/**
 * Undo: withdraw a contact (with all its corrections). Never sent yet: it is simply forgotten on the phone
 * (nothing to tell the server). Otherwise a retraction is sent.
 */
export async function retractContact(previous, reason = null) {
  const calls = previous.channel === 'phone' ? -1 : 0;
  if (await db.cancelUnsent(previous.chain, { calls })) return { cancelled: true, chain: previous.chain };
  const id = db.uuid();
  const occurredAt = new Date().toISOString();
  const mutation = {
    id, type: 'contact_retraction', occurred_at: occurredAt, base_version: null,
    data: { supersedes: previous.id, campaign_id: previous.campaignId,
      ...(previous.memberId != null ? { member_id: previous.memberId } : { elector_id: previous.electorId }),
      channel: previous.channel, reason },
  };
  const record = { electorId: previous.electorId, memberId: previous.memberId ?? null, propertyId: previous.propertyId,
    assignmentId: previous.assignmentId, campaignId: previous.campaignId, channel: previous.channel,
    type: 'contact_retraction', chain: previous.chain, supersedes: previous.id, occurredAt };
  await db.commitMutations([{ mutation, record, chain: previous.chain }], { calls });
  return { ...record, id, state: 'waiting' };
}

/** Someone living at a listed address who is not on the register: sent for the CLP to review. */
export async function recordNewPerson({ property, surname, forenames, phone, notes }) {
  const id = db.uuid();
  const occurredAt = new Date().toISOString();
  const data = { property_id: property.id, surname, forenames };
  if (phone) data.phone = phone;
  if (notes) data.notes = notes;
  const mutation = { id, type: 'elector_new', occurred_at: occurredAt, base_version: null, data };
  const record = { electorId: null, propertyId: property.id, type: 'elector_new', chain: id, occurredAt,
    name: `${forenames} ${surname}` };
  await db.commitMutations([{ mutation, record, chain: id }]);
  return { ...record, id, state: 'waiting' };
}

/** A phone number given or corrected on the doorstep, against the elector version the phone holds. */
export async function recordPhoneNumber(elector, phone) {
  const id = db.uuid();
  const occurredAt = new Date().toISOString();
  const mutation = { id, type: 'elector_update', occurred_at: occurredAt, base_version: elector.version,
    data: { elector_id: elector.id, changes: { phone } } };
  const record = { electorId: elector.id, propertyId: elector.property_id, type: 'elector_update', chain: id,
    occurredAt, phone };
  await db.commitMutations([{ mutation, record, chain: id }]);
  return { ...record, id, state: 'waiting' };
}

/**
 * What counts now, per elector (or, with `members`, per member): for each chain (a contact and what
 * superseded it) drop retracted chains, keep the latest correction; then the latest chain per person.
 * Also the number of effective phone calls, for the phone banker's total.
 */
export function summarise(records, { campaignId = null, channel = null, members = false } = {}) {
  const chains = new Map();
  const person = members ? 'memberId' : 'electorId';
  for (const r of records) {
    if (campaignId != null && r.campaignId !== campaignId) continue;
    if (channel && r.channel !== channel) continue;
    if (r[person] == null) continue;
    const list = chains.get(r.chain) || [];
    list.push(r);
    chains.set(r.chain, list);
  }
  const latest = new Map();
  let calls = 0;
  for (const list of chains.values()) {
    if (list.some((r) => r.type === 'contact_retraction')) continue;
    const contacts = list.filter((r) => r.type === 'contact' || r.type === 'contact_correction');
    if (!contacts.length) continue;
    contacts.sort((a, b) => (a.correctedAt || a.occurredAt).localeCompare(b.correctedAt || b.occurredAt));
    const winner = contacts[contacts.length - 1];
    if (winner.channel === 'phone') calls += 1;
    const current = latest.get(winner[person]);
    if (!current || current.occurredAt < winner.occurredAt) latest.set(winner[person], winner);
  }
  return { latest, calls };
}
