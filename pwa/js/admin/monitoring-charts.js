// Why: the dashboard's two pictures, drawn with uPlot (vendored, MIT, loaded only here so volunteers never
// fetch it): the work done week by week, with the weeks that may still change shaded and labelled, and
// contact rates side by side with the peers' middle half and the regional average. Each chart fills its
// box and follows it when the window is resized; the same numbers are always in a table beside it.
import { pct } from './monitoring-common.js';

const INK = '#111';
const GRID = '#d1d5db';
const BAR = '#5b8f6f'; // 3.6:1 on white, and the black marks drawn on it stand out
const SEAT = '#14532d';
const FONT = '13px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
const BOLD = 'bold 13px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
const WEEK_S = 7 * 86400;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
export const LINES = [
  { key: 'doors', label: 'Doors knocked', stroke: '#14532d', dash: [] },
  { key: 'calls', label: 'Calls made', stroke: '#1d4ed8', dash: [8, 4] },
  { key: 'conversations', label: 'Conversations', stroke: '#b45309', dash: [2, 3] },
];
const COUNT_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 1e5, 2e5, 5e5, 1e6];
const RATE_INCRS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1];

let library = null;

/** uPlot and its style sheet, fetched once (a <link> is allowed by the page's style-src 'self'). */
function loadLibrary() {
  if (!library) {
    const css = new Promise((resolve) => {
      if (document.querySelector('link[data-uplot]')) { resolve(); return; }
      const link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = '/vendor/uplot/uPlot.min.css';
      link.dataset.uplot = '';
      link.addEventListener('load', resolve, { once: true });
      link.addEventListener('error', resolve, { once: true });
      document.head.append(link);
      setTimeout(resolve, 3000);
    });
    library = Promise.all([import('/vendor/uplot/uPlot.esm.js'), css]).then(([module]) => module.default)
      .catch((error) => { library = null; throw error; });
  }
  return library;
}

const secondsOf = (iso) => Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 1000;

/** A chart that keeps the width of its box: redrawn at the new size whenever the box changes. */
function fit(box, make, heightFor) {
  let chart = null;
  let width = 0;
  const draw = () => {
    const w = Math.floor(box.clientWidth);
    if (!w || w === width) return;
    width = w;
    if (chart) chart.setSize({ width: w, height: heightFor(w) });
    else chart = make(w, heightFor(w));
  };
  draw();
  const observer = typeof ResizeObserver === 'function' ? new ResizeObserver(() => draw()) : null;
  observer?.observe(box);
  window.addEventListener('resize', draw);
  return {
    get chart() { return chart; },
    destroy() {
      observer?.disconnect();
      window.removeEventListener('resize', draw);
      chart?.destroy();
      chart = null;
    },
  };
}

/** Tick labels for weeks: "2 Nov", with the year under the first and under any that starts a new year. */
function weekTicks(splits) {
  let year = null;
  return splits.map((s) => {
    const d = new Date(s * 1000);
    const label = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
    const y = d.getUTCFullYear();
    const withYear = y !== year ? `${label}\n${y}` : label;
    year = y;
    return withYear;
  });
}

/**
 * Doors, calls and conversations per week (weeks: the API's, oldest first). Provisional weeks are shaded
 * and labelled "provisional". Resolves with { destroy }.
 */
