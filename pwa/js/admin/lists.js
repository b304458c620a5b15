// Why: an admin's lists at a glance (who holds each, how far it has got, its contact rate), and one
// list's page to rename it, move its dates, give it to other volunteers or end it. Every change bumps
// the list's version on the server, so the volunteers' phones fetch it at their next sync; a list taken
// from a volunteer leaves their phone then, and what they recorded on it stays.
import { ask, esc, plural, sessionLine, toast } from '../ui/common.js';
import { api, busy, clearErrors, day, explain, field, formValues, isoWithOffset, keepDraft, percent, sessionFields, showErrors } from './common.js';

const KIND = { walk: 'Walk list', call: 'Call list' };

function progressCell(list) {
  const unit = list.kind === 'walk' ? 'doors' : 'people';
  const share = list.households ? list.reached / list.households : 0;
  return `<progress max="${list.households || 1}" value="${list.reached}" aria-label="${esc(list.name)}: ${list.reached} of ${list.households} ${unit}"></progress>
    <span class="small">${list.reached.toLocaleString('en-GB')} of ${plural(list.households, unit === 'doors' ? 'door' : 'person', unit)} (${percent(share)})</span>`;
}

function holders(list) {
  return list.assignees.length ? list.assignees.map((a) => esc(a.name)).join(', ') : '<span class="badge badge-warn">Nobody yet</span>';
}

