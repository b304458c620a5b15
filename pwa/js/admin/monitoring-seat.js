// Why: "above the regional average" proves little when safe seats, where little campaigning happens, drag
// the average down. This screen sets one seat's contact rate beside the seats most like it (their median,
// their middle half, its percentile among them) with the regional average next to it, says plainly why the
// peer comparison is the fair one, names each peer with what it is similar in, and lets the admin change
// what "similar" means.
import { esc, plural } from '../ui/common.js';
import { api, clearErrors, formValues, showErrors } from './common.js';
import {
  AGAINST_PEERS, AGAINST_REGION, count, csvButton, downloadCsv, failure, moment, noComparison, noRate,
  ordinal, pct, rateCell, scroller,
} from './monitoring-common.js';
import { rateChart } from './monitoring-charts.js';

// The features a seat's profile usually has (docs/peers.md), in words; the comparison may use others.
const FEATURES = {
  age_65_plus: 'share over 65', age_18_24: 'share aged 18 to 24', owner_occupied: 'home ownership',
  social_rented: 'social renting', private_rented: 'private renting', students: 'share of students',
  degree: 'share with a degree', imd_score: 'deprivation', majority_pct: 'previous majority',
};

function queryOf(values) {
  const chosen = values.features || [];
  const q = {
    k: values.k || undefined,
    features: chosen.length ? chosen.join(',') : undefined,
    weights: chosen.length ? chosen.map((f) => `${f}:${values[`weight_${f}`] || 0}`).join(',') : undefined,
    exclude: (values.exclude || []).length ? values.exclude.join(',') : undefined,
    exclude_outliers: values.exclude_outliers ? 'true' : undefined,
  };
  return Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined));
}

/** The adjusted comparison as the export's JSON body takes it (the same fields; a true flag as JSON true). */
function exportOf(adjusted) {
  const body = { ...adjusted };
  if (body.k) body.k = Number(body.k);
  if (body.exclude_outliers) body.exclude_outliers = true;
  return body;
}

export async function render(root, admin, seatId, memory) {
  root.innerHTML = `<p class="back-line"><a class="back" href="#/admin/dashboard">← Back to the dashboard</a></p>
    <h1 data-title>Seat against similar seats</h1>
    <div data-seat aria-live="polite"><p class="muted">Loading…</p></div>`;
  const box = root.querySelector('[data-seat]');
  let charts = [];
  let adjusted = {};
  const names = new Map(); // every seat named so far, so one left out can be put back
  const clearCharts = () => { charts.forEach((c) => c.destroy()); charts = []; };

  const load = async (form = null) => {
    let found;
    try {
      found = await api('GET', `/activity/seats/${seatId}/comparison`, { query: { campaign_id: memory.campaign || undefined, ...adjusted } });
    } catch (error) {
      if (form) { showErrors(form, error); return; }
      clearCharts();
      box.innerHTML = failure(error, '#/admin/dashboard');
      return;
    }
    clearCharts();
    root.querySelector('[data-title]').textContent = `${found.seat.name} against similar seats`;
    document.title = `${found.seat.name} · Groundwork console`;
    for (const p of found.peers) names.set(p.id, p.name);
    const excluded = String(adjusted.exclude || '').split(',').filter(Boolean).map((id) => ({ id: Number(id), name: names.get(Number(id)) || `Seat ${id}` }));
    box.innerHTML = page(found, { adjusted: Object.keys(adjusted).length > 0, excluded, outliers: !!adjusted.exclude_outliers });
    const chart = box.querySelector('[data-chart=peers]');
    if (chart) {
      try {
        charts.push(await rateChart(chart, chartRows(found), {
          band: found.result ? { q1: found.result.peer_q1, median: found.result.peer_median, q3: found.result.peer_q3 } : null,
          average: found.regional_average != null ? { value: found.regional_average, label: 'regional average' } : null,
        }));
      } catch (error) { console.warn('Groundwork: the chart could not be drawn', error); }
    }
    const adjust = box.querySelector('[data-adjust]');
    adjust.addEventListener('submit', (event) => {
      event.preventDefault();
      clearErrors(adjust);
      adjusted = queryOf(formValues(adjust));
      load(adjust);
    });
    adjust.querySelector('[data-standard]').addEventListener('click', () => { adjusted = {}; load(); });
    box.querySelector('[data-csv]')?.addEventListener('click', (event) => downloadCsv(event.currentTarget,
      { table: 'peers', constituency_id: seatId, campaign_id: found.campaign.id, ...exportOf(adjusted) }));
  };
  await load();
  return clearCharts;
}

function chartRows(found) {
  const rows = [{ name: found.seat.name, rate: found.rate, highlight: true, self: true },
    ...found.peers.map((p) => ({ name: p.name, rate: p.rate, highlight: false }))];
  return rows.filter((r) => r.rate != null).sort((a, b) => b.rate - a.rate);
}

