// Why: one import, from upload to merged data, with nothing merged by surprise. For a sheet the admin
// confirms which column is which and what the sheet's own codes mean (unknown codes are asked, never
// guessed); then a preview runs the real import and rolls it back, so its counts are what a commit
// will do; rows the server could not place are the admin's to choose. Commit and undo run as jobs on
// the server with progress shown here; the page can be left and come back to.
import { ask, esc, plural, toast } from '../ui/common.js';
import { api, busy, clearErrors, day, explain, field, formValues, percent, showErrors } from './common.js';

const FIELDS = [['elector_number', 'Elector number'], ['polling_district', 'Polling district'], ['suffix', 'Elector number suffix'],
  ['name', 'Name'], ['surname', 'Surname'], ['forenames', 'Forenames'], ['address', 'Address'], ['house_number', 'House number'],
  ['flat', 'Flat'], ['street', 'Street'], ['postcode', 'Postcode'], ['date', 'Date'], ['canvasser', 'Canvasser'],
  ['outcome', 'Outcome'], ['intention', 'Voting intention'], ['strength', 'Strength'], ['notes', 'Notes']];
const SETS = [['outcome', 'Outcomes', 'outcomes'], ['intention', 'Voting intentions', 'intentions'], ['strength', 'Strengths', 'strengths']];
const LISTS = [['new', 'New records'], ['duplicates', 'Already held (not imported again)'], ['conflicts', 'Disagree with what is held (to the review queue)'],
  ['rejected', 'Rejected rows'], ['choose', 'Rows for you to place'], ['unmatched', 'Nobody on the register matches']];
const RUNNING = new Set(['queued', 'running']);

function columnSelects(batch) {
  const p = batch.proposal || {};
  const headings = p.headings || [];
  const chosen = p.columns || {};
  const survey = Object.keys(chosen).filter((f) => f.startsWith('survey:')).map((f) => [f, `Survey: ${f.slice(7).replace(/_/g, ' ')}`]);
  const options = [['', 'Not in this sheet'], ...headings.map((h, i) => [String(i), h || `Column ${i + 1} (no heading)`])];
  return `<fieldset class="field"><legend>Which column is which</legend>
    <p class="hint">Proposed from the headings${p.saved ? ' and from the last sheet this CLP imported' : ''}. Correct any that are wrong.</p>
    <div class="grid4">${[...FIELDS, ...survey].map(([name, label]) => field({ name: `col:${name}`, label,
      value: chosen[name] && chosen[name].column != null ? String(chosen[name].column) : '', options })).join('')}</div>
    ${(p.missing || []).length ? `<p class="notice notice-warn">${p.missing.map((m) => esc(m.message || m)).join(' ')}</p>` : ''}
    ${(p.notes || []).map((n) => `<p class="small muted">${esc(n)}</p>`).join('')}
    <p class="error" data-error-for="columns"></p></fieldset>`;
}

function codeSelects(batch, campaign) {
  const codes = (batch.proposal && batch.proposal.codes) || {};
  const parts = SETS.map(([set, title, key]) => {
    const seen = codes[set];
    if (!seen || (!seen.known.length && !seen.unknown.length)) return '';
    const options = [['', 'Choose what it means…'], ['skip_row', 'Skip these rows'], ['blank', 'Leave it blank'],
      ...((campaign && campaign[key]) || []).filter((c) => !c.retired).map((c) => [c.code, c.label])];
    const label = (decision) => {
      const code = decision && (decision[set] || decision.outcome || decision.intention || decision.strength);
      const found = ((campaign && campaign[key]) || []).find((c) => c.code === code);
      return found ? found.label : (code || String(decision));
    };
    return `<fieldset class="field"><legend>${esc(title)} in the sheet</legend>
      ${seen.unknown.map((u) => field({ name: `code:${set}:${u.token}`, label: `"${u.token}" (${plural(u.count, 'row')})`, options })).join('')}
      ${seen.known.length ? `<details><summary>${plural(seen.known.length, 'code')} understood</summary><ul class="plain-list">
        ${seen.known.map((k) => `<li class="row"><span>"${esc(k.token)}" means ${esc(label(k.decision))}</span><span class="small muted">${plural(k.count, 'row')}</span></li>`).join('')}</ul></details>` : ''}
    </fieldset>`;
  }).join('');
  return parts ? `<h3>What the sheet's codes mean</h3>${parts}<p class="error" data-error-for="codes"></p>` : '';
}

