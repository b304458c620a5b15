// Why: every session ends with thanks, whatever it held: phone banking and canvassing alike. The screen says
// what this phone recorded in the session, then the volunteer's totals across all their devices from the
// server (this week, this campaign, all time) with what this phone has not sent yet added and said so; a
// milestone the server found is celebrated once, on one device; and, only here, after a session, notices
// on this phone are offered. Never a tier, a rank or a shortfall.
import * as api from '../api.js';
import * as db from '../db.js';
import * as push from '../push.js';
import { canSync } from '../sync.js';
import { esc, focusHeading, plural, toast, when } from './common.js';

const SESSION_STALE_MS = 12 * 3600 * 1000; // a session left open overnight starts afresh
const SYNC_WAIT_MS = 8000; // the thank-you never waits long on a poor signal
// Column heads (trusted constants; the soft hyphen lets "Conversations" break on a narrow phone).
const HEADS = { calls: 'Calls', doors: 'Doors', conversations: 'Conver&shy;sations' };
const MEASURES = [['calls', 'call', 'calls'], ['doors', 'door', 'doors'], ['conversations', 'conversation', 'conversations']];

// ---- counting what this phone recorded ------------------------------------------------------------

const ukDay = (iso) => new Date(iso).toLocaleDateString('en-CA', { timeZone: 'Europe/London' });

/**
 * What this phone's records add up to, as the server counts them: a call per call, a door per address and
 * day, a conversation per "spoke". Undone records do not count; a correction counts as its contact.
 * Options: since (ISO: contacts made from then), unsent (only what has not reached the server), campaignId.
 */
export function countRecords(records, { since = null, unsent = false, campaignId = null } = {}) {
  const chains = new Map();
  for (const r of records) {
    if (!r.chain) continue;
    const list = chains.get(r.chain) || [];
    list.push(r);
    chains.set(r.chain, list);
  }
  const out = { calls: 0, doors: 0, conversations: 0 };
  const doors = new Set();
  for (const list of chains.values()) {
    if (list.some((r) => r.type === 'contact_retraction')) continue;
    const first = list.find((r) => r.type === 'contact');
    if (!first) continue;
    if (since && first.occurredAt < since) continue;
    if (unsent && first.state !== 'waiting') continue;
    if (campaignId != null && first.campaignId !== campaignId) continue;
    const contacts = list.filter((r) => r.type === 'contact' || r.type === 'contact_correction')
      .sort((a, b) => (a.correctedAt || a.occurredAt).localeCompare(b.correctedAt || b.occurredAt));
    const winner = contacts[contacts.length - 1];
    if (winner.channel === 'phone') out.calls += 1;
    if (winner.channel === 'door' && winner.propertyId != null) doors.add(`${winner.propertyId}|${ukDay(winner.occurredAt)}`);
    if (winner.meaning === 'spoke') out.conversations += 1;
  }
  out.doors = doors.size;
  return out;
}

// ---- sessions ---------------------------------------------------------------------------------------

/** A canvassing session on this list: kept on the phone from the walk list's first opening until it ends. */
export async function startDoorSession(assignmentId) {
  const { doorSession } = await db.getMeta(['doorSession']);
  const stale = doorSession && Date.now() - Date.parse(doorSession.startedAt) > SESSION_STALE_MS;
  if (!doorSession || doorSession.assignmentId !== assignmentId || stale) {
    await db.setMeta({ doorSession: { assignmentId, startedAt: new Date().toISOString() } });
  }
}

/**
 * End a session ('call' or 'door'): what this phone recorded in it is kept for the thank-you, the session
 * is closed, and the thank-you screen (#/thanks) is opened.
 */
export async function endSession(kind, assignment) {
  const key = kind === 'call' ? 'callSession' : 'doorSession';
  const meta = await db.getMeta([key, 'sessionsEnded']);
  const startedAt = (meta[key] && meta[key].startedAt) || new Date().toISOString();
  const counts = countRecords(await db.allRecords(), { since: startedAt });
  await db.setMeta({
    [key]: undefined,
    sessionsEnded: (meta.sessionsEnded || 0) + 1,
    lastSession: { kind, startedAt, endedAt: new Date().toISOString(), counts, fresh: true,
      assignmentId: assignment ? assignment.id : null, listName: assignment ? assignment.name : null,
      campaignId: assignment ? assignment.campaign_id : null },
  });
  location.hash = '#/thanks';
}

