// Why: phone banking. The volunteer sees the campaign's script, the person's name (an elector, or a
// member with why they are being called) and a tap-to-call link, and logs the outcome in one or two taps:
// answered (with a voting intention and strength, then Save within reach; the survey opens only if
// wanted), no answer, voicemail, wrong number, call back later at a time, refused, moved, deceased, do
// not call. Due call-backs come first; people the rest of the team has called are not rung again. Counts
// for the session and in total are kept in the same transaction as the calls, and ending a session always
// says thank you (ui/thanks.js; milestones are the server's to find).
import * as db from '../db.js';
import { inUse, labelOf, outcomesFor, recordContact, retractContact, summarise } from '../recording.js';
import { ask, esc, focusHeading, hideToast, plural, sessionLine, toast, when } from './common.js';
import { detailsFormHtml, readDetails } from './survey.js';
import { endSession as thank } from './thanks.js';

const ORDER = ['spoke', 'no_answer', 'voicemail', 'wrong_number', 'call_back', 'refused', 'moved', 'deceased',
  'do_not_contact'];
const LABELS = { spoke: 'Answered…', call_back: 'Call back later…', do_not_contact: 'Do not call' };

function scriptFor(campaign, person, user) {
  const text = campaign.call_script || 'Introduce yourself, ask how they intend to vote, and thank them for their time.';
  const mine = user && user.name ? user.name.split(' ')[0] : 'your name';
  return text.replace(/\[first name\]/gi, person.forenames).replace(/\[your name\]/gi, mine);
}

/** The list's people in its order: electors, and members (for welcome calls), as one shape. */
async function peopleOf(assignment) {
  const items = assignment.items.filter((i) => i.elector_id != null || i.member_id != null)
    .sort((a, b) => a.position - b.position);
  const people = [];
  for (const item of items) {
    if (item.member_id != null) {
      const m = await db.get('member', item.member_id);
      if (m) {
        people.push({ key: `m${m.id}`, member: m, forenames: m.first_name, surname: m.last_name, phone: m.phone,
          reason: m.reason, team: m.called });
      }
    } else {
      const e = await db.get('elector', item.elector_id);
      if (e) {
        const activity = await db.get('activity', e.id);
        people.push({ key: `e${e.id}`, elector: e, forenames: e.forenames, surname: e.surname, phone: e.phone,
          team: activity && activity.phone });
      }
    }
  }
  return people;
}

async function load(assignmentId) {
  const assignment = await db.get('assignment', assignmentId);
  if (!assignment) return null;
  const campaign = await db.get('campaign', assignment.campaign_id);
  const people = await peopleOf(assignment);
  const records = await db.allRecords();
  const electors = summarise(records, { campaignId: campaign.id, channel: 'phone' }).latest;
  const members = summarise(records, { campaignId: campaign.id, channel: 'phone', members: true }).latest;
  const meta = await db.getMeta(['callSession', 'callTotal', 'user']);
  const since = Date.parse(assignment.starts_at);
  for (const p of people) {
    p.mine = p.member ? members.get(p.member.id) : electors.get(p.elector.id);
    p.last = lastCall(p, since);
  }
  return { assignment, campaign, people, meta };
}

/** The latest call to a person, by this phone or anyone on the team since the list began, or null. */
function lastCall(person, since) {
  const mine = person.mine ? { at: person.mine.occurredAt, outcome: person.mine.meaning,
    callBackAt: person.mine.callBackAt, code: person.mine.outcome, byMe: true } : null;
  const team = person.team && Date.parse(person.team.at) >= since ? { at: person.team.at,
    outcome: person.team.outcome, callBackAt: person.team.call_back_at, byMe: false } : null;
  if (!mine) return team;
  if (!team) return mine;
  return Date.parse(mine.at) >= Date.parse(team.at) ? mine : team;
}

