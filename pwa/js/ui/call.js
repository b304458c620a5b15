// Why: phone banking. The volunteer sees the campaign's script, the person's name and a tap-to-call
// link, and logs the outcome in one or two taps (answered with the survey, no answer, voicemail, wrong
// number, call back later at a time, do not call). Counts for the session and in total are kept in
// the same transaction as the calls, and ending a session always says thank you.
import * as db from '../db.js';
import { labelOf, outcomesFor, recordContact, retractContact, summarise } from '../recording.js';
import { ask, esc, focusHeading, hideToast, plural, toast } from './common.js';
import { detailsFormHtml, readDetails } from './survey.js';

const MILESTONES = [250, 500, 1000, 1500, 2000, 3000, 4000];
const ORDER = ['spoke', 'no_answer', 'voicemail', 'wrong_number', 'call_back', 'do_not_contact'];
const LABELS = { spoke: 'Answered…', call_back: 'Call back later…', do_not_contact: 'Do not call' };

function scriptFor(campaign, elector, user) {
  const text = campaign.call_script || 'Introduce yourself, ask how they intend to vote, and thank them for their time.';
  const mine = user && user.name ? user.name.split(' ')[0] : 'your name';
  return text.replace(/\[first name\]/gi, elector.forenames).replace(/\[your name\]/gi, mine);
}

