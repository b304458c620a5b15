// Why: a CLP shapes its own campaign: the outcomes, intentions and strengths volunteers tap, the survey
// questions they ask and the phone script they read. A national campaign is the nation's, so a CLP
// starts a local drive based on it and edits that. A code already used by records is retired, never
// deleted: phones stop offering it at their next sync, and old records keep it.
import { ApiError } from '../api.js';
import { ask, esc, toast } from '../ui/common.js';
import { api, busy, clearErrors, day, explain, field, formValues, isoDay, keepDraft, showErrors } from './common.js';

const SETS = [['outcome', 'Outcomes'], ['intention', 'Intentions'], ['strength', 'Strengths']];
const SET_KEY = { outcome: 'outcomes', intention: 'intentions', strength: 'strengths' };
const MEANINGS = [['spoke', 'Spoke to them'], ['not_home', 'Not home'], ['no_answer', 'No answer'], ['voicemail', 'Voicemail'],
  ['refused', 'Refused'], ['moved', 'Moved away'], ['deceased', 'Deceased'], ['wrong_number', 'Wrong number'],
  ['inaccessible', 'Could not get to the door']];
const KINDS = [['choice', 'One choice'], ['multi_choice', 'Several choices'], ['yes_no', 'Yes or no'], ['scale', 'A scale'], ['text', 'Free text']];
const CHANNELS = { door: 'doors', phone: 'calls' };

function editable(admin, campaign) {
  return campaign.constituency_id != null || admin.user.scope.kind === 'nation';
}

function codesTable(campaign, set, canEdit) {
  const codes = campaign[SET_KEY[set]] || [];
  if (!codes.length) return '<p class="muted">None yet.</p>';
  return `<table class="data"><caption class="visually-hidden">${esc(set)} codes</caption>
    <thead><tr><th scope="col">Label</th><th scope="col">Code</th><th scope="col">Used for</th><th scope="col">State</th>${canEdit ? '<th scope="col">Change</th>' : ''}</tr></thead>
    <tbody>${codes.map((c, i) => `<tr class="${c.retired ? 'retired' : ''}">
      <th scope="row">${esc(c.label)}</th>
      <td data-label="Code"><code>${esc(c.code)}</code></td>
      <td data-label="Used for">${(c.channels || []).map((ch) => CHANNELS[ch] || ch).join(' and ') || 'doors and calls'}</td>
      <td data-label="State">${c.retired ? 'Retired: not offered for new records' : 'In use'}</td>
      ${canEdit ? `<td data-label="Change"><div class="actions">
        <button type="button" class="btn btn-small" data-code="${esc(c.code)}" data-set="${set}" data-retire="${c.retired ? 'false' : 'true'}">${c.retired ? 'Restore' : 'Retire'}<span class="visually-hidden"> ${esc(c.label)}</span></button>
        ${i > 0 ? `<button type="button" class="btn btn-small" data-code="${esc(c.code)}" data-set="${set}" data-up="${i}">Move up<span class="visually-hidden"> ${esc(c.label)}</span></button>` : ''}
      </div></td>` : ''}</tr>`).join('')}</tbody></table>`;
}

function questionsTable(campaign, canEdit) {
  const questions = campaign.questions || [];
  if (!questions.length) return '<p class="muted">No survey questions.</p>';
  const kindName = Object.fromEntries(KINDS);
  return `<table class="data"><caption class="visually-hidden">Survey questions</caption>
    <thead><tr><th scope="col">Question</th><th scope="col">Answer</th><th scope="col">State</th>${canEdit ? '<th scope="col">Change</th>' : ''}</tr></thead>
    <tbody>${questions.map((q) => `<tr class="${q.retired ? 'retired' : ''}"><th scope="row">${esc(q.text)}</th>
      <td data-label="Answer">${esc(kindName[q.kind] || q.kind)}${Array.isArray(q.options) ? ': ' + q.options.map((o) => esc(o.label)).join(', ') : ''}</td>
      <td data-label="State">${q.retired ? 'Retired: no longer asked' : 'Asked'}</td>
      ${canEdit ? `<td data-label="Change"><button type="button" class="btn btn-small" data-question="${esc(q.key)}" data-retire="${q.retired ? 'false' : 'true'}">${q.retired ? 'Restore' : 'Retire'}<span class="visually-hidden"> ${esc(q.text)}</span></button></td>` : ''}
    </tr>`).join('')}</tbody></table>`;
}

