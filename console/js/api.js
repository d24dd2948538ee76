// Calls to the JSON API under /v1, with the session's bearer token. A 401 is retried once
// after a refresh; a second one ends the session.

import * as session from './session.js';

export class ApiError extends Error {
  constructor(status, code, text) {
    super(text);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

async function failure(res) {
  const data = await res.json().catch(() => null);
  const text = data?.error?.message || `The server answered ${res.status} ${res.statusText}.`;
  return new ApiError(res.status, data?.error?.code || 'http_error', text);
}

function url(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return `/v1${path}${s ? `?${s}` : ''}`;
}

/** A fetch with the bearer token; resolves to the Response when it is 2xx. */
export async function raw(method, path, { query, json, signal } = {}) {
  for (let attempt = 0; ; attempt++) {
    const token = await session.token();
    if (!token) {
      session.expired();
      throw new ApiError(401, 'unauthenticated', 'Your session has expired. Log in again.');
    }
    const headers = { Authorization: `Bearer ${token}` };
    let body;
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    }
    const res = await fetch(url(path, query), { method, headers, body, signal });
    if (res.status === 401 && attempt === 0 && (await session.refresh())) continue;
    if (res.status === 401) {
      session.expired();
      throw await failure(res);
    }
    if (!res.ok) throw await failure(res);
    return res;
  }
}

/** A JSON call; resolves to the parsed body (null for 204). */
export async function call(method, path, opts) {
  const res = await raw(method, path, opts);
  return res.status === 204 ? null : res.json();
}

export const get = (path, query) => call('GET', path, { query });
export const post = (path, json) => call('POST', path, { json });
export const put = (path, json) => call('PUT', path, { json });
export const patch = (path, json) => call('PATCH', path, { json });
export const del = (path) => call('DELETE', path);

/** Every item of a paged list (`{items, next_cursor}`), up to `max`. */
export async function all(path, query = {}, max = 10_000) {
  const items = [];
  let cursor;
  do {
    const page = await get(path, { ...query, cursor, limit: 1000 });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

/**
 * Sends a body (a form, a Blob) with upload progress: `onProgress(loaded, total)`.
 * Resolves to the parsed JSON answer; rejects with an ApiError (a TypeError when the
 * network failed). Aborting `signal` cancels it.
 */
export async function send(method, path, body, onProgress, signal) {
  for (let attempt = 0; ; attempt++) {
    const token = await session.token();
    if (!token) {
      session.expired();
      throw new ApiError(401, 'unauthenticated', 'Your session has expired. Log in again.');
    }
    if (signal?.aborted) throw new ApiError(0, 'aborted', 'Cancelled.');
    const res = await new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url(path));
      xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      xhr.responseType = 'json';
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
      xhr.onload = () => resolve(xhr);
      xhr.onerror = () => reject(new TypeError('network error'));
      xhr.onabort = () => reject(new ApiError(0, 'aborted', 'Cancelled.'));
      signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(body);
    });
    if (res.status === 401 && attempt === 0 && (await session.refresh())) continue;
    if (res.status >= 200 && res.status < 300) return res.response;
    const data = res.response;
    if (res.status === 401) session.expired();
    throw new ApiError(res.status, data?.error?.code || 'http_error',
      data?.error?.message || `The server answered ${res.status}.`);
  }
}

/** Uploads a form (POST) with progress, as `send` does. */
export function upload(path, form, onProgress, signal) {
  return send('POST', path, form, onProgress, signal);
}
