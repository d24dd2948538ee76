// The session: an access token kept in memory, the refresh token in localStorage (so a
// reload or a new tab stays logged in). Objects are never served as active content on
// this origin (they run sandboxed, in an opaque origin), so no object can read either.
// Refresh tokens rotate on use and a reused one ends the session, so refreshing is
// serialized across tabs with a Web Lock and always uses the newest stored token.

const STORED = 'godrive.refresh';
const listeners = new Set();

let access = null;
let accessUntil = 0;
let user = null;
let timer = null;

/** The signed-in user (`/v1/me`), or null. */
export function current() {
  return user;
}

/** Calls `f(user)` whenever the user signs in or out. */
export function onChange(f) {
  listeners.add(f);
}

function changed() {
  for (const f of listeners) f(user);
}

async function post(path, body) {
  const res = await fetch(`/v1${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const e = new Error(data?.error?.message || `The server answered ${res.status}.`);
    e.name = 'ApiError';
    e.status = res.status;
    e.code = data?.error?.code || 'http_error';
    throw e;
  }
  return data;
}

function adopt(pair) {
  access = pair.access_token;
  accessUntil = Date.now() + pair.expires_in * 1000;
  localStorage.setItem(STORED, pair.refresh_token);
  clearTimeout(timer);
  // Quietly, before it runs out.
  const lead = Math.max(5_000, pair.expires_in * 1000 * 0.8);
  timer = setTimeout(() => refresh().catch(() => {}), lead);
}

async function loadUser() {
  const res = await fetch('/v1/me', { headers: { Authorization: `Bearer ${access}` } });
  if (!res.ok) throw new Error('could not read the account');
  user = await res.json();
  changed();
}

/** Logs in; throws an ApiError with the server's words when refused. */
export async function login(email, password) {
  adopt(await post('/auth/login', { email, password }));
  await loadUser();
}

/** Makes an account (then the caller logs in). */
export async function register(email, password) {
  return post('/auth/register', { email, password });
}

async function withLock(f) {
  if (navigator.locks) return navigator.locks.request('godrive-refresh', f);
  return f();
}

/** Exchanges the stored refresh token for a new pair; false if the session is over. */
export function refresh() {
  return withLock(async () => {
    const token = localStorage.getItem(STORED);
    if (!token) return false;
    try {
      adopt(await post('/auth/refresh', { refresh_token: token }));
      return true;
    } catch (e) {
      if (e.code === 'account_disabled') {
        // Kept: the session goes on if an administrator enables the account again.
        sessionStorage.setItem('godrive.notice', 'Your account has been disabled. Ask an administrator.');
      } else if (e.name === 'ApiError' && e.status < 500 && localStorage.getItem(STORED) === token) {
        localStorage.removeItem(STORED);
      }
      return false;
    }
  });
}

/** On page load: resumes a stored session, if there is one still valid. */
export async function resume() {
  if (!localStorage.getItem(STORED)) return false;
  if (!(await refresh())) return false;
  await loadUser();
  return true;
}

/** A valid access token, refreshed first if it is about to run out; null when signed out. */
export async function token() {
  if (access && Date.now() < accessUntil - 10_000) return access;
  if (await refresh()) return access;
  return null;
}

function clear() {
  access = null;
  accessUntil = 0;
  clearTimeout(timer);
  const had = user !== null;
  user = null;
  if (had) changed();
}

/** Ends the session on the server and here. */
export async function logout() {
  const token = localStorage.getItem(STORED);
  localStorage.removeItem(STORED);
  clear();
  if (token) await post('/auth/logout', { refresh_token: token }).catch(() => {});
}

/** The session ran out (or was revoked): back to the login page, saying why. */
export function expired() {
  localStorage.removeItem(STORED);
  clear();
  sessionStorage.setItem('godrive.notice', 'Your session has expired. Log in again.');
  location.hash = '#/login';
}

// Another tab logged out: so does this one.
window.addEventListener('storage', (e) => {
  if (e.key === STORED && e.newValue === null && user) {
    clear();
    location.hash = '#/login';
  }
});
