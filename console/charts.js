// Charts as plain SVG built in the browser: no library, no build step. Each chart is readable without
// colour (hatched bars, distinct marker shapes, numbers and words on the chart) and comes with a text
// equivalent (a table or a list) for screen readers and for anyone who prefers numbers.
import { h } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes (presentation attributes only: the CSP allows no inline styles). */
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const monthName = (ym) => new Date(`${ym}-01T00:00:00Z`).toLocaleString('en', { month: 'short', year: '2-digit', timeZone: 'UTC' });

/** Bars of token expiries per month for the next twelve, each labelled with its count, plus the same numbers as a table. */
export function expiryChart(months) {
  const width = 720, height = 240, top = 24, bottom = 40, left = 36, right = 8;
  const max = Math.max(1, ...months.map((m) => m.expiring));
  const slot = (width - left - right) / months.length;
  const barWidth = slot * 0.6;
  const scale = (n) => ((height - top - bottom) * n) / max;
  const total = months.reduce((sum, m) => sum + m.expiring, 0);
  const summary = `${total} service token${total === 1 ? '' : 's'} expire in the next 12 months: ${months.filter((m) => m.expiring).map((m) => `${m.expiring} in ${monthName(m.month)}`).join(', ') || 'none'}.`;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-labelledby': 'expiry-chart-title expiry-chart-desc', class: 'chart', id: 'expiry-chart' },
    s('title', { id: 'expiry-chart-title' }, 'Service token expiries by month'),
    s('desc', { id: 'expiry-chart-desc' }, summary),
    s('defs', {}, s('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
      s('rect', { width: 6, height: 6, fill: '#dbe9f7' }), s('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#0066cc', 'stroke-width': 3 }))),
    s('line', { x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, stroke: '#1d1d1f' }),
    months.map((m, i) => {
      const x = left + i * slot + (slot - barWidth) / 2;
      const barHeight = scale(m.expiring);
      const y = height - bottom - barHeight;
      return s('g', { 'data-month': m.month, 'data-count': m.expiring },
        m.expiring ? s('rect', { x, y, width: barWidth, height: barHeight, fill: 'url(#hatch)', stroke: '#0066cc', 'stroke-width': 1.5 }) : null,
        s('text', { x: x + barWidth / 2, y: y - 6, 'text-anchor': 'middle', 'font-size': 13, 'font-weight': 600, fill: '#1d1d1f' }, String(m.expiring)),
        s('text', { x: x + barWidth / 2, y: height - bottom + 18, 'text-anchor': 'middle', 'font-size': 12, fill: '#1d1d1f' }, monthName(m.month)));
    }));
  const table = h('table', { 'aria-label': 'Service token expiries by month', class: 'chart-table' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Month'), h('th', { scope: 'col' }, 'Tokens expiring'))),
    h('tbody', {}, months.map((m) => h('tr', {}, h('td', { 'data-label': 'Month' }, monthName(m.month)), h('td', { 'data-label': 'Tokens expiring' }, String(m.expiring))))));
  return h('figure', { class: 'chart-figure' }, svg, h('figcaption', { class: 'hint' }, summary), h('details', {}, h('summary', {}, 'The numbers as a table'), table));
}

