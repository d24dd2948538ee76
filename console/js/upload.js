// Uploads with a progress bar per file and one for the batch, three files at a time. A
// small file is one request; a large one goes in parts (several at once), each retried a
// few times on a network or server failure. A file that still fails says why (a quota, a
// file too large) and can be resumed: only the parts the server does not have yet are
// sent again.

import * as api from './api.js';
import { h, mount, bytes, message } from './ui.js';

const PARALLEL = 3;
/** Files from this size up go in parts. */
export const PARTS_FROM = 16 * 1024 * 1024;
const PART_SIZE = 8 * 1024 * 1024;
const PART_PARALLEL = 3;
const PART_TRIES = 3;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Whether a failure is worth trying again (the network or the server, not the request). */
function transient(err) {
  return err.name === 'TypeError' || (err.status >= 500) || err.status === 429;
}

/** One request for the whole file. */
function uploadWhole(bucket, key, file, progress, signal) {
  const form = new FormData();
  form.append('key', key);
  form.append('file', file, file.name);
  return api.upload(`/buckets/${bucket.id}/files`, form, progress, signal);
}

/**
 * The file in parts. `job` keeps the upload between attempts, so a resume sends only the
 * parts the server does not have.
 */
async function uploadInParts(bucket, key, file, progress, signal, job) {
  const base = `/buckets/${bucket.id}/uploads`;
  if (!job.upload) job.upload = await api.post(base, { key, content_type: file.type || null });
  const u = job.upload;
  const partSize = Math.min(u.max_part_size, Math.max(PART_SIZE, u.min_part_size, Math.ceil(file.size / u.max_parts)));
  const count = Math.max(1, Math.ceil(file.size / partSize));
  const sizeOf = (n) => Math.min(partSize, file.size - (n - 1) * partSize);
  const done = new Map();
  for (const p of (await api.get(`${base}/${u.id}/parts`)).items) {
    if (p.number <= count && p.size === sizeOf(p.number)) done.set(p.number, p.etag);
  }
  const loading = new Map();
  const report = () => {
    let n = 0;
    for (const k of done.keys()) n += sizeOf(k);
    for (const v of loading.values()) n += v;
    progress(n, file.size);
  };
  report();
  const todo = [];
  for (let n = 1; n <= count; n++) if (!done.has(n)) todo.push(n);
  const sendPart = async (n) => {
    const blob = file.slice((n - 1) * partSize, (n - 1) * partSize + sizeOf(n));
    for (let attempt = 1; ; attempt++) {
      try {
        const part = await api.send('PUT', `${base}/${u.id}/parts/${n}`, blob, (loaded) => { loading.set(n, loaded); report(); }, signal);
        loading.delete(n);
        done.set(n, part.etag);
        report();
        return;
      } catch (err) {
        loading.delete(n);
        report();
        if (attempt >= PART_TRIES || !transient(err) || signal.aborted) throw err;
        await sleep(500 * 2 ** attempt);
      }
    }
  };
  let failure = null;
  const worker = async () => {
    while (todo.length && !failure) {
      const n = todo.shift();
      try {
        await sendPart(n);
      } catch (err) {
        failure = failure || err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PART_PARALLEL, todo.length) }, worker));
  if (failure) throw failure;
  const parts = [...done.entries()].sort((a, b) => a[0] - b[0]).map(([number, etag]) => ({ number, etag }));
  const made = await api.post(`${base}/${u.id}/complete`, { parts });
  job.upload = null;
  return made;
}

/** Uploads `files` into `bucket` under `prefix`, shown in `panel`; `done()` after each batch. */
export function uploadFiles(panel, bucket, prefix, files, done) {
  const total = files.reduce((n, f) => n + f.size, 0);
  const loaded = new Map();
  const batchBar = h('progress', { max: Math.max(total, 1), value: 0, 'aria-label': 'Upload progress of the batch' });
  const batchText = h('span', { class: 'muted' });
  const list = h('ul', { class: 'upload-list' });
  const cancel = new AbortController();
  const cancelButton = h('button', { type: 'button', onclick: () => cancel.abort() }, 'Cancel uploads');
  const box = h('div', { class: 'card upload-batch' },
    h('div', { class: 'batch-head' }, h('strong', {}, `Uploading ${files.length} file${files.length === 1 ? '' : 's'}`), batchText, cancelButton),
    batchBar, list);
  panel.prepend(box);

  const update = () => {
    const sum = [...loaded.values()].reduce((a, b) => a + b, 0);
    batchBar.value = sum;
    batchText.textContent = `${bytes(sum)} of ${bytes(total)}`;
  };
  update();

  const jobs = files.map((file) => {
    const key = prefix + (file.webkitRelativePath || file.name);
    const bar = h('progress', { max: Math.max(file.size, 1), value: 0, 'aria-label': `Upload progress of ${file.name}` });
    const status = h('span', { class: 'status' }, 'waiting');
    const item = h('li', { class: 'upload-item' }, h('span', { class: 'name' }, file.name), bar, status);
    list.append(item);
    const job = { upload: null };
    const inParts = file.size >= PARTS_FROM;
    const progress = (n) => {
      const v = Math.min(n, file.size);
      bar.value = v;
      loaded.set(file, v);
      update();
    };
    const run = async (signal) => {
      mount(status, inParts ? 'uploading in parts' : 'uploading');
      item.classList.remove('failed');
      try {
        if (inParts) await uploadInParts(bucket, key, file, progress, signal, job);
        else await uploadWhole(bucket, key, file, progress, signal);
        progress(file.size);
        mount(status, 'done');
        item.classList.add('done');
        return true;
      } catch (err) {
        if (!inParts) progress(0);
        item.classList.add('failed');
        const again = h('button', {
          type: 'button', 'aria-label': `${job.upload ? 'Resume' : 'Retry'} ${file.name}`,
          onclick: async () => { if (await run(new AbortController().signal)) done(); },
        }, job.upload ? 'Resume' : 'Retry');
        const discard = job.upload ? h('button', {
          type: 'button', 'aria-label': `Discard ${file.name}`,
          onclick: async () => {
            const u = job.upload;
            job.upload = null;
            await api.del(`/buckets/${bucket.id}/uploads/${u.id}`).catch(() => {});
            progress(0);
            mount(status, 'discarded');
          },
        }, 'Discard') : null;
        if (err.code === 'aborted') {
          // Cancelled: nothing is kept.
          if (job.upload) await api.del(`/buckets/${bucket.id}/uploads/${job.upload.id}`).catch(() => {});
          job.upload = null;
          mount(status, h('span', {}, 'cancelled'));
          return false;
        }
        mount(status, h('span', { class: 'error', role: 'alert' }, `${file.name}: ${message(err)}`), ' ', again, ' ', discard);
        return false;
      }
    };
    return () => run(cancel.signal);
  });

  (async () => {
    const queue = [...jobs];
    let ok = 0;
    const worker = async () => {
      while (queue.length) {
        const run = queue.shift();
        if (await run()) ok++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, jobs.length) }, worker));
    cancelButton.remove();
    box.querySelector('strong').textContent = ok === files.length
      ? `Uploaded ${files.length} file${files.length === 1 ? '' : 's'}`
      : `Uploaded ${ok} of ${files.length} files`;
    box.append(h('button', { type: 'button', class: 'dismiss', onclick: () => box.remove() }, 'Dismiss'));
    done();
  })();
}