function headerFields(batch) {
  const h = (batch.settings && batch.settings.header) || {};
  return `<fieldset class="field"><legend>For rows that do not say</legend>
    <div class="grid4">${field({ name: 'hdr:canvasser', label: 'Canvasser', value: h.canvasser || '' })}
      ${field({ name: 'hdr:date', label: 'Date canvassed', type: 'date', value: h.date || '' })}
      ${field({ name: 'hdr:sheet', label: 'Sheet', value: h.sheet || '', hint: 'e.g. "Ward 3, sheet 4"' })}</div>
    <p class="error" data-error-for="header"></p></fieldset>`;
}

function who(c) {
  const name = c.name || c.elector_number || `elector ${c.elector_id}`;
  const why = c.explain || (c.fields || []).map((f) => f.describe || `${f.field} ${f.score ?? ''}`).join(', ');
  return `${esc(name)}${c.address ? ' · ' + esc(c.address) : ''}${why ? ` <span class="small muted">(${esc(why)})</span>` : ''}`;
}

function listTable(key, rows, editable) {
  if (!rows || !rows.length) return '';
  if (key === 'choose' || key === 'unmatched') {
    return `<ul class="plain-list">${rows.map((r) => `<li class="card"><p><strong>Line ${r.line}</strong>${r.reason ? ': ' + esc(r.reason) : ''}</p>
      ${editable ? `<fieldset class="field"><legend class="visually-hidden">Who line ${r.line} is about</legend>
        ${(r.candidates || []).map((c) => `<label class="check"><input type="radio" name="choice:${r.line}" value="${c.elector_id}"> ${who(c)}</label>`).join('')}
        <label class="check"><input type="radio" name="choice:${r.line}" value="skip"> Skip this row</label></fieldset>`
        : (r.candidates || []).map((c) => `<p class="small">${who(c)}</p>`).join('')}</li>`).join('')}</ul>`;
  }
  return `<table class="data"><thead><tr><th scope="col">Line</th><th scope="col">Who</th><th scope="col">What</th></tr></thead>
    <tbody>${rows.map((r) => `<tr><th scope="row">${esc(r.line ?? '')}</th>
      <td data-label="Who">${esc(r.elector_number || r.elector || (r.elector_id ? 'elector ' + r.elector_id : ''))}</td>
      <td data-label="What">${esc(r.reasons ? r.reasons.map((x) => x.message || x).join(' ') : [r.occurred_on, r.outcome, r.intention, r.reason, (r.intentions || []).join(' / ')].filter(Boolean).join(' · '))}</td></tr>`).join('')}</tbody></table>`;
}

