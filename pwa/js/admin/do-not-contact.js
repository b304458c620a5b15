// Why: people object by letter, email or a call to the office, not only on the doorstep. The admin
// finds the elector and records the objection with how it came; from then on nobody is sent to them
// (the server takes them off lists and phones at their next sync). An objection is lifted only when
// the person asks again, and the record of both stays. Names are shown only after a search. The same
// search serves the person's other rights: a copy of what is held about them, and erasure (admin/rights.js).
import { esc, plural, toast } from '../ui/common.js';
import { api, busy, can, clearErrors, day, explain, field, formValues, keepDraft, showErrors } from './common.js';
import { handleRequests, requestButtons } from './rights.js';

const RECEIVED = [['letter', 'By letter'], ['email', 'By email'], ['phone', 'By phone'], ['in_person', 'In person']];
const CHANNELS = [['all', 'Any contact at all'], ['door', 'No door-knocking'], ['phone', 'No phone calls'], ['text', 'No texts'], ['post', 'No post']];
const CHANNEL_NAME = Object.fromEntries(CHANNELS);
const RECEIVED_NAME = Object.fromEntries(RECEIVED);

function objectionsTable(page) {
  if (!page.items.length) return '<p class="muted">No objections recorded yet.</p>';
  return `<table class="data"><caption class="visually-hidden">Objections in force</caption>
    <thead><tr><th scope="col">Elector</th><th scope="col">Asked for</th><th scope="col">Received</th><th scope="col">Recorded</th><th scope="col">Lift</th></tr></thead>
    <tbody>${page.items.map((s) => `<tr><th scope="row">${esc(s.name)}<br><span class="small muted">${esc(s.elector_number)}${s.address ? ' · ' + esc(s.address) : ''}</span></th>
      <td data-label="Asked for">${esc(CHANNEL_NAME[s.channel] || s.channel)}</td>
      <td data-label="Received">${esc(RECEIVED_NAME[s.received_by] || s.received_by || 'from a volunteer')}</td>
      <td data-label="Recorded">${esc(day(s.created_at))}${s.created_by ? ' by ' + esc(s.created_by) : ''}</td>
      <td data-label="Lift"><button type="button" class="btn btn-small" data-lift="${s.id}" data-name="${esc(s.name)}">Lift<span class="visually-hidden"> the objection of ${esc(s.name)}</span></button></td>
    </tr>`).join('')}</tbody></table>${page.pages > 1 ? `<p class="small muted">Showing the latest ${page.items.length} of ${page.total}.</p>` : ''}`;
}

function electorResults(page, rights) {
  if (!page.items.length) return '<p class="notice">Nobody on the register matches. Check the spelling, or search by postcode.</p>';
  return `<p>${plural(page.total, 'match', 'matches')}${page.total > page.items.length ? `; the first ${page.items.length} are shown` : ''}.</p>
    <ul class="plain-list">${page.items.map((e) => `<li class="row"><span><strong>${esc(e.forenames)} ${esc(e.surname)}</strong><br>
      <span class="small muted">${esc(e.elector_number)}${e.property ? ' · ' + esc(e.property.address) : ''}</span></span>
      <span class="actions"><button type="button" class="btn btn-small btn-primary" data-choose="${e.id}" data-name="${esc(e.forenames + ' ' + e.surname)}">Record an objection<span class="visually-hidden"> for ${esc(e.forenames)} ${esc(e.surname)}</span></button>
      ${rights ? requestButtons('elector', e.id, `${e.forenames} ${e.surname}`) : ''}</span></li>`).join('')}</ul>`;
}

