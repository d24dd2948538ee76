// The versions of a file in a versioned bucket: listed newest first, each downloadable;
// an older one restored (copied back as the newest), any one deleted for good.

import * as api from './api.js';
import { h, mount, modal, table, bytes, when, confirm, toast, message, saveBlob } from './ui.js';

export async function versionsDialog(bucket, f, after) {
  const name = f.key.split('/').pop();
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  modal(`Versions of ${name}`, body);
  const base = `/buckets/${bucket.id}/files/${f.id}/versions`;
  const load = async () => {
    let versions;
    try {
      versions = await api.all(base);
    } catch (err) {
      mount(body, h('p', { class: 'error', role: 'alert' }, message(err)));
      return;
    }
    const rows = versions.map((v, i) => {
      const label = v.is_delete_marker ? 'delete marker' : `version ${versions.length - i}`;
      const vid = encodeURIComponent(v.version_id);
      return h('tr', {},
        h('th', { scope: 'row' }, label, v.is_latest ? h('span', { class: 'badge active' }, 'current') : null),
        h('td', {}, when(v.last_modified)),
        h('td', { class: 'num' }, v.is_delete_marker ? '—' : bytes(v.size)),
        h('td', { class: 'row-actions' },
          v.is_delete_marker ? null : h('button', {
            type: 'button', 'aria-label': `Download ${label}`,
            onclick: async () => {
              try {
                const res = await api.raw('GET', `${base}/${vid}/content`);
                saveBlob(await res.blob(), name);
              } catch (err) {
                toast(message(err));
              }
            },
          }, 'Download'),
          v.is_latest || v.is_delete_marker ? null : h('button', {
            type: 'button', 'aria-label': `Restore ${label}`,
            onclick: async () => {
              try {
                await api.post(`${base}/${vid}/restore`);
                toast(`${label} of ${name} restored`);
                await load();
                await after();
              } catch (err) {
                toast(message(err));
              }
            },
          }, 'Restore'),
          h('button', {
            type: 'button', class: 'danger', 'aria-label': `Delete ${label}`,
            onclick: async () => {
              if (!(await confirm(`Delete ${label}?`, `${label} of ${name} is deleted for good.`))) return;
              try {
                await api.del(`${base}/${vid}`);
                toast(`${label} deleted`);
                await load();
                await after();
              } catch (err) {
                toast(message(err));
              }
            },
          }, 'Delete')));
    });
    mount(body, table(`Versions of ${name}`, ['Version', 'Saved', 'Size', h('span', { class: 'sr-only' }, 'Actions')], rows));
  };
  await load();
}
