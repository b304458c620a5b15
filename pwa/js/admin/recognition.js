// Why: a milestone is worth a word from a person, not only a push. The CLP's admins see each milestone their
// volunteers reach, newest first, and say thank you (with a message, if they like), so the volunteer hears
// it and the other admins see it has been done, by whom and when.
import { esc, plural, toast } from '../ui/common.js';
import { api, explain } from './common.js';
import { moment } from './monitoring-common.js';

const UNITS = { calls: ['call', 'calls'], doors: ['door', 'doors'] };

function what(m) {
  const [one, many] = UNITS[m.measure] || [m.measure, m.measure];
  return plural(m.threshold, one, many);
}

function thanksHtml(m) {
  if (m.thanked_at) {
    return `<p class="thanked" data-thanked><span class="badge badge-ok">Thanked</span> by ${esc(m.thanked_by_name || 'an admin')}, ${esc(moment(m.thanked_at))}</p>`;
  }
  const id = esc(m.id);
  return `<button type="button" class="btn" data-open-thanks="${id}" aria-expanded="false" aria-controls="thank-${id}">Say thank you</button>
    <form class="thank-form" id="thank-${id}" data-thank="${id}" hidden novalidate>
      <div class="field"><label for="thanks-${id}">Message to ${esc(m.volunteer_name)} (optional)</label>
        <p class="hint" id="thanks-${id}-hint">Sent to them as a notice. Up to 300 characters.</p>
        <textarea id="thanks-${id}" name="message" maxlength="300" aria-describedby="thanks-${id}-hint thanks-${id}-error"></textarea>
        <p class="error" id="thanks-${id}-error" data-error-for="message"></p></div>
      <div class="actions"><button type="submit" class="btn btn-primary">Send thanks</button>
        <button type="button" class="btn btn-quiet" data-cancel-thanks="${id}">Cancel</button></div>
    </form>`;
}

function itemHtml(m) {
  return `<li class="card milestone" data-milestone="${esc(m.id)}">
    <h2 class="h3">${esc(m.volunteer_name)}: ${esc(what(m))}</h2>
    <p class="small muted">${esc(m.campaign_name || '')}${m.campaign_name ? ' · ' : ''}reached ${esc(moment(m.reached_at))}${m.count > m.threshold ? ` (${esc(m.count.toLocaleString('en-GB'))} by then)` : ''}</p>
    ${thanksHtml(m)}
  </li>`;
}

export async function render(root, admin) {
  root.innerHTML = `<h1>Recognition</h1>
    <p>Milestones your volunteers have reached this campaign, newest first. Their phones celebrated each one;
      a word from you means more. Thank them in person if you can, and say so here.</p>
    <div data-milestones aria-live="polite"><p class="muted">Loading…</p></div>`;
  const box = root.querySelector('[data-milestones]');
  let milestones;
  try {
    milestones = await api('GET', '/milestones');
  } catch (error) {
    box.innerHTML = `<p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
    return null;
  }
  milestones = milestones.filter((m) => admin.constituencyId == null || m.constituency_id == null || m.constituency_id === admin.constituencyId);
  milestones.sort((a, b) => String(b.reached_at).localeCompare(String(a.reached_at)));
  const draw = () => {
    box.innerHTML = milestones.length
      ? `<ul class="plain-list milestones">${milestones.map(itemHtml).join('')}</ul>`
      : '<p class="notice">No milestones reached yet this campaign. When a volunteer reaches one (250 calls, say), it shows here.</p>';
  };
  draw();
  box.addEventListener('click', (event) => {
    const open = event.target.closest('[data-open-thanks]');
    const cancel = event.target.closest('[data-cancel-thanks]');
    const key = open ? open.dataset.openThanks : cancel ? cancel.dataset.cancelThanks : null;
    if (key == null) return;
    const item = box.querySelector(`[data-milestone="${CSS.escape(key)}"]`);
    const form = item.querySelector('[data-thank]');
    const opener = item.querySelector('[data-open-thanks]');
    form.hidden = !open;
    opener.setAttribute('aria-expanded', String(!!open));
    if (open) form.querySelector('textarea').focus(); else opener.focus();
  });
  box.addEventListener('submit', async (event) => {
    const form = event.target.closest('[data-thank]');
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector('button[type=submit]');
    const error = form.querySelector('.error');
    button.disabled = true;
    error.textContent = '';
    const message = form.querySelector('textarea').value.trim();
    try {
      const done = await api('POST', `/milestones/${form.dataset.thank}/thanks`, { body: message ? { message } : {} });
      const i = milestones.findIndex((m) => String(m.id) === form.dataset.thank);
      milestones[i] = { ...milestones[i], ...done };
      draw();
      toast(`Thank you sent to ${milestones[i].volunteer_name}.`);
      box.querySelector(`[data-milestone="${CSS.escape(form.dataset.thank)}"] [data-thanked]`)?.setAttribute('tabindex', '-1');
      box.querySelector(`[data-milestone="${CSS.escape(form.dataset.thank)}"] [data-thanked]`)?.focus();
    } catch (failure) {
      button.disabled = false;
      error.textContent = explain(failure);
    }
  });
  return null;
}
