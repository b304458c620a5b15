// Why: local parties lost access to a national tool without warning, mid-election. Here regional staff and
// national admins change a CLP's access only in the open: a suspension is scheduled with a date and a
// reason that the CLP's people see at once (pwa/js/access.js), an immediate one needs its reason recorded and
// a confirmation, and restoring is one step. Every change is audited on the server.
import { ukWhen } from '../access.js';
import { ask, esc, roleName } from '../ui/common.js';
import { api, busy, clearErrors, day, explain, field, formValues, isoDay, showErrors } from './common.js';

const STATUS = { scheduled: 'Scheduled', in_effect: 'In effect', past: 'Past', cancelled: 'Called off' };


function standing(clp, state) {
  if (state && state.access === 'suspended') {
    return `<strong class="text-bad">Suspended</strong> since ${esc(ukWhen(state.suspended_since))}<br><span class="small">${esc(state.reason || '')}</span>`;
  }
  if (state && state.upcoming) {
    return `<strong>Suspension scheduled</strong> from ${esc(ukWhen(state.upcoming.effective_at))}<br><span class="small">${esc(state.upcoming.reason)}</span>`;
  }
  return 'Normal';
}

function actions(clp, state) {
  if (state && state.access === 'suspended') {
    return `<button type="button" class="btn btn-small btn-primary" data-act="restore" data-clp="${clp.id}">Restore access<span class="visually-hidden"> of ${esc(clp.name)}</span></button>`;
  }
  if (state && state.upcoming) {
    return `<button type="button" class="btn btn-small" data-act="cancel" data-change="${state.upcoming.change_id}" data-clp="${clp.id}">Call it off<span class="visually-hidden">: the suspension of ${esc(clp.name)}</span></button>`;
  }
  return `<button type="button" class="btn btn-small" data-act="schedule" data-clp="${clp.id}">Schedule a suspension<span class="visually-hidden"> of ${esc(clp.name)}</span></button>
    <button type="button" class="btn btn-small btn-danger" data-act="now" data-clp="${clp.id}">Suspend now<span class="visually-hidden">: ${esc(clp.name)}</span></button>`;
}

const FORMS = {
  schedule: (clp) => `<h2>Schedule a suspension of ${esc(clp.name)}</h2>
    <p>From the moment you save it, ${esc(clp.name)}'s admins and volunteers see the date and your reason on every
      screen. Records they make before the date are accepted whenever they arrive; records made after it are held
      for review, never lost.</p>
    <div class="grid2">${field({ name: 'on', label: 'Suspended from (day)', type: 'date', required: true,
      value: isoDay(new Date(Date.now() + 7 * 86400000)) })}
      ${field({ name: 'at', label: 'Time (UK)', type: 'time', value: '00:00', required: true })}</div>
    ${field({ name: 'reason', label: 'Reason, as the CLP will read it', type: 'textarea', required: true,
      attrs: 'maxlength="1000" rows="3"' })}`,
  now: (clp) => `<h2>Suspend ${esc(clp.name)} now</h2>
    <p class="notice notice-warn">This takes effect at once. Its admins see it, with your reason, as soon as they
      open the app; records made from now are held for review.</p>
    ${field({ name: 'reason', label: 'Reason, as the CLP will read it', type: 'textarea', required: true,
      attrs: 'maxlength="1000" rows="3"' })}`,
  restore: (clp) => `<h2>Restore ${esc(clp.name)}'s access</h2>
    ${field({ name: 'reason', label: 'Reason', type: 'textarea', required: true, attrs: 'maxlength="1000" rows="2"' })}`,
  cancel: (clp) => `<h2>Call off the suspension of ${esc(clp.name)}</h2>
    ${field({ name: 'reason', label: 'Reason, as the CLP will read it', type: 'textarea', required: true,
      attrs: 'maxlength="1000" rows="2"' })}`,
};
const SUBMIT = { schedule: 'Schedule the suspension', now: 'Suspend now', restore: 'Restore access', cancel: 'Call it off' };