// ---- the server's counts ------------------------------------------------------------------------------

/** The volunteer's counts and milestones from the server, kept on the phone as the last known ones. */
export async function fetchRecognition(since = null) {
  const { token } = await db.session();
  const data = await api.call('GET', '/me/recognition', { token, query: { since: since || undefined }, timeoutMs: 15000 });
  await db.setMeta({ recognition: { data, fetchedAt: new Date().toISOString() } });
  return data;
}

function add(a, b) {
  if (!a) return null;
  return { calls: (a.calls || 0) + b.calls, doors: (a.doors || 0) + b.doors, conversations: (a.conversations || 0) + b.conversations };
}

function sumOf(c) {
  return c.calls + c.doors + c.conversations;
}

function totalsTable(rec, unsentAll, unsentCampaign) {
  const rows = [['This week', add(rec.counts.week, unsentAll)],
    ['This campaign', rec.campaign ? add(rec.counts.campaign, unsentCampaign) : null],
    ['All time', add(rec.counts.total, unsentAll)]].filter(([, c]) => c);
  return `${rec.campaign ? `<p class="small muted">Campaign: ${esc(rec.campaign.name)}</p>` : ''}
  <table class="totals" data-totals-table>
    <caption class="visually-hidden">Your totals across all your devices</caption>
    <thead><tr><th scope="col"><span class="visually-hidden">Period</span></th>${MEASURES.map(([m]) => `<th scope="col" class="n">${HEADS[m]}</th>`).join('')}</tr></thead>
    <tbody>${rows.map(([label, c]) => `<tr data-row="${esc(label)}"><th scope="row">${esc(label)}</th>${MEASURES.map(([m]) => `<td class="n" data-${m}>${c[m].toLocaleString('en-GB')}</td>`).join('')}</tr>`).join('')}</tbody>
  </table>`;
}

function nextLine(rec) {
  const parts = [];
  if (rec.next && rec.next.calls) parts.push(`${rec.next.calls.toLocaleString('en-GB')} calls`);
  if (rec.next && rec.next.doors) parts.push(`${rec.next.doors.toLocaleString('en-GB')} doors`);
  return parts.length ? `<p class="small muted">Next milestone: ${esc(parts.join(' or '))}.</p>` : '';
}

/** The totals card: the server's counts with this phone's unsent records added, or the last known ones. */
async function drawTotals(box, rec, { live, fetchedAt }) {
  const records = await db.allRecords();
  const unsentAll = countRecords(records, { unsent: true });
  const unsentCampaign = rec && rec.campaign ? countRecords(records, { unsent: true, campaignId: rec.campaign.id }) : unsentAll;
  const waiting = sumOf(unsentAll) ? unsentAll.calls + unsentAll.doors : 0;
  const waitingText = waiting ? ` including ${waiting.toLocaleString('en-GB')} not yet sent from this phone` : '';
  if (!rec) {
    box.innerHTML = `<h2>Your totals</h2><p data-offline-note>Your totals across all your devices will show here when this phone is back in signal.</p>`;
    return;
  }
  const asOf = rec.as_of || fetchedAt;
  box.innerHTML = `<h2>Your totals</h2>
    ${live ? `<p class="small">Across all your devices, as of ${esc(when(asOf))}${esc(waitingText)}.</p>`
      : `<p data-offline-note>Your totals will update when this phone is back in signal. The last known ones, from ${esc(when(fetchedAt))}${waitingText ? ',' + esc(waitingText) + ',' : ''} are below.</p>`}
    ${totalsTable(rec, unsentAll, unsentCampaign)}
    ${nextLine(rec)}`;
}

// ---- celebrations -----------------------------------------------------------------------------------

const UNITS = { calls: ['call', 'calls'], doors: ['door', 'doors'] };

function milestoneWords(m) {
  const [one, many] = UNITS[m.measure] || [m.measure, m.measure];
  return plural(m.threshold, one, many);
}

/** Milestones of this campaign not yet celebrated on any device (nor shown on this one). */
async function uncelebrated(rec) {
  if (!rec || !rec.reached) return [];
  const { celebratedHere } = await db.getMeta(['celebratedHere']);
  const here = new Set(celebratedHere || []);
  const waiting = rec.reached.filter((m) => !m.celebrated_at && (!rec.campaign || m.campaign_id === rec.campaign.id));
  // Shown here before but the server was not told (no signal then): tell it now, without showing it again.
  const told = waiting.filter((m) => here.has(m.id));
  if (told.length) markCelebrated(told.map((m) => m.id));
  return waiting.filter((m) => !here.has(m.id));
}