/** Marker shape per kind of event: told apart by shape and by their words, not by colour. */
const MARKERS = {
  ISSUED: (x, y) => s('circle', { cx: x, cy: y, r: 7, fill: '#1d1d1f' }),
  INSTALLED: (x, y) => s('rect', { x: x - 7, y: y - 7, width: 14, height: 14, fill: '#1b7f3b' }),
  REMINDER_SENT: (x, y) => s('path', { d: `M${x} ${y - 8} L${x + 8} ${y + 6} L${x - 8} ${y + 6} Z`, fill: '#8a5a00' }),
  INSTALL_REMINDER_SENT: (x, y) => s('path', { d: `M${x} ${y - 8} L${x + 8} ${y + 6} L${x - 8} ${y + 6} Z`, fill: '#8a5a00' }),
  REMINDER_DUE: (x, y) => s('path', { d: `M${x} ${y - 8} L${x + 8} ${y + 6} L${x - 8} ${y + 6} Z`, fill: '#fff', stroke: '#8a5a00', 'stroke-width': 2, 'stroke-dasharray': '3 2' }),
  INSTALL_REMINDER_DUE: (x, y) => s('path', { d: `M${x} ${y - 8} L${x + 8} ${y + 6} L${x - 8} ${y + 6} Z`, fill: '#fff', stroke: '#8a5a00', 'stroke-width': 2, 'stroke-dasharray': '3 2' }),
  EXPIRES: (x, y) => s('path', { d: `M${x - 7} ${y - 7} L${x + 7} ${y + 7} M${x + 7} ${y - 7} L${x - 7} ${y + 7}`, stroke: '#b00020', 'stroke-width': 3 }),
  EXPIRED: (x, y) => s('path', { d: `M${x - 7} ${y - 7} L${x + 7} ${y + 7} M${x + 7} ${y - 7} L${x - 7} ${y + 7}`, stroke: '#b00020', 'stroke-width': 3 }),
  ENDED: (x, y) => s('path', { d: `M${x} ${y - 8} L${x + 8} ${y} L${x} ${y + 8} L${x - 8} ${y} Z`, fill: '#b00020' }),
};

/** A token's year on one line: issued, installed, reminders sent (filled) and due (outlined), expiry; and the same as a list. */
export function timelineChart(events, nowIso) {
  if (!events.length) return h('p', { class: 'hint' }, 'No service token yet.');
  const times = events.map((e) => Date.parse(e.dateTime));
  const now = Date.parse(nowIso);
  const start = Math.min(...times, now), end = Math.max(...times, now);
  const width = 720, left = 20, right = 20, axis = 60;
  const x = (t) => left + ((t - start) / Math.max(1, end - start)) * (width - left - right);
  const height = axis + 28 + events.length * 18;
  const fmt = (iso) => new Date(iso).toISOString().slice(0, 10);
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-labelledby': 'timeline-title', class: 'chart', id: 'token-timeline' },
    s('title', { id: 'timeline-title' }, `Service token timeline: ${events.map((e) => `${e.label} ${fmt(e.dateTime)}`).join('; ')}`),
    s('line', { x1: left, y1: axis, x2: width - right, y2: axis, stroke: '#1d1d1f', 'stroke-width': 2 }),
    s('line', { x1: x(now), y1: axis - 30, x2: x(now), y2: axis + 12, stroke: '#6e6e73', 'stroke-dasharray': '4 3' }),
    s('text', { x: x(now), y: axis - 34, 'text-anchor': 'middle', 'font-size': 12, fill: '#6e6e73' }, 'today'),
    events.map((e, i) => {
      const ex = x(Date.parse(e.dateTime));
      const ly = axis + 28 + i * 18;
      const anchor = ex > width / 2 ? 'end' : 'start';
      return s('g', { 'data-kind': e.kind },
        (MARKERS[e.kind] ?? MARKERS.ISSUED)(ex, axis),
        s('line', { x1: ex, y1: axis + 9, x2: ex, y2: ly - 4, stroke: '#d2d2d7' }),
        s('text', { x: ex + (anchor === 'start' ? 4 : -4), y: ly, 'text-anchor': anchor, 'font-size': 12, fill: '#1d1d1f' }, `${e.label}, ${fmt(e.dateTime)}`));
    }));
  const list = h('ol', { class: 'timeline-list', 'aria-label': 'Service token timeline' },
    events.map((e) => h('li', { 'data-kind': e.kind }, h('strong', {}, fmt(e.dateTime)), ` — ${e.label}`)));
  return h('figure', { class: 'chart-figure' }, svg,
    h('figcaption', { class: 'hint' }, 'Filled shapes happened; outlined, dashed ones are due. ● issued ■ installed ▲ reminder ✕ expiry.'),
    h('details', {}, h('summary', {}, 'The timeline as a list'), list));
}