export async function render(root, admin) {
  let clps;
  let page;
  try {
    [clps, page] = await Promise.all([api('GET', '/constituencies'), api('GET', '/access-changes', { query: { per_page: 50 } })]);
  } catch (error) {
    root.innerHTML = `<h1>CLP access</h1><p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
    return null;
  }
  clps.sort((a, b) => a.name.localeCompare(b.name));
  const states = new Map(page.clps.map((s) => [s.constituency_id, s]));
  root.innerHTML = `<h1>CLP access</h1>
    <p>A CLP's access never changes silently: its people see the date and the reason from the moment you schedule it.</p>
    <table class="data"><caption class="visually-hidden">Access of the CLPs in your scope</caption>
      <thead><tr><th scope="col">CLP</th><th scope="col">Access</th><th scope="col">Change</th></tr></thead>
      <tbody>${clps.map((c) => `<tr><th scope="row">${esc(c.name)}</th>
        <td data-label="Access">${standing(c, states.get(c.id))}</td>
        <td data-label="Change"><div class="actions">${actions(c, states.get(c.id))}</div></td></tr>`).join('')}</tbody></table>
    <div data-form></div>
    <h2>History</h2>
    ${page.items.length ? `<table class="data"><caption class="visually-hidden">Changes to CLPs' access</caption>
      <thead><tr><th scope="col">CLP</th><th scope="col">Change</th><th scope="col">From</th><th scope="col">Reason</th><th scope="col">Status</th></tr></thead>
      <tbody>${page.items.map((ch) => `<tr><th scope="row">${esc(ch.constituency_name)}</th>
        <td data-label="Change">${ch.kind === 'suspend' ? 'Suspension' : 'Restore'}<br><span class="small muted">by ${esc(roleName(ch.created_by_role || ''))}, ${esc(day(ch.created_at))}</span></td>
        <td data-label="From">${esc(ukWhen(ch.effective_at))}</td>
        <td data-label="Reason">${esc(ch.reason)}${ch.cancel_reason ? `<br><span class="small muted">Called off: ${esc(ch.cancel_reason)}</span>` : ''}</td>
        <td data-label="Status">${STATUS[ch.status] || esc(ch.status)}</td></tr>`).join('')}</tbody></table>`
    : '<p class="muted">No CLP\'s access has been changed.</p>'}`;

  const box = root.querySelector('[data-form]');
  root.querySelector('table').addEventListener('click', (event) => {
    const button = event.target.closest('[data-act]');
    if (!button) return;
    const clp = clps.find((c) => c.id === Number(button.dataset.clp));
    const act = button.dataset.act;
    box.innerHTML = `<form class="card" novalidate>${FORMS[act](clp)}
      <p class="error" data-form-error tabindex="-1"></p>
      <div class="actions"><button class="btn ${act === 'now' ? 'btn-danger' : 'btn-primary'}" type="submit">${SUBMIT[act]}</button>
      <button class="btn" type="button" data-close>Cancel</button></div></form>`;
    const form = box.querySelector('form');
    form.querySelector('[data-close]').addEventListener('click', () => { box.replaceChildren(); });
    form.querySelector('textarea, input').focus();
    form.addEventListener('submit', (submitted) => {
      submitted.preventDefault();
      busy(form, () => submit(form, act, clp, button.dataset.change, admin));
    });
  });
  return null;
}

async function submit(form, act, clp, changeId, admin) {
  clearErrors(form);
  const v = formValues(form);
  const reason = (v.reason || '').trim();
  let body = null;
  try {
    if (act === 'cancel') {
      await api('POST', `/access-changes/${changeId}/cancel`, { body: { reason } });
    } else {
      body = { constituency_id: clp.id, kind: act === 'restore' ? 'restore' : 'suspend', reason };
      if (act === 'schedule') {
        if (!v.on) throw Object.assign(new Error('Choose the day.'), { fieldErrors: { on: 'Choose the day.' } });
        body.effective_at = ukMoment(v.on, v.at || '00:00');
      }
      if (act === 'now') {
        const sure = await ask({
          title: `Suspend ${clp.name} now?`,
          body: `<p>Its people lose the console and new lists at once; what they record is held for review.</p>`,
          buttons: [{ label: 'Suspend now', value: true, kind: 'danger' }, { label: 'Cancel', value: false }],
        });
        if (!sure) return;
      }
      await api('POST', '/access-changes', { body });
    }
    admin.ctx.flash(act === 'schedule' ? `${clp.name} is told now; the suspension starts ${ukWhen(body.effective_at)}.`
      : act === 'now' ? `${clp.name}'s access is suspended.` : act === 'restore' ? `${clp.name}'s access is restored.`
        : `The suspension of ${clp.name} is called off.`);
    admin.ctx.rerender();
  } catch (error) {
    if (error.fieldErrors) {
      form.querySelector('[data-error-for="on"]').textContent = error.fieldErrors.on;
      return;
    }
    if (error.details && error.details.effective_at) { error.details.on = error.details.effective_at; delete error.details.effective_at; }
    showErrors(form, error);
  }
}

/** A UK wall-clock day and time as an instant (GMT or BST as that day has it). */
function ukMoment(dayIso, time) {
  const naive = new Date(`${dayIso}T${time}:00Z`);
  const inLondon = new Date(naive.toLocaleString('en-US', { timeZone: 'Europe/London' }));
  const inUtc = new Date(naive.toLocaleString('en-US', { timeZone: 'UTC' }));
  return new Date(naive.getTime() - (inLondon - inUtc)).toISOString();
}