function localDriveForm(campaign) {
  return `<form data-drive class="card" novalidate><h2>Start a local drive</h2>
    <p>${esc(campaign.name)} is a national campaign, which national admins edit. A local drive starts with its codes,
      questions and script, and is yours to change.</p>
    <p class="notice" data-draft-note hidden>What you typed last time was kept.</p>
    ${field({ name: 'name', label: 'Name of the drive', required: true, attrs: 'maxlength="160"' })}
    <div class="grid2">${field({ name: 'starts_on', label: 'Starts', type: 'date', value: isoDay(), required: true })}
      ${field({ name: 'ends_on', label: 'Ends', type: 'date', value: campaign.ends_on, required: true })}</div>
    <p class="error" data-form-error tabindex="-1"></p>
    <button class="btn btn-primary" type="submit">Start the drive</button></form>`;
}

function detailsForm(campaign) {
  return `<form data-details class="card" novalidate><h2>Name, dates and phone script</h2>
      <p class="notice" data-draft-note hidden>Your unsaved changes were kept.</p>
      ${field({ name: 'name', label: 'Name', value: campaign.name, required: true, attrs: 'maxlength="160"' })}
      <div class="grid2">${field({ name: 'starts_on', label: 'Starts', type: 'date', value: campaign.starts_on })}
        ${field({ name: 'ends_on', label: 'Ends', type: 'date', value: campaign.ends_on })}</div>
      ${field({ name: 'call_script', label: 'Phone script', type: 'textarea', value: campaign.call_script || '',
        hint: 'What phone bankers read. [first name] becomes the name of the person called, [your name] the caller\'s.', attrs: 'rows="8" maxlength="20000"' })}
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn btn-primary" type="submit">Save</button></form>`;
}

function milestonesForm(campaign) {
  const steps = campaign.milestones || {};
  const shown = (measure) => (steps[measure] || []).join(', ');
  return `<form data-milestones class="card" novalidate><h2>Milestones</h2>
      <p>A volunteer's phone celebrates each of these once, this campaign, and you are told so you can thank them.
        Every session ends with a thank-you whatever its size; milestones are extra, never a condition.</p>
      ${field({ name: 'calls', label: 'Calls', value: shown('calls'), hint: 'Whole numbers, smallest first, separated by commas (no thousands separators), e.g. 250, 500, 1000.', attrs: 'inputmode="numeric" autocomplete="off"' })}
      ${field({ name: 'doors', label: 'Doors knocked', value: shown('doors'), hint: 'As for calls, e.g. 100, 250, 500.', attrs: 'inputmode="numeric" autocomplete="off"' })}
      <p class="error" data-form-error tabindex="-1"></p>
      <div class="actions"><button class="btn btn-primary" type="submit">Save milestones</button>
        <button class="btn" type="button" data-milestone-defaults>Use the defaults</button></div></form>`;
}

/** "250, 500 1000" as [250, 500, 1000]; a word that is not a whole number is named back to the admin. */
function stepsOf(text) {
  const words = String(text || '').split(/[\s,;]+/).filter(Boolean);
  const bad = words.filter((w) => !/^\d{1,7}$/.test(w));
  if (bad.length) throw new Error(`Not a whole number: ${bad.slice(0, 3).join(', ')}. Separate milestones with commas, with no thousands separators.`);
  return words.map(Number);
}

