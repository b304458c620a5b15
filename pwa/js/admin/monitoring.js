// Why: regional staff and CLP admins need to see, for the current campaign, what work is being done, how
// each seat's contact rate compares (with similar seats, fairly, not only with a regional average dragged
// down by safe seats) and which phones hold work that has not reached the party. Every figure says what
// it counts and the period it covers; every chart has its numbers in a table beside it, and every table
// downloads as CSV. The charts (uPlot) load only here: volunteers never fetch them.
import { esc } from '../ui/common.js';
import { api, can, clearErrors, showErrors } from './common.js';
import {
  AGAINST_PEERS, AGAINST_REGION, count, csvButton, downloadCsv, failure, longDay, moment, noComparison, noRate,
  ordinal, pct, rateCell, scroller,
} from './monitoring-common.js';
import { LINES, rateChart, weeklyChart } from './monitoring-charts.js';
import { renderPhones, riskLine } from './sync-health.js';

const LEVELS = {
  region: ['Region', 'regions'], constituency: ['Seat', 'seats'], ward: ['Ward', 'wards'],
  polling_district: ['Polling district', 'polling districts'],
};
const LEVELS_OF = { nation: ['region', 'constituency'], region: ['constituency', 'ward', 'polling_district'],
  constituency: ['ward', 'polling_district'] };
const PROVISIONAL = 'a phone that worked then still holds unsent records';
// What was chosen last, kept while the console is open (so a seat's comparison comes back to the same view).
const memory = { user: null, campaign: '', area: '', level: '', since: '', until: '' };

/** The areas this user may look at: [value, label, kind]; value is "nation", "region:ID" or "clp:ID". */
async function areasFor(user) {
  const scope = user.scope || {};
  if (scope.kind === 'constituency') return [[`clp:${scope.constituency_id}`, 'Your CLP', 'constituency']];
  const [regions, seats] = await Promise.all([api('GET', '/regions'),
    scope.kind === 'region' ? api('GET', '/constituencies') : Promise.resolve([])]);
  const byName = (a, b) => a.name.localeCompare(b.name);
  const out = scope.kind === 'nation' ? [['nation', 'Every region', 'nation']] : [];
  out.push(...regions.sort(byName).map((r) => [`region:${r.id}`, scope.kind === 'nation' ? r.name : `All of ${r.name}`, 'region']));
  out.push(...seats.sort(byName).map((c) => [`clp:${c.id}`, c.name, 'constituency']));
  return out;
}

function query(area, values) {
  const q = { campaign_id: values.campaign || undefined, level: values.level || undefined,
    since: values.since || undefined, until: values.until || undefined };
  const [kind, id] = area.split(':');
  if (kind === 'region') q.region_id = Number(id);
  if (kind === 'clp') q.constituency_id = Number(id);
  return q;
}

