// Why: what every console screen shares, so each section module is only about its own job. The
// console needs the server (it edits the national data), so: one way to call the API with the
// login's token, errors shown beside the field the server named, a plain offline notice, and drafts
// kept in the app's local store so that nothing typed is lost to a dropped connection or a reload.
import * as db from '../db.js';
import { refresh as refreshAccess } from '../access.js';
import { ApiError, NetworkError, call } from '../api.js';
import { esc } from '../ui/common.js';

/** The logged-in user may do this (the server's permission names, as /me lists them). */
export function can(user, permission) {
  return !!(user && (user.permissions || []).includes(permission));
}

/**
 * Call the API as the logged-in user. A login the server no longer accepts sends the user to log in
 * again (their drafts stay); every other failure is thrown for the screen to show.
 */
export async function api(method, path, options = {}) {
  const { token } = await db.session();
  try {
    return await call(method, path, { ...options, token });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      await db.setMeta({ authProblem: { code: error.code, message: error.message } });
      location.hash = '#/login';
    }
    // The CLP's access was suspended since this screen was drawn: the banner says since when and why.
    if (error instanceof ApiError && error.code === 'access_suspended') refreshAccess({ force: true });
    throw error;
  }
}

/** A failure in words a person can act on. */
export function explain(error) {
  if (error instanceof NetworkError) {
    return 'There is no connection to the server, so nothing was changed. What you typed is kept here: ' +
      'try again when you are back online.';
  }
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong in the app: ' + (error && error.message ? error.message : String(error));
}

function messagesOf(value) {
  if (value == null) return [];
  if (Array.isArray(value)) return value.flatMap(messagesOf);
  if (typeof value === 'object') return Object.values(value).flatMap(messagesOf);
  return [String(value)];
}

/**
 * Show an API failure on a form: each field the server named gets its message beside it (and
 * aria-invalid), the rest goes in the form's [data-form-error] line. Returns the summary shown.
 */
export function showErrors(form, error) {
  clearErrors(form);
  const summary = form.querySelector('[data-form-error]');
  const details = error instanceof ApiError && error.details && typeof error.details === 'object' ? error.details : {};
  const unplaced = [];
  // A 422 names each field with its messages; a 409 names the field with the value that clashed, so the
  // message beside it is the conflict's own.
  const clash = error instanceof ApiError && error.status === 409;
  for (const [field, value] of Object.entries(details)) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
    if (clash && !slot) continue;
    const text = clash ? error.message : messagesOf(value).join(' ');
    if (slot) {
      slot.textContent = text;
      const input = form.querySelector(`[name="${CSS.escape(field)}"]`);
      if (input) input.setAttribute('aria-invalid', 'true');
    } else {
      unplaced.push(`${field.replace(/_/g, ' ')}: ${text}`);
    }
  }
  const text = [explain(error), ...unplaced].join(' ');
  if (summary) {
    summary.textContent = text;
    summary.focus?.();
  }
  return text;
}

export function clearErrors(form) {
  form.querySelectorAll('[data-error-for], [data-form-error]').forEach((el) => { el.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
}

/** A labelled field with its hint and its error line, the same everywhere. */
export function field({ name, label, type = 'text', value = '', hint = '', required = false, attrs = '', options = null }) {
  const id = `f-${name}`;
  const described = `${id}-hint ${id}-error`;
  let control;
  if (options) {
    control = `<select id="${id}" name="${esc(name)}" aria-describedby="${described}" ${required ? 'required' : ''} ${attrs}>` +
      options.map(([v, text]) => `<option value="${esc(v)}" ${String(v) === String(value) ? 'selected' : ''}>${esc(text)}</option>`).join('') +
      '</select>';
  } else if (type === 'textarea') {
    control = `<textarea id="${id}" name="${esc(name)}" aria-describedby="${described}" ${required ? 'required' : ''} ${attrs}>${esc(value)}</textarea>`;
  } else {
    control = `<input id="${id}" name="${esc(name)}" type="${type}" value="${esc(value)}" aria-describedby="${described}" ` +
      `${required ? 'required' : ''} ${attrs}>`;
  }
  return `<div class="field"><label for="${id}">${esc(label)}</label>` +
    `<p class="hint" id="${id}-hint">${esc(hint)}</p>${control}` +
    `<p class="error" id="${id}-error" data-error-for="${esc(name)}"></p></div>`;
}

/** The plain values of a form's named controls (checkboxes as true/false, multi-selects as arrays). */
export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === 'checkbox') {
      if (el.dataset.many !== undefined) {
        out[el.name] = out[el.name] || [];
        if (el.checked) out[el.name].push(el.value);
      } else {
        out[el.name] = el.checked;
      }
    } else if (el.type === 'radio') {
      if (el.checked) out[el.name] = el.value;
    } else if (el.multiple) {
      out[el.name] = [...el.selectedOptions].map((o) => o.value);
    } else {
      out[el.name] = el.value;
    }
  }
  return out;
}

