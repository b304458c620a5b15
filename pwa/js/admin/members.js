// Why: a membership secretary's job is to make new members feel welcome the week they join. This screen
// shows this week's new members at once (the purpose is preset, and can be changed), with only the contact
// details each member consented to, and turns them into a welcome call list for the CLP's phone bankers or
// a CSV. The law asks for a reason each time: every view and export is recorded with the purpose given.
import { ask, downloadBlob, esc, plural, toast } from '../ui/common.js';
import { api, busy, can, clearErrors, day, explain, field, formValues, isoDay, keepDraft, showErrors } from './common.js';
import { handleRequests, requestButtons } from './rights.js';

const PURPOSES = [
  'Welcoming new members to the CLP',
  'Sending welcome letters or emails',
  'Inviting new members to an event',
  'Checking membership records',
];
const PER_PAGE = 100;

function purposeField(value) {
  const known = PURPOSES.includes(value);
  return `<div class="grid2">${field({
    name: 'purpose_choice', label: 'Why you need their details',
    hint: 'Recorded with each view and export, as the law asks.',
    options: [...PURPOSES.map((p) => [p, p]), ['other', 'Another reason…']], value: known ? value : 'other',
  })}${field({ name: 'purpose_other', label: 'The reason, in a few words', value: known ? '' : value,
    attrs: 'maxlength="200" autocomplete="off"' })}</div>`;
}

function purposeOf(values) {
  return values.purpose_choice === 'other' ? (values.purpose_other || '').trim() : values.purpose_choice;
}

const notConsented = '<span class="muted small">no consent</span>';
const objected = '<span class="muted small">asked not to be</span>';

function contactCell(member, key, value) {
  const channel = key === 'address' ? 'post' : key;
  if (member.objected.includes(channel)) return objected;
  if (!member.consent[channel]) return notConsented;
  return value ? esc(value) : '<span class="muted small">not given</span>';
}

function memberRows(items, rights) {
  return items.map((m) => `<tr>
    <th scope="row">${esc(m.first_name)} ${esc(m.last_name)}<br><span class="small muted">${esc(m.membership_number)}</span></th>
    <td data-label="Joined">${esc(day(m.joined_on))}${m.status === 'new' ? '' : `<br><span class="small muted">${esc(m.status)}</span>`}</td>
    <td data-label="Phone">${contactCell(m, 'phone', m.phone)}</td>
    <td data-label="Email">${contactCell(m, 'email', m.email)}</td>
    <td data-label="Address">${contactCell(m, 'address', m.address_lines ? [...m.address_lines, m.postcode].filter(Boolean).join(', ') : '')}</td>
    ${rights ? `<td data-label="Requests"><div class="actions">${requestButtons('member', m.id, `${m.first_name} ${m.last_name}`)}</div></td>` : ''}
  </tr>`).join('');
}

export async function render(root, admin) {
  // National admins also answer members' subject access and erasure requests (admin/rights.js).
  const rights = can(admin.user, 'rights:manage');
  const weekAgo = new Date(Date.now() - 7 * 86400000);
  root.innerHTML = `<h1>New members</h1>
    <form class="card" data-filter novalidate>
      <div class="grid2">${field({ name: 'since', label: 'Joined since', type: 'date', value: isoDay(weekAgo), required: true })}</div>
      ${purposeField(PURPOSES[0])}
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn" type="submit">Show new members</button>
    </form>
    <div data-result aria-live="polite"></div>
    <div data-welcome></div>`;
  const form = root.querySelector('[data-filter]');
  const result = root.querySelector('[data-result]');
  const other = form.querySelector('[name=purpose_other]').closest('.field');
  const syncOther = () => { other.hidden = form.querySelector('[name=purpose_choice]').value !== 'other'; };
  form.addEventListener('change', syncOther);
  await keepDraft(form, 'new-members-filter');
  syncOther();

  let shown = null; // { since, purpose, body, items }
  const load = (page = 1) => busy(form, async () => {
    clearErrors(form);
    const values = formValues(form);
    const query = { since: values.since, purpose: purposeOf(values), page, per_page: PER_PAGE };
    if (admin.user.scope.kind !== 'constituency') query.constituency_id = admin.constituencyId;
    try {
      const body = await api('GET', '/members/new', { query });
      const items = page === 1 ? body.items : [...shown.items, ...body.items];
      shown = { since: query.since, purpose: query.purpose, body, items };
      drawResult();
    } catch (error) { showErrors(form, error); }
  });

  function drawResult() {
    const { body, items, since } = shown;
    if (!body.total) {
      result.innerHTML = `<p class="notice">Nobody has joined ${esc(body.constituency)} since ${esc(day(since))}.</p>`;
      return;
    }
    result.innerHTML = `<p class="big">${esc(plural(body.total, 'person', 'people'))} joined ${esc(body.constituency)}
        since ${esc(day(since))}: ${body.can_phone} can be phoned, ${body.can_email} emailed.</p>
      <div class="actions">
        <button type="button" class="btn btn-primary" data-welcome-open ${body.can_phone ? '' : 'disabled'}>Start welcome calls</button>
        <button type="button" class="btn" data-csv>Download as CSV</button>
      </div>
      <table class="data"><caption class="visually-hidden">New members</caption>
        <thead><tr><th scope="col">Member</th><th scope="col">Joined</th><th scope="col">Phone</th><th scope="col">Email</th><th scope="col">Address</th>${rights ? '<th scope="col">Requests</th>' : ''}</tr></thead>
        <tbody>${memberRows(items, rights)}</tbody></table>
      ${items.length < body.total ? `<p><button type="button" class="btn" data-more>Show ${Math.min(PER_PAGE, body.total - items.length)} more</button></p>` : ''}
      <p class="small muted">Only the details each member agreed we may use are shown. This view was recorded:
        who, when, which members, and why (“${esc(shown.purpose)}”).</p>`;
  }

  result.addEventListener('click', async (event) => {
    if (event.target.closest('[data-more]')) load(shown.body.page + 1);
    if (event.target.closest('[data-csv]')) exportCsv();
    if (event.target.closest('[data-welcome-open]')) openWelcome(root.querySelector('[data-welcome]'), admin, shown);
  });

  async function exportCsv() {
    const ok = await ask({
      title: 'Download new members as CSV?',
      body: `<p>The file will hold the details of ${esc(plural(shown.body.total, 'member'))}, only those they agreed we may use.
        It is recorded with your reason: “${esc(shown.purpose)}”.</p>
        <p>Keep it safe, use it only for that, and delete it when you are done.</p>`,
      buttons: [{ label: 'Download', value: true, kind: 'primary' }, { label: 'Cancel', value: false }],
    });
    if (!ok) return;
    const body = { since: shown.since, purpose: shown.purpose };
    if (admin.user.scope.kind !== 'constituency') body.constituency_id = admin.constituencyId;
    try {
      const { blob, filename } = await api('POST', '/members/new/export', { body, file: true });
      downloadBlob(filename, blob);
      toast('Downloaded. The export was recorded in the audit log.');
    } catch (error) { toast(explain(error), { ms: 10000 }); }
  }

  if (rights) {
    handleRequests(result, (message, erased) => {
      toast(message, { ms: 10000 });
      if (erased) load();
    });
  }
  form.addEventListener('submit', (event) => { event.preventDefault(); load(); });
  await load();
  return null;
}

