// Why: the admin makes accounts for the CLP's volunteers, sees whose phones are signed in and when they
// were last heard from, and ends access in the right way: someone who stopped volunteering keeps what
// their phone holds (delivered, and held for review), while a lost or stolen phone has nothing more
// accepted and wipes itself. A new password is shown once, to be given in person, never stored here.
import { ago, ask, esc, plural, roleName, toast } from '../ui/common.js';
import { api, busy, clearErrors, explain, field, formValues, keepDraft, showErrors } from './common.js';

const ROLES = [['canvasser', 'Canvasser'], ['phone_banker', 'Phone banker'], ['clp_admin', 'CLP admin'],
  ['membership_secretary', 'Membership secretary']];

const END_ACCESS = {
  title: 'How is their access ending?',
  body: '<p>Choose what fits. Either way they are signed out of every phone at its next sync.</p>',
  buttons: [
    { label: 'They have stopped volunteering: deliver what their phones still hold, for me to review', value: 'withdrawn', kind: 'primary' },
    { label: 'A phone was lost or stolen: accept nothing more and wipe it', value: 'lost', kind: 'danger' },
    { label: 'Cancel', value: null },
  ],
};

function showPassword(volunteer, password, fresh) {
  return ask({
    title: fresh ? `${volunteer.name}'s account is ready` : `A new password for ${volunteer.name}`,
    body: `<p>Their password is</p><p><span class="password" data-password>${esc(password)}</span></p>
      <p>Give it to them in person or by phone. It is shown only this once; they log in with
      <strong>${esc(volunteer.email)}</strong>.${fresh ? '' : ' Their old password no longer works; phones already signed in stay signed in.'}</p>`,
    buttons: [{ label: 'I have given it to them', value: true, kind: 'primary' }],
  });
}

async function renderOverview(root, admin) {
  let volunteers;
  try {
    volunteers = await api('GET', '/volunteers', { query: { constituency_id: admin.constituencyId ?? undefined, include_inactive: true } });
  } catch (error) {
    root.innerHTML = `<h1>Volunteers</h1><p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
    return;
  }
  volunteers.sort((a, b) => (b.active - a.active) || a.name.localeCompare(b.name));
  const inactive = volunteers.filter((v) => !v.active).length;
  root.innerHTML = `<h1>Volunteers</h1>
    <p>${plural(volunteers.length - inactive, 'active volunteer')}${inactive ? `, ${plural(inactive, 'former one')}` : ''}.</p>
    <table class="data"><caption class="visually-hidden">The CLP's volunteers</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Phones</th><th scope="col">Last heard from</th><th scope="col">Access</th></tr></thead>
      <tbody>${volunteers.map((v) => `<tr class="${v.active ? '' : 'retired'}">
        <th scope="row"><a href="#/admin/volunteers/${v.id}">${esc(v.name)}</a><br><span class="small muted">${esc(v.email)}</span></th>
        <td data-label="Role">${esc(roleName(v.role))}</td>
        <td data-label="Phones">${v.devices}</td>
        <td data-label="Last heard from">${v.last_seen_at ? esc(ago(v.last_seen_at)) : 'never'}</td>
        <td data-label="Access">${v.active ? 'Active' : 'Ended'}</td></tr>`).join('')}</tbody></table>
    <form class="card" data-new novalidate><h2>Add a volunteer</h2>
      <p class="notice" data-draft-note hidden>What you typed last time was kept.</p>
      <div class="grid2">${field({ name: 'name', label: 'Name', required: true, attrs: 'maxlength="120" autocomplete="off"' })}
        ${field({ name: 'email', label: 'Email', type: 'email', required: true, attrs: 'maxlength="254" autocomplete="off"' })}</div>
      ${field({ name: 'role', label: 'Role', options: ROLES })}
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn btn-primary" type="submit">Add the volunteer</button></form>`;
  const form = root.querySelector('[data-new]');
  const forget = await keepDraft(form, 'new-volunteer');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(form, async () => {
      clearErrors(form);
      const v = formValues(form);
      const body = { name: v.name.trim(), email: v.email.trim(), role: v.role };
      if (admin.user.scope.kind !== 'constituency') body.constituency_id = admin.constituencyId;
      try {
        const made = await api('POST', '/volunteers', { body });
        await forget();
        await showPassword(made.volunteer, made.password, true);
        admin.ctx.rerender();
      } catch (error) { showErrors(form, error); }
    });
  });
}

