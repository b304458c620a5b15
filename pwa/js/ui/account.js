// Why: logging out must never silently lose work. It first tries to send everything, then warns about
// anything still unsent and offers the export, and only then signs the device out on the server and
// deletes every piece of personal data the app keeps on the phone.
import * as api from '../api.js';
import * as db from '../db.js';
import { buildExport, exportFileName } from '../export.js';
import { canSync } from '../sync.js';
import { ask, downloadJson, esc, focusHeading, plural, roleName } from './common.js';

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
  });
  focusHeading(root);
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
