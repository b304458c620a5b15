// Why: the review queue is where a person settles what the system will not guess: two volunteers who
// heard different things, someone found who is not on the register, a report that someone has moved,
// records sent after a volunteer's access ended. Each item is shown in words (who, when, what), is
// decided one at a time or many at once by a rule, and any decision can be undone.
import { ask, esc, plural, toast, when } from '../ui/common.js';
import { api, busy, explain, field, formValues } from './common.js';

const KINDS = [['', 'Everything'], ['intention_conflict', 'Disagreements on voting intention'], ['field_conflict', 'Two phone numbers'],
  ['new_elector', 'People not on the register'], ['presence_report', 'Moved away or died'], ['held_delivery', 'Sent after access ended']];
const RULES = [['newest', 'The newest contact wins'], ['oldest', 'The first contact wins'], ['accept', 'Accept'],
  ['dismiss', 'Dismiss'], ['reject', 'Reject (records sent after access ended)']];
const PER_PAGE = 50;

function side(s) {
  const who = `${esc(s.who)}${s.when ? ', ' + esc(when(s.when)) : ''}`;
  return `<span class="side-what">${esc(s.what)}</span> <span class="small muted">(${who})</span>`;
}

function about(d, item) {
  const e = d.elector || d.person;
  if (!e) return '';
  const bits = [e.elector_number, e.address, e.ward && `${e.ward} ward`].filter(Boolean).map(esc).join(' · ');
  const note = d.elector && d.elector.provisional ? ' <span class="badge badge-warn">provisional</span>' : '';
  return `<p class="about"><strong>${esc(e.name)}</strong>${note}${bits ? `<br><span class="small muted">${bits}</span>` : ''}</p>`;
}

function decisionButtons(item) {
  const d = item.described;
  const id = item.id;
  if (item.kind === 'intention_conflict' || item.kind === 'field_conflict') {
    return `<ul class="plain-list sides">${d.sides.map((s) => `<li class="row"><span>${side(s)}</span>
      <button type="button" class="btn btn-small" data-decide="${id}" data-choice="${s.choice}">Keep this<span class="visually-hidden">: ${esc(s.what)}</span></button></li>`).join('')}</ul>`;
  }
  if (item.kind === 'new_elector' || item.kind === 'presence_report') {
    const yes = item.kind === 'new_elector' ? 'Add them as a provisional elector' : 'Confirm';
    return `<p>${d.sides.map(side).join('')}</p><div class="actions">
      <button type="button" class="btn btn-small btn-primary" data-decide="${id}" data-choice="accept">${yes}</button>
      <button type="button" class="btn btn-small" data-decide="${id}" data-choice="dismiss">Dismiss</button></div>`;
  }
  if (item.kind === 'held_delivery') {
    const open = d.records.filter((r) => !r.decision);
    const why = d.suspended ? `The CLP's access was suspended ${esc(when(d.access_ended_at))}; ${esc(d.volunteer)} made these after that`
      : `${esc(d.volunteer)}'s access ended ${esc(when(d.access_ended_at))}`;
    return `<p>${why}; their phone sent these ${esc(when(d.delivered_at))}.</p>
      <ul class="plain-list held">${d.records.map((r) => `<li class="row"><label class="check">
        ${r.decision ? '' : `<input type="checkbox" data-record="${esc(r.id)}" checked>`}
        <span>${esc(r.what)}${r.elector ? ` — ${esc(r.elector)}` : ''} <span class="small muted">${esc(when(r.when))}${r.decision ? ' · ' + esc(r.decision) : ''}</span></span></label></li>`).join('')}</ul>
      ${open.length ? `<div class="actions"><button type="button" class="btn btn-small btn-primary" data-decide="${id}" data-choice="accept" data-held>Accept the ticked</button>
        <button type="button" class="btn btn-small btn-danger" data-decide="${id}" data-choice="reject" data-held>Reject the ticked</button></div>` : ''}`;
  }
  return '';
}