function deviceRows(devices) {
  if (!devices.length) return '<p class="muted">No phone is signed in.</p>';
  return `<table class="data"><caption class="visually-hidden">Phones signed in</caption>
    <thead><tr><th scope="col">Phone</th><th scope="col">Signed in</th><th scope="col">Last heard from</th><th scope="col">Sign out</th></tr></thead>
    <tbody>${devices.map((d) => `<tr><th scope="row">${esc(d.name)}</th>
      <td data-label="Signed in">${esc(new Date(d.created_at).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' }))}</td>
      <td data-label="Last heard from">${d.last_seen_at ? esc(ago(d.last_seen_at)) : 'never'}</td>
      <td data-label="Sign out"><button type="button" class="btn btn-small btn-danger" data-revoke="${esc(d.id)}">Sign out<span class="visually-hidden"> ${esc(d.name)}</span></button></td></tr>`).join('')}</tbody></table>`;
}

async function renderOne(root, admin, id) {
  let volunteer;
  let devices;
  try {
    const everyone = await api('GET', '/volunteers', { query: { constituency_id: admin.constituencyId ?? undefined, include_inactive: true } });
    volunteer = everyone.find((v) => v.id === id);
    devices = volunteer ? await api('GET', '/devices', { query: { user_id: id } }) : [];
  } catch (error) {
    root.innerHTML = `<p><a class="back" href="#/admin/volunteers">← All volunteers</a></p><h1>Volunteer</h1>
      <p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
    return;
  }
  if (!volunteer) {
    root.innerHTML = '<p><a class="back" href="#/admin/volunteers">← All volunteers</a></p><h1>Not found</h1><p>No volunteer of this CLP has that number.</p>';
    return;
  }
  root.innerHTML = `<p><a class="back" href="#/admin/volunteers">← All volunteers</a></p>
    <h1>${esc(volunteer.name)}</h1>
    <p>${esc(roleName(volunteer.role))} · ${esc(volunteer.email)} · ${volunteer.active ? 'access active' : '<strong>access ended</strong>'}</p>
    <h2>Phones</h2>${deviceRows(devices)}
    <h2>Account</h2>
    <div class="actions">
      ${volunteer.active ? `<button type="button" class="btn" data-password>Give them a new password</button>
        <button type="button" class="btn btn-danger" data-deactivate>End their access</button>`
        : '<button type="button" class="btn btn-primary" data-reactivate>Give their access back</button>'}
    </div>`;
  const act = async (work, done) => {
    try {
      await work();
      if (done) admin.ctx.flash(done);
      admin.ctx.rerender();
    } catch (error) { toast(explain(error), { ms: 10000 }); }
  };
  root.querySelector('[data-password]')?.addEventListener('click', () => act(async () => {
    const made = await api('POST', `/volunteers/${id}/password`);
    await showPassword(made.volunteer, made.password, false);
  }));
  root.querySelector('[data-deactivate]')?.addEventListener('click', async () => {
    const choice = await ask(END_ACCESS);
    if (!choice) return;
    act(() => api('POST', `/volunteers/${id}/deactivate`, { body: { phones_lost: choice === 'lost' } }),
      choice === 'lost' ? 'Access ended. Their phones will wipe themselves.' : 'Access ended. What their phones still hold will come to the review queue.');
  });
  root.querySelector('[data-reactivate]')?.addEventListener('click', () => act(
    () => api('POST', `/volunteers/${id}/reactivate`), 'Their access is back. Give them a new password if they need one.'));
  root.addEventListener('click', async (event) => {
    const button = event.target.closest('[data-revoke]');
    if (!button) return;
    const choice = await ask({ ...END_ACCESS, title: 'Why sign this phone out?', buttons: [
      { label: 'It is no longer theirs to use: deliver what it holds, for me to review', value: 'access_withdrawn', kind: 'primary' },
      { label: 'It was lost or stolen: accept nothing more and wipe it', value: 'lost', kind: 'danger' },
      { label: 'Cancel', value: null }] });
    if (!choice) return;
    act(() => api('POST', `/devices/${button.dataset.revoke}/revoke`, { body: { reason: choice } }), 'The phone is signed out.');
  });
}

export async function render(root, admin) {
  const sub = admin.params.sub;
  if (sub && /^\d+$/.test(sub)) return renderOne(root, admin, Number(sub));
  return renderOverview(root, admin);
}
