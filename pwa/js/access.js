// Why: a CLP must never lose its access silently. From the moment a change to its access is scheduled, every
// one of its people (admins and volunteers) sees the date and the reason on every screen, and what happens
// to their work: records made before the date are accepted whenever they reach the server; records made
// after it are kept and held for review. The last answer is kept on the device, so the warning shows offline.
// The same check keeps the user's permissions current (a temporary role given or ended by regional staff).
import * as db from './db.js';
import { call } from './api.js';
import { esc } from './ui/common.js';

const REFRESH_MS = 5 * 60 * 1000;
let lastFetch = 0;

/** A moment as the server's notices write it, in UK time: "Fri 4 Dec 2026", or "Fri 4 Dec 2026 at 09:30". */
export function ukWhen(iso) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
    weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit',
    hourCycle: 'h23', timeZone: 'Europe/London',
  }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  const day = `${parts.weekday} ${parts.day} ${parts.month} ${parts.year}`;
  const time = `${parts.hour}:${parts.minute}`;
  return time === '00:00' ? day : `${day} at ${time}`;
}

/** The warning's words for a CLP's access state (null when there is nothing to say). */
export function describe(state) {
  if (!state || !state.constituency_id) return null;
  const clp = state.constituency_name;
  if (state.access === 'suspended') {
    return {
      tone: 'bad',
      text: `${clp}'s access to Groundwork is suspended since ${ukWhen(state.suspended_since)}: ${state.reason}`,
      more: 'Records made now are still kept and delivered, and held for the CLP admin to review once access returns. ' +
        'Lists, the console and other screens wait until then.',
    };
  }
  const next = (state.changes || []).find((c) => c.kind === 'suspend' && c.status === 'scheduled');
  if (next) {
    return {
      tone: 'warn',
      text: `${clp}'s access to Groundwork will be suspended from ${ukWhen(next.effective_at)}: ${next.reason}`,
      more: 'Records made before then are accepted whenever they reach the server; records made after it are kept and ' +
        'held for the CLP admin to review. Sync before the date if you can.',
    };
  }
  return null;
}

/** Show the kept state in the banner. */
export async function show() {
  const el = document.getElementById('access-banner');
  if (!el) return;
  const { accessState, token } = await db.getMeta(['accessState', 'token']);
  const words = token ? describe(accessState) : null;
  el.hidden = !words;
  if (!words) { el.replaceChildren(); return; }
  el.dataset.tone = words.tone;
  el.innerHTML = `<p><strong>${esc(words.text)}</strong></p>
    <details><summary class="small">What this means</summary><p class="small">${esc(words.more)}</p></details>`;
}

/**
 * Ask the server now and then (on start, after a sync, when back online) for the CLP's access and for the
 * user's own permissions, which change without a new login when a temporary role is given or ends.
 * Resolves true when the permissions changed, so the caller can redraw the screens they open.
 */
export async function refresh({ force = false } = {}) {
  const { token, user } = await db.session();
  if (!token || !user) return show().then(() => false);
  if (!force && Date.now() - lastFetch < REFRESH_MS) return show().then(() => false);
  lastFetch = Date.now();
  let changed = false;
  try {
    const [me, state] = await Promise.all([call('GET', '/me', { token }),
      user.scope && user.scope.kind === 'constituency' ? call('GET', '/access-changes/mine', { token }) : null]);
    // While the CLP is suspended the server grants only sync and the user's own account; the screens stay
    // as they were, and say why they cannot be used (the banner, and each refusal).
    changed = (!state || state.access !== 'suspended')
      && JSON.stringify(me.permissions) !== JSON.stringify(user.permissions);
    await db.setMeta({ accessState: state, ...(changed ? { user: { ...user, ...me } } : {}) });
  } catch (error) {
    // Offline, or the server is unreachable: the last answer stands (it is kept for exactly this).
  }
  await show();
  return changed;
}
