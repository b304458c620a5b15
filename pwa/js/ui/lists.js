// Why: after logging in the volunteer sees their current lists (walk and call), watches them download,
// and is told plainly when a list is complete and ready for use with no signal; then picks one. A list's
// session (when and where to meet) is on its card, and a milestone the server found is celebrated here once.
import * as db from '../db.js';
import { requestPersistence } from './login.js';
import { esc, focusHeading, plural, sessionLine } from './common.js';
import { staleUnsent, staleWarning } from './status.js';
import { milestoneCheck } from './thanks.js';

// A celebration stays on the lists screen until the volunteer moves on, across the redraws a sync makes.
let celebration = '';

function dateOnly(iso) {
  return new Date(iso).toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'short' });
}

async function listState() {
  const [assignments, campaigns] = await Promise.all([db.all('assignment'), db.all('campaign')]);
  const meta = await db.getMeta(['pullComplete', 'cursor', 'user', 'lastSync']);
  const props = new Set((await db.all('property')).map((p) => p.id));
  const electors = new Set((await db.all('elector')).map((e) => e.id));
  const members = new Set((await db.all('member')).map((m) => m.id));
  const present = (i) => (i.property_id != null ? props.has(i.property_id)
    : i.member_id != null ? members.has(i.member_id) : electors.has(i.elector_id));
  assignments.sort((a, b) => a.name.localeCompare(b.name));
  return {
    meta,
    campaigns: new Map(campaigns.map((c) => [c.id, c])),
    lists: assignments.map((a) => {
      const total = a.items.length;
      const here = a.items.filter(present).length;
      return { assignment: a, total, present: here, ready: !!meta.pullComplete && here === total };
    }),
  };
}

export async function renderLists(root, ctx) {
  const { scheduler } = ctx;
  let persisted = null;
  try { persisted = navigator.storage && navigator.storage.persisted ? await navigator.storage.persisted() : null; } catch (e) { /* unknown */ }

  async function draw() {
    const { meta, campaigns, lists } = await listState();
    const stale = await staleUnsent();
    const { running, progress } = scheduler.state;
    const downloading = running && progress && progress.phase === 'pull';
    const name = meta.user ? meta.user.name : '';
    root.innerHTML = `
      <h1>Your lists</h1>
      ${name ? `<p class="muted">Logged in as ${esc(name)}</p>` : ''}
      ${celebration}
      ${stale ? `<p class="notice notice-warn" data-stale-unsent>${esc(staleWarning(stale))} <a href="#/sync">Sync or export</a></p>` : ''}
      ${downloading ? `<p class="notice" role="status">Downloading your lists… ${esc(plural(progress.received, 'item'))} received so far.</p>` : ''}
      ${!lists.length && !running ? `<p class="notice">You have no lists at the moment. When an organiser gives you one, it will appear here after the next sync.</p>` : ''}
      <ul class="plain-list cards">${lists.map(({ assignment: a, total, present, ready }) => {
        const campaign = campaigns.get(a.campaign_id);
        const kind = a.kind === 'call' ? 'Call list' : 'Walk list';
        const count = a.kind === 'call' ? plural(total, 'person', 'people') : plural(total, 'address', 'addresses');
        const href = a.kind === 'call' ? `#/call/${a.id}` : `#/walk/${a.id}`;
        const state = ready
          ? '<span class="badge badge-ok">Ready for offline use</span>'
          : `<span class="badge badge-warn">Downloading: ${present} of ${total}</span>`;
        return `<li class="card list-card">
          <h2 class="h3"><a class="stretch" href="${href}">${esc(a.name)}</a></h2>
          <p class="muted">${kind} · ${esc(count)}${campaign ? ' · ' + esc(campaign.name) : ''}</p>
          ${sessionLine(a) ? `<p class="session-line" data-session>${esc(sessionLine(a))}</p>` : ''}
          <p class="muted">Until ${esc(dateOnly(a.ends_at))}</p>
          <p>${state}</p>
          ${ready || !total ? '' : `<progress max="${total}" value="${present}" aria-label="Download of ${esc(a.name)}"></progress>`}
        </li>`;
      }).join('')}</ul>
      <div class="stack">
        <button type="button" class="btn" data-sync ${running ? 'disabled' : ''}>${running ? 'Syncing…' : 'Check for new lists'}</button>
        <a class="btn" href="#/boards">Leaderboards</a>
        <a class="btn btn-quiet" href="#/thanks">Your totals and milestones</a>
        ${persisted === false ? `<p class="notice notice-warn" data-persist-note>This browser may delete the app's data if the phone runs short of space.
          <button type="button" class="btn btn-small" data-persist>Keep data on this phone</button></p>` : ''}
      </div>`;
  }

  root.addEventListener('click', async (event) => {
    if (event.target.closest('[data-sync]')) scheduler.request('button');
    if (event.target.closest('[data-persist]')) {
      persisted = await requestPersistence();
      draw();
    }
  });
  const onChange = () => draw();
  scheduler.addEventListener('change', onChange);
  await draw();
  focusHeading(root);
  let alive = true;
  milestoneCheck().then((card) => {
    if (!card || !alive) return;
    celebration = card;
    draw();
  });
  return () => {
    alive = false;
    if (location.hash !== '#/lists') celebration = ''; // a redraw after a sync keeps it

    scheduler.removeEventListener('change', onChange);
  };
}
