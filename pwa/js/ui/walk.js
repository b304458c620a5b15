// Why: the walk list a canvasser follows door to door with no signal: streets in order, odd and even
// sides, households under their address, blocks of flats as a grid, search by name or number, and the
// next door nobody has knocked yet one tap away, whoever on the team knocked it. Built as one HTML string
// so 5,000 electors render at once. "End session" says thank you (ui/thanks.js), whatever the session held.
import * as db from '../db.js';
import { labelOf, summarise } from '../recording.js';
import { buildWalk, byProperty, doorKnocks, flatLabel, KNOCK_LABELS, matches, nextUnvisited } from '../walkorder.js';
import { esc, focusHeading, plural, sessionLine, when } from './common.js';
import { endSession, startDoorSession } from './thanks.js';

/** Everything a walk list screen needs, loaded from IndexedDB. */
export async function loadWalk(assignmentId) {
  const data = await db.snapshot(['assignment', 'campaign', 'property', 'elector', 'activity']);
  const assignment = data.assignment.find((a) => a.id === assignmentId);
  if (!assignment) return null;
  const campaign = data.campaign.find((c) => c.id === assignment.campaign_id);
  const { property: properties, elector: electors, records } = data;
  const propertiesById = new Map(properties.map((p) => [p.id, p]));
  const electorsByProperty = byProperty(electors);
  const walk = buildWalk(assignment, propertiesById, electorsByProperty);
  const model = { assignment, campaign, propertiesById, electorsByProperty, walk,
    activity: new Map(data.activity.map((a) => [a.elector_id, a])) };
  recount(model, records);
  return model;
}

/**
 * What has been done at each door, from this phone's own records and what the team's phones did (the
 * pulled activity): `latest` (own record per elector), `knocks` (latest knock per door), `visited` (doors
 * with a knock) and `done` (doors not to knock again: all visited but those found not home a while ago).
 */
export function recount(model, records) {
  model.records = records;
  model.latest = summarise(records, { campaignId: model.assignment.campaign_id, channel: 'door' }).latest;
  model.knocks = doorKnocks(model.latest, model.activity, model.assignment, model.electorsByProperty);
  model.visited = new Set(model.knocks.keys());
  model.done = new Set([...model.knocks].filter(([, knock]) => !knock.again).map(([pid]) => pid));
}

/** A short description of what was last recorded at a door, or ''. */
export function doorState(model, electors, propertyId) {
  const done = electors.map((e) => model.latest.get(e.id)).filter(Boolean);
  const knock = model.knocks.get(propertyId);
  if (!done.length) {
    if (!knock) return '';
    return `${KNOCK_LABELS[knock.outcome] || 'Knocked'} ${when(knock.at)} (team)${knock.again ? ': try again' : ''}`;
  }
  done.sort((a, b) => a.occurredAt.localeCompare(b.occurredAt));
  const last = done[done.length - 1];
  let text = labelOf(model.campaign && model.campaign.outcomes, last.outcome);
  if (last.intention) text += ': ' + labelOf(model.campaign.intentions, last.intention);
  if (knock && knock.again) text += ': try again';
  return electors.length > 1 ? `${text} (${done.length}/${electors.length})` : text;
}

function names(electors) {
  if (!electors.length) return 'Nobody listed';
  return electors.map((e) => `${e.forenames} ${e.surname}`).join(', ');
}

function houseHtml(model, aid, p, electors) {
  const state = doorState(model, electors, p.id);
  const number = p.house_number != null ? p.house_number : '';
  return `<li><a class="door${state ? ' visited' : ''}" href="#/door/${aid}/${p.id}" data-pid="${p.id}">
    <span class="door-no" aria-hidden="true">${esc(number)}</span>
    <span class="door-main"><span class="door-addr">${esc(p.address_lines.slice(0, -1).join(', ') || p.address_lines.join(', '))}</span>
    <span class="door-names">${esc(names(electors))}</span>
    ${state ? `<span class="door-state">${esc(state)}</span>` : ''}</span></a></li>`;
}

