// Why: new members reach their CLP the day the national or regional office exports them. The officer uploads
// the export for a CLP or the whole region; Groundwork first checks it and says what it would change (a dry
// run writes nothing), and only then loads it, all or nothing. Bad rows are listed by line and column, in
// words, and never repeat a member's details.
import { esc, plural } from '../ui/common.js';
import { api, busy, clearErrors, explain, field, formValues, showErrors } from './common.js';

function summaryHtml(s) {
  const left = s.left.lapsed + s.left.resigned;
  return `<ul>
      <li>${plural(s.rows, 'row')} read: <strong>${s.added} new</strong>, ${s.updated} updated${s.moved ? ` (${s.moved} moved CLP)` : ''},
        ${s.unchanged} unchanged.</li>
      ${left ? `<li>${s.left.lapsed} lapsed and ${s.left.resigned} resigned this time (kept, marked, never deleted).</li>` : ''}
      ${s.skipped_erased ? `<li>${plural(s.skipped_erased, 'erased member')} skipped: nothing about them is loaded.</li>` : ''}
      ${s.not_in_file ? `<li>${plural(s.not_in_file, 'member')} already held ${s.not_in_file === 1 ? 'is' : 'are'} not in this file (${s.not_in_file_current} still current): left as they are.</li>` : ''}
      ${s.ignored_columns.length ? `<li>Columns not read: ${s.ignored_columns.map(esc).join(', ')}.</li>` : ''}
    </ul>
    ${s.by_constituency.length > 1 ? `<table class="data"><caption class="visually-hidden">By CLP</caption>
      <thead><tr><th scope="col">CLP</th><th scope="col">New</th><th scope="col">Updated</th><th scope="col">Unchanged</th></tr></thead>
      <tbody>${s.by_constituency.map((c) => `<tr><th scope="row">${esc(c.name)}</th><td data-label="New">${c.added}</td>
        <td data-label="Updated">${c.updated}</td><td data-label="Unchanged">${c.unchanged}</td></tr>`).join('')}</tbody></table>` : ''}
    ${s.warnings.length ? `<details><summary>${plural(s.warnings_total, 'thing')} to check</summary><ul>${s.warnings.map((w) =>
      `<li>Line ${w.line}: ${esc(w.message)}</li>`).join('')}</ul></details>` : ''}
    ${s.notes.length ? `<details><summary>How the file was read</summary><ul>${s.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></details>` : ''}`;
}

function problemsHtml(error) {
  const d = error.details || {};
  if (!Array.isArray(d.rows)) return `<p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
  return `<div class="notice notice-warn" role="alert"><p><strong>Nothing was loaded.</strong> ${plural(d.errors, 'problem')}
      on ${plural(d.rejected, 'row')} of ${d.rows_read}; fix them in the file and upload it again.</p>
    <ul>${d.rows.map((r) => `<li>Line ${r.line}: ${esc(r.message)}</li>`).join('')}</ul>
    ${d.errors > d.rows.length ? `<p>…and ${d.errors - d.rows.length} more.</p>` : ''}</div>`;
}

export async function render(root, admin) {
  let clps;
  let regions;
  try {
    [clps, regions] = await Promise.all([api('GET', '/constituencies'), api('GET', '/regions')]);
  } catch (error) {
    root.innerHTML = `<h1>Membership list</h1><p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
    return null;
  }
  clps.sort((a, b) => a.name.localeCompare(b.name));
  const scopes = [...regions.map((r) => [`region:${r.id}`, `The whole ${r.name} region`]),
    ...clps.map((c) => [`constituency:${c.id}`, c.name])];
  root.innerHTML = `<h1>Membership list</h1>
    <p>Load the membership export (CSV or Excel) for a CLP or your whole region. Members are matched by membership
      number and updated in place; nobody is deleted. Each CLP's membership secretary is told the next morning how
      many new members arrived.</p>
    <form class="card" data-upload novalidate>
      <div class="grid2">${field({ name: 'scope', label: 'The file is for', options: scopes })}
        ${field({ name: 'file', label: 'The export (.csv or .xlsx)', type: 'file', required: true, attrs: 'accept=".csv,.xlsx,text/csv"' })}</div>
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn btn-primary" type="submit">Check the file</button>
    </form>
    <div data-outcome aria-live="polite"></div>`;
  const form = root.querySelector('[data-upload]');
  const outcome = root.querySelector('[data-outcome]');

  // What is loaded is what was checked: the file and scope are taken once, at the check, and choosing
  // another file or scope afterwards withdraws the summary and its offer to load.
  const send = ({ scope, file }, dryRun) => {
    const [kind, id] = scope.split(':');
    const body = new FormData();
    body.append('file', file);
    body.append(kind === 'region' ? 'region_id' : 'constituency_id', id);
    body.append('dry_run', dryRun ? 'true' : 'false');
    return api('POST', '/member-imports', { body, timeoutMs: 120000 });
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form, async () => {
      clearErrors(form);
      outcome.replaceChildren();
      if (!form.elements.file.files.length) {
        form.querySelector('[data-error-for=file]').textContent = 'Choose the file to load.';
        return;
      }
      const picked = { scope: formValues(form).scope, file: form.elements.file.files[0] };
      try {
        const checked = await send(picked, true);
        outcome.innerHTML = `<section class="card"><h2>What loading it would do</h2>${summaryHtml(checked)}
          <p class="small muted">Nothing has been written yet.</p>
          <div class="actions"><button type="button" class="btn btn-primary" data-load>Load ${plural(checked.rows, 'member')}</button></div></section>`;
        outcome.querySelector('[data-load]').addEventListener('click', (click) => {
          const button = click.target;
          button.disabled = true;
          send(picked, false).then((loaded) => {
            outcome.innerHTML = `<section class="card notice-ok" role="status" tabindex="-1"><h2>Loaded</h2>${summaryHtml(loaded)}</section>`;
            outcome.querySelector('section').focus();
          }).catch((error) => {
            button.disabled = false;
            outcome.insertAdjacentHTML('beforeend', problemsHtml(error));
          });
        });
        outcome.querySelector('[data-load]').focus();
      } catch (error) {
        if (error.details && Array.isArray(error.details.rows)) outcome.innerHTML = problemsHtml(error);
        else showErrors(form, error);
      }
    });
  });
  form.addEventListener('change', () => outcome.replaceChildren());
  if (admin.user.scope.kind === 'region') form.elements.scope.value = `region:${admin.user.scope.region_id}`;
  return null;
}