function additionForms() {
  return `<form data-new-code class="card" novalidate><h2>Add a code</h2>
      <p class="notice" data-draft-note hidden>What you typed last time was kept.</p>
      <div class="grid2">${field({ name: 'code_set', label: 'Kind', options: SETS.map(([v, l]) => [v, l.replace(/s$/, '')]) })}
        ${field({ name: 'label', label: 'Label volunteers see', required: true, attrs: 'maxlength="120"' })}</div>
      <div class="grid2">${field({ name: 'code', label: 'Code', hint: 'Letters, digits and _, as in exports (e.g. GREEN).', required: true, attrs: 'maxlength="32" autocapitalize="characters"' })}
        ${field({ name: 'meaning', label: 'Means (outcomes only)', options: [['', '—'], ...MEANINGS] })}</div>
      <fieldset class="field"><legend>Offered for</legend><div class="segmented">
        <label class="check"><input type="checkbox" name="channels" data-many value="door" checked> Doors</label>
        <label class="check"><input type="checkbox" name="channels" data-many value="phone" checked> Calls</label></div>
        <p class="error" data-error-for="channels"></p></fieldset>
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn btn-primary" type="submit">Add the code</button></form>
    <form data-new-question class="card" novalidate><h2>Add a survey question</h2>
      <p class="notice" data-draft-note hidden>What you typed last time was kept.</p>
      ${field({ name: 'text', label: 'Question', required: true, attrs: 'maxlength="400"' })}
      <div class="grid2">${field({ name: 'key', label: 'Short name', hint: 'Lower-case letters, digits and _ (e.g. local_issue).', required: true, attrs: 'maxlength="48"' })}
        ${field({ name: 'kind', label: 'Answer', options: KINDS })}</div>
      ${field({ name: 'options', label: 'Choices, one per line', type: 'textarea', hint: 'For one or several choices. For a scale: lowest and highest, e.g. "1-5".', attrs: 'rows="4"' })}
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn btn-primary" type="submit">Add the question</button></form>`;
}

/** Choices typed one per line become {code, label}; "1-5" becomes a scale. */
function optionsOf(kind, text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (kind === 'scale') {
    const m = text.trim().match(/^(-?\d+)\s*(?:-|to|–)\s*(-?\d+)$/);
    return m ? { min: Number(m[1]), max: Number(m[2]) } : text.trim() || null;
  }
  if (kind !== 'choice' && kind !== 'multi_choice') return null;
  return lines.map((label) => ({ code: label.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 48) || 'option', label }));
}

function submitter(form, work) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form, async () => {
      clearErrors(form);
      try { await work(formValues(form)); } catch (error) { showErrors(form, error); }
    });
  });
}

