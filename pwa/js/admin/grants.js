// Why: when a CLP's membership secretary is away, someone must still welcome its new members. Regional staff
// give an existing account of that CLP the role for a while: it takes effect at once, lapses by itself on the
// day chosen (the holder is told a week before), and every grant, revocation and lapse is audited.
import { ask, esc, roleName } from '../ui/common.js';
import { api, busy, clearErrors, day, explain, field, formValues, isoDay, keepDraft, showErrors } from './common.js';

const ROLES = [['membership_secretary', 'Membership secretary'], ['clp_admin', 'CLP admin'],
  ['phone_banker', 'Phone banker'], ['canvasser', 'Canvasser']];
const STATUS = { active: 'Active', ended: 'Ended', revoked: 'Revoked' };

export async function render(root, admin) {
  let clps;
  let grants;
  try {
    [clps, grants] = await Promise.all([api('GET', '/constituencies'), api('GET', '/role-grants', { query: { per_page: 100 } })]);
  } catch (error) {
    root.innerHTML = `<h1>Temporary roles</h1><p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
    return null;
  }
  clps.sort((a, b) => a.name.localeCompare(b.name));
  const items = grants.items;
  root.innerHTML = `<h1>Temporary roles</h1>
    <p>Give someone who already has a Groundwork account in a CLP a role there until a date: a stand-in membership
      secretary, say. It lapses by itself, and they are told a week before.</p>
    ${items.length ? `<table class="data"><caption class="visually-hidden">Temporary roles</caption>
      <thead><tr><th scope="col">Person</th><th scope="col">Role</th><th scope="col">Until</th><th scope="col">Why</th><th scope="col">Status</th></tr></thead>
      <tbody>${items.map((g) => `<tr><th scope="row">${esc(g.user_name)}<br><span class="small muted">${esc(g.constituency_name)}</span></th>
        <td data-label="Role">${esc(roleName(g.role).replace(/^./, (c) => c.toUpperCase()))}</td>
        <td data-label="Until">${esc(day(g.ends_at))}</td>
        <td data-label="Why">${esc(g.reason)}</td>
        <td data-label="Status">${STATUS[g.status] || esc(g.status)}${g.status === 'active'
          ? ` <button type="button" class="btn btn-small btn-danger" data-revoke="${g.id}" data-name="${esc(g.user_name)}">End it now</button>` : ''}</td></tr>`).join('')}</tbody></table>`
    : '<p class="muted">Nobody holds a temporary role.</p>'}
    <form class="card" data-grant novalidate><h2>Give a temporary role</h2>
      <p class="notice" data-draft-note hidden>What you typed last time was kept.</p>
      <div class="grid2">${field({ name: 'constituency_id', label: 'CLP', options: clps.map((c) => [c.id, c.name]),
        value: admin.constituencyId })}
        ${field({ name: 'email', label: 'Their Groundwork login email', type: 'email', required: true,
          hint: 'They must already have an account in that CLP.', attrs: 'maxlength="254" autocomplete="off"' })}</div>
      <div class="grid2">${field({ name: 'role', label: 'Role', options: ROLES })}
        ${field({ name: 'ends_on', label: 'Until (the end of this day)', type: 'date', required: true,
          value: isoDay(new Date(Date.now() + 30 * 86400000)) })}</div>
      ${field({ name: 'reason', label: 'Why', required: true, attrs: 'maxlength="500" autocomplete="off"',
        hint: 'For example: covering while the membership secretary is away' })}
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn btn-primary" type="submit">Give the role</button></form>`;
  const form = root.querySelector('[data-grant]');
  const forget = await keepDraft(form, 'role-grant');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form, async () => {
      clearErrors(form);
      const v = formValues(form);
      const body = { constituency_id: Number(v.constituency_id), email: v.email.trim(), role: v.role, reason: v.reason.trim(),
        ends_at: v.ends_on ? new Date(`${v.ends_on}T23:59:00`).toISOString() : undefined };
      try {
        const made = await api('POST', '/role-grants', { body });
        await forget();
        admin.ctx.flash(`${made.user_name} is ${roleName(made.role)} for ${made.constituency_name} until ${day(made.ends_at)}.`);
        admin.ctx.rerender();
      } catch (error) {
        if (error.details && error.details.ends_at) { error.details.ends_on = error.details.ends_at; delete error.details.ends_at; }
        if (error.details && error.details.user_id) { error.details.email = error.details.user_id; delete error.details.user_id; }
        showErrors(form, error);
      }
    });
  });
  root.querySelector('table')?.addEventListener('click', async (event) => {
    const button = event.target.closest('[data-revoke]');
    if (!button) return;
    const sure = await ask({
      title: `End ${button.dataset.name}'s temporary role now?`,
      body: '<p>It ends at once, and is recorded in the audit log.</p>',
      buttons: [{ label: 'End it now', value: true, kind: 'danger' }, { label: 'Cancel', value: false }],
    });
    if (!sure) return;
    try {
      await api('POST', `/role-grants/${button.dataset.revoke}/revoke`, { body: {} });
      admin.ctx.flash(`${button.dataset.name}'s temporary role has ended.`);
      admin.ctx.rerender();
    } catch (error) { admin.ctx.flash(explain(error)); admin.ctx.rerender(); }
  });
  return null;
}