async function openWelcome(box, admin, shown) {
  const scoped = admin.user.scope.kind !== 'constituency' ? { constituency_id: admin.constituencyId } : {};
  let campaigns;
  let callers;
  try {
    [campaigns, callers] = await Promise.all([
      api('GET', '/campaigns'), api('GET', '/members/callers', { query: scoped })]);
  } catch (error) {
    box.innerHTML = `<p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
    return;
  }
  const today = isoDay();
  const current = campaigns.filter((c) => c.starts_on <= today && c.ends_on >= today);
  const ends = isoDay(new Date(Date.now() + 14 * 86400000));
  box.innerHTML = `<form class="card" data-welcome-form novalidate>
      <h2>Welcome calls</h2>
      <p>${esc(plural(shown.body.can_phone, 'new member'))} who joined since ${esc(day(shown.since))} agreed to be phoned.
        The phone bankers you choose get each one's name, number and join date, nothing more.</p>
      ${field({ name: 'campaign_id', label: 'Campaign', options: (current.length ? current : campaigns).map((c) => [c.id, c.name]) })}
      <fieldset class="field"><legend>Who will call</legend>
        ${callers.length ? callers.map((c) => `<label class="check"><input type="checkbox" name="assignee_ids" value="${c.id}" data-many
          ${c.role === 'phone_banker' ? 'checked' : ''}> ${esc(c.name)} <span class="muted small">${c.role === 'phone_banker' ? 'phone banker' : 'CLP admin'}</span></label>`).join('')
          : '<p class="muted">Your CLP has no phone bankers yet: the list is made, and your CLP admin can give it to someone.</p>'}
        <p class="error" data-error-for="assignee_ids"></p></fieldset>
      <div class="grid2">${field({ name: 'ends_on', label: 'Calls to be made by', type: 'date', value: ends, required: true })}
        ${field({ name: 'name', label: 'List name', value: `Welcome calls: joined since ${day(shown.since)}`, attrs: 'maxlength="120"' })}</div>
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn btn-primary" type="submit">Make the welcome call list</button>
    </form>`;
  const form = box.querySelector('form');
  form.scrollIntoView({ block: 'start' });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form, async () => {
      clearErrors(form);
      const v = formValues(form);
      const body = {
        since: shown.since, campaign_id: Number(v.campaign_id), name: v.name.trim() || undefined,
        assignee_ids: (v.assignee_ids || []).map(Number),
        ends_at: v.ends_on ? new Date(v.ends_on + 'T23:59:00').toISOString() : undefined, ...scoped,
      };
      try {
        const made = await api('POST', '/members/welcome-lists', { body });
        const people = made.reduce((n, l) => n + l.electors, 0);
        const who = made[0].assignees.map((a) => a.name).join(', ');
        const next = who ? `, given to ${esc(who)}. It reaches their phones at their next sync.`
          : '. Ask your CLP admin to give the list to a phone banker.';
        box.innerHTML = `<p class="notice notice-ok" role="status" tabindex="-1">Welcome calls are ready: ${esc(plural(people, 'member'))}${next}</p>`;
        box.querySelector('p').focus();
      } catch (error) {
        if (error.details && error.details.ends_at) { error.details.ends_on = error.details.ends_at; delete error.details.ends_at; }
        showErrors(form, error);
      }
    });
  });
}
