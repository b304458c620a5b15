// Why: logging out must never silently lose work. It first tries to send everything, then warns about
// anything still unsent and offers the export, and only then signs the device out on the server and
// deletes every piece of personal data the app keeps on the phone. Here too, notices on this device are
// turned on (only when the person asks) and off.
import * as api from '../api.js';
import * as db from '../db.js';
import { buildExport, exportFileName } from '../export.js';
import * as push from '../push.js';
import { canSync } from '../sync.js';
import { ask, downloadJson, esc, focusHeading, plural, roleName } from './common.js';
import { setLeaderboard } from './thanks.js';

export async function renderAccount(root, ctx) {
  const meta = await db.getMeta(['user', 'deviceName', 'tokenExpiresAt', 'storageId']);
  const counts = await db.outboxCounts();
  let persisted = null;
  try { persisted = navigator.storage && navigator.storage.persisted ? await navigator.storage.persisted() : null; } catch (e) { /* unknown */ }
  const user = meta.user || {};
  root.innerHTML = `
    <h1>Account</h1>
    <section class="card">
      <p><strong>${esc(user.name || '')}</strong><br>${esc(user.email || '')}<br>${esc(roleName(user.role).replace(/^./, (c) => c.toUpperCase()))}</p>
      <p class="muted">This device: ${esc(meta.deviceName || '')}. Login valid until ${esc(meta.tokenExpiresAt ? new Date(meta.tokenExpiresAt).toLocaleDateString('en-GB') : '')}.</p>
      <p class="muted">${persisted ? 'The browser will keep the app\'s data on this phone.' : 'The browser may clear the app\'s data if space runs short: sync often.'}</p>
    </section>
    <section class="card">
      <h2 class="h3">Unsent records</h2>
      <p>${counts.pending + counts.failed ? esc(plural(counts.pending + counts.failed, 'record')) + ' not yet delivered.' : 'Every record has been delivered.'}</p>
      <button type="button" class="btn" data-export ${counts.pending + counts.failed ? '' : 'disabled'}>Export unsent records to a file</button>
    </section>
    <section class="card" data-board hidden aria-labelledby="board-title">
      <h2 class="h3" id="board-title">Your CLP’s leaderboard</h2>
      <p data-board-text></p>
      <button type="button" class="btn" data-board-toggle></button>
      <p><a href="#/boards">See the leaderboards</a></p>
    </section>
    <section class="card" data-push hidden>
      <h2 class="h3">Notices on this device</h2>
      <p data-push-text></p>
      <button type="button" class="btn" data-push-toggle hidden></button>
      <p role="status" data-push-status></p>
    </section>
    <section class="card">
      <h2 class="h3">Log out</h2>
      <p>Logging out signs this device out and deletes the lists and records kept on it.</p>
      <button type="button" class="btn btn-danger" data-logout>Log out</button>
      <p role="status" data-status></p>
    </section>`;
  const status = root.querySelector('[data-status]');
  root.addEventListener('click', async (event) => {
    if (event.target.closest('[data-export]')) downloadJson(exportFileName(), await buildExport());
    if (event.target.closest('[data-logout]')) await logout(ctx, status);
    if (event.target.closest('[data-push-toggle]')) await togglePush(root.querySelector('[data-push]'));
    if (event.target.closest('[data-board-toggle]')) await toggleBoard(root.querySelector('[data-board]'));
  });
  focusHeading(root);
  if (canSync(user)) showBoard(root.querySelector('[data-board]'));
  showPush(root.querySelector('[data-push]')); // not awaited: the screen never waits on the network
}

// ---- the leaderboard: shown on it or not, the volunteer's choice at any time -------------------------------

function drawBoard(card, optIn) {
  card.querySelector('[data-board-text]').textContent = optIn
    ? 'You are on your CLP\u2019s board for this campaign: other volunteers see your name and counts there.'
    : 'You are not on your CLP\u2019s board: nobody sees your name or counts there. Team boards count everyone\u2019s work without names.';
  const button = card.querySelector('[data-board-toggle]');
  button.dataset.optIn = String(optIn);
  button.textContent = optIn ? 'Hide me' : 'Show me on my CLP\u2019s board';
  card.hidden = false;
}

async function showBoard(card) {
  try {
    const { token } = await db.session();
    const rec = await api.call('GET', '/me/recognition', { token });
    drawBoard(card, !!rec.leaderboard_opt_in);
  } catch (error) { /* offline, or not offered: the boards screen says more */ }
}

async function toggleBoard(card) {
  const button = card.querySelector('[data-board-toggle]');
  button.disabled = true;
  try {
    drawBoard(card, await setLeaderboard(button.dataset.optIn !== 'true'));
  } catch (error) {
    card.querySelector('[data-board-text]').textContent = error instanceof api.NetworkError
      ? 'No connection: try again when you are online.' : error.message;
  } finally {
    button.disabled = false;
  }
}