export async function render(root, admin) {
  if (memory.user !== admin.user.id) Object.assign(memory, { user: admin.user.id, campaign: '', area: '', level: '', since: '', until: '' });
  const sub = admin.params.sub || '';
  const seat = /^seat-(\d+)$/.exec(sub);
  if (seat) return (await import('./monitoring-seat.js')).render(root, admin, Number(seat[1]), memory);
  const linked = /^(region|clp)-(\d+)$/.exec(sub);
  root.innerHTML = `<h1>Dashboard</h1>
    <form class="card filters" data-filters novalidate>
      <div class="filter-grid">
        <div class="field"><label for="m-campaign">Campaign</label><select id="m-campaign" name="campaign"></select></div>
        <div class="field"><label for="m-area">Area</label><select id="m-area" name="area"></select></div>
        <div class="field"><label for="m-level">One row per</label><select id="m-level" name="level"></select></div>
        <div class="field"><label for="m-since">From the week of</label><input id="m-since" name="since" type="date" aria-describedby="m-since-error">
          <p class="error" id="m-since-error" data-error-for="since"></p></div>
        <div class="field"><label for="m-until">To the week of</label><input id="m-until" name="until" type="date" aria-describedby="m-until-error">
          <p class="error" id="m-until-error" data-error-for="until"></p></div>
      </div>
      <p class="error" data-form-error tabindex="-1"></p>
      <p class="hint">Leave the weeks empty for the whole campaign so far. A contact rate always covers the campaign
        from its first day: the weeks narrow the activity figures, not the rate.</p>
      <div class="actions"><button class="btn btn-primary" type="submit">Show</button>
        <button class="btn" type="button" data-whole>The whole campaign</button></div>
    </form>
    <div data-phones-alert></div>
    <div data-board aria-live="polite"><p class="muted">Loading…</p></div>
    <section class="phones" id="phones" data-phones hidden></section>`;
  const form = root.querySelector('[data-filters]');
  const board = root.querySelector('[data-board]');
  const phones = root.querySelector('[data-phones]');
  let charts = [];
  const clearCharts = () => { charts.forEach((c) => c.destroy()); charts = []; };

  let areas;
  let campaigns;
  try {
    [areas, campaigns] = await Promise.all([areasFor(admin.user), api('GET', '/campaigns')]);
  } catch (error) {
    board.innerHTML = failure(error);
    return null;
  }
  const fixed = linked ? `${linked[1]}:${linked[2]}` : null;
  if (fixed && !areas.some(([v]) => v === fixed)) areas.push([fixed, 'The area in the link', linked[1] === 'clp' ? 'constituency' : 'region']);
  let area = fixed || (areas.some(([v]) => v === memory.area) ? memory.area : areas.find(([, , k]) => k !== 'constituency' || areas.length === 1)[0]);
  const select = (name) => form.querySelector(`[name=${name}]`);
  select('campaign').innerHTML = campaigns.map((c) => `<option value="${c.id}">${esc(c.name)}</option>`).join('');
  select('area').innerHTML = areas.map(([v, label]) => `<option value="${esc(v)}">${esc(label)}</option>`).join('');
  select('area').closest('.field').hidden = areas.length < 2;
  const levelOptions = () => {
    const kind = areas.find(([v]) => v === select('area').value)[2];
    select('level').innerHTML = LEVELS_OF[kind].map((l) => `<option value="${l}">${LEVELS[l][0]}</option>`).join('');
    if (!LEVELS_OF[kind].includes(memory.level)) memory.level = '';
    select('level').value = memory.level || LEVELS_OF[kind][0];
  };
  select('area').value = area;
  levelOptions();
  ['since', 'until'].forEach((k) => { select(k).value = memory[k]; });

  if (can(admin.user, 'devices:read')) {
    phones.hidden = false;
    renderPhones(phones).then((report) => {
      const alert = root.querySelector('[data-phones-alert]');
      alert.innerHTML = riskLine(report);
      alert.querySelector('[data-show-phones]')?.addEventListener('click', () => {
        phones.scrollIntoView({ block: 'start' });
        phones.querySelector('h2')?.setAttribute('tabindex', '-1');
        phones.querySelector('h2')?.focus({ preventScroll: true });
      });
    });
  }

  const load = async () => {
    // Until one is chosen, the server picks the campaign (the one running today).
    const values = { campaign: memory.campaign, level: select('level').value,
      since: select('since').value, until: select('until').value };
    area = select('area').value;
    form.setAttribute('aria-busy', 'true');
    clearErrors(form);
    let data;
    let seatCompared = null;
    try {
      const [kind, id] = area.split(':');
      [data, seatCompared] = await Promise.all([api('GET', '/activity', { query: query(area, values) }),
        kind === 'clp' ? api('GET', `/activity/seats/${id}/comparison`, { query: { campaign_id: values.campaign || undefined } })
          .catch(() => null) : null]);
    } catch (error) {
      clearCharts();
      // A link to an area this user may not see: say so first, not under a form for an area they cannot have.
      form.hidden = !!fixed;
      if (error && error.status === 422) showErrors(form, error);
      board.innerHTML = failure(error, fixed ? '#/admin/dashboard' : null);
      return;
    } finally {
      form.removeAttribute('aria-busy');
    }
    form.hidden = false;
    Object.assign(memory, { campaign: String(data.campaign.id), area: fixed ? memory.area : area, level: data.level,
      since: values.since, until: values.until });
    select('campaign').value = String(data.campaign.id);
    for (const k of ['since', 'until']) {
      select(k).min = data.campaign.starts_on;
      select(k).max = data.campaign.ends_on;
    }
    clearCharts();
    draw(board, data, seatCompared);
    const weekly = board.querySelector('[data-chart=weeks]');
    const rates = board.querySelector('[data-chart=rates]');
    const drawn = await Promise.allSettled([
      weeklyChart(weekly, data.weeks),
      rates ? rateChart(rates, rateRows(data), rateOptions(data)) : null,
    ]);
    for (const result of drawn) {
      if (result.status === 'fulfilled' && result.value) charts.push(result.value);
      else if (result.status === 'rejected') console.warn('Groundwork: a chart could not be drawn', result.reason);
    }
  };

  form.addEventListener('change', (event) => {
    if (event.target.name === 'area') {
      memory.area = event.target.value;
      levelOptions();
      if (fixed) history.replaceState(null, '', '#/admin/dashboard');
    }
    if (event.target.name === 'campaign') {
      memory.campaign = event.target.value;
      select('since').value = '';
      select('until').value = '';
    }
    if (['campaign', 'area', 'level'].includes(event.target.name)) load();
  });
  form.addEventListener('submit', (event) => { event.preventDefault(); load(); });
  form.querySelector('[data-whole]').addEventListener('click', () => {
    select('since').value = '';
    select('until').value = '';
    load();
  });
  board.addEventListener('click', (event) => {
    const button = event.target.closest('[data-csv]');
    if (!button) return;
    const q = query(area, memory);
    downloadCsv(button, { table: button.dataset.csv, ...Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) });
  });
  await load();
  return clearCharts;
}

