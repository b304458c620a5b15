// Why: local work kept on paper, in spreadsheets or in a phone's file of unsent records must reach the
// national data. Here the admin uploads a file and sees the CLP's imports (what each added, whether it
// can still be undone); one import's page (import-batch.js) maps its columns and codes, previews,
// commits and undoes it. The file is read and checked on the server; nothing is merged until commit.
import { esc, plural } from '../ui/common.js';
import { api, busy, clearErrors, day, explain, field, isoDay, showErrors } from './common.js';

const STATUS = { uploaded: 'Uploaded: not previewed', previewed: 'Previewed: not committed yet', committed: 'Committed',
  undone: 'Undone' };
const KIND = { sheet: 'Canvass sheet', export: 'Unsent records from a phone' };

function counted(batch) {
  const counts = batch.result && batch.result.counts;
  if (!counts) return '';
  if (batch.status === 'undone') return `${plural(counts.new || 0, 'record')} added, then removed by undo`;
  const verb = batch.status === 'committed' ? 'added' : 'would add';
  return `${plural(counts.new || 0, 'record')} ${verb}`;
}

function batchesTable(batches) {
  if (!batches.length) return '<p class="notice">No imports yet.</p>';
  return `<table class="data"><caption class="visually-hidden">The CLP's imports, newest first</caption>
    <thead><tr><th scope="col">File</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Records</th><th scope="col">Uploaded</th></tr></thead>
    <tbody>${batches.map((b) => `<tr><th scope="row"><a href="#/admin/imports/${b.id}">${esc(b.filename || 'a file')}</a></th>
      <td data-label="Kind">${esc(KIND[b.kind] || b.kind)}</td>
      <td data-label="State">${esc(STATUS[b.status] || b.status)}${b.job && ['queued', 'running'].includes(b.job.status) ? ' (working…)' : ''}</td>
      <td data-label="Records">${esc(counted(b))}</td>
      <td data-label="Uploaded">${esc(day(b.created_at))}</td></tr>`).join('')}</tbody></table>`;
}

async function renderOverview(root, admin) {
  let campaigns = [];
  try { campaigns = await api('GET', '/campaigns'); } catch (error) { /* the upload says what is wrong */ }
  const today = isoDay();
  campaigns = campaigns.filter((c) => c.ends_on >= today && (c.constituency_id == null || c.constituency_id === admin.constituencyId));
  root.innerHTML = `<h1>Imports</h1>
    <p>Bring in canvassing done outside the app: a sheet typed up from paper or kept during an outage
      (CSV or Excel .xlsx), or a volunteer's file of unsent records. You will see what it would add before anything is merged.</p>
    <form class="card" data-upload novalidate><h2>Upload a file</h2>
      ${field({ name: 'file', label: 'File', type: 'file', required: true, hint: 'CSV, .xlsx or a groundwork unsent-records file, up to 50 MB.',
        attrs: 'accept=".csv,.xlsx,.json,text/csv,application/json,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"' })}
      ${campaigns.length > 1 ? field({ name: 'campaign_id', label: 'Campaign the sheet records', options: campaigns.map((c) => [c.id, c.name]) }) : ''}
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn btn-primary" type="submit">Upload and read it</button></form>
    <h2>This CLP's imports</h2><div data-list><p class="muted">Loading…</p></div>`;
  const form = root.querySelector('[data-upload]');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form, async () => {
      clearErrors(form);
      const file = form.elements.file.files[0];
      if (!file) {
        form.querySelector('[data-error-for=file]').textContent = 'Choose the file to upload.';
        return;
      }
      const body = new FormData();
      body.append('file', file, file.name);
      if (form.elements.campaign_id) body.append('campaign_id', form.elements.campaign_id.value);
      if (admin.user.scope.kind !== 'constituency' && admin.constituencyId != null) body.append('constituency_id', String(admin.constituencyId));
      try {
        const batch = await api('POST', '/imports', { body, timeoutMs: 300000 });
        admin.ctx.flash(batch.kind === 'export' ? `${file.name} was read. Preview it to see what it would add.`
          : `${file.name} was read. Check how it is understood, then preview.`);
        admin.go(`#/admin/imports/${batch.id}`);
      } catch (error) {
        showErrors(form, error);
        const reason = error.details && error.details.file;
        if (reason) form.querySelector('[data-error-for=file]').textContent = [].concat(reason).join(' ');
      }
    });
  });
  try {
    const page = await api('GET', '/imports', { query: { per_page: 50 } });
    const batches = (page.items || page).filter((b) => admin.constituencyId == null || b.constituency_id === admin.constituencyId);
    root.querySelector('[data-list]').innerHTML = batchesTable(batches);
  } catch (error) {
    root.querySelector('[data-list]').innerHTML = `<p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
  }
  return null;
}

export async function render(root, admin) {
  const sub = admin.params.sub;
  if (sub && /^\d+$/.test(sub)) {
    const batch = await import('./import-batch.js');
    return batch.render(root, admin, Number(sub));
  }
  return renderOverview(root, admin);
}
