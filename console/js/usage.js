// My usage: used against quota as a gauge, objects and requests, and daily history.

import * as api from './api.js';
import { h, page, table, bytes, count } from './ui.js';
import { barChart, gauge } from './chart.js';

/** The daily series as a chart and, for reading, a table. */
export function history(days, caption) {
  const points = days.map((d) => ({ label: d.day, value: d.used_bytes }));
  const reqs = days.map((d) => ({ label: d.day, value: d.requests }));
  return h('div', { class: 'history' },
    h('div', { class: 'charts' },
      h('figure', {}, barChart('Stored bytes per day', points, bytes), h('figcaption', {}, 'Stored')),
      h('figure', {}, barChart('Requests per day', reqs, count), h('figcaption', {}, 'Requests'))),
    h('details', {}, h('summary', {}, `${caption} as a table`),
      table(caption, ['Day', 'Stored', 'Objects', 'Requests'], days.slice().reverse().map((d) => h('tr', {},
        h('th', { scope: 'row' }, d.day), h('td', { class: 'num' }, bytes(d.used_bytes)),
        h('td', { class: 'num' }, count(d.objects)), h('td', { class: 'num' }, count(d.requests)))))));
}

export async function usageView() {
  const [u, hist] = await Promise.all([api.get('/usage'), api.get('/usage/history')]);
  const used = u.used_bytes + u.reserved_bytes;
  const fraction = u.quota_bytes ? used / u.quota_bytes : 0;
  const quota = u.quota_bytes === null
    ? h('p', {}, `${bytes(u.used_bytes)} stored. No quota is set.`)
    : h('p', { class: 'quota-line' }, `${bytes(u.used_bytes)} of ${bytes(u.quota_bytes)} used (${Math.round(fraction * 100)}%).`);
  page('Usage',
    h('div', { class: 'stats' },
      h('div', { class: 'card stat' }, gauge('Storage used', fraction, u.quota_bytes === null ? bytes(u.used_bytes) : `${Math.round(fraction * 100)}%`), quota,
        u.reserved_bytes ? h('p', { class: 'muted' }, `${bytes(u.reserved_bytes)} held for uploads in progress.`) : null),
      h('div', { class: 'card stat' }, h('p', { class: 'big' }, count(u.objects)), h('p', {}, 'objects')),
      h('div', { class: 'card stat' }, h('p', { class: 'big' }, count(u.requests)), h('p', {}, 'requests'))),
    h('h2', {}, 'Last 30 days'),
    history(hist.days, 'Daily usage'));
}
