// Uploads with a progress bar per file and one for the batch, three at a time, through the
// JSON API's upload route. A failed file says why (a quota refusal, a file too large) and
// can be retried on its own.

import * as api from './api.js';
import { h, mount, bytes, message } from './ui.js';

const PARALLEL = 3;

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
    const run = async () => {
      status.textContent = 'uploading';
      item.classList.remove('failed');
      const form = new FormData();
      form.append('key', key);
      form.append('file', file, file.name);
      try {
        await api.upload(`/buckets/${bucket.id}/files`, form, (n) => {
          bar.value = Math.min(n, file.size);
          loaded.set(file, Math.min(n, file.size));
          update();
        }, cancel.signal);
        bar.value = file.size;
        loaded.set(file, file.size);
        update();
        status.textContent = 'done';
        item.classList.add('done');
        return true;
      } catch (err) {
        loaded.set(file, 0);
        update();
        item.classList.add('failed');
        const retry = h('button', {
          type: 'button', 'aria-label': `Retry ${file.name}`,
          onclick: async () => { if (await run()) done(); },
        }, 'Retry');
        mount(status, h('span', { class: 'error', role: 'alert' }, `${file.name}: ${message(err)}`), ' ', err.code === 'aborted' ? null : retry);
        return false;
      }
    };
    return run;
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
