// Why: pushes, rollups, imports and retention all run in the scheduler process; if it stops, nothing says so
// by itself. National admins see its heartbeat and each job's last run here, and a stopped scheduler is an
// alert: on this screen and at the top of their dashboard.
import { esc } from '../ui/common.js';
import { api } from './common.js';
import { failure, moment } from './monitoring-common.js';

const STATUS = { ok: 'Done', failed: 'Failed', running: 'Running', fenced: 'Stopped: lost the lease (its unfinished work rolled back)' };

function clock(iso) {
  return new Date(iso).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
}

/** "12 s ago", "3 min ago", "2 h ago", measured on the server's clock (its `now`), never the browser's. */
function since(iso, now) {
  const s = Math.max(0, Math.round((Date.parse(now) - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/** The red banner for a stopped scheduler (or one never started), or '' while it runs. */
export function schedulerAlert(report) {
  if (!report || report.status === 'running') return '';
  const beat = report.lease && report.lease.heartbeat_at;
  const head = report.status === 'never_started'
    ? 'The scheduler has never started.'
    : `The scheduler has stopped: no heartbeat since ${beat ? esc(new Date(beat).toDateString() === new Date().toDateString() ? clock(beat) : moment(beat)) : 'it last ran'}.`;
  return `<div class="notice notice-bad" role="alert" data-scheduler-alert>
    <p><strong>${head}</strong> Pushes, rollups, imports and retention are not running.</p>
    <p class="small">Start it with <code>python -m server.jobs.scheduler</code> on the server.</p>
  </div>`;
}

/** Put the alert in `box` if the scheduler is not running (for the dashboard); quiet on any failure. */
export async function showSchedulerAlert(box) {
  try {
    box.innerHTML = schedulerAlert(await api('GET', '/system/scheduler'));
  } catch (error) { /* the System screen says what is wrong */ }
}

function heartbeatHtml(report) {
  const lease = report.lease;
  if (report.status === 'running' && lease) {
    return `<p class="big" data-heartbeat><span class="badge badge-ok">Running</span> Scheduler running on
      <strong>${esc(lease.owner || 'an unnamed host')}</strong>, last heartbeat ${esc(since(lease.heartbeat_at, report.now))}.</p>
      <p class="small muted">Holding the lease since ${esc(moment(lease.acquired_at))} (fence ${esc(lease.fence)}); it lapses
        ${esc(moment(lease.expires_at))} unless renewed.</p>`;
  }
  if (lease && lease.heartbeat_at) {
    return `<p data-heartbeat>Last heartbeat ${esc(since(lease.heartbeat_at, report.now))} (${esc(moment(lease.heartbeat_at))}),
      from ${esc(lease.owner || 'an unnamed host')}.</p>`;
  }
  return '<p data-heartbeat>No scheduler has ever held the lease on this database.</p>';
}

function changed(result) {
  if (!result || typeof result !== 'object') return '<span class="muted">–</span>';
  const parts = Object.entries(result).filter(([, v]) => v != null && typeof v !== 'object')
    .map(([k, v]) => `${esc(k.replace(/_/g, ' '))}: ${esc(typeof v === 'number' ? v.toLocaleString('en-GB') : v)}`);
  return parts.length ? parts.join('<br>') : '<span class="muted">nothing</span>';
}

function jobsTable(jobs, now) {
  return `<table class="data jobs-table" data-jobs>
    <caption class="visually-hidden">Scheduled jobs and their last runs</caption>
    <thead><tr><th scope="col">Job</th><th scope="col">Schedule</th><th scope="col">Last run</th><th scope="col">Status</th>
      <th scope="col">What it changed</th><th scope="col">Error</th></tr></thead>
    <tbody>${jobs.map((j) => {
      const run = j.last_run;
      return `<tr data-job="${esc(j.name)}"${run && run.status === 'failed' ? ' class="at-risk"' : ''}>
        <th scope="row">${esc(j.name)}</th>
        <td data-label="Schedule">${esc(j.schedule || '')}</td>
        <td data-label="Last run" class="nowrap">${run ? `${esc(moment(run.started_at))}<br><span class="small muted">${esc(since(run.started_at, now))}</span>` : '<span class="muted">never</span>'}</td>
        <td data-label="Status">${run ? (run.status === 'failed' ? `<span class="text-bad"><strong>${esc(STATUS.failed)}</strong></span>` : esc(STATUS[run.status] || run.status)) : '–'}</td>
        <td data-label="What it changed" class="small">${run ? changed(run.result) : '–'}</td>
        <td data-label="Error" class="small">${run && run.error ? `<span class="text-bad">${esc(run.error)}</span>` : '<span class="muted">–</span>'}</td></tr>`;
    }).join('')}</tbody></table>`;
}

export async function render(root) {
  root.innerHTML = `<h1>System</h1><div data-scheduler aria-live="polite"><p class="muted">Loading…</p></div>
    <p><button type="button" class="btn btn-small" data-refresh>Check again</button></p>`;
  const box = root.querySelector('[data-scheduler]');
  async function draw() {
    let report;
    try {
      report = await api('GET', '/system/scheduler');
    } catch (error) {
      box.innerHTML = failure(error);
      return;
    }
    box.innerHTML = `${schedulerAlert(report)}
      <section class="card" aria-labelledby="heartbeat-title"><h2 id="heartbeat-title">Scheduler</h2>${heartbeatHtml(report)}
        <p class="small muted">Checked ${esc(moment(report.now))}.</p></section>
      <h2>Jobs</h2>
      ${(report.jobs || []).length ? jobsTable(report.jobs, report.now) : '<p class="muted">No jobs are registered.</p>'}`;
  }
  root.querySelector('[data-refresh]').addEventListener('click', draw);
  await draw();
  const timer = setInterval(() => { if (document.visibilityState === 'visible') draw(); }, 30000);
  return () => clearInterval(timer);
}