function rateRows(data) {
  return data.units.filter((u) => u.contact_rate != null).sort((a, b) => b.contact_rate - a.contact_rate)
    .map((u) => ({ name: u.name, rate: u.contact_rate, highlight: false,
      peers: u.comparison && u.comparison.peer_median != null
        ? { q1: u.comparison.peer_q1, median: u.comparison.peer_median, q3: u.comparison.peer_q3 } : null }));
}

function rateOptions(data) {
  if (data.regional_average && data.regional_average.average != null) {
    return { average: { value: data.regional_average.average, label: 'regional average' } };
  }
  if (data.totals.contact_rate != null) return { average: { value: data.totals.contact_rate, label: `${data.scope.name} as a whole` } };
  return {};
}

/** The whole board for one answer of GET /activity. */
function draw(box, data, seatCompared) {
  const [unit, units] = LEVELS[data.level];
  const t = data.totals;
  const period = data.period.whole_campaign ? `${data.period.label} (the whole campaign so far)` : data.period.label;
  const provisional = data.weeks.filter((w) => w.provisional);
  const region = data.regional_average;
  const compared = seatCompared && seatCompared.result;
  box.innerHTML = `
    <p class="lede"><strong>${esc(data.scope.name)}</strong> · ${esc(data.campaign.name)} · one row per ${esc(unit.toLowerCase())}</p>
    <p class="small muted" data-as-of>${data.as_of ? `Figures as of ${esc(moment(data.as_of))}: records received by then are counted (refreshed every minute).`
      : 'The figures have not been worked out yet: they are refreshed every minute.'}</p>
    ${provisional.length ? `<p class="notice notice-warn" data-provisional-note>${provisional.length === 1 ? 'The week' : 'The weeks'} of
      ${esc(provisional.map((w) => longDay(w.week)).join(', '))} ${provisional.length === 1 ? 'is' : 'are'} provisional: a phone that
      worked then still holds records it has not sent, so ${provisional.length === 1 ? 'its' : 'their'} figures may still rise.</p>` : ''}
    <div class="card rate-card" data-rate-headline>
      <p class="rate-line"><span class="rate-name">Contact rate</span> <span class="stat-n">${rateCell(t.contact_rate, t.rate_note, data.min_count)}</span>
        <span class="small">${count(t.reached_to_date)} of ${count(t.electorate)} electors, campaign to date</span></p>
      <p><strong>Window:</strong> ${esc(data.rate_window)} (from the campaign's first day, whatever weeks are chosen above).</p>
      ${region ? `<p><strong>Regional average:</strong> ${esc(pct(region.average))}, the plain mean of the ${count(region.seats_with_rate)} seats in
        ${esc(data.scope.name)} with a rate. Compare each seat with its peers below: that is the fair comparison.</p>` : ''}
      ${compared ? `<p><strong>Similar seats:</strong> peers' median ${esc(pct(compared.peer_median))} (middle half ${esc(pct(compared.peer_q1))} to
        ${esc(pct(compared.peer_q3))}); this seat is at the ${ordinal(compared.percentile)} percentile, ${esc(AGAINST_PEERS[compared.against_peers])}.
        Regional average ${esc(pct(compared.regional_average))}.
        <a href="#/admin/dashboard/seat-${seatCompared.seat.id}">How ${esc(seatCompared.seat.name)} compares with similar seats</a></p>` : ''}
      <p class="small muted" data-definition>${esc(data.definitions.contact_rate)}</p>
    </div>
    <section aria-labelledby="m-activity">
      <h2 id="m-activity">Activity in ${esc(period)}</h2>
      <div class="stats" data-headline>
        ${stat('Doors knocked', t.doors)}${stat('Calls made', t.calls)}${stat('Conversations', t.conversations)}
        ${stat('Electors reached', t.reached)}${stat('Active volunteers', t.volunteers)}
      </div>
      <p class="small muted">Each covers ${esc(data.period.label)}. ${esc(data.definitions.reached)}</p>
    </section>
    <section aria-labelledby="m-weeks">
      <h2 id="m-weeks">Week by week</h2>
      <figure class="chart-figure">
        <figcaption>Doors knocked, calls made and conversations each week (weeks beginning on a Monday)</figcaption>
        <div class="chart" data-chart="weeks" role="img" aria-label="Line chart of doors, calls and conversations per week, ${esc(data.period.label)}. The numbers are in the table that follows."></div>
      </figure>
      <details class="numbers" data-numbers="weeks"><summary>Show the numbers</summary>${weeksTable(data)}</details>
      ${csvButton('weeks', 'the weeks')}
    </section>
    ${data.units.some((u) => u.contact_rate != null) ? `<section aria-labelledby="m-rates">
      <h2 id="m-rates">Contact rate by ${esc(unit.toLowerCase())}</h2>
      <p class="small">${esc(data.rate_window)}, campaign to date.${data.level === 'constituency' ? ' Each bar is a seat\'s rate; the black line across it spans its peers\' middle half, with a thick mark at their median.' : ''}</p>
      ${data.level === 'constituency' ? `<p class="notice" data-fair>${esc(data.definitions.fair)}</p>` : ''}
      <figure class="chart-figure">
        <figcaption>Contact rate of each ${esc(unit.toLowerCase())} with a rate, highest first</figcaption>
        <div class="chart" data-chart="rates" role="img" aria-label="Bar chart of the contact rate of each ${esc(unit.toLowerCase())}. The numbers are in the table that follows."></div>
        <p class="chart-key small"><span class="key-item"><span class="key key-bar"></span> contact rate</span>
          ${data.level === 'constituency' ? '<span class="key-item"><span class="key key-peers"></span> peers\' middle half and median</span>' : ''}
          ${rateOptions(data).average ? `<span class="key-item"><span class="key key-average"></span> ${esc(rateOptions(data).average.label)}</span>` : ''}</p>
      </figure>
      ${unrated(data)}
      <details class="numbers" data-numbers="rates"><summary>Show the numbers</summary>${ratesTable(data)}</details>
      ${csvButton('units', `the ${units}`)}
    </section>` : ''}
    <section aria-labelledby="m-units">
      <h2 id="m-units">${esc(units[0].toUpperCase() + units.slice(1))}</h2>
      ${data.level === 'constituency' ? '<p class="small">Choose a seat to see it against the seats most like it.</p>' : ''}
      ${unitsTable(data)}
      ${csvButton('units', `the ${units}`)}
      <details class="more"><summary>What the figures count</summary>
        <dl class="definitions">${Object.entries(data.definitions).map(([k, v]) => `<dt>${esc(k === 'fair' ? 'The fair comparison' : LINE_NAMES[k] || k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>
      </details>
    </section>`;
}

const LINE_NAMES = { doors: 'Doors knocked', calls: 'Calls made', conversations: 'Conversations', reached: 'Electors reached',
  volunteers: 'Active volunteers', contact_rate: 'Contact rate', weeks: 'Weeks' };

function stat(label, n) {
  return `<div class="stat"><span class="stat-n">${count(n)}</span><span>${esc(label)}</span></div>`;
}

function unrated(data) {
  const none = data.units.filter((u) => u.contact_rate == null);
  if (!none.length) return '';
  return `<p class="small muted" data-unrated>No rate: ${none.map((u) => `${esc(u.name)} (${esc(noRate(u.rate_note, data.min_count))})`).join('; ')}.</p>`;
}

function weeksTable(data) {
  return scroller('The weeks, in a table', `<table class="numbers-table" data-table="weeks">
    <caption>The weeks in ${esc(data.scope.name)}, ${esc(data.campaign.name)}</caption>
    <thead><tr><th scope="col">Week beginning</th>${LINES.map((l) => `<th scope="col" class="n">${l.label === 'Conversations' ? 'Conver&shy;sations' : esc(l.label)}</th>`).join('')}
      <th scope="col" class="n">Electors reached</th><th scope="col" class="n">Active volunteers</th>
      <th scope="col" class="n">Contact rate to date</th><th scope="col">Note</th></tr></thead>
    <tbody>${data.weeks.map((w) => `<tr${w.provisional ? ' class="provisional" data-provisional' : ''}>
      <th scope="row">${esc(longDay(w.week))}</th>${LINES.map((l) => `<td class="n">${count(w[l.key])}</td>`).join('')}
      <td class="n">${count(w.reached)}</td><td class="n">${count(w.volunteers)}</td>
      <td class="n">${rateCell(w.contact_rate_to_date, w.rate_note, data.min_count, true)}</td>
      <td>${w.provisional ? `<strong>provisional</strong>: ${esc(PROVISIONAL)}` : ''}</td></tr>`).join('')}</tbody>
  </table>`);
}

function ratesTable(data) {
  const rows = data.units.filter((u) => u.contact_rate != null).sort((a, b) => b.contact_rate - a.contact_rate);
  const seats = data.level === 'constituency';
  const average = rateOptions(data).average;
  return scroller('Contact rates, in a table', `<table class="numbers-table" data-table="rates">
    <caption>Contact rate of each ${esc(LEVELS[data.level][0].toLowerCase())} (${esc(data.rate_window)})</caption>
    <thead><tr><th scope="col">${esc(LEVELS[data.level][0])}</th><th scope="col" class="n">Contact rate</th>
      ${seats ? '<th scope="col" class="n">Peers\' median</th><th scope="col" class="n">Peers\' middle half</th>' : ''}
      ${average ? `<th scope="col" class="n">${esc(average.label[0].toUpperCase() + average.label.slice(1))}</th>` : ''}</tr></thead>
    <tbody>${rows.map((u) => {
      const c = u.comparison || {};
      return `<tr><th scope="row">${esc(u.name)}</th><td class="n">${esc(pct(u.contact_rate))}</td>
        ${seats ? (c.peer_median != null ? `<td class="n">${esc(pct(c.peer_median))}</td><td class="n">${esc(pct(c.peer_q1))} to ${esc(pct(c.peer_q3))}</td>`
          : `<td colspan="2" class="muted small">${esc(noComparison(c.reason))}</td>`) : ''}
        ${average ? `<td class="n">${esc(pct(average.value))}</td>` : ''}</tr>`;
    }).join('')}</tbody></table>`);
}

function unitsTable(data) {
  const seats = data.level === 'constituency';
  const whole = data.period.whole_campaign;
  const link = (u) => {
    if (seats && u.id) return `<a href="#/admin/dashboard/seat-${u.id}">${esc(u.name)}</a>`;
    if (data.level === 'region' && u.id) return `<a href="#/admin/dashboard/region-${u.id}">${esc(u.name)}</a>`;
    return esc(u.name);
  };
  return `<p class="small">Activity in ${esc(data.period.label)}; contact rates for ${esc(data.rate_window)}.</p>` +
    scroller(`The ${LEVELS[data.level][1]}, in a table`, `<table class="numbers-table units" data-table="units">
    <caption>${esc(LEVELS[data.level][1][0].toUpperCase() + LEVELS[data.level][1].slice(1))}${data.scope.kind === 'nation' ? '' : ` of ${esc(data.scope.name)}`}</caption>
    <thead><tr><th scope="col">${esc(LEVELS[data.level][0])}</th><th scope="col" class="n">Doors knocked</th><th scope="col" class="n">Calls made</th>
      <th scope="col" class="n">Conver&shy;sations</th><th scope="col" class="n">Electors reached</th>
      ${whole ? '' : '<th scope="col" class="n">Reached, campaign to date</th>'}
      <th scope="col" class="n">Active volunteers</th><th scope="col" class="n">Electorate</th><th scope="col" class="n">Contact rate</th>
      ${seats ? `<th scope="col" class="n">Peers' median</th><th scope="col" class="n">Percentile among peers</th>
        <th scope="col">Against peers' middle half</th><th scope="col" class="n">Regional average</th>` : ''}</tr></thead>
    <tbody>${data.units.map((u) => `<tr data-unit="${esc(u.id ?? '')}">
      <th scope="row">${link(u)}</th>
      <td class="n">${count(u.doors)}</td><td class="n">${count(u.calls)}</td><td class="n">${count(u.conversations)}</td>
      <td class="n">${count(u.reached)}</td>${whole ? '' : `<td class="n">${count(u.reached_to_date)}</td>`}
      <td class="n">${count(u.volunteers)}</td><td class="n">${count(u.electorate)}</td>
      <td class="n" data-rate>${rateCell(u.contact_rate, u.rate_note, data.min_count)}</td>
      ${seats ? comparisonCells(u.comparison) : ''}</tr>`).join('')}</tbody></table>`);
}

function comparisonCells(c) {
  if (!c) return '<td></td><td></td><td></td><td></td>';
  const region = c.regional_average != null
    ? `${esc(pct(c.regional_average))}${c.against_region ? `<br><span class="small">${esc(AGAINST_REGION[c.against_region])}</span>` : ''}` : '–';
  if (c.peer_median == null) {
    return `<td colspan="3" class="muted small" data-peers>${esc(noComparison(c.reason))}</td><td class="n" data-region>${region}</td>`;
  }
  return `<td class="n" data-peers>${esc(pct(c.peer_median))}<br><span class="small muted">${esc(pct(c.peer_q1))} to ${esc(pct(c.peer_q3))}</span></td>
    <td class="n">${ordinal(c.percentile)}</td><td data-against>${esc(c.against_peers)}</td><td class="n" data-region>${region}</td>`;
}