async function renderOverview(root, admin) {
  const showEnded = !!admin.params.ended;
  root.innerHTML = `<h1>Lists</h1>
    <div class="actions">
      <a class="btn btn-primary" href="#/admin/lists/walk">New walk lists</a>
      <a class="btn" href="#/admin/lists/call">New call list</a>
    </div>
    <div data-table><p class="muted">Loading lists…</p></div>`;
  let lists;
  try {
    lists = await api('GET', '/lists', { query: { include_ended: showEnded || undefined } });
  } catch (error) {
    root.querySelector('[data-table]').innerHTML = `<p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
    return;
  }
  lists = lists.filter((l) => admin.constituencyId == null || l.constituency_id === admin.constituencyId);
  const table = root.querySelector('[data-table]');
  if (!lists.length) {
    table.innerHTML = '<p class="notice">No current lists. Build walk lists from polling districts, a ward or streets, or a call list from electors with phone numbers or from new members.</p>';
    return;
  }
  lists.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  table.innerHTML = `<table class="data">
    <caption class="visually-hidden">Current lists, their holders and progress</caption>
    <thead><tr><th scope="col">List</th><th scope="col">Held by</th><th scope="col">Progress</th>
      <th scope="col">Contact rate</th><th scope="col">Ends</th></tr></thead>
    <tbody>${lists.map((l) => `<tr>
      <th scope="row"><a href="#/admin/lists/${l.id}">${esc(l.name)}</a><br><span class="small muted">${KIND[l.kind]} · ${plural(l.electors, 'elector')}</span>${sessionLine(l) ? `<br><span class="small">${esc(sessionLine(l))}</span>` : ''}</th>
      <td data-label="Held by">${holders(l)}</td>
      <td data-label="Progress">${progressCell(l)}</td>
      <td data-label="Contact rate">${percent(l.contact_rate)}</td>
      <td data-label="Ends">${esc(day(l.ends_at))}</td></tr>`).join('')}</tbody></table>`;
}

function localInput(iso) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The volunteers a list may be given to: active, of the list's CLP, who canvass or phone bank. */
export async function volunteersFor(admin, kind) {
  const everyone = await api('GET', '/volunteers', { query: { constituency_id: admin.constituencyId ?? undefined } });
  const wanted = kind === 'call' ? ['phone_banker', 'clp_admin'] : ['canvasser', 'clp_admin'];
  return everyone.filter((v) => v.active && wanted.includes(v.role)).sort((a, b) => a.name.localeCompare(b.name));
}

/** Checkboxes for choosing volunteers; `chosen` is a Set of ids. */
export function volunteerChoices(volunteers, chosen, legend = 'Give to') {
  if (!volunteers.length) return `<p class="notice">No volunteers who can hold this list yet. <a href="#/admin/volunteers">Add one</a>.</p>`;
  return `<fieldset class="field"><legend>${esc(legend)}</legend><p class="hint">Their phones fetch the list at their next sync.</p>
    <div class="choices">${volunteers.map((v) => `<label class="check"><input type="checkbox" name="assignee_ids" data-many value="${v.id}"
      ${chosen.has(v.id) ? 'checked' : ''}> ${esc(v.name)}</label>`).join('')}</div>
    <p class="error" data-error-for="user_ids"></p><p class="error" data-error-for="assignee_ids"></p></fieldset>`;
}

async function renderDetail(root, admin, id) {
  let list;
  let volunteers;
  try {
    list = await api('GET', `/lists/${id}`);
    volunteers = await volunteersFor(admin, list.kind);
  } catch (error) {
    root.innerHTML = `<p><a class="back" href="#/admin/lists">← All lists</a></p><h1>List</h1>
      <p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
    return;
  }
  const ended = new Date(list.ends_at) <= new Date();
  // Someone no longer active may still hold it: show them, so taking it from them is possible.
  for (const a of list.assignees) {
    if (!volunteers.some((v) => v.id === a.id)) volunteers.push({ id: a.id, name: a.name, role: a.role });
  }
  root.innerHTML = `<p><a class="back" href="#/admin/lists">← All lists</a></p>
    <h1>${esc(list.name)}</h1>
    <p>${KIND[list.kind]} · ${plural(list.households, list.kind === 'walk' ? 'household' : 'person', list.kind === 'walk' ? 'households' : 'people')} · ${plural(list.electors, 'elector')}</p>
    <div class="stats">
      <div class="stat"><span class="stat-n">${list.reached.toLocaleString('en-GB')}</span><span>${list.kind === 'walk' ? 'doors knocked' : 'people called'}</span></div>
      <div class="stat"><span class="stat-n">${list.spoke.toLocaleString('en-GB')}</span><span>electors spoken to</span></div>
      <div class="stat"><span class="stat-n">${percent(list.contact_rate)}</span><span>contact rate</span></div>
    </div>
    ${ended ? `<p class="notice notice-warn">This list ended ${esc(day(list.ends_at))}. It is no longer on anyone's phone.</p>` : ''}
    <form data-holders class="card" novalidate>
      <h2>Who holds it</h2>
      ${volunteerChoices(volunteers, new Set(list.assignees.map((a) => a.id)), 'Held by')}
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn btn-primary" type="submit" ${ended ? 'disabled' : ''}>Save who holds it</button>
    </form>
    <form data-edit class="card" novalidate>
      <h2>Name and dates</h2>
      <p class="notice" data-draft-note hidden>Your unsaved changes were kept.</p>
      ${field({ name: 'name', label: 'Name', value: list.name, required: true, attrs: 'maxlength="160"' })}
      <div class="grid2">
        ${field({ name: 'starts_at', label: 'Starts', type: 'datetime-local', value: localInput(list.starts_at) })}
        ${field({ name: 'ends_at', label: 'Ends', type: 'datetime-local', value: localInput(list.ends_at) })}
      </div>
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn btn-primary" type="submit">Save name and dates</button>
    </form>
    <form data-session class="card" novalidate>
      <h2>Session</h2>
      ${sessionFields(list.session_at ? localInput(list.session_at) : '', list.meeting_place || '')}
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn btn-primary" type="submit">Save the session</button>
    </form>
    ${ended ? '' : '<button class="btn btn-danger" type="button" data-end>End this list now</button>'}`;

  const holdersForm = root.querySelector('[data-holders]');
  holdersForm.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(holdersForm, async () => {
      clearErrors(holdersForm);
      const userIds = (formValues(holdersForm).assignee_ids || []).map(Number);
      try {
        await api('PUT', `/lists/${id}/assignees`, { body: { user_ids: userIds } });
        admin.ctx.flash(userIds.length ? 'Saved. Their phones get the change at their next sync.' : 'Nobody holds this list now. It leaves phones at their next sync.');
        admin.ctx.rerender();
      } catch (error) { showErrors(holdersForm, error); }
    });
  });

  const editForm = root.querySelector('[data-edit]');
  const forget = await keepDraft(editForm, `list-${id}`);
  editForm.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(editForm, async () => {
      clearErrors(editForm);
      const v = formValues(editForm);
      const body = { name: v.name.trim() };
      if (v.starts_at) body.starts_at = new Date(v.starts_at).toISOString();
      if (v.ends_at) body.ends_at = new Date(v.ends_at).toISOString();
      try {
        await api('PATCH', `/lists/${id}`, { body });
        await forget();
        admin.ctx.flash('Saved. Phones get the change at their next sync.');
        admin.ctx.rerender();
      } catch (error) { showErrors(editForm, error); }
    });
  });

  const sessionForm = root.querySelector('[data-session]');
  sessionForm.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(sessionForm, async () => {
      clearErrors(sessionForm);
      const v = formValues(sessionForm);
      // Emptied fields clear the session: null is "no session" to the server.
      const body = { session_at: isoWithOffset(v.session_at), meeting_place: (v.meeting_place || '').trim() || null };
      try {
        await api('PATCH', `/lists/${id}`, { body });
        admin.ctx.flash(body.session_at || body.meeting_place ? 'Session saved. Phones show it after their next sync.' : 'The session was removed.');
        admin.ctx.rerender();
      } catch (error) { showErrors(sessionForm, error); }
    });
  });

  root.querySelector('[data-end]')?.addEventListener('click', async () => {
    const choice = await ask({
      title: 'End this list now?',
      body: `<p>It leaves ${list.assignees.length ? 'its volunteers\u2019 phones' : 'phones'} at their next sync. Everything already recorded on it is kept.</p>`,
      buttons: [{ label: 'End the list', value: true, kind: 'danger' }, { label: 'Keep it', value: false }],
    });
    if (!choice) return;
    try {
      await api('POST', `/lists/${id}/end`);
      admin.ctx.flash('The list has ended.');
      admin.go('#/admin/lists');
    } catch (error) { toast(explain(error), { ms: 10000 }); }
  });
}

export async function render(root, admin) {
  const sub = admin.params.sub;
  if (sub === 'walk' || sub === 'call') {
    const builder = await import('./list-builder.js');
    return builder.render(root, admin, sub);
  }
  if (sub && /^\d+$/.test(sub)) return renderDetail(root, admin, Number(sub));
  return renderOverview(root, admin);
}
