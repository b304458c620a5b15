// Why: the complaint that new members' details were withheld "pleading the Data Protection Act" is answered
// by openness, not by refusal: regional staff and national admins see who viewed, exported or handed on
// which members' data, when, and why. Members are named by number only; no contact detail is shown here.
import { esc, roleName, when } from '../ui/common.js';
import { api, busy, clearErrors, explain, field, formValues, showErrors } from './common.js';

const SHOW_NUMBERS = 12;

function numbers(entry) {
  const list = entry.membership_numbers;
  const head = list.slice(0, SHOW_NUMBERS).map(esc).join(', ');
  return list.length > SHOW_NUMBERS ? `${head} <span class="muted">and ${list.length - SHOW_NUMBERS} more</span>` : head;
}

export async function render(root, admin) {
  root.innerHTML = `<h1>Member access</h1>
    <p>Every view, export and welcome list of members' details, with who, when and why.</p>
    <form class="card" data-filter novalidate>
      <div class="grid2">${field({ name: 'membership_number', label: 'One member (membership number)', hint: 'Leave empty for everyone',
        attrs: 'maxlength="16" autocomplete="off"' })}
        ${field({ name: 'scope', label: 'Which CLPs', options: [['clp', 'The CLP chosen above'], ['all', 'All in your scope']],
          value: 'all' })}</div>
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn" type="submit">Show</button>
    </form>
    <div data-log aria-live="polite"><p class="muted">Loading…</p></div>`;
  const form = root.querySelector('form');
  const log = root.querySelector('[data-log]');
  if (admin.user.scope.kind === 'constituency') form.querySelector('[name=scope]').closest('.field').hidden = true;
  let entries = [];
  const load = (page = 1) => busy(form, async () => {
    clearErrors(form);
    const v = formValues(form);
    const query = { page, per_page: 50, membership_number: v.membership_number.trim() || undefined };
    if (v.scope === 'clp' && admin.constituencyId) query.constituency_id = admin.constituencyId;
    let body;
    try {
      body = await api('GET', '/members/access-log', { query });
    } catch (error) {
      showErrors(form, error);
      log.innerHTML = `<p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
      return;
    }
    entries = page === 1 ? body.items : [...entries, ...body.items];
    log.innerHTML = !entries.length ? '<p class="notice">Nobody has accessed these members\' details.</p>' : `
      <table class="data"><caption class="visually-hidden">Access to members' data</caption>
        <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Why</th><th scope="col">Members</th></tr></thead>
        <tbody>${entries.map((e) => `<tr>
          <td data-label="When">${esc(when(e.at))}</td>
          <th scope="row">${e.actor ? `${esc(e.actor.name)}<br><span class="small muted">${esc(roleName(e.actor.role))}${e.constituency ? `, ${esc(e.constituency)}` : ''}</span>` : 'The system'}</th>
          <td data-label="What">${esc(e.described)}</td>
          <td data-label="Why">${e.purpose ? esc(e.purpose) : '<span class="muted">not given</span>'}</td>
          <td data-label="Members">${e.members}: <span class="small">${numbers(e)}</span></td></tr>`).join('')}</tbody></table>
      ${entries.length < body.total ? `<p><button type="button" class="btn" data-more data-page="${body.page + 1}">Show more</button></p>` : ''}`;
  });
  log.addEventListener('click', (event) => {
    const more = event.target.closest('[data-more]');
    if (more) load(Number(more.dataset.page));
  });
  form.addEventListener('submit', (event) => { event.preventDefault(); load(); });
  await load();
  return null;
}
