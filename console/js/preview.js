// Previews: images, video (seekable), audio, PDF and text, from bytes downloaded through
// the JSON API and shown from a blob: URL (never as a document of this origin).

import * as api from './api.js';
import { h, modal, mount, bytes, message, saveBlob } from './ui.js';

const MAX_PREVIEW = 256 * 1024 * 1024;
const MAX_TEXT = 1024 * 1024;

const EXT = {
  image: ['png', 'jpg', 'jpeg', 'gif', 'webp', 'avif', 'bmp', 'ico'],
  video: ['mp4', 'webm', 'ogv', 'mov', 'm4v'],
  audio: ['mp3', 'ogg', 'oga', 'wav', 'flac', 'm4a', 'opus', 'weba'],
  pdf: ['pdf'],
  text: ['txt', 'md', 'csv', 'log', 'json', 'yaml', 'yml', 'toml', 'ini', 'xml', 'html', 'css', 'js', 'ts', 'rs', 'py', 'sh', 'go', 'c', 'h', 'java', 'sql'],
};

/** What kind of preview a file gets: image, video, audio, pdf, text or null. */
export function kindOf(f) {
  const type = (f.content_type || '').split(';')[0].trim().toLowerCase();
  if (type === 'image/svg+xml') return null;
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('video/')) return 'video';
  if (type.startsWith('audio/')) return 'audio';
  if (type === 'application/pdf') return 'pdf';
  if (type.startsWith('text/') || type === 'application/json') return 'text';
  const ext = f.key.split('.').pop().toLowerCase();
  return Object.keys(EXT).find((k) => EXT[k].includes(ext)) || null;
}

const MIME = { image: 'image/png', video: 'video/mp4', audio: 'audio/mpeg', pdf: 'application/pdf' };

export async function preview(bucket, f) {
  const name = f.key.split('/').pop();
  const kind = kindOf(f);
  const body = h('div', { class: 'preview' }, h('p', { class: 'muted' }, 'Loading…'));
  const info = h('p', { class: 'muted' }, `${bytes(f.size)} · ${f.content_type || 'no type'}`);
  const m = modal(name, info, body);
  let url = null;
  m.dialog.addEventListener('closed', () => url && URL.revokeObjectURL(url));
  if (!kind || (kind !== 'text' && f.size > MAX_PREVIEW)) {
    mount(body, h('p', {}, kind ? 'This file is too large to preview.' : 'There is no preview for this kind of file.'),
      h('button', { type: 'button', onclick: () => download(bucket, f, name) }, 'Download'));
    return;
  }
  try {
    const res = await api.raw('GET', `/buckets/${bucket.id}/files/${f.id}/content`);
    if (kind === 'text') {
      const blob = await res.blob();
      const text = await blob.slice(0, MAX_TEXT).text();
      mount(body, h('pre', { class: 'text-preview', tabindex: 0, 'aria-label': `Contents of ${name}` }, text),
        blob.size > MAX_TEXT ? h('p', { class: 'muted' }, 'Only the first megabyte is shown.') : null);
      return;
    }
    let blob = await res.blob();
    // A stored type the browser would not play (or none): the kind's usual type.
    if (!blob.type || blob.type === 'application/octet-stream') blob = new Blob([blob], { type: MIME[kind] });
    url = URL.createObjectURL(blob);
    const el = {
      image: () => h('img', { src: url, alt: name }),
      video: () => h('video', { src: url, controls: true, preload: 'metadata', 'aria-label': name }),
      audio: () => h('audio', { src: url, controls: true, 'aria-label': name }),
      pdf: () => h('iframe', { src: url, title: name, class: 'pdf' }),
    }[kind]();
    mount(body, el);
  } catch (err) {
    mount(body, h('p', { class: 'error', role: 'alert' }, message(err)));
  }
}

async function download(bucket, f, name) {
  const res = await api.raw('GET', `/buckets/${bucket.id}/files/${f.id}/content`);
  saveBlob(await res.blob(), name);
}
