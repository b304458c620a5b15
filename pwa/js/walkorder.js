// Why: turns the pulled properties and electors into the walk list a canvasser follows: streets in
// walking order, each split into its odd and even sides, households under their address, blocks of
// flats gathered into one grid; plus search, what anyone on the team has done at each door, and "the
// next door nobody has knocked". No DOM here.

// A door found not home is offered again this long after the knock (people come home).
export const NOT_HOME_AGAIN_MS = 2 * 60 * 60 * 1000;
export const KNOCK_LABELS = {
  not_home: 'Not home', spoke: 'Spoke', refused: 'Refused', moved: 'Moved away', deceased: 'Deceased',
  call_back: 'Call back', do_not_contact: 'Do not contact',
};

function streetOf(p) {
  if (p.street) return p.street;
  const lines = p.address_lines || [];
  return lines.length > 1 ? lines[lines.length - 2] : 'Other addresses';
}

function sideOf(p) {
  if (p.house_number == null) return 'other';
  return p.house_number % 2 ? 'odd' : 'even';
}

const SIDE_LABELS = { odd: 'Odd numbers', even: 'Even numbers', other: 'Other addresses' };
const SIDE_ORDER = ['odd', 'even', 'other'];

export function addressOf(p) {
  return (p.address_lines || []).slice(0, -1).join(', ') || (p.address_lines || []).join(', ');
}

/** A flat's short name within its block ("Flat 3"). */
export function flatLabel(p) {
  return p.flat || (p.address_lines || [])[0] || String(p.id);
}

/**
 * Build the walk list of a walk assignment. Returns {streets, order}: streets →
 * [{name, sides: [{side, label, entries}]}], where an entry is {type: 'house', property, electors}
 * or {type: 'block', key, name, flats: [{property, electors}]}; order is the property ids in walking order.
 */
export function buildWalk(assignment, propertiesById, electorsByProperty) {
  const props = [];
  for (const item of assignment.items || []) {
    const p = item.property_id != null && propertiesById.get(item.property_id);
    if (p) props.push(p);
  }
  props.sort((a, b) => (a.sort_key < b.sort_key ? -1 : a.sort_key > b.sort_key ? 1 : a.id - b.id));
  const streets = new Map();
  for (const p of props) {
    const name = streetOf(p);
    if (!streets.has(name)) streets.set(name, { name, sides: new Map() });
    const sides = streets.get(name).sides;
    const side = sideOf(p);
    if (!sides.has(side)) sides.set(side, { side, label: SIDE_LABELS[side], entries: [], blocks: new Map() });
    const group = sides.get(side);
    const electors = electorsByProperty.get(p.id) || [];
    if (p.building) {
      const key = `${name}|${p.house_number}|${p.building}`;
      let block = group.blocks.get(key);
      if (!block) {
        const number = p.house_number != null ? `${p.house_number} ${name}` : name;
        block = { type: 'block', key, name: `${p.building}, ${number}`, flats: [] };
        group.blocks.set(key, block);
        group.entries.push(block);
      }
      block.flats.push({ property: p, electors });
    } else {
      group.entries.push({ type: 'house', property: p, electors });
    }
  }
  const out = [];
  const order = [];
  for (const street of streets.values()) {
    const sides = SIDE_ORDER.filter((s) => street.sides.has(s)).map((s) => {
      const { side, label, entries } = street.sides.get(s);
      for (const e of entries) {
        if (e.type === 'house') order.push(e.property.id);
        else for (const f of e.flats) order.push(f.property.id);
      }
      return { side, label, entries };
    });
    out.push({ name: street.name, sides });
  }
  return { streets: out, order };
}

/** Group electors by their property id, each household sorted by surname then forenames. */
export function byProperty(electors) {
  const map = new Map();
  for (const e of electors) {
    const list = map.get(e.property_id);
    if (list) list.push(e);
    else map.set(e.property_id, [e]);
  }
  for (const list of map.values()) {
    list.sort((a, b) => a.surname.localeCompare(b.surname) || a.forenames.localeCompare(b.forenames));
  }
  return map;
}

/** Does a property (with its electors) match a search for a name or a house or flat number? */
export function matches(property, electors, query) {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  if (/^\d+[a-z]?$/.test(q)) {
    const n = String(property.house_number ?? '');
    const flat = (property.flat || '').toLowerCase().replace(/^flat\s*/, '');
    return n === q || flat === q || (property.address_lines || []).some((l) => l.toLowerCase().split(/[\s,]+/).includes(q));
  }
  const words = q.split(/\s+/);
  const haystack = [
    ...(property.address_lines || []),
    ...electors.map((e) => `${e.forenames} ${e.surname}`),
  ].join(' | ').toLowerCase();
  return words.every((w) => haystack.includes(w));
}

/** The first property in walking order after `afterId` (or from the start) that nobody has visited. */
export function nextUnvisited(order, visited, afterId = null) {
  let start = 0;
  if (afterId != null) {
    const at = order.indexOf(afterId);
    if (at >= 0) start = at + 1;
  }
  for (let i = 0; i < order.length; i++) {
    const id = order[(start + i) % order.length];
    if (!visited.has(id) && id !== afterId) return id;
  }
  return null;
}

/**
 * The latest knock at each door of a list since it began: this phone's own records (`latest`, per
 * elector) and the team's (`activity`, per elector, as pulled). {at, outcome, mine, again}: `again` when
 * it was "not home" long enough ago to knock once more.
 */
export function doorKnocks(latest, activity, assignment, electorsByProperty, nowMs = Date.now()) {
  const since = Date.parse(assignment.starts_at);
  const knocks = new Map();
  const consider = (pid, at, outcome, mine) => {
    if (pid == null || !at || Date.parse(at) < since) return;
    const known = knocks.get(pid);
    if (!known || Date.parse(known.at) < Date.parse(at)) knocks.set(pid, { at, outcome, mine });
  };
  for (const r of latest.values()) consider(r.propertyId, r.occurredAt, r.meaning, true);
  for (const [pid, electors] of electorsByProperty) {
    for (const e of electors) {
      const door = activity.get(e.id) && activity.get(e.id).door;
      if (door) consider(pid, door.at, door.outcome, false);
    }
  }
  for (const knock of knocks.values()) {
    knock.again = knock.outcome === 'not_home' && nowMs - Date.parse(knock.at) > NOT_HOME_AGAIN_MS;
  }
  return knocks;
}
