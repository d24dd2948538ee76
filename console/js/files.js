// The file browser: a bucket's keys as folders (common prefixes at "/") and files, a page
// at a time, with breadcrumbs, search by prefix, uploads, previews, downloads, share links,
// deletion and multi-select.

import * as api from './api.js';
import { h, mount, page, table, bytes, when, confirm, toast, saveBlob, message, count, modal, field, errorSlot, showError } from './ui.js';
import { uploadFiles } from './upload.js';
import { preview } from './preview.js';
import { shareDialog } from './links.js';
import { versionsDialog } from './versions.js';

const SIZES = [50, 200, 1000];
const state = { bucketId: null, prefix: '', search: '', limit: 200, cursors: [], cursor: null };

/** The route of a folder. */
export function folderHref(bucketId, prefix) {
  return `#/b/${bucketId}/${encodeURIComponent(prefix)}`;
}

function baseName(key, prefix) {
  return key.slice(prefix.length);
}

export async function filesView(bucketId, prefix) {
  if (state.bucketId !== bucketId || state.prefix !== prefix) {
    Object.assign(state, { bucketId, prefix, search: '', cursors: [], cursor: null });
  }
  const bucket = await api.get(`/buckets/${bucketId}`);
  const crumbs = [h('li', {}, h('a', { href: '#/buckets' }, 'Buckets')),
    h('li', {}, prefix ? h('a', { href: folderHref(bucketId, '') }, bucket.name) : h('span', { 'aria-current': 'page' }, bucket.name))];
  const parts = prefix.split('/').filter(Boolean);
  parts.forEach((p, i) => {
    const to = `${parts.slice(0, i + 1).join('/')}/`;
    crumbs.push(h('li', {}, i === parts.length - 1
      ? h('span', { 'aria-current': 'page' }, p)
      : h('a', { href: folderHref(bucketId, to) }, p)));
  });

  const search = h('input', { type: 'search', value: state.search, placeholder: 'Name starts with…', 'aria-label': 'Search by name prefix' });
  const picker = h('input', { type: 'file', multiple: true, class: 'sr-only', id: 'file-picker', tabindex: -1, 'aria-hidden': 'true' });
  const pick = h('button', { type: 'button', class: 'primary', onclick: () => picker.click() }, 'Upload files');
  const newFolder = h('button', { type: 'button', onclick: () => folderDialog(bucketId, prefix) }, 'New folder');
  const sizeSelect = h('select', { 'aria-label': 'Items per page' }, SIZES.map((n) => h('option', { value: n, selected: n === state.limit }, `${n} per page`)));
  const removeSelected = h('button', { type: 'button', class: 'danger', disabled: true }, 'Delete selected');
  const downloadSelected = h('button', { type: 'button', disabled: true }, 'Download selected');
  const listing = h('div', { class: 'listing', 'aria-live': 'polite' });
  const uploads = h('section', { class: 'uploads', 'aria-label': 'Uploads' });
  const drop = h('section', { class: 'dropzone', 'aria-label': 'Files' },
    h('p', { class: 'drop-hint' }, `Drop files here to upload them to ${prefix ? `${prefix}` : 'the top of the bucket'}.`),
    listing);

  const selected = new Map();
  const refreshSelection = () => {
    removeSelected.disabled = selected.size === 0;
    downloadSelected.disabled = selected.size === 0;
    removeSelected.textContent = selected.size ? `Delete selected (${selected.size})` : 'Delete selected';
  };

  const upload = (files) => {
    if (!files.length) return;
    uploadFiles(uploads, bucket, prefix, [...files], () => load());
  };
  picker.addEventListener('change', () => { upload(picker.files); picker.value = ''; });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    upload(e.dataTransfer.files);
  });

  async function load() {
    const started = performance.now();
    selected.clear();
    refreshSelection();
    let list;
    try {
      list = await api.get(`/buckets/${bucketId}/files`, {
        prefix: prefix + state.search, delimiter: '/', limit: state.limit, cursor: state.cursor,
      });
    } catch (err) {
      mount(listing, h('p', { class: 'error', role: 'alert' }, message(err)));
      return;
    }
    const rows = [];
    for (const f of list.folders) {
      const name = baseName(f, prefix);
      rows.push(h('tr', { class: 'folder' },
        h('td', {}),
        h('th', { scope: 'row' }, h('a', { href: folderHref(bucketId, f), 'aria-label': `Folder ${name}` }, h('span', { class: 'icon-folder', 'aria-hidden': 'true' }), name)),
        h('td', { class: 'num' }, '—'), h('td', { class: 'hide-narrow' }, 'Folder'), h('td', { class: 'hide-narrow' }), h('td', {})));
    }
    for (const f of list.items) {
      const name = baseName(f.key, prefix);
      const box = h('input', { type: 'checkbox', 'aria-label': `Select ${name}` });
      box.addEventListener('change', () => { if (box.checked) selected.set(f.id, f); else selected.delete(f.id); refreshSelection(); });
      rows.push(h('tr', {},
        h('td', {}, box),
        h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', 'aria-label': `Preview ${name}`, onclick: () => preview(bucket, f) }, name)),
        h('td', { class: 'num' }, bytes(f.size)),
        h('td', { class: 'hide-narrow' }, f.content_type || '—'),
        h('td', { class: 'hide-narrow' }, when(f.created_at)),
        h('td', { class: 'row-actions' },
          h('button', { type: 'button', 'aria-label': `Download ${name}`, onclick: () => download(bucket, f) }, 'Download'),
          h('button', { type: 'button', 'aria-label': `Share ${name}`, onclick: () => shareDialog(bucket, f) }, 'Share'),
          bucket.versioning === 'off' ? null
            : h('button', { type: 'button', 'aria-label': `Versions of ${name}`, onclick: () => versionsDialog(bucket, f, load) }, 'Versions'),
          h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${name}`, onclick: () => removeFiles(bucket, [f], load) }, 'Delete'))));
    }
    const all = h('input', { type: 'checkbox', 'aria-label': 'Select all files on this page' });
    all.addEventListener('change', () => {
      for (const box of listing.querySelectorAll('tbody input[type=checkbox]')) {
        if (box.checked !== all.checked) { box.checked = all.checked; box.dispatchEvent(new Event('change')); }
      }
    });
    const prev = h('button', { type: 'button', disabled: state.cursors.length === 0 }, 'Previous page');
    const next = h('button', { type: 'button', disabled: !list.next_cursor }, 'Next page');
    prev.addEventListener('click', () => { state.cursor = state.cursors.pop() ?? null; load(); });
    next.addEventListener('click', () => { state.cursors.push(state.cursor); state.cursor = list.next_cursor; load(); });
    const total = list.items.length + list.folders.length;
    mount(listing,
      total === 0
        ? h('p', { class: 'muted empty' }, state.search ? `Nothing here starts with “${state.search}”.` : 'This folder is empty. Upload files with the button above or drop them here.')
        : table(`Files in ${bucket.name}/${prefix}`, [all, 'Name', 'Size', ['Type', 'hide-narrow'], ['Uploaded', 'hide-narrow'], h('span', { class: 'sr-only' }, 'Actions')], rows),
      h('nav', { class: 'pager', 'aria-label': 'Pages' },
        prev, h('span', { class: 'muted' }, `${count(list.folders.length)} folders, ${count(list.items.length)} files on this page`), next));
    // Measured by the browser test (BENCHMARKS.md): request to rendered rows.
    requestAnimationFrame(() => { listing.dataset.renderMs = String(Math.round(performance.now() - started)); listing.dataset.rows = String(total); });
  }

  search.addEventListener('input', () => {
    clearTimeout(search.timer);
    search.timer = setTimeout(() => { state.search = search.value; state.cursors = []; state.cursor = null; load(); }, 250);
  });
  sizeSelect.addEventListener('change', () => { state.limit = Number(sizeSelect.value); state.cursors = []; state.cursor = null; load(); });
  removeSelected.addEventListener('click', () => removeFiles(bucket, [...selected.values()], load));
  downloadSelected.addEventListener('click', async () => { for (const f of selected.values()) await download(bucket, f); });

  page(prefix ? parts[parts.length - 1] : bucket.name,
    h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('ol', {}, crumbs)),
    h('div', { class: 'toolbar' }, pick, picker, newFolder, search, sizeSelect, downloadSelected, removeSelected),
    uploads, drop);
  await load();
}

/** Downloads a file through the JSON API (with the bearer token, so not a plain link). */
export async function download(bucket, f) {
  try {
    const res = await api.raw('GET', `/buckets/${bucket.id}/files/${f.id}/content`);
    saveBlob(await res.blob(), f.key.split('/').pop() || 'download');
  } catch (err) {
    toast(`Download of ${f.key} failed: ${message(err)}`);
  }
}

async function removeFiles(bucket, files, after) {
  const what = files.length === 1 ? files[0].key : `${files.length} files`;
  const kept = bucket.versioning === 'enabled' ? ' Versioning is on: earlier versions are kept.' : '';
  if (!(await confirm(`Delete ${what}?`, `${what} will be deleted from ${bucket.name}.${kept}`))) return;
  const failed = [];
  for (const f of files) {
    try {
      await api.del(`/buckets/${bucket.id}/files/${f.id}`);
    } catch (err) {
      failed.push(`${f.key}: ${message(err)}`);
    }
  }
  toast(failed.length ? `Not deleted: ${failed.join('; ')}` : `Deleted ${what}`);
  await after();
}

/** A folder is a prefix: it exists once a file is uploaded into it, as in any S3 console. */
function folderDialog(bucketId, prefix) {
  const name = h('input', { type: 'text', required: true, autocomplete: 'off' });
  const slot = errorSlot('folder-error');
  const m = modal('New folder',
    h('form', {
      onsubmit: (e) => {
        e.preventDefault();
        const n = name.value.trim().replace(/^\/+|\/+$/g, '');
        if (!n) {
          showError(slot, new Error('Give the folder a name.'));
          return;
        }
        m.close();
        location.hash = folderHref(bucketId, `${prefix}${n}/`);
      },
    },
    field('Folder name', name, 'It appears in the listing once a file is uploaded into it.'),
    slot,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Open folder'))));
  name.focus();
}