function page(found, { adjusted, excluded, outliers }) {
  const r = found.result;
  const region = found.regional_average;
  return `
    <p class="lede">${esc(found.seat.code)} · ${esc(found.region.name)} · ${esc(found.campaign.name)}</p>
    <p class="small muted">${found.as_of ? `Figures as of ${esc(moment(found.as_of))}.` : ''} Contact rates for ${esc(found.rate_window)}.</p>
    <div class="stats" data-seat-figures>
      <div class="stat"><span class="stat-n">${rateCell(found.rate, found.rate_note, found.min_count)}</span>
        <span>This seat's contact rate</span><span class="small">${count(found.reached)} of ${count(found.electorate)} electors</span></div>
      <div class="stat" data-peer-median><span class="stat-n">${r ? esc(pct(r.peer_median)) : '–'}</span><span>Peers' median</span>
        <span class="small">${r ? `middle half ${esc(pct(r.peer_q1))} to ${esc(pct(r.peer_q3))}` : esc(noComparison(found.reason))}</span></div>
      <div class="stat" data-percentile><span class="stat-n">${r ? ordinal(r.percentile) : '–'}</span><span>Percentile among its peers</span>
        <span class="small">${r ? esc(AGAINST_PEERS[r.against_peers]) : ''}</span></div>
      <div class="stat" data-regional><span class="stat-n">${esc(pct(region))}</span><span>Regional average (${esc(found.region.name)})</span>
        <span class="small">${r && r.against_region ? esc(AGAINST_REGION[r.against_region]) : ''}</span></div>
    </div>
    <p><strong>Window:</strong> ${esc(found.rate_window)}. <span class="small muted">${esc(found.definitions.contact_rate)}</span></p>
    ${r ? `<p class="notice" data-note>${esc(r.note)}</p>`
      : `<p class="notice notice-warn" data-note>No comparison: ${esc(noComparison(found.reason))}${found.rate == null
        ? ` (this seat has ${esc(noRate(found.rate_note, found.min_count))})` : ''}.</p>`}
    <div class="notice fair" data-fair><p><strong>Why compare with similar seats?</strong> ${esc(found.definitions.fair)}</p></div>
    ${found.notes.map((n) => `<p class="small muted">${esc(n)}</p>`).join('')}
    ${found.peers.length ? `<section aria-labelledby="s-chart">
      <h2 id="s-chart">Against its ${esc(plural(found.peers.length, 'most similar seat'))}</h2>
      <figure class="chart-figure">
        <figcaption>Contact rates of this seat and its peers, highest first, with the peers' middle half shaded</figcaption>
        <div class="chart" data-chart="peers" role="img" aria-label="Bar chart of this seat's contact rate and its peers'. The numbers are in the table that follows."></div>
        <p class="chart-key small"><span class="key-item"><span class="key key-seat"></span> this seat</span>
          <span class="key-item"><span class="key key-bar"></span> a similar seat</span>
          ${r ? '<span class="key-item"><span class="key key-band"></span> peers\' middle half, with their median</span>' : ''}
          ${region != null ? '<span class="key-item"><span class="key key-average"></span> regional average</span>' : ''}</p>
      </figure>
      <details class="numbers" data-numbers="peers-chart"><summary>Show the numbers</summary>${chartTable(found)}</details>
    </section>` : ''}
    <section aria-labelledby="s-peers">
      <h2 id="s-peers">The similar seats</h2>
      <p class="small">Compared on ${esc(found.features.map((f) => `${f.label}${f.weight !== 1 ? ` (counted ×${f.weight})` : ''}`).join(', ') || 'nothing')}.
        Peers may be anywhere in the country; only seats with a rate in this campaign are compared.</p>
      ${peersTable(found)}
      ${csvButton('peers', 'the similar seats')}
      ${adjusted ? '<p class="small muted">The download holds the comparison as adjusted below.</p>' : ''}
      ${found.passed_over.length ? `<details class="more"><summary>${esc(plural(found.passed_over.length, 'nearer seat'))} passed over</summary>
        <p class="small">They are as similar or more, but have no contact rate in this campaign:</p>
        <ul class="small">${found.passed_over.map((p) => `<li>${esc(p.name)} (${esc(noRate(p.rate_note, found.min_count))})</li>`).join('')}</ul></details>` : ''}
    </section>
    <section aria-labelledby="s-region">
      <h2 id="s-region">Every seat in ${esc(found.region.name)}</h2>
      <details class="more"><summary>Show the seats behind the regional average</summary>${regionTable(found)}</details>
    </section>
    <section aria-labelledby="s-adjust">
      <h2 id="s-adjust">Adjust the comparison</h2>
      ${adjustForm(found, excluded, outliers)}
    </section>`;
}

