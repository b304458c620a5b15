// Why: the sync state must be visible at all times (how many records are waiting, when the last sync
// succeeded, what failed and why, in plain words): the bar in the header, and the Sync screen with
// "Sync now", the progress of a large sync, the records the server refused, and the export.
import * as db from '../db.js';
import { describeFailure } from '../outbox.js';
import { canSync, describeError } from '../sync.js';
import { buildExport, exportFileName } from '../export.js';
import { ago, ask, downloadJson, esc, focusHeading, plural, roleName, when } from './common.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** How many things waiting to be sent were made over a day ago (by the phone's clock, like their times). */
export async function staleUnsent(nowMs = Date.now()) {
  const old = (await db.outboxEntries())
    .filter((e) => e.status === 'pending' && Date.parse(e.mutation.occurred_at) < nowMs - DAY_MS);
  return new Set(old.map((e) => e.chain || e.id)).size;
}

/** The plain warning about them, or '' when there are none. */
export function staleWarning(count) {
  if (!count) return '';
  return `${plural(count, 'record')} made over a day ago ${count === 1 ? 'has' : 'have'} not reached the party yet: `
    + `find a signal and sync, or export ${count === 1 ? 'it' : 'them'}.`;
}

async function snapshot() {
  const counts = await db.outboxCounts();
  const meta = await db.getMeta(['lastSync', 'lastError', 'clockOffsetMs', 'token', 'user']);
  const stale = counts.pending ? await staleUnsent() : 0;
  return { ...counts, ...meta, stale };
}

function progressText(progress) {
  if (!progress) return 'Syncing…';
  if (progress.phase === 'push') return `Sending ${progress.sent} of ${progress.total}…`;
  return `Downloading… ${progress.received.toLocaleString('en-GB')} received`;
}

/** Keep the header's sync bar up to date. Returns a function to refresh it on demand. */
export function mountStatusBar(el, scheduler) {
  let busy = false;
  let queued = false;
  async function refresh() {
    if (busy) { queued = true; return; }
    busy = true;
    try {
      const s = await snapshot();
      if (s.token && s.user && !canSync(s.user) && !s.pending && !s.failed) {
        // A secretary or regional officer: nothing is recorded or synced here, so the bar says who is in.
        const offline = typeof navigator !== 'undefined' && navigator.onLine === false;
        const role = roleName(s.user.role).replace(/^./, (c) => c.toUpperCase());
        el.dataset.tone = offline ? 'warn' : 'ok';
        el.innerHTML = `<span class="sync-line1">${esc(s.user.name)}</span><span class="sync-line2">${esc(role)}${offline ? ' · Offline' : ''}</span>`;
        el.setAttribute('aria-label', `${s.user.name}, ${role}. Nothing is synced on this device.`);
        return;
      }
      const { running, progress, error } = scheduler.state;
      let line1;
      let tone = 'ok';
      if (!s.token) {
        line1 = s.pending ? plural(s.pending, 'record') + ' waiting' : 'Not logged in';
        tone = s.pending ? 'warn' : 'ok';
      } else if (running) {
        line1 = progressText(progress);
        tone = 'busy';
      } else if (s.pending) {
        line1 = plural(s.pending, 'record') + ' waiting';
        tone = 'warn';
      } else {
        line1 = s.failed ? 'Nothing waiting to send' : 'All records sent';
      }
      if (s.failed) tone = 'bad';
      const offline = typeof navigator !== 'undefined' && navigator.onLine === false;
      let line2 = s.lastSync ? 'Synced ' + when(s.lastSync) : 'Not synced yet';
      if (s.failed) line2 = plural(s.failed, 'record') + ' not accepted';
      else if (s.stale && !running) line2 = plural(s.stale, 'record') + ' over a day old';
      else if (offline) line2 = 'Offline · ' + line2;
      else if (error && !running) line2 = error.kind === 'auth' ? 'Log in again to send' : 'Sync failed, will retry';
      el.dataset.tone = tone;
      el.innerHTML = `<span class="sync-line1">${esc(line1)}</span><span class="sync-line2">${esc(line2)}</span>`;
      el.setAttribute('aria-label', `Sync: ${line1}. ${line2}. Open sync details.`);
    } finally {
      busy = false;
      if (queued) { queued = false; refresh(); }
    }
  }
  scheduler.addEventListener('change', refresh);
  window.addEventListener('online', refresh);
  window.addEventListener('offline', refresh);
  setInterval(refresh, 30000); // "synced 3 min ago" stays true
  refresh();
  return refresh;
}