// ---- notices on this device (web push) ----------------------------------------------------------------

const PUSH_TEXT = {
  off: 'Get a notice on this device when Groundwork has something for you, such as new members in your CLP, ' +
    'a role about to end or a change to your CLP\'s access. A notice names no voter or member: open Groundwork ' +
    'to see more. Your browser will ask whether to allow notifications.',
  on: 'This device shows your notices from Groundwork.',
  denied: 'Notifications from Groundwork are blocked in this browser\'s settings. Allow them there to get notices here.',
  'home-screen': 'To get notices on an iPhone or iPad, add Groundwork to your Home Screen (Share, then Add to ' +
    'Home Screen) and open it from there.',
  unsupported: 'This browser cannot show notices from Groundwork.',
};

async function showPush(card, current) {
  let shown = current;
  try {
    shown = shown || await push.state();
    if (shown === 'on' || shown === 'off') {
      const key = await push.serverKey((await db.session()).token);
      if (key === null) { card.hidden = true; return; } // the server has push turned off: nothing to offer
      if (shown === 'on' && !(await push.usesKey(key))) shown = 'off'; // the server has a new key since
    }
  } catch (error) {
    if (!shown) return; // the browser could not tell: say nothing rather than something wrong
  }
  card.querySelector('[data-push-text]').textContent = PUSH_TEXT[shown];
  const button = card.querySelector('[data-push-toggle]');
  button.hidden = shown !== 'on' && shown !== 'off';
  button.dataset.state = shown;
  button.textContent = shown === 'on' ? 'Stop notices on this device' : 'Get notices on this device';
  card.hidden = false;
}

async function togglePush(card) {
  const button = card.querySelector('[data-push-toggle]');
  const status = card.querySelector('[data-push-status]');
  button.disabled = true;
  status.textContent = '';
  try {
    if (button.dataset.state === 'on') {
      await push.disable((await db.session()).token);
      await showPush(card, 'off');
      status.textContent = 'Notices are off on this device.';
    } else {
      const result = await push.enable();
      if (result === 'unavailable') { card.hidden = true; return; }
      await showPush(card, result);
      if (result === 'on') status.textContent = 'Notices are on for this device.';
      if (result === 'off') status.textContent = 'Nothing changed: notifications were not allowed.';
    }
  } catch (error) {
    status.textContent = error instanceof api.NetworkError
      ? 'No connection: try again when you are online.'
      : 'Notices could not be turned on here. ' + (error.message || '');
  } finally {
    button.disabled = false;
  }
}

async function logout(ctx, status) {
  const { user } = await db.getMeta(['user']);
  if (canSync(user)) {
    status.textContent = 'Sending your records first…';
    await ctx.scheduler.request('logout');
  }
  let counts = await db.outboxCounts();
  let exported = false;
  while (counts.pending + counts.failed) {
    const n = counts.pending + counts.failed;
    const choice = await ask({
      title: `${plural(n, 'record')} not sent`,
      body: `<p>${esc(plural(n, 'record'))} from this phone ${n === 1 ? 'has' : 'have'} not reached the party yet` +
        `${counts.failed ? ` (${counts.failed} the server did not accept)` : ''}. If you log out now, ${n === 1 ? 'it' : 'they'} will be deleted.</p>
        ${exported ? '<p><strong>Exported.</strong> Give the file to your CLP admin.</p>' : '<p>Export them to a file first, so your CLP admin can add them later.</p>'}`,
      buttons: [
        { label: exported ? 'Export again' : 'Export to a file', value: 'export', kind: exported ? '' : 'primary' },
        { label: 'Try sending again', value: 'retry' },
        { label: exported ? 'Log out now' : 'Log out and delete them', value: 'logout', kind: 'danger' },
        { label: 'Cancel', value: null },
      ],
    });
    if (choice === 'export') { downloadJson(exportFileName(), await buildExport()); exported = true; continue; }
    if (choice === 'retry') { status.textContent = 'Trying again…'; await ctx.scheduler.request('logout'); counts = await db.outboxCounts(); continue; }
    if (choice === 'logout') break;
    status.textContent = '';
    return;
  }
  status.textContent = 'Logging out…';
  const { token } = await db.session();
  await push.disable(token); // best effort, before the token dies: no notices for a signed-out phone
  let signedOut = true;
  try {
    if (token) await api.logout(token);
  } catch (error) {
    // Offline or already revoked: the data on this phone is deleted all the same.
    signedOut = !(error instanceof api.NetworkError);
  }
  await db.wipe();
  ctx.loggedOut(signedOut ? 'loggedOut' : 'loggedOutOffline');
}
