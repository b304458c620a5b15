// Why: the dashboard, a seat's comparison and the phones with unsent work share their words and their
// downloads: a contact rate is always written the same way (with why there is none), every comparison
// in the same plain terms, and every table's CSV comes from the server (neutralised and audited there).
import { downloadBlob, esc, toast } from '../ui/common.js';
import { api, explain } from './common.js';

/** A rate (a fraction) as "3.7%"; a dash when there is none. */
export function pct(rate) {
  return rate == null ? '–' : `${(rate * 100).toLocaleString('en-GB', { minimumFractionDigits: 1, maximumFractionDigits: 1 })}%`;
}

export function count(n) {
  return (n ?? 0).toLocaleString('en-GB');
}

/** Why a unit has no rate, in words (`brief` for a narrow column). */
export function noRate(note, minCount, brief = false) {
  if (note === 'no_register') return 'no register loaded';
  if (note === 'too_few') return brief ? 'too few to rate' : `too few to rate (fewer than ${minCount} reached)`;
  return 'no rate';
}

/** The rate, or why there is none (as HTML). */
export function rateCell(rate, note, minCount, brief = false) {
  return rate == null ? `<span class="muted small">${esc(noRate(note, minCount, brief))}</span>` : esc(pct(rate));
}

export const AGAINST_PEERS = {
  above: 'above the middle half', within: 'within the middle half', below: 'below the middle half',
};
export const AGAINST_REGION = { above: 'above it', level: 'level with it', below: 'below it' };
const NO_COMPARISON = {
  no_rate: 'no rate to compare',
  no_profile: 'no profile loaded for this seat',
  too_few_peers: 'fewer than 3 similar seats have a rate',
};

export function noComparison(reason) {
  return NO_COMPARISON[reason] || 'no comparison';
}

/** "60th" */
export function ordinal(n) {
  const r = Math.round(n);
  const tens = r % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : { 1: 'st', 2: 'nd', 3: 'rd' }[r % 10] || 'th';
  return `${r}${suffix}`;
}

/** A day (yyyy-mm-dd, or a Monday of the API's weeks) as "2 Nov 2026". */
export function longDay(iso) {
  if (!iso) return '';
  const d = new Date(String(iso).slice(0, 10) + 'T12:00:00Z');
  return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
}

/** A date-time as "Sun 29 Nov 2026, 07:54" in the user's time zone. */
export function moment(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return d.toLocaleString('en-GB', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric',
    hour: '2-digit', minute: '2-digit' });
}

/** A "Download CSV" button for one of the dashboard's tables (its accessible name says which). */
export function csvButton(table, what) {
  return `<p class="csv-line"><button type="button" class="btn btn-small" data-csv="${esc(table)}">Download CSV` +
    `<span class="visually-hidden"> of ${esc(what)}</span></button></p>`;
}

/** Download a table as the server writes it (POST /activity/export); the server records the download. */
export async function downloadCsv(button, body) {
  button.disabled = true;
  try {
    const { blob, filename } = await api('POST', '/activity/export', { body, file: true });
    downloadBlob(filename, blob);
    toast('Downloaded. The download was recorded in the audit log.');
  } catch (error) {
    toast(explain(error), { ms: 10000 });
  } finally {
    button.disabled = false;
  }
}

/** A table that scrolls sideways inside its own box on a narrow screen (the page itself never does). */
export function scroller(label, tableHtml) {
  return `<div class="table-scroll" role="region" tabindex="0" aria-label="${esc(label)}">${tableHtml}</div>`;
}

/** A failure as a notice: the server's message for a 4xx, with what to do about a 404. */
export function failure(error, backHref = null) {
  const outside = error && error.status === 404
    ? ' It may be outside the area you look after: the dashboard shows your own area only.' : '';
  return `<p class="notice notice-warn" role="alert">${esc(explain(error))}${esc(outside)}</p>` +
    (backHref ? `<p><a class="btn btn-small" href="${esc(backHref)}">Back to your dashboard</a></p>` : '');
}