async function markCelebrated(ids) {
  const { celebratedHere } = await db.getMeta(['celebratedHere']);
  await db.setMeta({ celebratedHere: [...new Set([...(celebratedHere || []), ...ids])].slice(-50) });
  try {
    const { token } = await db.session();
    const data = await api.call('POST', '/me/recognition/celebrated', { token, body: { milestone_ids: ids } });
    if (data && data.counts) await db.setMeta({ recognition: { data, fetchedAt: new Date().toISOString() } });
  } catch (error) { /* told at the next chance: it is remembered here meanwhile */ }
}

/** The celebration card for milestones just reached (shown once), or ''. Marks them celebrated. */
export async function celebrationHtml(rec) {
  const fresh = await uncelebrated(rec);
  if (!fresh.length) return '';
  markCelebrated(fresh.map((m) => m.id));
  const what = fresh.map(milestoneWords);
  return `<section class="card celebration" data-celebration aria-labelledby="celebration-title">
    <p class="celebration-mark" aria-hidden="true">★</p>
    <h2 id="celebration-title">${esc(what.join(' and '))}!</h2>
    <p>You have reached ${esc(what.join(' and '))} in ${esc(rec.campaign ? rec.campaign.name : 'this campaign')}. That is a real
      milestone: thank you. Your CLP's organisers will hear about it too.</p>
  </section>`;
}

// ---- the offer of notices, after a session ----------------------------------------------------------

async function pushOfferHtml() {
  try {
    const meta = await db.getMeta(['pushOfferDeclined', 'sessionsEnded']);
    if (meta.pushOfferDeclined || !(meta.sessionsEnded >= 1)) return '';
    if (!push.supported() || Notification.permission !== 'default') return '';
    if ((await push.state()) !== 'off') return '';
    if ((await push.serverKey((await db.session()).token)) === null) return '';
  } catch (error) {
    return ''; // offline or unknown: ask another time
  }
  return `<section class="card" data-push-offer aria-labelledby="push-offer-title">
    <h2 id="push-offer-title" class="h3">Notices on this phone</h2>
    <p>Get a notice on this phone when you reach a milestone, get a new list, or before a session?</p>
    <p class="small muted">A notice names no voter. You can turn them off on the Account screen.</p>
    <div class="stack"><button type="button" class="btn btn-primary" data-push-yes>Yes, send me notices</button>
    <button type="button" class="btn" data-push-no>Not now</button></div>
    <p role="status" data-push-offer-status></p>
  </section>`;
}

async function answerPushOffer(card, yes) {
  const status = card.querySelector('[data-push-offer-status]');
  if (!yes) {
    await db.setMeta({ pushOfferDeclined: new Date().toISOString() });
    card.innerHTML = '<p role="status">No notices. You can turn them on any time on the Account screen.</p>';
    return;
  }
  card.querySelectorAll('button').forEach((b) => { b.disabled = true; });
  try {
    const result = await push.enable();
    if (result === 'on') card.innerHTML = '<p role="status">Notices are on for this phone.</p>';
    else {
      await db.setMeta({ pushOfferDeclined: new Date().toISOString() });
      card.innerHTML = `<p role="status">${result === 'denied' ? 'Notifications are blocked in this browser\'s settings.'
        : 'Nothing changed: notifications were not allowed.'} The Account screen offers them again.</p>`;
    }
  } catch (error) {
    card.querySelectorAll('button').forEach((b) => { b.disabled = false; });
    status.textContent = error instanceof api.NetworkError ? 'No connection: try again when you are online.'
      : 'Notices could not be turned on here. ' + (error.message || '');
  }
}

// ---- the screen ---------------------------------------------------------------------------------------

function sessionSentence(session) {
  const c = session.counts || { calls: 0, doors: 0, conversations: 0 };
  const talks = c.conversations ? `, with ${plural(c.conversations, 'conversation')}` : '';
  if (session.kind === 'call' && c.calls) return `You made ${plural(c.calls, 'call')} this session${talks}. Every conversation helps.`;
  if (session.kind === 'door' && c.doors) return `You knocked on ${plural(c.doors, 'door')} this session${talks}. Every door helps.`;
  if (c.calls || c.doors) {
    return `You recorded ${[c.calls ? plural(c.calls, 'call') : '', c.doors ? plural(c.doors, 'door') : ''].filter(Boolean).join(' and ')} this session${talks}.`;
  }
  return 'Thank you for giving your time today. Every session helps, however it went.';
}