export async function render(root, admin) {
  const rights = can(admin.user, 'rights:manage');
  root.innerHTML = `<h1>Do not contact</h1>
    <p>Record an objection that came by letter, email or phone. The person is taken off every list and every
      phone at its next sync, and stays off until they ask again.${rights ? ` Find the person here too for a copy of
      everything held about them (subject access), or to erase them.` : ''}</p>
    <form class="card" data-find novalidate role="search"><h2>Find the person</h2>
      <div class="grid2">${field({ name: 'name', label: 'Surname or full name', attrs: 'maxlength="120" autocomplete="off"' })}
        ${field({ name: 'postcode', label: 'Postcode', attrs: 'maxlength="10" autocomplete="off"' })}</div>
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn" type="submit">Search the register</button></form>
    <section data-results aria-live="polite"></section>
    <form class="card" data-record novalidate hidden><h2>Record the objection</h2>
      <p class="notice" data-draft-note hidden>What you typed last time was kept.</p>
      <p class="big" data-chosen></p><input type="hidden" name="elector_id"><input type="hidden" name="elector_name">
      <div class="grid2">${field({ name: 'received_by', label: 'How it came', options: RECEIVED })}
        ${field({ name: 'channel', label: 'They asked for', options: CHANNELS })}</div>
      ${field({ name: 'reason', label: 'What they said', type: 'textarea', required: true,
        hint: 'Enough to show later why it was recorded, e.g. "Letter dated 3 Dec: do not call or visit".', attrs: 'rows="3" maxlength="1000"' })}
      <p class="error" data-error-for="elector_id"></p>
      <p class="error" data-form-error tabindex="-1"></p>
      <button class="btn btn-primary" type="submit">Record the objection</button></form>
    <h2>In force</h2><div data-list><p class="muted">Loading…</p></div>`;
  const find = root.querySelector('[data-find]');
  const results = root.querySelector('[data-results]');
  const recordForm = root.querySelector('[data-record]');
  const list = root.querySelector('[data-list]');

  const loadList = async () => {
    try {
      list.innerHTML = objectionsTable(await api('GET', '/suppressions', { query: { per_page: 100 } }));
    } catch (error) { list.innerHTML = `<p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`; }
  };
  const choose = (id, name) => {
    recordForm.hidden = false;
    recordForm.elements.elector_id.value = id;
    recordForm.querySelector('[data-chosen]').textContent = name;
    recordForm.elements.elector_name.value = name;
    recordForm.dataset.name = name;
    recordForm.dispatchEvent(new Event('change')); // keep the choice in the draft too
    recordForm.elements.received_by.focus();
  };

  const forget = await keepDraft(recordForm, 'objection');
  if (recordForm.elements.elector_id.value) {
    choose(recordForm.elements.elector_id.value, recordForm.elements.elector_name.value || 'The person you chose before');
  }

  find.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(find, async () => {
      clearErrors(find);
      const v = formValues(find);
      if (!v.name.trim() && !v.postcode.trim()) {
        find.querySelector('[data-form-error]').textContent = 'Type a name or a postcode to search for.';
        return;
      }
      try {
        const page = await api('GET', '/electors', { query: { name: v.name.trim() || undefined, postcode: v.postcode.trim() || undefined, per_page: 20 } });
        results.innerHTML = electorResults(page, rights);
      } catch (error) { showErrors(find, error); }
    });
  });
  results.addEventListener('click', (event) => {
    const button = event.target.closest('[data-choose]');
    if (button) choose(button.dataset.choose, button.dataset.name);
  });
  handleRequests(results, (message, erased) => {
    toast(message, { ms: 10000 });
    if (erased) { results.innerHTML = ''; loadList(); }
  });
  recordForm.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(recordForm, async () => {
      clearErrors(recordForm);
      const v = formValues(recordForm);
      try {
        await api('POST', '/suppressions', { body: { elector_id: Number(v.elector_id), received_by: v.received_by,
          channel: v.channel, reason: v.reason.trim() } });
        await forget();
        toast(`Recorded. ${recordForm.dataset.name || 'They'} will be taken off lists and phones at their next sync.`);
        recordForm.reset();
        recordForm.hidden = true;
        results.innerHTML = '';
        loadList();
      } catch (error) { showErrors(recordForm, error); }
    });
  });
  list.addEventListener('click', async (event) => {
    const button = event.target.closest('[data-lift]');
    if (!button) return;
    const reason = await askReason(button.dataset.name);
    if (!reason) return;
    try {
      await api('POST', `/suppressions/${button.dataset.lift}/lift`, { body: { reason } });
      toast('Lifted. The objection stays on record, with why it was lifted.');
      loadList();
    } catch (error) { toast(explain(error), { ms: 10000 }); }
  });
  loadList();
  return null;
}

/** Lifting needs a reason in the person's own terms; a dialog with a text box asks for it. */
function askReason(name) {
  return new Promise((resolve) => {
    const dialog = document.createElement('dialog');
    dialog.className = 'dialog';
    dialog.setAttribute('aria-labelledby', 'lift-title');
    dialog.innerHTML = `<form method="dialog" novalidate><h2 id="lift-title">Lift ${esc(name)}'s objection?</h2>
      <p>Only when they have asked to hear from us again.</p>
      ${field({ name: 'lift_reason', label: 'How they asked', type: 'textarea', required: true, attrs: 'rows="3" maxlength="1000"' })}
      <div class="stack"><button class="btn btn-primary" value="lift">Lift the objection</button>
        <button class="btn" value="" formnovalidate>Cancel</button></div></form>`;
    const area = dialog.querySelector('textarea');
    dialog.querySelector('form').addEventListener('submit', (event) => {
      if (event.submitter && event.submitter.value === 'lift' && !area.value.trim()) {
        event.preventDefault();
        dialog.querySelector('[data-error-for=lift_reason]').textContent = 'Say how they asked, so the record shows why.';
      }
    });
    dialog.addEventListener('close', () => {
      const text = dialog.returnValue === 'lift' ? area.value.trim() : null;
      dialog.remove();
      resolve(text || null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