/** Who to call next: due call-backs first (earliest due), then people nobody has called yet. */
export function queue(people, nowMs = Date.now()) {
  const due = people.filter((p) => p.last && p.last.outcome === 'call_back' && p.last.callBackAt
    && Date.parse(p.last.callBackAt) <= nowMs)
    .sort((a, b) => Date.parse(a.last.callBackAt) - Date.parse(b.last.callBackAt));
  const fresh = people.filter((p) => !p.last);
  return [...due, ...fresh];
}

export async function renderCall(root, ctx, { assignmentId }) {
  let model = await load(assignmentId);
  if (!model) {
    root.innerHTML = `<h1>List not found</h1><p>This call list is no longer on this phone.</p>
      <p><a class="btn" href="#/lists">Back to your lists</a></p>`;
    focusHeading(root);
    return null;
  }
  if (!model.meta.callSession || model.meta.callSession.assignmentId !== assignmentId) {
    await db.setMeta({ callSession: { assignmentId, startedAt: new Date().toISOString(), count: 0, startTotal: model.meta.callTotal || 0 } });
    model = await load(assignmentId);
  }
  const { campaign } = model;
  const outcomes = outcomesFor(campaign, 'phone');
  const buttons = ORDER.map((m) => outcomes.find((o) => o.meaning === m)).filter(Boolean);
  const skipped = new Set();
  let currentKey = null;
  let panel = null; // 'answered' | 'call_back'
  let chosenIntention = null;
  let chosenStrength = null;
  let scriptOpen = true;

  function current() {
    return model.people.find((p) => p.key === currentKey);
  }

  function pickCurrent() {
    const waiting = queue(model.people);
    const candidate = waiting.find((p) => !skipped.has(p.key)) || waiting[0];
    currentKey = candidate ? candidate.key : null;
  }

  function countsHtml() {
    const session = model.meta.callSession || { count: 0 };
    return `This session: <strong>${session.count}</strong> ${session.count === 1 ? 'call' : 'calls'} · Total: <strong>${model.meta.callTotal || 0}</strong>`;
  }

  function stateOf(p) {
    if (!p.last) return 'Not called yet';
    const byMeaning = outcomes.find((o) => o.meaning === p.last.outcome);
    const what = p.last.code ? labelOf(campaign.outcomes, p.last.code) : (byMeaning ? byMeaning.label : 'Called');
    const who = p.last.byMe ? '' : ' (team)';
    if (p.last.outcome === 'call_back' && p.last.callBackAt) {
      const dueNow = Date.parse(p.last.callBackAt) <= Date.now();
      return `${dueNow ? 'Call back now' : 'Call back'}: ${when(p.last.callBackAt)}${who}`;
    }
    return `${what}, ${when(p.last.at)}${who}`;
  }

  function answeredHtml(p) {
    const strengths = inUse(campaign.strengths);
    return `<form class="panel stack" data-answered>
      <fieldset><legend>How will ${esc(p.forenames)} vote? (optional)</legend>
        <div class="grid2">${inUse(campaign.intentions).map((i) => `<button type="button" class="btn btn-outcome" aria-pressed="${chosenIntention === i.code}" data-intention="${esc(i.code)}">${esc(i.label)}</button>`).join('')}</div></fieldset>
      ${strengths.length ? `<fieldset><legend>How firmly? (optional)</legend><div class="grid3">
        ${strengths.map((s) => `<button type="button" class="btn btn-small" aria-pressed="${chosenStrength === s.code}" data-strength="${esc(s.code)}">${esc(s.label.split(':')[0])}</button>`).join('')}</div></fieldset>` : ''}
      <details class="more"><summary>Survey questions and notes</summary>${detailsFormHtml(campaign, null, 'call', { strength: false })}</details>
      <div class="grid2 savebar"><button type="submit" class="btn btn-primary">Save call</button>
      <button type="button" class="btn btn-quiet" data-cancel>Cancel</button></div>
      </form>`;
  }

  function callbackHtml() {
    return `<form class="panel stack" data-callback><div class="field"><label for="callback-at">When to call back</label>
      <input id="callback-at" type="datetime-local" required></div>
      <p class="hint">Anyone calling from this list will be offered them again then.</p>
      <div class="grid2"><button type="submit" class="btn btn-primary">Save</button>
      <button type="button" class="btn btn-quiet" data-cancel>Cancel</button></div></form>`;
  }

  function calleeHtml(p) {
    const position = model.people.indexOf(p) + 1;
    const phone = p.phone ? `<a class="btn btn-call" href="tel:${esc(p.phone.replace(/[^\d+]/g, ''))}">Call ${esc(p.phone)}</a>`
      : '<p class="notice notice-warn">No phone number on file for this person.</p>';
    let extra;
    if (panel === 'answered') extra = answeredHtml(p);
    else if (panel === 'call_back') extra = callbackHtml();
    else {
      extra = `<div class="grid2" role="group" aria-label="Outcome of the call">${buttons.map((o) =>
        `<button type="button" class="btn btn-outcome" data-outcome="${esc(o.code)}">${esc(LABELS[o.meaning] || o.label)}</button>`).join('')}</div>
        <button type="button" class="btn btn-quiet" data-skip>Skip to the next person</button>`;
    }
    const callBack = p.last && p.last.outcome === 'call_back' && p.last.callBackAt
      ? `<p class="due">They asked to be called back ${esc(when(p.last.callBackAt))}.</p>` : '';
    return `<section class="card callee" aria-labelledby="callee-name" data-person="${esc(p.key)}"
      ${p.elector ? `data-elector="${p.elector.id}"` : `data-member="${p.member.id}"`}>
      <p class="muted">Person ${position} of ${model.people.length}</p>
      <h2 id="callee-name">${esc(p.forenames)} ${esc(p.surname)}</h2>
      ${p.reason ? `<p class="reason">${esc(p.reason)}</p>` : ''}
      ${callBack}
      ${phone}
      ${extra}
      <details class="script" ${scriptOpen ? 'open' : ''}><summary>Script</summary><div class="script-text">${esc(scriptFor(campaign, p, model.meta.user))}</div></details>
      </section>`;
  }

  function everyoneHtml() {
    return `<details class="everyone"><summary>Everyone on this list (${model.people.length})</summary><ul class="plain-list">
      ${model.people.map((p) => `<li class="row"><span>${esc(p.forenames)} ${esc(p.surname)} <span class="muted">· ${esc(stateOf(p))}</span></span>
          <button type="button" class="btn btn-small" data-pick="${esc(p.key)}" aria-label="Call ${esc(p.forenames)} ${esc(p.surname)} now">Call now</button></li>`).join('')}</ul></details>`;
  }

  function draw(focus) {
    const p = current();
    const later = model.people.filter((x) => x.last && x.last.outcome === 'call_back' && x.last.callBackAt
      && Date.parse(x.last.callBackAt) > Date.now()).length;
    root.innerHTML = `
      <p><a class="back" href="#/lists">‹ Your lists</a></p>
      <h1>${esc(model.assignment.name)}</h1>
      ${sessionLine(model.assignment) ? `<p class="session-line" data-session>${esc(sessionLine(model.assignment))}</p>` : ''}
      <p class="counts" data-counts>${countsHtml()}</p>
      ${p ? calleeHtml(p) : `<p class="notice">Everyone on this list has been called${later ? `, but ${esc(plural(later, 'person', 'people'))} asked to be called back later` : ''}. Thank you!</p>`}
      <button type="button" class="btn btn-wide" data-end>End session</button>
      ${everyoneHtml()}`;
    root.querySelector('details.script')?.addEventListener('toggle', (event) => { scriptOpen = event.target.open; });
    if (focus) {
      const target = root.querySelector(focus);
      if (target) target.focus();
    }
  }

  async function logCall(outcome, extra = {}) {
    const p = current();
    const who = p.member ? { member: p.member } : { elector: p.elector };
    const record = await recordContact({ campaign, assignment: model.assignment, ...who, channel: 'phone', outcome, ...extra });
    ctx.recorded();
    model = await load(assignmentId);
    panel = null;
    chosenIntention = null;
    chosenStrength = null;
    pickCurrent();
    draw('#callee-name');
    const undoable = outcome.meaning !== 'do_not_contact';
    toast(`Saved: ${p.forenames} ${p.surname}, ${outcome.label}.`, undoable ? {
      action: 'Undo',
      onAction: async () => {
        await retractContact(record, 'Undone on the phone');
        ctx.recorded();
        model = await load(assignmentId);
        currentKey = p.key;
        draw('#callee-name');
        toast(`Undone: the call to ${p.forenames} ${p.surname} was withdrawn.`);
      },
    } : {});
  }

  async function endSession() {
    hideToast();
    await thank('call', model.assignment);
  }

  function toggle(attribute, value, chosen) {
    const next = chosen === value ? null : value;
    for (const b of root.querySelectorAll(`[data-${attribute}]`)) b.setAttribute('aria-pressed', String(b.dataset[attribute] === next));
    return next;
  }

  root.addEventListener('click', async (event) => {
    const t = event.target.closest('button');
    if (!t) return;
    if (t.hasAttribute('data-end')) return endSession();
    if (t.dataset.pick) { currentKey = t.dataset.pick; panel = null; return draw('#callee-name'); }
    if (t.hasAttribute('data-skip')) { skipped.add(currentKey); pickCurrent(); return draw('#callee-name'); }
    if (t.hasAttribute('data-cancel')) { panel = null; chosenIntention = null; chosenStrength = null; return draw('[data-outcome]'); }
    if (t.dataset.intention !== undefined) { chosenIntention = toggle('intention', t.dataset.intention, chosenIntention); return; }
    if (t.dataset.strength !== undefined) { chosenStrength = toggle('strength', t.dataset.strength, chosenStrength); return; }
    if (t.dataset.outcome) {
      const outcome = outcomes.find((o) => o.code === t.dataset.outcome);
      if (outcome.meaning === 'spoke') { panel = 'answered'; return draw('[data-intention]'); }
      if (outcome.meaning === 'call_back') { panel = 'call_back'; return draw('#callback-at'); }
      if (outcome.meaning === 'do_not_contact') {
        const p = current();
        const ok = await ask({
          title: `Do not call ${p.forenames} ${p.surname} again?`,
          body: '<p>They will be removed from every list, for every volunteer. This cannot be undone from the app: only an organiser can lift it.</p>',
          buttons: [{ label: 'Yes, do not call', value: true, kind: 'danger' }, { label: 'Cancel', value: false }],
        });
        if (!ok) return;
      }
      return logCall(outcome);
    }
  });

  root.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (event.target.matches('[data-answered]')) {
      const spoke = outcomes.find((o) => o.meaning === 'spoke');
      const details = readDetails(event.target, campaign);
      return logCall(spoke, { intention: chosenIntention, ...details, strength: chosenStrength });
    }
    if (event.target.matches('[data-callback]')) {
      const at = event.target.querySelector('#callback-at').value;
      const callBack = outcomes.find((o) => o.meaning === 'call_back');
      return logCall(callBack, { callBackAt: at ? new Date(at).toISOString() : null });
    }
  });

  // A sync removed someone (an objection, a list that ended) or brought the team's calls: never show or
  // record them again, and move on if someone else has just rung the person on screen.
  async function onDataChanged() {
    const fresh = await load(assignmentId);
    if (!fresh) return;
    model = fresh;
    const p = current();
    if (!panel && (!p || !queue(model.people).includes(p))) {
      pickCurrent();
      draw('#callee-name');
    }
  }
  window.addEventListener('gw:data-changed', onDataChanged);

  pickCurrent();
  draw();
  focusHeading(root);
  return () => window.removeEventListener('gw:data-changed', onDataChanged);
}