export async function weeklyChart(box, weeks) {
  const uPlot = await loadLibrary();
  const xs = weeks.map((w) => secondsOf(w.week));
  const data = [xs, ...LINES.map((l) => weeks.map((w) => w[l.key]))];
  const provisional = weeks.filter((w) => w.provisional).map((w) => secondsOf(w.week));
  const top = Math.max(5, ...LINES.flatMap((l) => weeks.map((w) => w[l.key])));
  const make = (width, height) => new uPlot({
    width, height,
    legend: { live: false },
    cursor: { drag: { x: false, y: false }, points: { size: 8 } },
    scales: {
      x: { time: true, range: () => [xs[0] - WEEK_S / 2, xs[xs.length - 1] + WEEK_S / 2] },
      y: { range: () => [0, top * 1.12] },
    },
    series: [
      { label: 'Week beginning', value: (u, v) => (v == null ? '–' : weekTicks([v])[0].replace('\n', ' ')) },
      ...LINES.map((l) => ({ label: l.label, stroke: l.stroke, width: 2.5, dash: l.dash, points: { show: true, size: 7, fill: l.stroke } })),
    ],
    axes: [
      {
        font: FONT, stroke: INK, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID }, size: 56,
        // A tick on a Monday of the data, as many as fit at about 76px apart.
        splits: (u) => {
          const every = Math.max(1, Math.ceil((76 * xs.length) / Math.max(1, u.bbox.width / devicePixelRatio)));
          return xs.filter((_, i) => i % every === 0);
        },
        values: (u, splits) => weekTicks(splits),
      },
      { font: FONT, stroke: INK, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID }, incrs: COUNT_INCRS, size: 56,
        values: (u, splits) => splits.map((v) => v.toLocaleString('en-GB')) },
    ],
    hooks: { drawClear: [(u) => shadeProvisional(u, provisional)] },
  }, data, box);
  return fit(box, make, (w) => (w < 500 ? 260 : 320));
}

