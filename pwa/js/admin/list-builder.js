// Why: building lists is the admin's most common job, and a list that is wrong costs volunteers an
// evening. So the builder shows what it will make before it makes it: the server plans the lists
// (walk order, whole blocks of flats kept together, cut at the chosen size) and the admin sees each
// list's streets and size, then creates them in one step and gives them to volunteers.
import { esc, plural, toast } from '../ui/common.js';
import { api, busy, clearErrors, explain, field, formValues, isoDay, isoWithOffset, keepDraft, reapplyDraft, sessionFields, showErrors } from './common.js';
import { volunteerChoices, volunteersFor } from './lists.js';

function localDateTime(d) {
  return `${isoDay(d)}T${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function campaignOptions(campaigns) {
  return campaigns.map((c) => [c.id, `${c.name}${c.constituency_id == null ? '' : ' (local drive)'}`]);
}

function datesAndName(kind) {
  const now = new Date();
  const fortnight = new Date(now.getTime() + 14 * 86400000);
  return `${field({ name: 'name', label: 'Name', hint: kind === 'walk'
    ? 'Optional. Each list is named by its streets, after this.' : 'Optional. "Phone bank" or "Welcome calls" if left empty.', attrs: 'maxlength="120"' })}
    <div class="grid2">
      ${field({ name: 'starts_at', label: 'Starts', type: 'datetime-local', value: localDateTime(now) })}
      ${field({ name: 'ends_at', label: 'Ends', type: 'datetime-local', value: localDateTime(fortnight), required: true })}
    </div>`;
}

function planTable(plan, kind) {
  const unit = kind === 'walk' ? 'households' : 'people';
  return `<h2>${plural(plan.lists.length, 'list')} would be made</h2>
    <p>${plural(plan.households, kind === 'walk' ? 'household' : 'person', unit)} and ${plural(plan.electors, 'elector')} in all.</p>
    <table class="data"><caption class="visually-hidden">The lists that would be made</caption>
      <thead><tr><th scope="col">List</th><th scope="col">${kind === 'walk' ? 'Households' : 'People'}</th><th scope="col">Electors</th>${kind === 'walk' ? '<th scope="col">Streets</th>' : ''}</tr></thead>
      <tbody>${plan.lists.map((l) => `<tr><th scope="row">${esc(l.name)}</th><td data-label="${kind === 'walk' ? 'Households' : 'People'}">${l.households}</td>
        <td data-label="Electors">${l.electors}</td>${kind === 'walk' ? `<td data-label="Streets">${esc((l.streets || []).join(', '))}</td>` : ''}</tr>`).join('')}</tbody>
    </table>`;
}

function districtChoices(districts) {
  return `<div class="choices">${districts.map((d) => `<label class="check"><input type="checkbox" name="polling_district_ids" data-many value="${d.id}">
    ${esc(d.code)} · ${esc(d.name)}</label>`).join('')}</div>`;
}

function areaFieldset(kind, districts, wards) {
  const optional = kind === 'call';
  return `<fieldset class="field area"><legend>Area${optional ? ' (optional)' : ''}</legend>
    <div class="segmented">
      ${optional ? '<label class="check"><input type="radio" name="area" value="all" checked> The whole CLP</label>' : ''}
      <label class="check"><input type="radio" name="area" value="districts" ${optional ? '' : 'checked'}> Polling districts</label>
      <label class="check"><input type="radio" name="area" value="ward"> A ward</label>
      ${kind === 'walk' ? '<label class="check"><input type="radio" name="area" value="streets"> Streets</label>' : ''}
    </div>
    <div data-area="districts">${districtChoices(districts)}</div>
    <div data-area="ward" hidden>${field({ name: 'ward_id', label: 'Ward', options: wards.map((w) => [w.id, w.name]) })}</div>
    ${kind === 'walk' ? `<div data-area="streets" hidden>
      ${field({ name: 'street_district', label: 'Streets in polling district', options: [['', 'Choose…'], ...districts.map((d) => [d.id, `${d.code} · ${d.name}`])] })}
      <div data-streets></div></div>` : ''}
    <p class="error" data-error-for="polling_district_ids"></p><p class="error" data-error-for="ward_id"></p>
    <p class="error" data-error-for="streets"></p></fieldset>`;
}

function walkFields() {
  return `<fieldset class="field"><legend>Size of each list</legend>
    <div class="grid2">
      ${field({ name: 'size', label: 'About how many', type: 'number', value: '60', required: true, attrs: 'min="1" max="5000" inputmode="numeric"' })}
      ${field({ name: 'split_by', label: 'Counted in', options: [['households', 'households'], ['electors', 'electors']] })}
    </div></fieldset>`;
}

function callFields(campaign) {
  const intentions = (campaign?.intentions || []).filter((c) => !c.retired);
  return `<fieldset class="field"><legend>Who to call</legend>
      <label class="check"><input type="radio" name="source" value="electors" checked> Electors with a phone number</label>
      <label class="check"><input type="radio" name="source" value="members"> New members who agreed to calls (welcome calls)</label>
      <p class="error" data-error-for="source"></p></fieldset>
    <div data-source="electors">
      <fieldset class="field"><legend>Last known intention (optional)</legend>
        <div class="choices">${intentions.map((c) => `<label class="check"><input type="checkbox" name="intentions" data-many value="${esc(c.code)}"> ${esc(c.label)}</label>`).join('')}</div>
        <p class="error" data-error-for="intentions"></p></fieldset>
      ${field({ name: 'not_contacted_since', label: 'Not contacted since (optional)', type: 'date' })}
    </div>
    <div data-source="members" hidden>${field({ name: 'joined_since', label: 'Joined since', type: 'date' })}</div>
    ${field({ name: 'size', label: 'Split into lists of (optional)', type: 'number', attrs: 'min="1" max="5000" inputmode="numeric"', hint: 'Leave empty for one list.' })}`;
}

/** The request body for a plan or a creation, from the form's values. */
function bodyOf(form, kind, admin) {
  const v = formValues(form);
  const body = { campaign_id: Number(v.campaign_id) };
  if (v.name && v.name.trim()) body.name = v.name.trim();
  if (v.size !== '' && v.size != null) body.size = Number(v.size);
  const area = v.area || 'all';
  if (area === 'districts') body.polling_district_ids = (v.polling_district_ids || []).map(Number);
  if (area === 'ward' && v.ward_id) body.ward_id = Number(v.ward_id);
  if (area === 'streets') {
    body.streets = (v.streets || []).map((s) => {
      const [pd, ...name] = s.split('|');
      return { polling_district_id: Number(pd), street: name.join('|') };
    });
  }
  if (kind === 'walk') body.split_by = v.split_by;
  else {
    body.source = v.source;
    if (admin.constituencyId != null && admin.user.scope.kind !== 'constituency') body.constituency_id = admin.constituencyId;
    if (v.source === 'members') {
      delete body.polling_district_ids;
      delete body.ward_id;
      if (v.joined_since) body.joined_since = v.joined_since;
    } else {
      if ((v.intentions || []).length) body.intentions = v.intentions;
      if (v.not_contacted_since) body.not_contacted_since = v.not_contacted_since;
    }
  }
  return { body, v };
}

export async function render(root, admin, kind) {
  let campaigns;
  let districts;
  let wards;
  let volunteers;
  try {
    const q = { constituency_id: admin.constituencyId ?? undefined };
    [campaigns, districts, wards, volunteers] = await Promise.all([
      api('GET', '/campaigns'), api('GET', '/polling-districts', { query: q }), api('GET', '/wards', { query: q }),
      volunteersFor(admin, kind)]);
  } catch (error) {
    root.innerHTML = `<p><a class="back" href="#/admin/lists">← All lists</a></p><h1>New lists</h1>
      <p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
    return null;
  }
  const today = isoDay();
  campaigns = campaigns.filter((c) => c.ends_on >= today && (c.constituency_id == null || c.constituency_id === admin.constituencyId));
  districts.sort((a, b) => a.code.localeCompare(b.code));
  wards.sort((a, b) => a.name.localeCompare(b.name));
  const title = kind === 'walk' ? 'New walk lists' : 'New call list';
  root.innerHTML = `<p><a class="back" href="#/admin/lists">← All lists</a></p><h1>${title}</h1>
    <form class="builder" novalidate>
      <p class="notice" data-draft-note hidden>What you typed last time was kept.</p>
      ${field({ name: 'campaign_id', label: 'Campaign', options: campaignOptions(campaigns), required: true })}
      ${kind === 'call' ? callFields(campaigns[0]) : ''}
      <div data-area-box>${areaFieldset(kind, districts, wards)}</div>
      ${kind === 'walk' ? walkFields() : ''}
      ${datesAndName(kind)}
      ${sessionFields()}
      ${volunteerChoices(volunteers, new Set())}
      <p class="error" data-form-error tabindex="-1"></p>
      <div class="actions">
        <button class="btn" type="button" data-preview>Preview</button>
        <button class="btn btn-primary" type="submit">Create</button>
      </div>
    </form>
    <section data-plan aria-live="polite"></section>`;
  const form = root.querySelector('form');
  const plan = root.querySelector('[data-plan]');
  const forget = await keepDraft(form, `${kind}-builder`);

  const showArea = () => {
    const area = (formValues(form).area) || 'all';
    form.querySelectorAll('[data-area]').forEach((el) => { el.hidden = el.dataset.area !== area; });
    const source = formValues(form).source;
    form.querySelectorAll('[data-source]').forEach((el) => { el.hidden = el.dataset.source !== source; });
    const box = form.querySelector('[data-area-box]');
    if (box) box.hidden = source === 'members';
  };
  const loadStreets = async () => {
    const select = form.querySelector('[name=street_district]');
    const target = form.querySelector('[data-streets]');
    if (!select || !select.value) { if (target) target.innerHTML = ''; return; }
    target.innerHTML = '<p class="muted">Loading streets…</p>';
    try {
      const streets = await api('GET', '/lists/streets', { query: { polling_district_id: select.value } });
      target.innerHTML = streets.length ? `<div class="choices">${streets.map((s) => `<label class="check"><input type="checkbox" name="streets" data-many
        value="${esc(s.polling_district_id + '|' + s.street)}"> ${esc(s.street)} <span class="small muted">(${plural(s.addresses, 'address', 'addresses')}, ${plural(s.electors, 'elector')})</span></label>`).join('')}</div>`
        : '<p class="notice">No electors on the register in this polling district.</p>';
      await reapplyDraft(form, `${kind}-builder`);
    } catch (error) { target.innerHTML = `<p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`; }
  };
  form.addEventListener('change', (event) => {
    if (event.target.name === 'area' || event.target.name === 'source') showArea();
    if (event.target.name === 'street_district') loadStreets();
  });
  showArea();
  loadStreets();

  form.querySelector('[data-preview]').addEventListener('click', () => busy(form, async () => {
    clearErrors(form);
    const { body } = bodyOf(form, kind, admin);
    try {
      const result = await api('POST', kind === 'walk' ? '/lists/walk-plans' : '/lists/call-plans', { body });
      plan.innerHTML = result.lists.length ? planTable(result, kind)
        : '<p class="notice notice-warn">Nobody matches: no list would be made. Widen the area or the filters.</p>';
    } catch (error) { plan.innerHTML = ''; showErrors(form, error); }
  }));

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form, async () => {
      clearErrors(form);
      const { body, v } = bodyOf(form, kind, admin);
      if (!v.ends_at) {
        form.querySelector('[data-error-for=ends_at]').textContent = 'Say when the list ends.';
        return;
      }
      body.ends_at = new Date(v.ends_at).toISOString();
      if (v.starts_at) body.starts_at = new Date(v.starts_at).toISOString();
      if (v.session_at) body.session_at = isoWithOffset(v.session_at);
      if (v.meeting_place && v.meeting_place.trim()) body.meeting_place = v.meeting_place.trim();
      body.assignee_ids = (v.assignee_ids || []).map(Number);
      try {
        const made = await api('POST', kind === 'walk' ? '/lists/walk' : '/lists/call', { body });
        await forget();
        admin.ctx.flash(`${plural(made.length, 'list')} made.${body.assignee_ids.length ? ' Phones fetch them at their next sync.' : ''}`);
        admin.go('#/admin/lists');
      } catch (error) { showErrors(form, error); }
    });
  });
  return null;
}