async function load(assignmentId) {
  const assignment = await db.get('assignment', assignmentId);
  if (!assignment) return null;
  const campaign = await db.get('campaign', assignment.campaign_id);
  const items = assignment.items.filter((i) => i.elector_id != null).sort((a, b) => a.position - b.position);
  const people = [];
  for (const item of items) {
    const e = await db.get('elector', item.elector_id);
    if (e) people.push(e);
  }
  const { latest } = summarise(await db.allRecords(), { campaignId: campaign.id, channel: 'phone' });
  const meta = await db.getMeta(['callSession', 'callTotal', 'user']);
  return { assignment, campaign, people, latest, meta };
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
  let currentId = null;
  let panel = null; // 'answered' | 'call_back'
  let chosenIntention = null;

  function pickCurrent() {
    const open = model.people.filter((e) => !model.latest.has(e.id));
    const candidate = open.find((e) => !skipped.has(e.id)) || open[0];
    currentId = candidate ? candidate.id : null;
  }

  function countsHtml() {
    const session = model.meta.callSession || { count: 0 };
    return `This session: <strong>${session.count}</strong> ${session.count === 1 ? 'call' : 'calls'} · Total: <strong>${model.meta.callTotal || 0}</strong>`;
  }

  function calleeHtml(e) {
    const position = model.people.indexOf(e) + 1;
    const phone = e.phone ? `<a class="btn btn-call" href="tel:${esc(e.phone.replace(/[^\d+]/g, ''))}">Call ${esc(e.phone)}</a>`
      : '<p class="notice notice-warn">No phone number on file for this person.</p>';
    let extra = '';
    if (panel === 'answered') {
      extra = `<form class="panel stack" data-answered><fieldset><legend>How will ${esc(e.forenames)} vote? (optional)</legend>
        <div class="grid2">${campaign.intentions.map((i) => `<button type="button" class="btn btn-outcome" aria-pressed="${chosenIntention === i.code}" data-intention="${esc(i.code)}">${esc(i.label)}</button>`).join('')}</div></fieldset>
        ${detailsFormHtml(campaign, null, 'call')}
        <div class="grid2"><button type="submit" class="btn btn-primary">Save call</button>
        <button type="button" class="btn btn-quiet" data-cancel>Cancel</button></div></form>`;
    } else if (panel === 'call_back') {
      extra = `<form class="panel stack" data-callback><div class="field"><label for="callback-at">When to call back</label>
        <input id="callback-at" type="datetime-local" required></div>
        <div class="grid2"><button type="submit" class="btn btn-primary">Save</button>
        <button type="button" class="btn btn-quiet" data-cancel>Cancel</button></div></form>`;
    } else {
      extra = `<div class="grid2" role="group" aria-label="Outcome of the call">${buttons.map((o) =>
        `<button type="button" class="btn btn-outcome" data-outcome="${esc(o.code)}">${esc(LABELS[o.meaning] || o.label)}</button>`).join('')}</div>
        <button type="button" class="btn btn-quiet" data-skip>Skip to the next person</button>`;
    }
    return `<section class="card callee" aria-labelledby="callee-name" data-elector="${e.id}">
      <p class="muted">Person ${position} of ${model.people.length}</p>
      <h2 id="callee-name">${esc(e.forenames)} ${esc(e.surname)}</h2>
      ${phone}
      ${extra}
      <details class="script" ${panel ? '' : 'open'}><summary>Script</summary><div class="script-text">${esc(scriptFor(campaign, e, model.meta.user))}</div></details>
      </section>`;
  }

  function everyoneHtml() {
    return `<details class="everyone"><summary>Everyone on this list (${model.people.length})</summary><ul class="plain-list">
      ${model.people.map((e) => {
        const r = model.latest.get(e.id);
        const state = r ? labelOf(campaign.outcomes, r.outcome) : 'Not called yet';
        return `<li class="row"><span>${esc(e.forenames)} ${esc(e.surname)} <span class="muted">· ${esc(state)}</span></span>
          <button type="button" class="btn btn-small" data-pick="${e.id}" aria-label="Call ${esc(e.forenames)} ${esc(e.surname)} now">Call now</button></li>`;
      }).join('')}</ul></details>`;
  }

  function draw(focus) {
    const e = model.people.find((x) => x.id === currentId);
    root.innerHTML = `
      <p><a class="back" href="#/lists">‹ Your lists</a></p>
      <h1>${esc(model.assignment.name)}</h1>
      <p class="counts" data-counts>${countsHtml()}</p>
      ${e ? calleeHtml(e) : '<p class="notice">Everyone on this list has been called. Thank you!</p>'}
      <button type="button" class="btn btn-wide" data-end>End session</button>
      ${everyoneHtml()}`;
    if (focus) {
      const target = root.querySelector(focus);
      if (target) target.focus();
    }
  }

  async function logCall(outcome, extra = {}) {
    const e = model.people.find((x) => x.id === currentId);
    const record = await recordContact({ campaign, assignment: model.assignment, elector: e, channel: 'phone', outcome, ...extra });
    ctx.recorded();
    model = await load(assignmentId);
    panel = null;
    chosenIntention = null;
    pickCurrent();
    draw('#callee-name');
    const undoable = outcome.meaning !== 'do_not_contact';
    toast(`Saved: ${e.forenames} ${e.surname}, ${outcome.label}.`, undoable ? {
      action: 'Undo',
      onAction: async () => {
        await retractContact(record, 'Undone on the phone');
        ctx.recorded();
        model = await load(assignmentId);
        currentId = e.id;
        draw('#callee-name');
        toast(`Undone: the call to ${e.forenames} ${e.surname} was withdrawn.`);
      },
    } : {});
  }

  async function endSession() {
    hideToast();
    const meta = await db.getMeta(['callSession', 'callTotal', 'user']);
    const session = meta.callSession || { count: 0, startTotal: 0 };
    const total = meta.callTotal || 0;
    const passed = MILESTONES.filter((m) => total >= m && (session.startTotal || 0) < m).pop();
    await db.setMeta({ callSession: undefined });
    const first = meta.user && meta.user.name ? ', ' + meta.user.name.split(' ')[0] : '';
    root.innerHTML = `
      <h1>Thank you${esc(first)}!</h1>
      <p class="big">${session.count
        ? `You made ${esc(plural(session.count, 'call'))} this session. Every conversation helps.`
        : 'Thank you for giving your time today. Every session helps, however it went.'}</p>
      ${passed ? `<p class="notice notice-ok">You have now made more than ${passed.toLocaleString('en-GB')} calls. That is a real milestone.</p>` : ''}
      <p>${esc(plural(total, 'call'))} in total on this phone.</p>
      <div class="stack"><button type="button" class="btn btn-primary" data-restart>Start another session</button>
      <a class="btn" href="#/lists">Back to your lists</a></div>`;
    focusHeading(root);
  }

  root.addEventListener('click', async (event) => {
    const t = event.target.closest('button');
    if (!t) return;
    if (t.hasAttribute('data-end')) return endSession();
    if (t.hasAttribute('data-restart')) return ctx.rerender();
    if (t.dataset.pick) { currentId = Number(t.dataset.pick); panel = null; return draw('#callee-name'); }
    if (t.hasAttribute('data-skip')) { skipped.add(currentId); pickCurrent(); return draw('#callee-name'); }
    if (t.hasAttribute('data-cancel')) { panel = null; chosenIntention = null; return draw('[data-outcome]'); }
    if (t.dataset.intention !== undefined) {
      chosenIntention = chosenIntention === t.dataset.intention ? null : t.dataset.intention;
      for (const b of root.querySelectorAll('[data-intention]')) b.setAttribute('aria-pressed', String(b.dataset.intention === chosenIntention));
      return;
    }
    if (t.dataset.outcome) {
      const outcome = outcomes.find((o) => o.code === t.dataset.outcome);
      if (outcome.meaning === 'spoke') { panel = 'answered'; return draw('[data-intention]'); }
      if (outcome.meaning === 'call_back') { panel = 'call_back'; return draw('#callback-at'); }
      if (outcome.meaning === 'do_not_contact') {
        const e = model.people.find((x) => x.id === currentId);
        const ok = await ask({
          title: `Do not call ${e.forenames} ${e.surname} again?`,
          body: '<p>They will be removed from every list, for every volunteer. This cannot be undone from the app.</p>',
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
      return logCall(spoke, { intention: chosenIntention, ...readDetails(event.target, campaign) });
    }
    if (event.target.matches('[data-callback]')) {
      const at = event.target.querySelector('#callback-at').value;
      const callBack = outcomes.find((o) => o.meaning === 'call_back');
      const when = at ? new Date(at).toLocaleString('en-GB', { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }) : 'later';
      return logCall(callBack, { notes: `Call back: ${when}` });
    }
  });

  // A sync removed someone (an objection, a list that ended): never show or record them again.
  async function onDataChanged() {
    const fresh = await load(assignmentId);
    if (!fresh) return;
    model = fresh;
    if (!model.people.some((e) => e.id === currentId)) {
      panel = null;
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