function resultView(batch) {
  const r = batch.result;
  if (!r) return '';
  const c = r.counts || {};
  const committed = batch.status === 'committed' || batch.status === 'undone';
  const editable = !committed && batch.status !== 'undone';
  const title = batch.status === 'undone' ? 'Undone: what this import had added was removed'
    : r.action === 'preview' ? 'What committing would do' : 'What was committed';
  return `<section class="card" data-result><h2>${title}</h2>
    <div class="stats">
      <div class="stat"><span class="stat-n">${c.new ?? 0}</span><span>new records</span></div>
      <div class="stat"><span class="stat-n">${c.duplicates ?? 0}</span><span>already held</span></div>
      <div class="stat"><span class="stat-n">${c.conflicts ?? 0}</span><span>to the review queue</span></div>
      <div class="stat"><span class="stat-n">${c.rejected ?? 0}</span><span>rejected rows</span></div>
      <div class="stat"><span class="stat-n">${c.suppressed ?? 0}</span><span>people who objected (never imported)</span></div>
    </div>
    ${c.rows ? `<p>${plural(c.rows, 'row')} read; ${percent((c.new || 0) / c.rows)} new.${c.held ? ` ${plural(c.held, 'record')} held for review (sent after access ended).` : ''}</p>` : ''}
    ${(r.notes || []).map((n) => `<p class="small muted">${esc(n)}</p>`).join('')}
    ${r.lists_truncated ? '<p class="small muted">Long lists show their first entries; the counts are complete.</p>' : ''}
    <form data-choices novalidate>
    ${LISTS.map(([key, title]) => (r[key] && r[key].length ? `<details ${key === 'choose' || key === 'rejected' ? 'open' : ''}><summary>${esc(title)} (${c[key] ?? r[key].length})</summary>${listTable(key, r[key], editable)}</details>` : '')).join('')}
    ${editable && ((r.choose || []).length || (r.unmatched || []).length) ? '<button type="submit" class="btn">Save my choices and preview again</button>' : ''}
    <p class="error" data-form-error tabindex="-1"></p></form></section>`;
}

function jobView(job) {
  if (!job || !RUNNING.has(job.status)) {
    return job && job.status === 'failed' ? `<p class="notice notice-warn" role="alert">The ${esc(job.action)} failed and changed nothing: ${esc((job.error && job.error.message) || 'no reason given')}</p>` : '';
  }
  const what = { preview: 'Previewing', commit: 'Committing', undo: 'Undoing' }[job.action] || 'Working';
  // Jobs run in the scheduler process; one waiting long in the queue means nothing is running them.
  const waiting = job.status === 'queued' && Date.now() - Date.parse(job.created_at) > 20000;
  return `<div class="notice" role="status"><p>${what}${job.stage ? ` (${esc(job.stage)})` : ''}… ${job.total ? `${job.done} of ${job.total} rows` : ''}</p>
    <progress max="${job.total || 1}" value="${job.total ? job.done : 0}" aria-label="${what}"></progress>
    <p class="small muted">This runs on the server: you can leave this page and come back.</p>
    ${waiting ? '<p class="notice notice-warn">It has not started yet: the server\'s scheduler process, which runs imports, may not be running. Tell whoever runs your Groundwork server.</p>' : ''}</div>`;
}