/** The Sync screen. */
export async function renderSync(main, ctx) {
  const { scheduler } = ctx;
  async function draw() {
    const refocus = document.activeElement && document.activeElement.matches('[data-sync-now]');
    const s = await snapshot();
    const entries = s.failed ? (await db.outboxEntries()).filter((e) => e.status === 'failed') : [];
    const people = new Map();
    const names = new Map();
    for (const e of entries) {
      const id = e.mutation.data && e.mutation.data.elector_id;
      if (id != null && !people.has(id)) people.set(id, await db.get('elector', id));
      const record = await db.record(e.id);
      if (record && record.name) names.set(e.id, record.name);
    }
    const { running, progress, error, nextRetryAt } = scheduler.state;
    const skew = Math.abs(s.clockOffsetMs || 0) > 120000;
    main.innerHTML = `
      <h1>Sync</h1>
      <section class="card" aria-labelledby="sync-state">
        <h2 id="sync-state" class="h3">${s.pending ? esc(plural(s.pending, 'record')) + ' waiting to send' : 'Every record has been sent'}</h2>
        <p>Last successful sync: <strong>${esc(when(s.lastSync))}</strong> ${s.lastSync ? `(${esc(ago(s.lastSync))})` : ''}</p>
        ${s.stale ? `<p class="notice notice-warn">${esc(staleWarning(s.stale))}</p>` : ''}
        ${running ? `<p role="status">${esc(progressText(progress))}</p><progress ${progress && progress.total ? `max="${progress.total}" value="${progress.sent}"` : ''} aria-label="Sync progress"></progress>` : ''}
        ${error && !running ? `<p class="notice notice-warn">${esc(describeError(error))}${nextRetryAt ? ' Next try ' + esc(when(new Date(nextRetryAt).toISOString())) + '.' : ''}</p>` : ''}
        ${error && error.kind === 'auth' ? '<p><a class="btn btn-primary" href="#/login">Log in again</a></p>' : ''}
        ${skew ? `<p class="notice notice-warn">This phone's clock is ${Math.round(Math.abs(s.clockOffsetMs) / 60000)} minutes ${s.clockOffsetMs > 0 ? 'slow' : 'fast'}. Your records still count; please set the clock to automatic.</p>` : ''}
        <button type="button" class="btn btn-primary" data-sync-now ${running || !s.token ? 'disabled' : ''}>${running ? 'Syncing…' : 'Sync now'}</button>
      </section>
      ${entries.length ? `
      <section class="card" aria-labelledby="failed-title">
        <h2 id="failed-title" class="h3">${esc(plural(entries.length, 'record'))} the server did not accept</h2>
        <p>These will not be sent again. Export them for your organiser, or remove them.</p>
        <ul class="plain-list">${entries.map((e) => {
          const person = people.get(e.mutation.data && e.mutation.data.elector_id);
          const who = person ? `${person.forenames} ${person.surname}` : names.get(e.id) || 'A record';
          return `<li><strong>${esc(who)}</strong>, ${esc(when(e.mutation.occurred_at))}: ${esc(describeFailure(e.failure))}</li>`;
        }).join('')}</ul>
        <button type="button" class="btn btn-danger" data-discard>Remove these records</button>
      </section>` : ''}
      <section class="card" aria-labelledby="export-title">
        <h2 id="export-title" class="h3">Export</h2>
        <p>If the server cannot be reached for a long time, save the records not yet sent to a file and give it to your CLP admin.</p>
        <button type="button" class="btn" data-export ${s.pending + s.failed ? '' : 'disabled'}>${s.pending + s.failed ? `Export ${esc(plural(s.pending + s.failed, 'unsent record'))}` : 'Nothing to export'}</button>
      </section>`;
    if (refocus) main.querySelector('[data-sync-now]').focus();
  }
  main.addEventListener('click', async (event) => {
    if (event.target.closest('[data-sync-now]')) scheduler.request('button');
    if (event.target.closest('[data-export]')) downloadJson(exportFileName(), await buildExport());
    if (event.target.closest('[data-discard]')) {
      const entries = (await db.outboxEntries()).filter((e) => e.status === 'failed');
      const choice = await ask({
        title: 'Remove records that were not accepted?',
        body: `<p>${esc(plural(entries.length, 'record'))} will be deleted from this phone for good. Export them first if your organiser may need them.</p>`,
        buttons: [{ label: 'Export first', value: 'export' }, { label: 'Remove them', value: 'remove', kind: 'danger' },
          { label: 'Cancel', value: null }],
      });
      if (choice === 'export') downloadJson(exportFileName(), await buildExport());
      if (choice === 'remove') {
        await db.discardFailed(entries.map((e) => e.id));
        ctx.refreshStatus();
        draw();
      }
    }
  });
  const onChange = () => draw();
  scheduler.addEventListener('change', onChange);
  await draw();
  focusHeading(main);
  return () => scheduler.removeEventListener('change', onChange);
}
