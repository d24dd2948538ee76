// Small SVG charts: a bar chart of a daily series and a gauge. Each is an image with a text
// alternative, and the numbers are also given as a table by the views.

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** Bars of `points` ([{label, value}]), values shown with `format`. */
export function barChart(title, points, format) {
  const w = 640;
  const hgt = 200;
  const pad = { l: 8, r: 8, t: 12, b: 28 };
  const max = Math.max(1, ...points.map((p) => p.value));
  const bw = (w - pad.l - pad.r) / Math.max(points.length, 1);
  const last = points[points.length - 1];
  const chart = svg('svg', {
    viewBox: `0 0 ${w} ${hgt}`, role: 'img', class: 'chart',
    'aria-label': `${title}: ${points.length} days${last ? `, latest ${format(last.value)} on ${last.label}` : ''}, highest ${format(max)}`,
  });
  chart.append(svg('title', {}, title));
  chart.append(svg('line', { x1: pad.l, x2: w - pad.r, y1: hgt - pad.b, y2: hgt - pad.b, class: 'axis' }));
  points.forEach((p, i) => {
    const bh = ((hgt - pad.t - pad.b) * p.value) / max;
    const bar = svg('rect', { x: pad.l + i * bw + 1, y: hgt - pad.b - bh, width: Math.max(bw - 2, 1), height: Math.max(bh, 0), class: 'bar' });
    bar.append(svg('title', {}, `${p.label}: ${format(p.value)}`));
    chart.append(bar);
  });
  const every = Math.max(1, Math.ceil(points.length / 6));
  points.forEach((p, i) => {
    if (i % every !== 0 && i !== points.length - 1) return;
    const t = svg('text', { x: pad.l + i * bw + bw / 2, y: hgt - 8, class: 'tick', 'text-anchor': 'middle' });
    t.textContent = p.label.slice(5);
    chart.append(t);
  });
  return chart;
}

/** A ring filled to `fraction` (0..1), with `label` in the middle. */
export function gauge(title, fraction, label) {
  const r = 52;
  const c = 2 * Math.PI * r;
  const f = Math.max(0, Math.min(1, fraction));
  const level = f >= 0.9 ? 'high' : f >= 0.7 ? 'mid' : 'low';
  const el = svg('svg', { viewBox: '0 0 128 128', role: 'img', class: `gauge ${level}`, 'aria-label': `${title}: ${label}` },
    svg('circle', { cx: 64, cy: 64, r, class: 'track' }),
    svg('circle', { cx: 64, cy: 64, r, class: 'fill', 'stroke-dasharray': `${c * f} ${c}`, transform: 'rotate(-90 64 64)' }));
  const t = svg('text', { x: 64, y: 70, 'text-anchor': 'middle', class: 'gauge-label' });
  t.textContent = label;
  el.append(t);
  return el;
}
