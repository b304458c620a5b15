// Why: a record on a phone that never syncs is lost with the phone. Each phone reports its unsent work when
// it syncs, so organisers can see, per CLP, which phones hold records that have not reached the party and
// chase the ones not seen for days (at risk) first. Names are shown to the CLP's own admins (and national
// admins) only: the server leaves them out for regional staff.
import { esc, plural, roleName } from '../ui/common.js';
import { api } from './common.js';
import { csvButton, downloadCsv, failure, moment, scroller } from './monitoring-common.js';

function groups(report) {
  const byClp = new Map(report.constituencies.map((c) => [c.constituency_id, { ...c, devices: [] }]));
  const loose = { constituency_id: null, constituency_name: 'Not in a CLP', devices: [] };
  for (const d of report.devices) (byClp.get(d.constituency_id) || loose).devices.push(d);
  return [...byClp.values(), ...(loose.devices.length ? [loose] : [])];
}

function who(d) {
  return d.volunteer_name ? `${esc(d.volunteer_name)}<br><span class="small muted">${esc(roleName(d.role))}</span>`
    : `<span class="muted">a ${esc(roleName(d.role))}</span>`;
}

function deviceRows(devices) {
  return devices.map((d) => `<tr data-device="${esc(d.device_id)}"${d.at_risk ? ' class="at-risk"' : ''}>
    <th scope="row">${who(d)}</th>
    <td>${d.device_name ? esc(d.device_name) : '<span class="muted">–</span>'}</td>
    <td class="nowrap">${esc(moment(d.last_seen_at))}<br><span class="small">${d.at_risk
      ? `<span class="badge badge-warn">At risk: not seen for ${esc(plural(d.days_silent, 'day'))}</span>`
      : d.days_silent ? esc(plural(d.days_silent, 'day')) + ' ago' : 'today'}</span></td>
    <td class="n" data-unsent>${d.unsent.toLocaleString('en-GB')}</td>
    <td class="nowrap">${esc(moment(d.oldest_unsent_at))}</td>
    <td>${d.app_version ? esc(d.app_version) : '<span class="muted">not reported</span>'}${d.revoked_at ? '<br><span class="small text-bad">logged out by an admin</span>' : ''}</td>
  </tr>`).join('');
}

/** Draw the phones holding unsent work into `box`; resolves with the report (null if it failed). */
export async function renderPhones(box) {
  box.innerHTML = '<h2 id="phones-heading">Phones with unsent work</h2><p class="muted">Loading…</p>';
  let report;
  try {
    report = await api('GET', '/sync-health');
  } catch (error) {
    box.innerHTML = `<h2 id="phones-heading">Phones with unsent work</h2>${failure(error)}`;
    return null;
  }
  const names = report.devices.some((d) => d.volunteer_name);
  const hidden = report.devices.length && !names;
  const intro = `<p class="small muted">From what each phone last reported when it synced (checked ${esc(moment(report.generated_at))}).
    A phone not seen for ${esc(plural(report.stale_days, 'day'))} or more is <strong>at risk</strong>: its records exist on it
    alone until it syncs. At-risk phones are listed first.${hidden ? ' Volunteers\' and phones\' names are shown to their CLP\'s admins only.' : ''}</p>`;
  if (!report.devices.length) {
    box.innerHTML = `<h2 id="phones-heading">Phones with unsent work</h2>${intro}
      <p class="notice" data-no-phones>No phone in your area holds unsent work: everything recorded has reached the party.</p>`;
    return report;
  }
  const clps = groups(report);
  box.innerHTML = `<h2 id="phones-heading">Phones with unsent work</h2>${intro}
    ${clps.map((c) => `<section class="phones-clp" data-clp-phones="${esc(c.constituency_id ?? '')}">
      <h3>${esc(c.constituency_name)}</h3>
      <p class="small">${esc(plural(c.devices.length, 'phone'))} holding ${esc(plural(c.devices.reduce((n, d) => n + d.unsent, 0), 'unsent record'))}${
        c.devices_at_risk ? `; <strong>${esc(plural(c.devices_at_risk, 'phone'))} at risk with ${esc(plural(c.records_at_risk, 'record'))}</strong>` : ''}.</p>
      ${scroller(`Phones with unsent work in ${c.constituency_name}`, `<table class="numbers-table phones-table" data-table="phones">
        <caption class="visually-hidden">Phones with unsent work in ${esc(c.constituency_name)}, at risk first</caption>
        <thead><tr><th scope="col">Volunteer</th><th scope="col">Phone</th><th scope="col">Last seen</th>
          <th scope="col" class="n">Unsent records</th><th scope="col">Oldest unsent record made</th><th scope="col">App version</th></tr></thead>
        <tbody>${deviceRows(c.devices)}</tbody></table>`)}
    </section>`).join('')}
    ${csvButton('sync-health', 'the phones with unsent work')}`;
  box.querySelector('[data-csv]').addEventListener('click', (event) => downloadCsv(event.currentTarget, { table: 'sync-health' }));
  return report;
}

/** One line for the top of the dashboard when phones are at risk, with a button to the list. */
export function riskLine(report) {
  const risky = (report?.devices || []).filter((d) => d.at_risk);
  if (!risky.length) return '';
  const records = risky.reduce((n, d) => n + d.unsent, 0);
  return `<p class="notice notice-warn notice-row" data-phones-at-risk><span>${esc(plural(risky.length, 'phone'))} holding
    ${esc(plural(records, 'unsent record'))} ${risky.length === 1 ? 'has' : 'have'} not been seen for ${esc(plural(report.stale_days, 'day'))} or more.</span>
    <button type="button" class="btn btn-small" data-show-phones>See the phones</button></p>`;
}