function restoreValues(form, values) {
  for (const el of form.elements) {
    if (!el.name || !(el.name in values)) continue;
    const value = values[el.name];
    if (el.type === 'checkbox') el.checked = Array.isArray(value) ? value.includes(el.value) : !!value;
    else if (el.type === 'radio') el.checked = el.value === value;
    else if (el.multiple) [...el.options].forEach((o) => { o.selected = (value || []).includes(o.value); });
    else el.value = value;
  }
}

/** Put a kept draft's values back into controls drawn since (a list of streets fetched later, say). */
export async function reapplyDraft(form, key) {
  const metaKey = 'draft:' + key;
  const saved = (await db.getMeta([metaKey]))[metaKey];
  if (saved && saved.values) restoreValues(form, saved.values);
}

/**
 * Keep what is typed in a form in the local store as it is typed, and put it back when the form is
 * drawn again (after a reload, a lost connection, or a visit to another section). Returns a function
 * that forgets the draft, to call once the server has taken the form.
 */
export async function keepDraft(form, key) {
  const metaKey = 'draft:' + key;
  const saved = (await db.getMeta([metaKey]))[metaKey];
  if (saved && saved.values) {
    restoreValues(form, saved.values);
    const note = form.querySelector('[data-draft-note]');
    if (note) note.hidden = false;
  }
  let timer = null;
  const save = () => {
    clearTimeout(timer);
    timer = setTimeout(() => db.setMeta({ [metaKey]: { values: formValues(form), at: new Date().toISOString() } }), 250);
  };
  form.addEventListener('input', save);
  form.addEventListener('change', save);
  return async () => {
    clearTimeout(timer);
    form.removeEventListener('input', save);
    form.removeEventListener('change', save);
    await db.setMeta({ [metaKey]: undefined });
  };
}

/** Disable a form's submit button while a request is out, so one click makes one change. */
export async function busy(form, work) {
  const button = form.querySelector('[type=submit]');
  if (button) button.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    if (button) button.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

/** A day as "Sat 5 Dec 2026"; a date-time's day likewise. */
export function day(iso) {
  if (!iso) return '';
  const d = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? new Date(iso + 'T12:00:00') : new Date(iso);
  return d.toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
}

/** yyyy-mm-dd of a Date in local time, for <input type=date>. */
export function isoDay(d = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A share as "43%", or a dash when there is nothing to divide. */
export function percent(share) {
  return share == null ? '–' : `${Math.round(share * 100)}%`;
}

/** A datetime-local value ("2026-11-21T18:30") as ISO 8601 with this device's offset ("…T18:30:00+00:00"). */
export function isoWithOffset(local) {
  if (!local) return null;
  const d = new Date(local);
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return `${isoDay(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}:00${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

/** The fields for a list's session: when the volunteers meet (datetime-local) and where. */
export function sessionFields(sessionLocal = '', place = '') {
  return `<fieldset class="field"><legend>When and where the volunteers meet (optional)</legend>
    <p class="hint">It shows on their list, on their phones.</p>
    <div class="grid2">
      ${field({ name: 'session_at', label: 'Session time', type: 'datetime-local', value: sessionLocal, hint: 'Before the list ends.' })}
      ${field({ name: 'meeting_place', label: 'Meeting place', value: place, attrs: 'maxlength="200"', hint: 'For example, Ashworth Vale Labour Hall' })}
    </div></fieldset>`;
}