export async function render(root, admin) {
  let campaigns;
  try {
    campaigns = await api('GET', '/campaigns');
  } catch (error) {
    root.innerHTML = `<h1>Campaign</h1><p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
    return null;
  }
  campaigns = campaigns.filter((c) => c.constituency_id == null || c.constituency_id === admin.constituencyId)
    .sort((a, b) => (b.ends_on >= isoDay()) - (a.ends_on >= isoDay()) || a.name.localeCompare(b.name));
  if (!campaigns.length) {
    root.innerHTML = '<h1>Campaign</h1><p class="notice">There is no campaign yet. National admins start campaigns.</p>';
    return null;
  }
  const chosen = campaigns.find((c) => String(c.id) === admin.params.sub) || campaigns.find((c) => c.constituency_id != null && c.ends_on >= isoDay()) || campaigns[0];
  const campaign = await api('GET', `/campaigns/${chosen.id}`);
  const canEdit = editable(admin, campaign);
  root.innerHTML = `<h1>Campaign</h1>
    ${field({ name: 'campaign', label: 'Campaign', value: campaign.id, options: campaigns.map((c) => [c.id, `${c.name}${c.constituency_id == null ? ' (national)' : ' (local drive)'} · ends ${day(c.ends_on)}`]) })}
    <p>${esc(campaign.name)}: ${esc(day(campaign.starts_on))} to ${esc(day(campaign.ends_on))}.</p>
    ${canEdit ? detailsForm(campaign) + milestonesForm(campaign) : localDriveForm(campaign)}
    ${SETS.map(([set, title]) => `<section><h2>${title}</h2>${codesTable(campaign, set, canEdit)}</section>`).join('')}
    <section><h2>Survey questions</h2>${questionsTable(campaign, canEdit)}</section>
    ${canEdit ? additionForms() : (campaign.call_script ? `<h2>Phone script</h2><div class="script-text">${esc(campaign.call_script)}</div>` : '')}`;
  root.querySelector('#f-campaign').addEventListener('change', (event) => admin.go(`#/admin/campaign/${event.target.value}`));
  const saved = (message) => { admin.ctx.flash(message); admin.ctx.rerender(); };
  const base = `/campaigns/${campaign.id}`;

  const drive = root.querySelector('[data-drive]');
  if (drive) {
    const forget = await keepDraft(drive, `drive-${campaign.id}`);
    submitter(drive, async (v) => {
      const made = await api('POST', '/campaigns', { body: { name: v.name.trim(), starts_on: v.starts_on, ends_on: v.ends_on,
        based_on_id: campaign.id, ...(admin.user.scope.kind === 'constituency' ? {} : { constituency_id: admin.constituencyId }) } });
      await forget();
      admin.ctx.flash('The local drive has started. Build its lists under Lists.');
      admin.go(`#/admin/campaign/${made.id}`);
    });
  }
  if (!canEdit) return null;

  const details = root.querySelector('[data-details]');
  const forgetDetails = await keepDraft(details, `campaign-${campaign.id}`);
  submitter(details, async (v) => {
    await api('PATCH', base, { body: { name: v.name.trim(), starts_on: v.starts_on, ends_on: v.ends_on, call_script: v.call_script || null } });
    await forgetDetails();
    saved('Saved. Phones get the change at their next sync.');
  });
  const milestones = root.querySelector('[data-milestones]');
  submitter(milestones, async (v) => {
    const body = {};
    const problems = {};
    for (const measure of ['calls', 'doors']) {
      try { body[measure] = stepsOf(v[measure]); } catch (error) { problems[measure] = [error.message]; }
    }
    if (Object.keys(problems).length) throw new ApiError(422, 'validation_failed', 'Check the milestones.', problems);
    try {
      await api('PATCH', base, { body: { milestones: body } });
    } catch (error) {
      // The server names each measure inside "milestones": place its words beside that field.
      const nested = error instanceof ApiError && error.details && error.details.milestones;
      if (nested && typeof nested === 'object' && !Array.isArray(nested)) error.details = nested;
      throw error;
    }
    saved('Milestones saved. Phones celebrate them from their next sync.');
  });
  milestones.querySelector('[data-milestone-defaults]').addEventListener('click', () => busy(milestones, async () => {
    clearErrors(milestones);
    try {
      await api('PATCH', base, { body: { milestones: null } });
      saved('This campaign celebrates the default milestones again.');
    } catch (error) { showErrors(milestones, error); }
  }));
  const newCode = root.querySelector('[data-new-code]');
  const forgetCode = await keepDraft(newCode, `code-${campaign.id}`);
  submitter(newCode, async (v) => {
    await api('POST', `${base}/codes`, { body: { code_set: v.code_set, code: v.code.trim().toUpperCase(), label: v.label.trim(),
      meaning: v.code_set === 'outcome' && v.meaning ? v.meaning : null, channels: v.channels } });
    await forgetCode();
    saved(`${v.label.trim()} added. Phones offer it from their next sync.`);
  });
  const newQuestion = root.querySelector('[data-new-question]');
  const forgetQuestion = await keepDraft(newQuestion, `question-${campaign.id}`);
  submitter(newQuestion, async (v) => {
    await api('POST', `${base}/questions`, { body: { key: v.key.trim(), text: v.text.trim(), kind: v.kind, options: optionsOf(v.kind, v.options) } });
    await forgetQuestion();
    saved('Question added. Phones ask it from their next sync.');
  });

  root.addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-retire], button[data-up]');
    if (!button) return;
    const retire = button.dataset.retire === 'true';
    if (retire) {
      const yes = await ask({ title: button.dataset.question ? 'Stop asking this question?' : 'Retire this code?',
        body: '<p>Phones stop offering it at their next sync. Records that already use it keep it, and you can restore it later.</p>',
        buttons: [{ label: 'Retire it', value: true, kind: 'danger' }, { label: 'Keep it', value: false }] });
      if (!yes) return;
    }
    try {
      if (button.dataset.question) {
        await api('PATCH', `${base}/questions/${encodeURIComponent(button.dataset.question)}`, { body: { retired: retire } });
      } else if (button.dataset.up) {
        // The server renumbers the set 0..n-1 around the code it moves.
        await api('PATCH', `${base}/codes/${button.dataset.set}/${encodeURIComponent(button.dataset.code)}`,
          { body: { position: Number(button.dataset.up) - 1 } });
      } else {
        await api('PATCH', `${base}/codes/${button.dataset.set}/${encodeURIComponent(button.dataset.code)}`, { body: { retired: retire } });
      }
      saved(retire ? 'Retired. Old records keep it.' : 'Saved.');
    } catch (error) { toast(explain(error), { ms: 10000 }); }
  });
  return null;
}