async function syncFirst(ctx) {
  const { user } = await db.session();
  if (!canSync(user) || !navigator.onLine) return;
  await Promise.race([ctx.scheduler.request('session-end').catch(() => {}), new Promise((r) => setTimeout(r, SYNC_WAIT_MS))]);
}

/** #/thanks: the thank-you for the session just ended (or the last one), the totals and any milestone. */
export async function renderThanks(root, ctx) {
  const meta = await db.getMeta(['lastSession', 'user', 'recognition']);
  const session = meta.lastSession;
  const first = meta.user && meta.user.name ? ', ' + meta.user.name.split(' ')[0] : '';
  const fresh = !!(session && session.fresh);
  if (fresh) await db.setMeta({ lastSession: { ...session, fresh: false } });
  const again = session && session.assignmentId != null
    ? `<button type="button" class="btn btn-primary" data-restart="#/${session.kind === 'call' ? 'call' : 'walk'}/${esc(session.assignmentId)}">Start another session</button>` : '';
  root.innerHTML = `
    <h1>Thank you${esc(first)}!</h1>
    ${session ? `<p class="big" data-session-count>${esc(sessionSentence(session))}</p>
      ${fresh ? '' : `<p class="small muted">Your last session${session.listName ? ', ' + esc(session.listName) : ''}, ended ${esc(when(session.endedAt))}.</p>`}`
      : '<p class="big">Thank you for everything you do for the campaign.</p>'}
    <div data-celebration-box></div>
    <section class="card" data-totals aria-live="polite"><h2>Your totals</h2><p class="muted">Checking your totals…</p></section>
    <div data-push-box></div>
    <div class="stack">${again}
      <a class="btn" href="#/boards">Leaderboards</a>
      <a class="btn" href="#/lists">Back to your lists</a></div>`;
  focusHeading(root);
  let alive = true;
  const totals = root.querySelector('[data-totals]');
  (async () => {
    if (fresh) await syncFirst(ctx);
    if (!alive) return;
    let rec = null;
    try {
      // The server counts a session of at most a week; an older one is covered by the week's counts.
      const recent = session && Date.now() - Date.parse(session.startedAt) < 6 * 86400000;
      rec = await fetchRecognition(recent ? session.startedAt : null);
    } catch (error) {
      if (error instanceof api.ApiError && error.status === 401) return;
    }
    if (!alive) return;
    if (rec) {
      await drawTotals(totals, rec, { live: true, fetchedAt: new Date().toISOString() });
      const party = await celebrationHtml(rec);
      if (alive && party) root.querySelector('[data-celebration-box]').innerHTML = party;
    } else {
      const known = meta.recognition;
      await drawTotals(totals, known ? known.data : null, { live: false, fetchedAt: known && known.fetchedAt });
    }
    if (session) {
      const offer = await pushOfferHtml();
      if (alive && offer) root.querySelector('[data-push-box]').innerHTML = offer;
    }
  })();
  root.addEventListener('click', (event) => {
    const restart = event.target.closest('[data-restart]');
    if (restart) { location.hash = restart.dataset.restart; return; }
    const yes = event.target.closest('[data-push-yes]');
    const no = event.target.closest('[data-push-no]');
    if (yes || no) answerPushOffer(root.querySelector('[data-push-offer]'), !!yes);
  });
  return () => { alive = false; };
}

/**
 * A milestone reached since the app last looked (found after a sync, on the lists screen): the card to show,
 * or ''. At most one look every 30 s, and never without a signal.
 */
let lastLook = 0;
export async function milestoneCheck() {
  if (!navigator.onLine || Date.now() - lastLook < 30000) return '';
  lastLook = Date.now();
  try {
    const { user } = await db.session();
    if (!canSync(user)) return '';
    return await celebrationHtml(await fetchRecognition());
  } catch (error) {
    return '';
  }
}

/** Say the volunteer's board choice changed (the Account screen and the boards use it). */
export async function setLeaderboard(optIn) {
  const { token } = await db.session();
  const answer = await api.call('PUT', '/me/leaderboard', { token, body: { opt_in: optIn } });
  toast(answer.leaderboard_opt_in ? 'You are on your CLP\u2019s board.' : 'You are hidden from every board.');
  return answer.leaderboard_opt_in;
}
