// Share links: presigned URLs made by the JSON API (signed with one of my access keys),
// listed with their state, revoked, and each with its access log.

import * as api from './api.js';
import { h, mount, page, table, modal, field, errorSlot, showError, busy, copyable, when, confirm, toast, message, bytes } from './ui.js';

const EXPIRIES = [[3600, '1 hour'], [86400, '1 day'], [604800, '7 days'], [900, '15 minutes']];

/** Makes a link to one file. */
export function shareDialog(bucket, f) {
  const method = h('select', {}, ['GET', 'HEAD', 'PUT'].map((m) => h('option', { value: m }, m === 'GET' ? 'GET (download)' : m === 'PUT' ? 'PUT (upload a replacement)' : 'HEAD (metadata only)')));
  const expiry = h('select', {}, EXPIRIES.map(([s, t]) => h('option', { value: s }, t)));
  const attachment = h('input', { type: 'checkbox' });
  const slot = errorSlot('share-error');
  const result = h('div', { class: 'share-result' });
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create link');
  const m = modal(`Share ${f.key.split('/').pop()}`,
    h('form', {
      onsubmit: (e) => {
        e.preventDefault();
        showError(slot, null);
        busy(create, async () => {
          const body = { bucket: bucket.name, key: f.key, method: method.value, expires_in: Number(expiry.value) };
          if (method.value === 'GET' && attachment.checked) {
            const name = f.key.split('/').pop();
            // An ASCII fallback, and the name itself for browsers that read RFC 6266's filename*.
            const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
            body.content_disposition = `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
          }
          const link = await api.post('/presign', body);
          mount(result, copyable('Share link', link.url), h('p', { class: 'muted' }, `${link.method} link, valid until ${when(link.expires_at)}.`));
          result.querySelector('input').select();
        }).catch((err) => {
          showError(slot, err);
          if (err.code === 'validation_error' && /access key/.test(err.message)) {
            slot.append(h('p', {}, h('a', { href: '#/keys', onclick: () => m.close() }, 'Create an access key')));
          }
        });
      },
    },
    field('Method', method),
    field('Expires after', expiry),
    h('label', { class: 'check' }, attachment, ' Download as a file (not shown in the browser)'),
    slot,
    h('div', { class: 'actions' }, create)),
    result);
  method.focus();
}

function stateOf(l) {
  if (l.revoked_at) return 'revoked';
  if (new Date(l.expires_at) <= new Date()) return 'expired';
  return 'active';
}

export async function linksView() {
  const list = h('div', {});
  let cursor = null;
  const rows = [];
  const more = h('button', { type: 'button' }, 'Load more');
  const slot = errorSlot('links-error');
  async function load() {
    try {
      const p = await api.get('/presign', { cursor, limit: 100 });
      cursor = p.next_cursor;
      for (const l of p.items) rows.push(row(l));
      mount(list, rows.length === 0
        ? h('p', { class: 'muted' }, 'No share links yet. Share a file from its bucket.')
        : table('Your share links', ['File', 'Method', 'State', ['Created', 'hide-narrow'], ['Expires', 'hide-narrow'], h('span', { class: 'sr-only' }, 'Actions')], rows),
      cursor ? more : null);
    } catch (err) {
      showError(slot, err);
    }
  }
  function row(l) {
    const st = h('td', { 'data-label': 'State' }, h('span', { class: `badge ${stateOf(l)}` }, stateOf(l)));
    const name = `${l.bucket}/${l.key}`;
    const revoke = h('button', {
      type: 'button', class: 'danger', 'aria-label': `Revoke link to ${name}`, disabled: stateOf(l) !== 'active',
      onclick: async () => {
        if (!(await confirm('Revoke this link?', `The link to ${name} stops working at once.`, 'Revoke'))) return;
        try {
          await api.del(`/presign/${l.id}`);
          l.revoked_at = new Date().toISOString();
          mount(st, h('span', { class: 'badge revoked' }, 'revoked'));
          revoke.disabled = true;
          toast('Link revoked');
        } catch (err) {
          toast(message(err));
        }
      },
    }, 'Revoke');
    return h('tr', {},
      h('th', { scope: 'row', class: 'wrap' }, name),
      h('td', { 'data-label': 'Method' }, l.method),
      st,
      h('td', { class: 'hide-narrow' }, when(l.created_at)),
      h('td', { class: 'hide-narrow' }, when(l.expires_at)),
      h('td', { class: 'row-actions' },
        h('button', { type: 'button', 'aria-label': `Access log of link to ${name}`, onclick: () => accessLog(`/presign/${l.id}/accesses`, name) }, 'Access log'),
        revoke));
  }
  more.addEventListener('click', load);
  page('Share links', h('p', { class: 'muted' }, 'Links you made to your files, newest first. Revoking a link refuses it from the next request on.'), slot, list);
  await load();
}

/** A dialog listing a link's uses (or an audit query's rows). */
export async function accessLog(path, title, query = {}) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  modal(`Access log: ${title}`, body);
  try {
    const p = await api.get(path, { ...query, limit: 200 });
    mount(body, p.items.length === 0 ? h('p', { class: 'muted' }, 'No access yet.') : accessTable(p.items));
  } catch (err) {
    mount(body, h('p', { class: 'error', role: 'alert' }, message(err)));
  }
}

/** Rows of the presigned-link audit. */
export function accessTable(items, extra) {
  return table('Accesses', ['When', 'Event', 'Method', 'Status', 'Bytes', 'Client', ...(extra ? [extra.header] : [])],
    items.map((a) => h('tr', {},
      h('td', {}, when(a.at)), h('td', {}, a.event), h('td', {}, a.method), h('td', {}, a.status),
      h('td', { class: 'num' }, bytes(a.bytes)),
      h('td', { class: 'wrap' }, [a.client_addr, a.user_agent].filter(Boolean).join(' · ') || '—'),
      extra ? h('td', {}, extra.cell(a)) : null)));
}