function decided(item) {
  const r = item.resolution || {};
  const d = item.described;
  const what = { first: 'kept the first', second: 'kept the second', newest: 'the newest won', oldest: 'the first won',
    value: 'entered a value', accept: 'accepted', dismiss: 'dismissed', reject: 'rejected', decided: 'decided record by record' }[r.choice] || r.choice;
  return `<p>Decided ${esc(when(item.resolved_at))}${d.resolved_by ? ' by ' + esc(d.resolved_by) : ''}: ${esc(what)}${r.withdrawn ? ', then the accepted records were withdrawn' : ''}.</p>
    ${r.withdrawn ? '' : `<button type="button" class="btn btn-small" data-undo="${item.id}">Undo this decision</button>`}`;
}

function card(item) {
  const d = item.described;
  const open = item.status === 'open';
  return `<li class="card review-item" data-item="${item.id}">
    <div class="review-head">${open ? `<label class="check"><input type="checkbox" data-pick="${item.id}"><span class="visually-hidden">Choose item ${item.id}</span></label>` : ''}
      <h2 class="h3">${esc(d.title)}</h2><span class="small muted">${esc(when(item.created_at))}</span></div>
    ${about(d, item)}
    ${open ? decisionButtons(item) : decided(item)}</li>`;
}

export async function render(root, admin) {
  const q = { constituency_id: admin.constituencyId ?? undefined };
  let wards = [];
  try { wards = await api('GET', '/wards', { query: q }); } catch (error) { /* the list says what is wrong */ }
  wards.sort((a, b) => a.name.localeCompare(b.name));
  root.innerHTML = `<h1>Review queue</h1>
    <details class="filters" ${window.innerWidth >= 768 ? 'open' : ''}><summary>Filter by kind, ward and day</summary>
    <form data-filters role="search">
      <div class="grid4">
        ${field({ name: 'status', label: 'Show', options: [['open', 'To decide'], ['resolved', 'Decided']] })}
        ${field({ name: 'kind', label: 'Kind', options: KINDS })}
        ${field({ name: 'ward_id', label: 'Ward', options: [['', 'All wards'], ...wards.map((w) => [w.id, w.name])] })}
        ${field({ name: 'since', label: 'Raised from', type: 'date' })}
        ${field({ name: 'until', label: 'Raised until', type: 'date' })}
      </div>
      <p class="error" data-form-error tabindex="-1"></p>
      <button type="submit" class="btn">Show</button></form></details>
    <form class="card bulk" data-bulk hidden><h2 class="h3">Decide the chosen items by a rule</h2>
      <p data-chosen-count></p>
      <div class="grid2">${field({ name: 'rule', label: 'Rule', options: RULES })}
        ${field({ name: 'note', label: 'Note (optional)', attrs: 'maxlength="1000"' })}</div>
      <p class="error" data-form-error tabindex="-1"></p>
      <div class="actions"><button type="button" class="btn btn-small" data-pick-all>Choose all on this page</button>
        <button type="submit" class="btn btn-primary">Decide the chosen</button></div></form>
    <section data-items aria-live="polite"><p class="muted">Loading…</p></section>`;
  const filters = root.querySelector('[data-filters]');
  const bulk = root.querySelector('[data-bulk]');
  const list = root.querySelector('[data-items]');
  let page = 1;
  let items = [];

  const chosen = () => [...list.querySelectorAll('[data-pick]:checked')].map((c) => Number(c.dataset.pick));
  const countChosen = () => {
    const n = chosen().length;
    bulk.querySelector('[data-chosen-count]').textContent = n ? `${plural(n, 'item')} chosen.` : 'Tick items below, or choose all on this page.';
  };

  async function load() {
    const v = formValues(filters);
    list.innerHTML = '<p class="muted">Loading…</p>';
    let result;
    try {
      result = await api('GET', '/review-items', { query: { status: v.status, kind: v.kind || undefined,
        ward_id: v.ward_id || undefined, since: v.since || undefined, until: v.until || undefined, page, per_page: PER_PAGE } });
    } catch (error) {
      list.innerHTML = `<p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
      return;
    }
    items = result.items;
    bulk.hidden = v.status !== 'open' || !items.length;
    countChosen();
    list.innerHTML = items.length ? `<p>${plural(result.total, 'item')}${result.pages > 1 ? `, page ${result.page} of ${result.pages}` : ''}.</p>
      <ul class="plain-list">${items.map(card).join('')}</ul>
      <div class="actions">${result.page > 1 ? '<button type="button" class="btn btn-small" data-page="-1">Previous page</button>' : ''}
        ${result.page < result.pages ? '<button type="button" class="btn btn-small" data-page="1">Next page</button>' : ''}</div>`
      : `<p class="notice">${v.status === 'open' ? 'Nothing to decide. Well done.' : 'Nothing decided yet matches.'}</p>`;
  }

  filters.addEventListener('submit', (event) => { event.preventDefault(); page = 1; load(); });
  filters.addEventListener('change', () => { page = 1; load(); });
  list.addEventListener('change', (event) => { if (event.target.matches('[data-pick]')) countChosen(); });
  bulk.querySelector('[data-pick-all]').addEventListener('click', () => {
    list.querySelectorAll('[data-pick]').forEach((c) => { c.checked = true; });
    countChosen();
  });
  bulk.addEventListener('submit', (event) => {
    event.preventDefault();
    const ids = chosen();
    const v = formValues(bulk);
    if (!ids.length) {
      bulk.querySelector('[data-form-error]').textContent = 'Choose at least one item first.';
      return;
    }
    busy(bulk, async () => {
      const rule = RULES.find(([key]) => key === v.rule)[1];
      const sure = await ask({ title: `Decide ${plural(ids.length, 'item')}?`,
        body: `<p>Rule: <strong>${esc(rule)}</strong>. Items the rule does not fit are left as they are. Each decision can be undone later.</p>`,
        buttons: [{ label: 'Decide them', value: true, kind: 'primary' }, { label: 'Cancel', value: false }] });
      if (!sure) return;
      try {
        const done = await api('POST', '/review-items/resolve-many', { body: { item_ids: ids, rule: v.rule, note: v.note || null } });
        toast(`${plural(done.resolved.length, 'item')} decided.${done.skipped.length ? ` ${plural(done.skipped.length, 'item')} left as they were: the rule does not fit them.` : ''}`, { ms: 10000 });
        load();
      } catch (error) { bulk.querySelector('[data-form-error]').textContent = explain(error); }
    });
  });

  list.addEventListener('click', async (event) => {
    const pager = event.target.closest('[data-page]');
    if (pager) { page += Number(pager.dataset.page); load(); return; }
    const decide = event.target.closest('[data-decide]');
    const undo = event.target.closest('[data-undo]');
    if (!decide && !undo) return;
    const button = decide || undo;
    button.disabled = true;
    try {
      if (undo) {
        await api('POST', `/review-items/${undo.dataset.undo}/undo`, { body: {} });
        toast('Undone. The item is back in the queue.');
      } else {
        const body = { choice: decide.dataset.choice };
        if (decide.dataset.held !== undefined) {
          const ticked = [...decide.closest('[data-item]').querySelectorAll('[data-record]:checked')].map((c) => c.dataset.record);
          if (!ticked.length) { toast('Tick the records to decide first.'); return; }
          body.mutation_ids = ticked;
        }
        await api('POST', `/review-items/${decide.dataset.decide}/resolve`, { body });
        toast('Decided. You can undo it under "Decided".', { ms: 8000 });
      }
      load();
    } catch (error) {
      toast(explain(error), { ms: 10000 });
    } finally { button.disabled = false; }
  });
  load();
  return null;
}
