// Why: a volunteer logs in once per device (email, password and a name for this device); the server
// registers the device and returns its token. If this phone still holds another volunteer's unsent
// records, they are exported or knowingly discarded first, never pushed under the wrong name.
import * as api from '../api.js';
import * as db from '../db.js';
import { buildExport, exportFileName } from '../export.js';
import { ask, downloadJson, esc, focusHeading, plural } from './common.js';

function guessDeviceName() {
  const ua = navigator.userAgent || '';
  if (/iPhone/.test(ua)) return 'iPhone';
  if (/iPad/.test(ua)) return 'iPad';
  if (/Android/.test(ua)) return 'Android phone';
  return 'This device';
}

const MESSAGES = {
  wipedLost: 'This device was reported lost, so it has been signed out and everything the app kept on it has been ' +
    'deleted. Records it had not sent were not accepted; if it is yours after all, log in again and tell your organiser.',
  wiped: 'This device was signed out (you logged out, or an organiser removed it). Records it had not sent were ' +
    'delivered for your organiser to review, and everything the app kept on it has been deleted.',
  loggedOut: 'You have logged out. Everything the app kept on this phone has been deleted.',
  loggedOutOffline: 'Everything the app kept on this phone has been deleted. There was no connection, so the ' +
    'server still lists this device until its login expires; ask your organiser to remove it if the phone is lost.',
};

export async function renderLogin(root, ctx, params = {}) {
  const meta = await db.getMeta(['user', 'wiped', 'storageLost', 'authProblem', 'deviceName']);
  const counts = await db.outboxCounts();
  let message = params.message && params.message !== 'wiped' ? MESSAGES[params.message] : null;
  if (!message && (meta.wiped || params.message === 'wiped')) {
    message = meta.wiped && meta.wiped.reason === 'lost' ? MESSAGES.wipedLost : MESSAGES.wiped;
  }
  const warnings = [];
  if (meta.storageLost) {
    warnings.push('This phone\'s app storage was cleared (by the browser or in settings) since you last used it. ' +
      'Records that had not been sent yet may have been lost. Please tell your organiser when you last synced.');
  }
  if (meta.authProblem && counts.pending) {
    warnings.push(`Log in again to send your ${plural(counts.pending, 'waiting record')}. They are safe on this phone.`);
  }
  root.innerHTML = `
    <h1>Log in</h1>
    ${message ? `<p class="notice">${esc(message)}</p>` : ''}
    ${warnings.map((w) => `<p class="notice notice-warn">${esc(w)}</p>`).join('')}
    <form class="stack" novalidate>
      <div class="field">
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="username" inputmode="email" required
          value="${esc(meta.user ? meta.user.email : '')}">
      </div>
      <div class="field">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
      </div>
      <div class="field">
        <label for="device">Name for this device</label>
        <input id="device" name="device" type="text" maxlength="120" required aria-describedby="device-hint"
          value="${esc(meta.deviceName || guessDeviceName())}">
        <p id="device-hint" class="hint">Shown in your list of devices, so you can sign it out if it is lost.</p>
      </div>
      <p class="error" role="alert" data-error></p>
      <button type="submit" class="btn btn-primary">Log in</button>
    </form>`;
  const form = root.querySelector('form');
  const errorEl = root.querySelector('[data-error]');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errorEl.textContent = '';
    const email = form.email.value.trim();
    const password = form.password.value;
    const deviceName = form.device.value.trim();
    if (!email || !password || !deviceName) {
      errorEl.textContent = 'Please fill in your email, your password and a name for this device.';
      return;
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    button.textContent = 'Logging in…';
    try {
      const result = await api.login(email, password, deviceName);
      if (!(await settleOtherUsersRecords(meta.user, result.user))) {
        await api.logout(result.token).catch(() => {});
        return;
      }
      await db.saveLogin({ token: result.token, deviceId: result.device.id, user: result.user,
        tokenExpiresAt: result.token_expires_at, deviceName });
      await db.setMeta({ wiped: undefined });
      requestPersistence();
      ctx.loggedIn();
    } catch (error) {
      errorEl.textContent = loginError(error);
    } finally {
      button.disabled = false;
      button.textContent = 'Log in';
    }
  });
  focusHeading(root);
}

function loginError(error) {
  if (error instanceof api.NetworkError) return 'No connection. You need signal to log in the first time.';
  if (error.code === 'rate_limited') {
    const seconds = error.details && error.details.retry_after_seconds;
    return `Too many attempts. Please wait ${waitFor(seconds)} and try again.`;
  }
  if (error.status === 401) return 'That email and password do not match an active account.';
  if (error.status === 422) return 'Please check your email address.';
  return 'Logging in failed: ' + error.message;
}

// Another volunteer's unsent records must not be pushed under this login.
async function settleOtherUsersRecords(previous, user) {
  if (!previous || previous.id === user.id) return true;
  const { pending, failed } = await db.outboxCounts();
  if (!pending && !failed) {
    await db.wipe();
    return true;
  }
  for (;;) {
    const choice = await ask({
      title: 'Records from another volunteer',
      body: `<p>This phone holds ${esc(plural(pending + failed, 'unsent record'))} made by ${esc(previous.email)}. ` +
        'Export them to a file for your organiser, or delete them, before you log in.</p>',
      buttons: [{ label: 'Export them', value: 'export', kind: 'primary' },
        { label: 'Delete them and log in', value: 'delete', kind: 'danger' }, { label: 'Cancel', value: null }],
    });
    if (choice === 'export') { downloadJson(exportFileName(), await buildExport()); continue; }
    if (choice === 'delete') { await db.wipe(); return true; }
    return false;
  }
}

/** Ask the browser not to evict our data under storage pressure. */
export async function requestPersistence() {
  try {
    if (navigator.storage && navigator.storage.persist && !(await navigator.storage.persisted())) {
      return await navigator.storage.persist();
    }
    return navigator.storage && navigator.storage.persisted ? await navigator.storage.persisted() : false;
  } catch (error) {
    return false;
  }
}

/** A wait in words: seconds for the short delays that slow guessing, minutes for an account's lockout. */
function waitFor(seconds) {
  if (!seconds) return 'a while';
  if (seconds < 90) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}