export async function render(root, admin, id) {
  let timer = null;
  let stopped = false;
  async function draw() {
    let batch;
    let campaign = null;
    try {
      batch = await api('GET', `/imports/${id}`);
      if (batch.campaign_id) campaign = await api('GET', `/campaigns/${batch.campaign_id}`).catch(() => null);
    } catch (error) {
      root.innerHTML = `<p><a class="back" href="#/admin/imports">← All imports</a></p><h1>Import</h1>
        <p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
      return;
    }
    const job = batch.job;
    const working = job && RUNNING.has(job.status);
    const open = batch.status === 'uploaded' || batch.status === 'previewed';
    const ex = batch.export;
    root.innerHTML = `<p><a class="back" href="#/admin/imports">← All imports</a></p>
      <h1>${esc(batch.filename || 'Import')}</h1>
      <p>${batch.kind === 'export' ? 'Unsent records from a phone' : 'Canvass sheet'} · uploaded ${esc(day(batch.created_at))}
        ${batch.committed_at ? ` · committed ${esc(day(batch.committed_at))}` : ''}${batch.undone_at ? ` · undone ${esc(day(batch.undone_at))}` : ''}</p>
      ${ex ? `<p class="notice">${esc(ex.user_name || 'A volunteer')}'s phone${ex.device_name ? ` "${esc(ex.device_name)}"` : ''}: ${plural(ex.records || 0, 'record')}. They keep their volunteer, phone and times, and land once even if the phone also sends them.</p>` : ''}
      ${jobView(job)}
      ${batch.kind === 'sheet' && open && !working ? `<details class="card" ${batch.result ? '' : 'open'}><summary>How the sheet is read${batch.result ? ' (change and preview again)' : ''}</summary>
        <form data-mapping novalidate>
        ${columnSelects(batch)}${headerFields(batch)}${codeSelects(batch, campaign)}
        <p class="error" data-form-error tabindex="-1"></p>
        <button type="submit" class="btn btn-primary">Save and preview</button></form></details>` : ''}
      ${batch.kind === 'export' && open && !working ? '<button type="button" class="btn btn-primary" data-preview>Preview</button>' : ''}
      ${resultView(batch)}
      <div class="actions">
        ${batch.status === 'previewed' && !working ? '<button type="button" class="btn btn-primary" data-commit>Commit: merge into the national data</button>' : ''}
        ${batch.status === 'committed' && !working ? '<button type="button" class="btn btn-danger" data-undo>Undo this import</button>' : ''}
      </div>`;
    wire(batch);
    clearTimeout(timer);
    if (working && !stopped) timer = setTimeout(draw, 1000);
  }

  async function start(action, body) {
    try {
      await api('POST', `/imports/${id}/${action}`, body ? { body } : {});
    } catch (error) { toast(explain(error), { ms: 10000 }); }
    draw();
  }

  function wire(batch) {
    const mapping = root.querySelector('[data-mapping]');
    mapping?.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(mapping, async () => {
        clearErrors(mapping);
        const v = formValues(mapping);
        const body = { columns: {}, codes: {}, header: {} };
        for (const [key, value] of Object.entries(v)) {
          const [kind, name, token] = key.split(':');
          if (kind === 'col') body.columns[name] = value === '' ? null : Number(value);
          if (kind === 'hdr' && value) body.header[name] = value;
          if (kind === 'code' && value) (body.codes[name] = body.codes[name] || {})[key.slice(`code:${name}:`.length) || token] = value;
        }
        try {
          await api('PUT', `/imports/${id}/mapping`, { body });
          await start('preview');
        } catch (error) { showErrors(mapping, error); }
      });
    });
    root.querySelector('[data-preview]')?.addEventListener('click', () => start('preview'));
    const choices = root.querySelector('[data-choices]');
    choices?.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(choices, async () => {
        const picked = {};
        for (const [key, value] of Object.entries(formValues(choices))) {
          if (key.startsWith('choice:')) picked[key.slice(7)] = value === 'skip' ? 'skip' : { elector_id: Number(value) };
        }
        try {
          await api('PUT', `/imports/${id}/mapping`, { body: { choices: { ...((batch.settings || {}).choices || {}), ...picked } } });
          await start('preview');
        } catch (error) { showErrors(choices, error); }
      });
    });
    root.querySelector('[data-commit]')?.addEventListener('click', async () => {
      const c = (batch.result && batch.result.counts) || {};
      const yes = await ask({ title: 'Merge this import into the national data?',
        body: `<p>${plural(c.new || 0, 'new record')} will be added${c.conflicts ? ` and ${plural(c.conflicts, 'disagreement')} sent to the review queue` : ''}, all at once. You can undo the whole import later.</p>`,
        buttons: [{ label: 'Commit', value: true, kind: 'primary' }, { label: 'Not yet', value: false }] });
      if (yes) start('commit');
    });
    root.querySelector('[data-undo]')?.addEventListener('click', async () => {
      const yes = await ask({ title: 'Undo this whole import?',
        body: '<p>Exactly what it added is removed, and every elector it touched is as if it never happened. Phones see it at their next sync.</p>',
        buttons: [{ label: 'Undo the import', value: true, kind: 'danger' }, { label: 'Keep it', value: false }] });
      if (yes) start('undo');
    });
  }

  await draw();
  return () => { stopped = true; clearTimeout(timer); };
}
