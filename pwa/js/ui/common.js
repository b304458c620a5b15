// Why: the small pieces every screen shares (escaping text into HTML, the toast, a confirm dialog,
// times in plain words, saving a file) so that each screen module is only about its own job.

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for HTML. Every value from the server or the user goes through this. */
export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const ROLE_NAMES = { canvasser: 'canvasser', phone_banker: 'phone banker', clp_admin: 'CLP admin',
  national_admin: 'national admin', membership_secretary: 'membership secretary', regional_staff: 'regional staff' };

/** A role in words ("membership secretary"), never its code. */
export function roleName(role) {
  return ROLE_NAMES[role] || 'a role without a name';
}

export function plural(n, one, many = one + 's') {
  return `${n.toLocaleString('en-GB')} ${n === 1 ? one : many}`;
}

/** "10:42", "yesterday 18:05" or "3 Dec 18:05", in the phone's time zone. */
export function when(iso) {
  if (!iso) return 'never';
  const d = new Date(iso);
  const now = new Date();
  const time = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
  const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const diff = Math.round((day(now) - day(d)) / 86400000);
  if (diff === 0) return `today ${time}`;
  if (diff === 1) return `yesterday ${time}`;
  return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' }) + ' ' + time;
}

export function ago(iso) {
  if (!iso) return '';
  const minutes = Math.round((Date.now() - Date.parse(iso)) / 60000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return plural(hours, 'hour') + ' ago';
  return plural(Math.round(hours / 24), 'day') + ' ago';
}

let toastTimer = null;

/** A short message at the bottom of the screen (announced to screen readers), with an optional action. */
export function toast(message, { action = null, onAction = null, ms = 6000 } = {}) {
  const region = document.getElementById('toast');
  clearTimeout(toastTimer);
  region.innerHTML = `<div class="toast"><span class="toast-text">${esc(message)}</span>` +
    (action ? `<button type="button" class="btn btn-small btn-inverse" data-toast-action>${esc(action)}</button>` : '') + '</div>';
  if (action) {
    region.querySelector('[data-toast-action]').addEventListener('click', () => {
      hideToast();
      onAction();
    }, { once: true });
  }
  toastTimer = setTimeout(hideToast, ms);
}

/** Tell screen-reader users something the screen already shows (no visible toast in the way). */
export function announce(message) {
  const region = document.getElementById('toast');
  clearTimeout(toastTimer);
  region.innerHTML = `<span class="visually-hidden">${esc(message)}</span>`;
  toastTimer = setTimeout(hideToast, 6000);
}

export function hideToast() {
  clearTimeout(toastTimer);
  document.getElementById('toast').replaceChildren();
}

/**
 * A modal question. buttons: [{label, value, kind}]; resolves with the chosen value (null if dismissed).
 * Uses <dialog>, which keeps focus inside it and closes on Escape.
 */
export function ask({ title, body, buttons }) {
  return new Promise((resolve) => {
    const dialog = document.createElement('dialog');
    dialog.className = 'dialog';
    dialog.setAttribute('aria-labelledby', 'dialog-title');
    dialog.innerHTML = `<h2 id="dialog-title">${esc(title)}</h2><div class="dialog-body">${body}</div>` +
      '<div class="stack">' + buttons.map((b, i) =>
        `<button type="button" class="btn ${b.kind ? 'btn-' + b.kind : ''}" data-i="${i}">${esc(b.label)}</button>`).join('') +
      '</div>';
    let result = null;
    dialog.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-i]');
      if (!button) return;
      result = buttons[Number(button.dataset.i)].value;
      dialog.close();
    });
    dialog.addEventListener('close', () => { dialog.remove(); resolve(result); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Offer a JSON document as a file download. */
export function downloadJson(filename, data) {
  downloadBlob(filename, new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
}

/** Offer a file the app holds (a download from the server, say) to be saved. */
export function downloadBlob(filename, blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Move focus to a screen's heading so screen readers announce the new screen. */
export function focusHeading(root) {
  const h = root.querySelector('h1');
  if (h) {
    h.setAttribute('tabindex', '-1');
    h.focus({ preventScroll: true });
  }
}

const UK = 'Europe/London';
const ukDay = (d) => d.toLocaleDateString('en-CA', { timeZone: UK }); // YYYY-MM-DD, on the UK's calendar

/** When a session meets, in UK time: "Tonight 18:30", "Tomorrow 10:00", "Sat 21 Nov 10:00". */
export function sessionWhen(iso, now = new Date()) {
  const d = new Date(iso);
  const time = d.toLocaleTimeString('en-GB', { timeZone: UK, hour: '2-digit', minute: '2-digit' });
  const hour = Number(d.toLocaleTimeString('en-GB', { timeZone: UK, hour: '2-digit', hour12: false }));
  if (ukDay(d) === ukDay(now)) return `${hour >= 17 ? 'Tonight' : 'Today'} ${time}`;
  if (ukDay(d) === ukDay(new Date(now.getTime() + 86400000))) return `Tomorrow ${time}`;
  return `${d.toLocaleDateString('en-GB', { timeZone: UK, weekday: 'short', day: 'numeric', month: 'short' })} ${time}`;
}

/** A list's session in words ("Tonight 18:30 at Ashworth Vale Labour Hall"), or '' when it has none. */
export function sessionLine(list) {
  if (!list || (!list.session_at && !list.meeting_place)) return '';
  if (!list.session_at) return `Meet at ${list.meeting_place}`;
  return sessionWhen(list.session_at) + (list.meeting_place ? ` at ${list.meeting_place}` : '');
}
