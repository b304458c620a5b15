// Why: the record screen at a door. The common outcomes take one or two taps (not home; spoke then a
// voting intention; refused; moved; do not contact), survey, strength and notes are optional, and undo
// and corrections are new events. What the rest of the team did here is shown; a phone number given, or
// someone living here who is not on the register, is one short form. "Saved" is shown only once
// IndexedDB has committed the record.
import * as db from '../db.js';
import {
  correctContact, inUse, labelOf, outcomesFor, recordContact, recordNewPerson, recordPhoneNumber, retractContact,
} from '../recording.js';
import { KNOCK_LABELS, nextUnvisited } from '../walkorder.js';
import { loadWalk, recount } from './walk.js';
import { announce, ask, esc, focusHeading, when } from './common.js';
import { detailsFormHtml, readDetails } from './survey.js';

const COMMON = ['not_home', 'spoke', 'refused', 'moved', 'do_not_contact'];

export async function renderDoor(root, ctx, { assignmentId, propertyId }) {
  const model = await loadWalk(assignmentId);
  const property = model && model.propertiesById.get(propertyId);
  if (!property) {
    root.innerHTML = `<h1>Address not found</h1><p>This address is no longer on this phone.</p>
      <p><a class="btn" href="#/walk/${assignmentId}">Back to the list</a></p>`;
    focusHeading(root);
    return null;
  }
  const { campaign, assignment } = model;
  const outcomes = outcomesFor(campaign, 'door');
  const common = COMMON.map((m) => outcomes.find((o) => o.meaning === m)).filter(Boolean);
  const others = outcomes.filter((o) => !common.includes(o));
  const notHome = outcomes.find((o) => o.meaning === 'not_home');
  let electors = (model.electorsByProperty.get(propertyId) || []).slice();
  const modes = new Map(); // elector id → 'intention' | 'correct' | 'correct-intention' | 'details' | 'phone'
  let addingPerson = false;
  // People not on the register recorded at this address from this phone.
  const added = () => model.records.filter((r) => r.type === 'elector_new' && r.propertyId === propertyId);

  async function reload() {
    model.activity = new Map((await db.all('activity')).map((a) => [a.elector_id, a]));
    recount(model, await db.allRecords());
    const still = new Set((await db.electorsAt(propertyId)).map((e) => e.id));
    electors = electors.filter((e) => still.has(e.id)); // someone suppressed meanwhile leaves at once
  }

  // What a colleague's phone recorded at this door, when it is newer than anything on this one.
  function teamLine(e) {
    const door = model.activity.get(e.id) && model.activity.get(e.id).door;
    const mine = model.latest.get(e.id);
    if (!door || Date.parse(door.at) < Date.parse(model.assignment.starts_at)) return '';
    if (mine && Date.parse(mine.occurredAt) >= Date.parse(door.at)) return '';
    return `<p class="team">By the team: ${esc(KNOCK_LABELS[door.outcome] || 'knocked')}, ${esc(when(door.at))}</p>`;
  }

  function lastLine(e) {
    const r = model.latest.get(e.id);
    if (!r) return '<p class="last muted">No record yet</p>';
    let text = labelOf(campaign.outcomes, r.outcome);
    if (r.intention) text += ': ' + labelOf(campaign.intentions, r.intention);
    if (r.strength) text += ' (' + labelOf(campaign.strengths, r.strength) + ')';
    const state = r.state === 'sent' ? 'sent' : r.state === 'failed' ? 'not accepted' : 'saved, waiting to send';
    return `<p class="last"><strong>${esc(text)}</strong> <span class="muted">· ${esc(state)}</span></p>`;
  }

  function outcomeButtons(e, correcting) {
    const button = (o) => `<button type="button" class="btn btn-outcome" data-outcome="${esc(o.code)}" data-eid="${e.id}">${esc(o.label)}${o.meaning === 'spoke' ? '…' : ''}</button>`;
    return `<div class="grid2" role="group" aria-label="${correcting ? 'Correct the outcome for' : 'Outcome for'} ${esc(e.forenames)} ${esc(e.surname)}">
      ${common.map(button).join('')}</div>
      ${others.length ? `<details class="more"><summary>More outcomes</summary><div class="grid2">${others.map(button).join('')}</div></details>` : ''}`;
  }

  function intentionButtons(e) {
    return `<fieldset class="panel"><legend>How will ${esc(e.forenames)} vote?</legend><div class="grid2">
      ${inUse(campaign.intentions).map((i) => `<button type="button" class="btn btn-outcome" data-intention="${esc(i.code)}" data-eid="${e.id}">${esc(i.label)}</button>`).join('')}
      <button type="button" class="btn btn-outcome" data-intention="" data-eid="${e.id}">Spoke, no answer given</button>
      <button type="button" class="btn btn-quiet" data-cancel data-eid="${e.id}">Cancel</button></div></fieldset>`;
  }

  function phoneForm(e) {
    return `<form class="panel stack" data-phone-form="${e.id}"><div class="field">
      <label for="phone-${e.id}">Phone number for ${esc(e.forenames)}</label>
      <input id="phone-${e.id}" type="tel" inputmode="tel" autocomplete="off" minlength="5" maxlength="32" required></div>
      <p class="hint">Only if they gave it to you for the campaign to use.</p>
      <div class="grid2"><button type="submit" class="btn btn-primary">Save number</button>
      <button type="button" class="btn btn-quiet" data-cancel data-eid="${e.id}">Cancel</button></div></form>`;
  }

  function cardHtml(e) {
    const mode = modes.get(e.id);
    const r = model.latest.get(e.id);
    let body;
    if (mode === 'intention' || mode === 'correct-intention') body = intentionButtons(e);
    else if (mode === 'phone') body = phoneForm(e);
    else if (r && r.meaning === 'do_not_contact') {
      // An objection is final on the phone: no undo, no change (an organiser can lift it if asked).
      body = '<p class="notice">They will not be contacted again.</p>';
    } else if (mode === 'details') {
      body = `<form class="panel stack" data-details="${e.id}">${detailsFormHtml(campaign, r, `d${e.id}`)}
        <div class="grid2"><button type="submit" class="btn btn-primary">Save details</button>
        <button type="button" class="btn btn-quiet" data-cancel data-eid="${e.id}">Cancel</button></div></form>`;
    } else if (r && mode !== 'correct') {
      body = `<div class="grid3">
        <button type="button" class="btn btn-small" data-undo="${e.id}">Undo</button>
        <button type="button" class="btn btn-small" data-change="${e.id}">Change</button>
        <button type="button" class="btn btn-small" data-more="${e.id}" ${r.meaning === 'spoke' ? '' : 'hidden'}>Add details</button></div>`;
    } else {
      body = outcomeButtons(e, mode === 'correct') +
        (mode === 'correct' ? `<button type="button" class="btn btn-quiet" data-cancel data-eid="${e.id}">Cancel</button>` : '');
    }
    const phoneButton = mode || (r && r.meaning === 'do_not_contact') ? ''
      : `<button type="button" class="btn btn-quiet btn-small" data-phone="${e.id}">Phone number…</button>`;
    return `<li class="card person" data-card="${e.id}">
      <h2 class="h3">${esc(e.forenames)} ${esc(e.surname)}</h2>
      <p class="muted small">${esc(e.elector_number)}</p>
      ${lastLine(e)}${teamLine(e)}${body}${phoneButton}</li>`;
  }

  function newPersonHtml() {
    const list = added().length ? `<ul class="plain-list">${added().map((p) =>
      `<li class="card"><strong>${esc(p.name)}</strong> <span class="muted">· not on the register, sent for your organiser to add</span></li>`).join('')}</ul>` : '';
    if (!addingPerson) {
      return `${list}<button type="button" class="btn btn-wide" data-add-person>Someone here is not on the list</button>`;
    }
    return `${list}<form class="card panel stack" data-new-person aria-labelledby="new-person-title">
      <h2 id="new-person-title" class="h3">Someone living here who is not on the list</h2>
      <div class="field"><label for="np-forenames">First names</label>
        <input id="np-forenames" type="text" autocomplete="off" maxlength="120" required></div>
      <div class="field"><label for="np-surname">Surname</label>
        <input id="np-surname" type="text" autocomplete="off" maxlength="120" required></div>
      <div class="field"><label for="np-phone">Phone number (optional)</label>
        <input id="np-phone" type="tel" inputmode="tel" autocomplete="off" maxlength="32"></div>
      <div class="field"><label for="np-notes">Notes (optional)</label>
        <textarea id="np-notes" rows="2" maxlength="2000"></textarea></div>
      <div class="grid2"><button type="submit" class="btn btn-primary">Send for review</button>
      <button type="button" class="btn btn-quiet" data-cancel-person>Cancel</button></div></form>`;
  }

  function nextLink() {
    const next = nextUnvisited(model.walk.order, model.done, propertyId);
    if (next == null) return '<p class="notice">Every door on this list has a record.</p>';
    const p = model.propertiesById.get(next);
    return `<a class="btn btn-primary btn-next" href="#/door/${assignmentId}/${next}">Next door: ${esc(p.address_lines[0])}${p.flat ? ', ' + esc(p.address_lines[1] || '') : ''}</a>`;
  }

  // Shown for every household of more than one, and kept in place as people are recorded, so the
  // cards under the thumb never move.
  function nobodyHtml() {
    if (!notHome || electors.length < 2) return '';
    const n = electors.filter((e) => !model.latest.has(e.id)).length;
    if (!n) return '<button type="button" class="btn btn-wide" disabled>Everyone here has a record</button>';
    return `<button type="button" class="btn btn-wide" data-nobody>Nobody home: ${n === 1 ? '1 person' : n + ' people'} not home</button>`;
  }

  function draw() {
    root.innerHTML = `
      <p><a class="back" href="#/walk/${assignmentId}">‹ Back to the list</a></p>
      <h1>${esc(property.address_lines.slice(0, -1).join(', ') || property.address_lines.join(', '))}</h1>
      <p class="muted">${esc(property.address_lines[property.address_lines.length - 1] || '')} ${esc(property.postcode || '')}</p>
      <div data-nobody-wrap>${nobodyHtml()}</div>
      ${electors.length ? '' : '<p class="notice">Nobody at this address is on your list.</p>'}
      <ul class="plain-list people">${electors.map(cardHtml).join('')}</ul>
      <div data-new-person-wrap>${newPersonHtml()}</div>
      <div data-next>${nextLink()}</div>`;
  }

  function redrawNewPerson(focus) {
    root.querySelector('[data-new-person-wrap]').innerHTML = newPersonHtml();
    const target = root.querySelector(focus);
    if (target) target.focus();
  }

  function redrawCard(id, focusSelector) {
    const e = electors.find((x) => x.id === id);
    const el = root.querySelector(`[data-card="${id}"]`);
    if (!el) return;
    if (!e) {
      el.remove();
      root.querySelector('[data-nobody-wrap]').innerHTML = nobodyHtml();
      return;
    }
    el.outerHTML = cardHtml(e);
    root.querySelector('[data-next]').innerHTML = nextLink();
    root.querySelector('[data-nobody-wrap]').innerHTML = nobodyHtml();
    const fresh = root.querySelector(`[data-card="${id}"]`);
    const target = (focusSelector && fresh.querySelector(focusSelector)) || fresh.querySelector('button, input, select');
    if (target) target.focus({ preventScroll: true });
    // Keep what the thumb needs next on screen: the intention buttons, or the card just saved.
    (fresh.querySelector('.panel') || fresh).scrollIntoView({ block: 'nearest' });
  }

  async function save(e, outcome, intention, extra = {}) {
    const previous = model.latest.get(e.id);
    const correcting = modes.get(e.id) === 'correct' || modes.get(e.id) === 'correct-intention' || extra.details;
    const args = { campaign, assignment, elector: e, channel: 'door', outcome, intention, ...extra };
    const record = correcting && previous ? await correctContact(previous, args) : await recordContact(args);
    modes.delete(e.id);
    await reload();
    ctx.recorded();
    let text = `Saved: ${e.forenames} ${e.surname}, ${outcome.label}`;
    if (intention) text += ', ' + labelOf(campaign.intentions, intention);
    redrawCard(e.id, '[data-undo]');
    // The card itself now shows what was saved, with its Undo button; screen readers hear it too.
    announce(outcome.meaning === 'do_not_contact' ? text + '. They will not be contacted again.' : text + '.');
  }

  async function undo(e, record) {
    const current = model.latest.get(e.id);
    if (!current || current.chain !== record.chain) return;
    await retractContact(current, 'Undone on the phone');
    await reload();
    ctx.recorded();
    redrawCard(e.id);
    announce(`Undone: the record for ${e.forenames} ${e.surname} was withdrawn.`);
  }

  root.addEventListener('click', async (event) => {
    const t = event.target.closest('button');
    if (!t) return;
    const e = electors.find((x) => x.id === Number(t.dataset.eid || t.dataset.undo || t.dataset.change || t.dataset.more
      || t.dataset.phone));
    if (t.hasAttribute('data-add-person')) { addingPerson = true; return redrawNewPerson('#np-forenames'); }
    if (t.hasAttribute('data-cancel-person')) { addingPerson = false; return redrawNewPerson('[data-add-person]'); }
    if (t.hasAttribute('data-nobody')) {
      for (const person of electors.filter((x) => !model.latest.has(x.id))) {
        await recordContact({ campaign, assignment, elector: person, channel: 'door', outcome: notHome });
      }
      await reload();
      ctx.recorded();
      draw();
      announce('Saved: nobody home.');
      const next = root.querySelector('[data-next] a');
      if (next) next.focus();
      return;
    }
    if (!e) return;
    if (t.dataset.outcome !== undefined) {
      const outcome = outcomes.find((o) => o.code === t.dataset.outcome);
      if (outcome.meaning === 'spoke') {
        modes.set(e.id, modes.get(e.id) === 'correct' ? 'correct-intention' : 'intention');
        return redrawCard(e.id, '[data-intention]');
      }
      if (outcome.meaning === 'do_not_contact') {
        const ok = await ask({
          title: `Do not contact ${e.forenames} ${e.surname}?`,
          body: '<p>They asked not to be contacted again. They will be removed from every list, for every volunteer. This cannot be undone from the app: only an organiser can lift it.</p>',
          buttons: [{ label: 'Yes, do not contact', value: true, kind: 'danger' }, { label: 'Cancel', value: false }],
        });
        if (!ok) return;
      }
      return save(e, outcome, null);
    }
    if (t.dataset.intention !== undefined) {
      const spoke = outcomes.find((o) => o.meaning === 'spoke');
      return save(e, spoke, t.dataset.intention || null);
    }
    if (t.hasAttribute('data-cancel')) { modes.delete(e.id); return redrawCard(e.id); }
    if (t.dataset.undo) return undo(e, model.latest.get(e.id));
    if (t.dataset.change) { modes.set(e.id, 'correct'); return redrawCard(e.id); }
    if (t.dataset.more) { modes.set(e.id, 'details'); return redrawCard(e.id); }
    if (t.dataset.phone) { modes.set(e.id, 'phone'); return redrawCard(e.id, 'input'); }
  });

  root.addEventListener('submit', async (event) => {
    const phoneForm = event.target.closest('[data-phone-form]');
    if (phoneForm) {
      event.preventDefault();
      const e = electors.find((x) => x.id === Number(phoneForm.dataset.phoneForm));
      const number = phoneForm.querySelector('input').value.trim();
      await recordPhoneNumber(e, number);
      modes.delete(e.id);
      ctx.recorded();
      redrawCard(e.id, '[data-phone]');
      announce(`Saved: a phone number for ${e.forenames} ${e.surname}.`);
      return;
    }
    const personForm = event.target.closest('[data-new-person]');
    if (personForm) {
      event.preventDefault();
      const value = (id) => personForm.querySelector(id).value.trim();
      const record = await recordNewPerson({ property, forenames: value('#np-forenames'), surname: value('#np-surname'),
        phone: value('#np-phone') || null, notes: value('#np-notes') || null });
      await reload();
      addingPerson = false;
      ctx.recorded();
      redrawNewPerson('[data-add-person]');
      announce(`Saved: ${record.name}, sent for your organiser to add to the list.`);
      return;
    }
    const form = event.target.closest('[data-details]');
    if (!form) return;
    event.preventDefault();
    const e = electors.find((x) => x.id === Number(form.dataset.details));
    const previous = model.latest.get(e.id);
    const outcome = outcomes.find((o) => o.code === previous.outcome);
    await save(e, outcome, previous.intention, { ...readDetails(form, campaign, `d${e.id}`), details: true });
  });

  // After a sync: someone removed (an objection, a list that ended) leaves at once, and the other cards
  // say "sent" (or "not accepted") unless the volunteer is busy with that card.
  async function onSynced() {
    const before = electors.map((e) => e.id);
    await reload();
    for (const id of before) {
      if (!electors.some((e) => e.id === id)) redrawCard(id);
      else if (!modes.has(id)) redrawCardQuietly(id);
    }
  }
  window.addEventListener('gw:data-changed', onSynced);
  ctx.scheduler.addEventListener('synced', onSynced);

  function redrawCardQuietly(id) {
    const el = root.querySelector(`[data-card="${id}"]`);
    const e = electors.find((x) => x.id === id);
    // A card the volunteer has opened more of ("More outcomes") stays as it is until the next sync.
    if (!el || !e || el.querySelector('details[open]')) return;
    // Keep the focus where it was (a screen reader user is not thrown back to the top).
    const focused = el.contains(document.activeElement) ? document.activeElement : null;
    const key = focused && [...focused.attributes].find((a) => a.name.startsWith('data-'));
    el.outerHTML = cardHtml(e);
    if (key) root.querySelector(`[data-card="${id}"] [${key.name}="${CSS.escape(key.value)}"]`)?.focus({ preventScroll: true });
  }

  draw();
  focusHeading(root);
  return () => {
    window.removeEventListener('gw:data-changed', onSynced);
    ctx.scheduler.removeEventListener('synced', onSynced);
  };
}