function shadeProvisional(u, weeks) {
  if (!weeks.length) return;
  const { ctx } = u;
  const { top, height } = u.bbox;
  ctx.save();
  for (const week of weeks) {
    const left = Math.max(u.bbox.left, u.valToPos(week - WEEK_S / 2, 'x', true));
    const right = Math.min(u.bbox.left + u.bbox.width, u.valToPos(week + WEEK_S / 2, 'x', true));
    ctx.fillStyle = '#fff4d6';
    ctx.fillRect(left, top, right - left, height);
    ctx.fillStyle = '#5c3b00';
    ctx.font = `${Math.round(12 * devicePixelRatio)}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillText('provisional', (left + right) / 2, top + 4 * devicePixelRatio);
  }
  ctx.restore();
}

/**
 * Contact rates side by side, one bar per row (rows: [{ name, rate, highlight, peers: {q1, median, q3} }]),
 * best read as a list of names, so the bars run across. `average` ({ value, label }) draws a dashed line
 * across (the regional average, say); `band` ({ q1, median, q3 }) shades one group's middle half with its
 * median. Resolves with { destroy }.
 */
export async function rateChart(box, rows, { average = null, band = null } = {}) {
  const uPlot = await loadLibrary();
  const n = rows.length;
  const xs = rows.map((_, i) => i);
  const rates = rows.map((r) => r.rate);
  const top = Math.max(0.01, average?.value || 0, band?.q3 || 0, ...rates.filter((r) => r != null),
    ...rows.map((r) => r.peers?.q3 || 0)) * 1.15;
  const labelWidth = (width) => Math.min(width < 500 ? 130 : 230, Math.max(...rows.map((r) => measure(r.name))) + 16);
  const make = (width, height) => new uPlot({
    width, height,
    legend: { show: false },
    cursor: { show: false },
    scales: {
      // One empty row above the first bar holds the labels of the lines drawn across.
      x: { time: false, ori: 1, dir: -1, range: () => [-1.1, n - 0.5] },
      y: { ori: 0, range: () => [0, top] },
    },
    series: [
      {},
      {
        label: 'Contact rate', stroke: BAR, width: 0, fill: BAR,
        paths: uPlot.paths.bars({ size: [0.62, 34], disp: { fill: { unit: 3, values: () => rows.map((r) => (r.highlight ? SEAT : BAR)) } } }),
        points: { show: false },
      },
    ],
    axes: [
      { scale: 'x', side: 3, font: FONT, stroke: INK, grid: { show: false }, ticks: { show: false }, gap: 6,
        size: labelWidth(width), splits: () => xs,
        values: (u, splits) => splits.map((i) => clip(rows[i]?.name || '', labelWidth(u.width) - 14)) },
      { scale: 'y', side: 2, font: FONT, stroke: INK, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID },
        incrs: RATE_INCRS, space: 64, size: 40, values: (u, splits) => splits.map((v) => pct(v).replace('.0%', '%')) },
    ],
    hooks: { drawClear: [(u) => shade(u, band)], draw: [(u) => marks(u, rows, average, band)] },
  }, [xs, rates], box);
  return fit(box, make, () => Math.max(160, (n + 1) * 34 + 50));
}

let measurer = null;
function measure(text) {
  measurer = measurer || document.createElement('canvas').getContext('2d');
  measurer.font = FONT;
  return measurer.measureText(text).width;
}

/** A name cut to fit the width, with an ellipsis. */
function clip(text, width) {
  if (measure(text) <= width) return text;
  let cut = text;
  while (cut.length > 1 && measure(cut + '…') > width) cut = cut.slice(0, -1);
  return cut.trimEnd() + '…';
}

/** One group's middle half, shaded under the bars. */
function shade(u, band) {
  if (!band) return;
  const X = (v) => u.valToPos(v, 'y', true);
  u.ctx.save();
  u.ctx.fillStyle = 'rgba(17, 17, 17, 0.1)';
  u.ctx.fillRect(X(band.q1), u.bbox.top, Math.max(devicePixelRatio, X(band.q3) - X(band.q1)), u.bbox.height);
  u.ctx.restore();
}

/** The peers' middle half and median on each bar, one group's median, and the regional average line. */
function marks(u, rows, average, band) {
  const { ctx } = u;
  const r = devicePixelRatio;
  const { top, height } = u.bbox;
  const X = (v) => u.valToPos(v, 'y', true);
  const Y = (i) => u.valToPos(i, 'x', true);
  ctx.save();
  if (band) {
    line(ctx, X(band.median), top, X(band.median), top + height, INK, 2 * r, []);
    label(ctx, "peers' median", X(band.median), Y(-1) - 9 * r, 'left');
  }
  rows.forEach((row, i) => {
    if (!row.peers) return;
    const y = Y(i);
    const half = 9 * r;
    line(ctx, X(row.peers.q1), y, X(row.peers.q3), y, INK, 2 * r, []);
    for (const v of [row.peers.q1, row.peers.q3]) line(ctx, X(v), y - half / 2, X(v), y + half / 2, INK, 2 * r, []);
    line(ctx, X(row.peers.median), y - half, X(row.peers.median), y + half, INK, 4 * r, []);
  });
  if (average?.value != null) {
    line(ctx, X(average.value), top, X(average.value), top + height, '#7a4d00', 2 * r, [6 * r, 4 * r]);
    label(ctx, average.label, X(average.value), Y(-1) - 9 * r, 'right');
  }
  ctx.restore();
}

function line(ctx, x1, y1, x2, y2, stroke, width, dash) {
  ctx.beginPath();
  ctx.strokeStyle = stroke;
  ctx.lineWidth = width;
  ctx.setLineDash(dash);
  ctx.moveTo(x1, y1);
  ctx.lineTo(x2, y2);
  ctx.stroke();
}

function label(ctx, text, x, y, side) {
  const r = devicePixelRatio;
  ctx.font = BOLD.replace('13px', `${Math.round(12 * r)}px`);
  ctx.textBaseline = 'top';
  ctx.textAlign = side === 'left' ? 'left' : 'right';
  const w = ctx.measureText(text).width;
  const x0 = side === 'left' ? x + 4 * r : x - 4 * r - w;
  ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
  ctx.fillRect(x0 - 2 * r, y + 2 * r, w + 4 * r, 16 * r);
  ctx.fillStyle = INK;
  ctx.fillText(text, side === 'left' ? x + 4 * r : x - 4 * r, y + 3 * r);
}