function chartTable(found) {
  const rows = chartRows(found);
  return scroller('The chart\'s numbers', `<table class="numbers-table" data-table="peers-chart">
    <caption>Contact rates of ${esc(found.seat.name)} and its peers (${esc(found.rate_window)})</caption>
    <thead><tr><th scope="col">Seat</th><th scope="col" class="n">Contact rate</th></tr></thead>
    <tbody>${rows.map((x) => `<tr${x.self ? ' class="this-seat"' : ''}><th scope="row">${esc(x.name)}${x.self ? ' (this seat)' : ''}</th><td class="n">${esc(pct(x.rate))}</td></tr>`).join('')}
    ${found.result ? `<tr><th scope="row">Peers' median (middle half)</th><td class="n">${esc(pct(found.result.peer_median))} (${esc(pct(found.result.peer_q1))} to ${esc(pct(found.result.peer_q3))})</td></tr>` : ''}
    ${found.regional_average != null ? `<tr><th scope="row">Regional average</th><td class="n">${esc(pct(found.regional_average))}</td></tr>` : ''}</tbody></table>`);
}

function peersTable(found) {
  if (!found.peers.length) return `<p class="notice">${esc(noComparison(found.reason))}.</p>`;
  return scroller('The similar seats, in a table', `<table class="numbers-table" data-table="peers">
    <caption>The seats most like ${esc(found.seat.name)}, most similar first</caption>
    <thead><tr><th scope="col">Seat</th><th scope="col" class="n">Contact rate</th><th scope="col" class="n">Electors reached</th>
      <th scope="col" class="n">Electorate</th><th scope="col">What it is similar in</th><th scope="col" class="n">Distance</th></tr></thead>
    <tbody>${found.peers.map((p) => `<tr data-peer="${p.id}"><th scope="row">${esc(p.name)}<br><span class="small muted">${esc(p.code)}</span></th>
      <td class="n">${esc(pct(p.rate))}</td><td class="n">${count(p.reached)}</td><td class="n">${count(p.electorate)}</td>
      <td>${p.similar_in_words ? esc(p.similar_in_words) : '<span class="muted">similar overall, in nothing alone</span>'}</td>
      <td class="n">${p.distance.toFixed(2)}</td></tr>`).join('')}</tbody></table>`);
}

function regionTable(found) {
  const rated = found.region_seats.filter((s) => s.rate != null).length;
  return scroller(`The seats of ${found.region.name}, in a table`, `<table class="numbers-table" data-table="region">
    <caption>The regional average of ${esc(pct(found.regional_average))} is the plain mean of the ${esc(plural(rated, 'seat'))} with a rate</caption>
    <thead><tr><th scope="col">Seat</th><th scope="col" class="n">Contact rate</th><th scope="col" class="n">Electors reached</th><th scope="col" class="n">Electorate</th></tr></thead>
    <tbody>${found.region_seats.map((s) => `<tr${s.id === found.seat.id ? ' class="this-seat"' : ''}><th scope="row">${esc(s.name)}${s.id === found.seat.id ? ' (this seat)' : ''}</th>
      <td class="n">${rateCell(s.rate, s.rate_note, found.min_count)}</td><td class="n">${count(s.reached)}</td><td class="n">${count(s.electorate)}</td></tr>`).join('')}</tbody></table>`);
}

function adjustForm(found, excluded, outliers) {
  const used = Object.fromEntries(found.features.map((f) => [f.name, f]));
  const names = [...new Set([...Object.keys(FEATURES), ...Object.keys(used)])];
  const out = new Set(excluded.map((s) => s.id));
  const seats = [...excluded, ...found.peers.filter((p) => !out.has(p.id))];
  return `<form class="card adjust" data-adjust novalidate>
    <p class="small">By default seats are compared on who lives there and how safe they were, the previous majority counting double,
      and the 5 nearest with a rate are the peers.</p>
    <fieldset class="field"><legend>Compare on</legend>
      <div class="feature-grid">${names.map((f) => `<div class="feature">
        <label class="check"><input type="checkbox" name="features" value="${esc(f)}" data-many ${used[f] ? 'checked' : ''}> ${esc(used[f]?.label || FEATURES[f] || f.replace(/_/g, ' '))}</label>
        <label class="weight">Weight<span class="visually-hidden"> of ${esc(used[f]?.label || FEATURES[f] || f.replace(/_/g, ' '))}</span> <input type="number" name="weight_${esc(f)}" min="0" max="1000" step="0.5" value="${used[f] ? used[f].weight : (f === 'majority_pct' ? 2 : 1)}"></label>
      </div>`).join('')}</div>
      <p class="error" data-error-for="features"></p><p class="error" data-error-for="weights"></p></fieldset>
    <div class="grid2"><div class="field"><label for="s-k">How many similar seats</label>
      <input id="s-k" name="k" type="number" min="1" max="50" value="${found.k}"><p class="error" data-error-for="k"></p></div></div>
    ${seats.length ? `<fieldset class="field"><legend>Leave out</legend><div class="choices">${seats.map((s) => `
      <label class="check"><input type="checkbox" name="exclude" value="${s.id}" data-many ${out.has(s.id) ? 'checked' : ''}> ${esc(s.name)}</label>`).join('')}</div>
      <p class="error" data-error-for="exclude"></p></fieldset>` : ''}
    <label class="check"><input type="checkbox" name="exclude_outliers" ${outliers ? 'checked' : ''}> Leave out outliers (seats more than 3 standard deviations from the mean on a chosen feature)</label>
    <p class="error" data-form-error tabindex="-1"></p>
    <div class="actions"><button class="btn btn-primary" type="submit">Compare</button>
      <button class="btn" type="button" data-standard>Back to the standard comparison</button></div>
  </form>`;
}