function blockHtml(model, aid, block) {
  const done = block.flats.filter((f) => model.visited.has(f.property.id)).length;
  return `<li class="block"><h4 class="block-name">${esc(block.name)} <span class="muted">(${done}/${block.flats.length} visited)</span></h4>
    <ul class="flats">${block.flats.map(({ property: p, electors }) => {
      const state = doorState(model, electors, p.id);
      const label = flatLabel(p);
      const short = label.replace(/^flat\s+/i, '');
      const aria = `${label}, ${plural(electors.length, 'person', 'people')}${state ? ', ' + state : ', not visited'}`;
      return `<li><a class="flat${state ? ' visited' : ''}" href="#/door/${aid}/${p.id}" data-pid="${p.id}" aria-label="${esc(aria)}">${esc(short)}</a></li>`;
    }).join('')}</ul></li>`;
}

function listHtml(model) {
  const aid = model.assignment.id;
  return model.walk.streets.map((street) => `<section class="street" aria-label="${esc(street.name)}">
    <h2 class="street-name">${esc(street.name)}</h2>
    ${street.sides.map((side) => `<h3 class="side">${esc(side.label)}</h3><ul class="plain-list doors">${side.entries.map((e) =>
      e.type === 'house' ? houseHtml(model, aid, e.property, e.electors) : blockHtml(model, aid, e)).join('')}</ul>`).join('')}
  </section>`).join('');
}

function searchHtml(model, query) {
  const aid = model.assignment.id;
  const hits = [];
  for (const id of model.walk.order) {
    const p = model.propertiesById.get(id);
    const electors = model.electorsByProperty.get(id) || [];
    if (matches(p, electors, query)) hits.push(houseHtml(model, aid, p, electors));
    if (hits.length >= 200) break;
  }
  return `<p class="muted" role="status">${hits.length >= 200 ? 'First 200 matches' : esc(plural(hits.length, 'match', 'matches'))}</p>
    <ul class="plain-list doors">${hits.join('')}</ul>`;
}

export async function renderWalk(root, ctx, { assignmentId }) {
  const model = await loadWalk(assignmentId);
  if (!model) {
    root.innerHTML = `<h1>List not found</h1><p>This list is no longer on this phone: it may have ended or been
      reassigned.</p><p><a class="btn" href="#/lists">Back to your lists</a></p>`;
    focusHeading(root);
    return null;
  }
  await startDoorSession(assignmentId);
  const total = model.walk.order.length;
  const next = nextUnvisited(model.walk.order, model.done);
  const nextProp = next != null ? model.propertiesById.get(next) : null;
  root.innerHTML = `
    <h1>${esc(model.assignment.name)}</h1>
    ${sessionLine(model.assignment) ? `<p class="session-line" data-session>${esc(sessionLine(model.assignment))}</p>` : ''}
    <p class="muted">${esc(plural(total, 'address', 'addresses'))} · ${model.visited.size} visited</p>
    ${nextProp ? `<a class="btn btn-primary btn-next" href="#/door/${model.assignment.id}/${next}">Next door: ${esc(nextProp.address_lines[0])}${nextProp.flat ? ', ' + esc(nextProp.address_lines[1] || '') : ''}</a>`
      : '<p class="notice">Every door on this list has a record. Well done!</p>'}
    <button type="button" class="btn btn-wide" data-end>End session</button>
    <div class="field search">
      <label for="walk-search">Find a name or house number</label>
      <input id="walk-search" type="search" autocomplete="off" enterkeyhint="search">
    </div>
    <div data-list>${listHtml(model)}</div>`;
  // Marks for bench/pwa_bench.py: the list is in the DOM, then painted with the main thread free again.
  performance.mark('gw:walk-rendered');
  requestAnimationFrame(() => setTimeout(() => performance.mark('gw:walk-interactive'), 0));
  root.querySelector('[data-end]').addEventListener('click', () => endSession('door', model.assignment));
  const listEl = root.querySelector('[data-list]');
  const search = root.querySelector('#walk-search');
  const key = `walk-search:${assignmentId}`;
  let timer = null;
  const apply = () => {
    const q = search.value;
    sessionStorage.setItem(key, q);
    listEl.innerHTML = q.trim() ? searchHtml(model, q) : listHtml(model);
  };
  search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(apply, 120); });
  const saved = sessionStorage.getItem(key);
  if (saved) { search.value = saved; apply(); }
  // Come back to where you were in a long list.
  const scrollKey = `walk-scroll:${assignmentId}`;
  const y = Number(sessionStorage.getItem(scrollKey) || 0);
  if (y) window.scrollTo(0, y); else focusHeading(root);
  const onScroll = () => sessionStorage.setItem(scrollKey, String(window.scrollY));
  window.addEventListener('scroll', onScroll, { passive: true });
  return () => window.removeEventListener('scroll', onScroll);
}
