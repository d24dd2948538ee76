// The web console's flows in headless Chromium, driven by role and accessible name
// (playwright-core, Debian's chromium). Run by tests/it/console.rs against a fresh server:
//   GODRIVE_URL, GODRIVE_ADMIN_EMAIL, GODRIVE_ADMIN_PASSWORD, CHROMIUM, ASSETS (tests/browser/assets)
//   SHOTS: a folder to write screenshots into (docs/console when refreshing them), optional.
//   MANY: how many files the listing measurement seeds (1000).
// Every page is checked with axe-core (no serious or critical violation) and for
// Content-Security-Policy violations (none). Prints "console flows: OK" and one JSON line
// of measurements ("measured: {...}") at the end; exits non-zero on the first failure.

import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const base = process.env.GODRIVE_URL;
const adminEmail = process.env.GODRIVE_ADMIN_EMAIL;
const adminPassword = process.env.GODRIVE_ADMIN_PASSWORD;
const assets = process.env.ASSETS;
const shots = process.env.SHOTS || '';
const png = readFileSync(`${assets}/pattern.png`);
const webm = readFileSync(`${assets}/clip.webm`);
const pdf = readFileSync(`${assets}/doc.pdf`);

/** One second of a 440 Hz tone, 8 kHz mono 16-bit PCM, as a WAV file. */
function wav() {
  const rate = 8000;
  const data = Buffer.alloc(rate * 2);
  for (let i = 0; i < rate; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2);
  const head = Buffer.alloc(44);
  head.write('RIFF', 0); head.writeUInt32LE(36 + data.length, 4); head.write('WAVE', 8);
  head.write('fmt ', 12); head.writeUInt32LE(16, 16); head.writeUInt16LE(1, 20); head.writeUInt16LE(1, 22);
  head.writeUInt32LE(rate, 24); head.writeUInt32LE(rate * 2, 28); head.writeUInt16LE(2, 32); head.writeUInt16LE(16, 34);
  head.write('data', 36); head.writeUInt32LE(data.length, 40);
  return Buffer.concat([head, data]);
}
const email = `console-${Date.now()}@example.com`;
const password = 'console-password-1';
const bucket = `console-${Date.now().toString(36)}`;
const measured = {};
// Files seeded for the listing measurement (1,000 in CI; `make console-bench` uses 10,000).
const MANY = Number(process.env.MANY || 1000);
// The object limit an administrator sets on the user's bucket: well above what it holds.
const OBJECT_LIMIT = MANY * 5;

function log(...a) { console.log(...a); }
const sha = (b) => createHash('sha256').update(b).digest('hex');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});

async function newPage(opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...opts });
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => { log('page error:', e.message); page.__errors = (page.__errors || 0) + 1; });
  page.on('console', (m) => { if (m.type() === 'error') log('console error:', m.text()); });
  return page;
}

async function ready(page, hash) {
  await page.waitForFunction((h) => document.querySelector('main')?.dataset.ready === h, hash, { timeout: 15000 });
}

/** axe-core on what the page shows now (dialogs included), and no CSP violation so far. */
async function check(page, name) {
  // Evaluated through the DevTools protocol: the page's policy allows no inline script.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3), help: v.help }));
  });
  const serious = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `${name}: axe found serious violations: ${JSON.stringify(serious, null, 1)}`);
  const csp = await page.evaluate(() => window.__csp);
  assert.deepEqual(csp, [], `${name}: CSP violations`);
  assert.ok(!page.__errors, `${name}: the page threw`);
  log(`  checked ${name}: axe ${result.length ? result.map((v) => `${v.id}(${v.impact})`).join(', ') : 'clean'}`);
}

async function shot(page, name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: `${shots}/${name}.png` });
}

async function step(name, f) {
  log(`- ${name}`);
  await f();
}

// ---------------------------------------------------------------------------------------
const user = await newPage();
// Access tokens last GODRIVE_AUTH_ACCESS_TOKEN_TTL (20 s here): the flows outlast several,
// and each is replaced quietly.
let refreshes = 0;
user.on('request', (r) => { if (r.url().endsWith('/v1/auth/refresh')) refreshes++; });

await step('a browser opening / lands on the console login, within the transfer budget', async () => {
  const resp = await user.goto(`${base}/`);
  assert.match(user.url(), /\/console\/#\/login$/);
  const headers = resp.headers();
  assert.match(headers['content-security-policy'], /script-src 'self'/);
  assert.doesNotMatch(headers['content-security-policy'], /unsafe-inline/);
  await ready(user, '#/login');
  const transferred = await user.evaluate(() => {
    const nav = performance.getEntriesByType('navigation').reduce((n, e) => n + e.transferSize, 0);
    return nav + performance.getEntriesByType('resource').reduce((n, e) => n + e.transferSize, 0);
  });
  measured.first_load_bytes = transferred;
  assert.ok(transferred > 0 && transferred < 300 * 1024, `first load transferred ${transferred} bytes`);
  await check(user, 'login');
  await shot(user, 'login');
});

await step('register, then land on the buckets page', async () => {
  await user.getByRole('link', { name: 'Register' }).click();
  await ready(user, '#/register');
  await user.getByLabel('Email').fill(email);
  await user.getByLabel('Password').fill('short');
  await user.getByRole('button', { name: 'Create account' }).click();
  // The browser's own validation (minlength) or the API's words, next to the form.
  await user.getByLabel('Password').fill(password);
  await user.getByRole('button', { name: 'Create account' }).click();
  await ready(user, '#/buckets');
  await user.getByText(email).waitFor();
});

await step('create a bucket (a bad name is refused in words)', async () => {
  await user.getByLabel('New bucket name').fill('console');
  await user.getByRole('button', { name: 'Create bucket' }).click();
  await user.locator('#create-bucket-error [role=alert]').waitFor();
  assert.match(await user.locator('#create-bucket-error').innerText(), /name must be/);
  await user.getByLabel('New bucket name').fill(bucket);
  await user.getByRole('button', { name: 'Create bucket' }).click();
  await user.getByRole('link', { name: bucket }).waitFor();
  await check(user, 'buckets');
});

let bucketHash;
await step('upload two files with visible progress', async () => {
  await user.getByRole('link', { name: bucket }).click();
  await user.locator('.listing .empty').waitFor();
  bucketHash = await user.evaluate(() => location.hash);
  // Progress values as the page shows them, sampled on every change.
  await user.evaluate(() => {
    window.__progress = [];
    new MutationObserver(() => {
      const bar = document.querySelector('progress[aria-label="Upload progress of the batch"]');
      if (bar) window.__progress.push(bar.value / bar.max);
    }).observe(document.querySelector('.uploads'), { subtree: true, attributes: true, childList: true, characterData: true });
  });
  const big = Buffer.alloc(24 * 1024 * 1024, 7);
  await user.locator('#file-picker').setInputFiles([
    { name: 'pattern.png', mimeType: 'image/png', buffer: png },
    { name: 'big.bin', mimeType: 'application/octet-stream', buffer: big },
  ]);
  await user.getByRole('progressbar', { name: 'Upload progress of pattern.png' }).waitFor();
  await user.getByRole('progressbar', { name: 'Upload progress of big.bin' }).waitFor();
  await user.getByText('Uploaded 2 files').waitFor({ timeout: 60000 });
  const seen = await user.evaluate(() => window.__progress);
  const partial = seen.filter((v) => v > 0 && v < 1);
  assert.ok(partial.length >= 1, `the batch bar moved through partial values: ${seen.slice(0, 20)}`);
  assert.equal(await user.getByRole('progressbar', { name: 'Upload progress of big.bin' }).evaluate((b) => b.value === b.max), true);
  await user.getByRole('button', { name: 'Preview pattern.png' }).waitFor();
  await check(user, 'files');
  await shot(user, 'files');
});

await step('a large file goes in parts; a part that keeps failing is resumed, not sent again', async () => {
  const data = Buffer.alloc(18 * 1024 * 1024);
  for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i, i);
  let refused = 0;
  const sent = [];
  await user.route('**/uploads/*/parts/*', (route) => {
    const n = Number(route.request().url().split('/').pop());
    sent.push(n);
    if (n === 2) {
      refused++;
      return route.abort('connectionreset');
    }
    return route.continue();
  });
  await user.locator('#file-picker').setInputFiles([{ name: 'resumable.bin', mimeType: 'application/octet-stream', buffer: data }]);
  const resume = user.getByRole('button', { name: 'Resume resumable.bin' });
  await resume.waitFor({ timeout: 60000 });
  assert.equal(refused, 3, 'part 2 was tried three times');
  assert.match(await user.locator('.upload-item.failed [role=alert]').innerText(), /resumable\.bin: The server could not be reached/);
  await check(user, 'failed upload');
  await user.unroute('**/uploads/*/parts/*');
  sent.length = 0;
  await user.route('**/uploads/*/parts/*', (route) => { sent.push(Number(route.request().url().split('/').pop())); return route.continue(); });
  await resume.click();
  await user.locator('.upload-item', { hasText: 'resumable.bin' }).getByText('done').waitFor({ timeout: 60000 });
  await user.unroute('**/uploads/*/parts/*');
  assert.deepEqual(sent.filter((n) => n !== 2), [], `only part 2 is sent again (sent ${sent})`);
  await user.getByRole('button', { name: 'Preview resumable.bin' }).waitFor();
  const download = user.waitForEvent('download');
  await user.getByRole('button', { name: 'Download resumable.bin' }).click();
  assert.equal(sha(readFileSync(await (await download).path())), sha(data));
  await user.getByRole('button', { name: 'Delete resumable.bin' }).click();
  await user.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await user.getByRole('button', { name: 'Preview resumable.bin' }).waitFor({ state: 'detached' });
});

await step('open a folder: make one, upload into it, find it from the bucket root', async () => {
  await user.getByRole('button', { name: 'New folder' }).click();
  await user.getByLabel('Folder name').fill('docs');
  await user.getByRole('button', { name: 'Open folder' }).click();
  await user.locator('.listing .empty').waitFor();
  await user.locator('#file-picker').setInputFiles([{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('plain notes\n') }]);
  await user.getByText('Uploaded 1 file').waitFor();
  // Dropped on the listing, as a file dragged from the desktop is.
  const dropped = await user.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['dropped here\n'], 'dropped.txt', { type: 'text/plain' }));
    return dt;
  });
  await user.locator('.dropzone').dispatchEvent('dragover', { dataTransfer: dropped });
  await user.locator('.dropzone').dispatchEvent('drop', { dataTransfer: dropped });
  await user.getByRole('button', { name: 'Preview dropped.txt' }).waitFor();
  await user.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: bucket }).click();
  await user.getByRole('link', { name: 'Folder docs/' }).click();
  await user.getByRole('button', { name: 'Preview notes.txt' }).click();
  await user.getByRole('dialog').locator('pre').waitFor();
  assert.equal(await user.getByRole('dialog').locator('pre').innerText(), 'plain notes\n');
  await check(user, 'text preview');
  await user.getByRole('button', { name: 'Close' }).click();
  await user.goto(`${base}/console/${bucketHash}`);
});

await step('preview an image', async () => {
  await user.getByRole('button', { name: 'Preview pattern.png' }).click();
  const img = user.getByRole('dialog').getByRole('img', { name: 'pattern.png' });
  await img.waitFor();
  await user.waitForFunction(() => document.querySelector('dialog img')?.naturalWidth > 0);
  await check(user, 'image preview');
  await shot(user, 'preview');
  await user.getByRole('button', { name: 'Close' }).click();
});

await step('preview video (seeking in it), audio and PDF; download a file byte for byte', async () => {
  await user.locator('#file-picker').setInputFiles([
    { name: 'clip.webm', mimeType: 'video/webm', buffer: webm },
    { name: 'tone.wav', mimeType: 'audio/wav', buffer: wav() },
    { name: 'doc.pdf', mimeType: 'application/pdf', buffer: pdf },
  ]);
  await user.getByText('Uploaded 3 files').waitFor();
  await user.getByRole('button', { name: 'Preview clip.webm' }).click();
  await user.waitForFunction(() => document.querySelector('dialog video')?.readyState >= 1 && document.querySelector('dialog video').duration > 0);
  const seeked = await user.evaluate(() => new Promise((resolve) => {
    const v = document.querySelector('dialog video');
    const target = v.duration / 2;
    v.addEventListener('seeked', () => resolve({ target, at: v.currentTime }), { once: true });
    v.currentTime = target;
  }));
  assert.ok(Math.abs(seeked.at - seeked.target) < 0.5, `seeked to ${seeked.at} for ${seeked.target}`);
  await check(user, 'video preview');
  await user.getByRole('button', { name: 'Close' }).click();
  await user.getByRole('button', { name: 'Preview tone.wav' }).click();
  await user.waitForFunction(() => Math.abs((document.querySelector('dialog audio')?.duration || 0) - 1) < 0.05);
  await user.getByRole('button', { name: 'Close' }).click();
  await user.getByRole('button', { name: 'Preview doc.pdf' }).click();
  const frame = user.getByRole('dialog').locator('iframe[title="doc.pdf"]');
  await frame.waitFor();
  assert.match(await frame.getAttribute('src'), /^blob:/);
  await user.getByRole('button', { name: 'Close' }).click();
  const download = user.waitForEvent('download');
  await user.getByRole('button', { name: 'Download pattern.png' }).click();
  const saved = await download;
  assert.equal(saved.suggestedFilename(), 'pattern.png');
  assert.equal(sha(readFileSync(await saved.path())), sha(png));
});

await step('bucket settings: versioning on (public refused in words); a file\'s old version restored', async () => {
  await user.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Buckets' }).click();
  await ready(user, '#/buckets');
  await user.getByRole('button', { name: `Settings of ${bucket}` }).click();
  await user.getByLabel('Versioning').selectOption('enabled');
  await user.getByRole('checkbox', { name: /Public/ }).check();
  await user.getByRole('button', { name: 'Save settings' }).click();
  await user.locator('#public-error [role=alert]').waitFor();
  assert.match(await user.locator('#public-error').innerText(), /public buckets are disabled/);
  assert.equal(await user.locator('#versioning-error').innerText(), '');
  await check(user, 'bucket settings');
  await user.getByRole('button', { name: 'Close' }).click();
  await user.reload();
  await ready(user, '#/buckets');
  await user.getByRole('row', { name: new RegExp(`${bucket} .* enabled private`) }).waitFor();
  await user.getByRole('link', { name: bucket, exact: true }).click();
  await user.getByRole('button', { name: 'Preview pattern.png' }).waitFor();
  for (const [i, text] of ['first draft\n', 'second draft\n'].entries()) {
    await user.locator('#file-picker').setInputFiles([{ name: 'story.txt', mimeType: 'text/plain', buffer: Buffer.from(text) }]);
    await user.waitForFunction((n) => [...document.querySelectorAll('.upload-batch strong')].filter((e) => e.textContent === 'Uploaded 1 file').length === n, i + 1);
  }
  await user.getByRole('button', { name: 'Versions of story.txt' }).click();
  const versions = user.getByRole('dialog', { name: 'Versions of story.txt' });
  await versions.getByRole('button', { name: 'Restore version 1' }).waitFor();
  assert.equal(await versions.locator('tbody tr').count(), 2);
  await check(user, 'versions');
  await versions.getByRole('button', { name: 'Restore version 1' }).click();
  await versions.getByRole('button', { name: 'Download version 3' }).waitFor();
  await versions.getByRole('button', { name: 'Close' }).click();
  await user.getByRole('button', { name: 'Preview story.txt' }).click();
  await user.getByRole('dialog').locator('pre').waitFor();
  assert.equal(await user.getByRole('dialog').locator('pre').innerText(), 'first draft\n');
  await user.getByRole('button', { name: 'Close' }).click();
});

let keyId;
let secret;
await step('create an access key and use it with the aws cli', async () => {
  await user.getByRole('link', { name: 'Access keys' }).click();
  await ready(user, '#/keys');
  await user.getByLabel('Key name').fill('laptop');
  await user.getByRole('button', { name: 'Create access key' }).click();
  const dialog = user.getByRole('dialog');
  await dialog.getByText('shown this once').waitFor();
  keyId = await dialog.getByRole('textbox', { name: 'Access key id' }).inputValue();
  secret = await dialog.getByRole('textbox', { name: 'Secret access key' }).inputValue();
  assert.match(await dialog.getByLabel('aws cli', { exact: true }).innerText(), /--endpoint-url/);
  await check(user, 'new key');
  const out = execFileSync('aws', ['--endpoint-url', base, 's3', 'ls', `s3://${bucket}/`], {
    env: { ...process.env, AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: secret, AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
  }).toString();
  assert.match(out, /pattern\.png/);
  assert.match(out, /PRE docs\//);
  await dialog.getByRole('button', { name: 'Close' }).click();
  await user.reload();
  await ready(user, '#/keys');
  await user.getByRole('row', { name: /laptop/ }).waitFor();
  assert.doesNotMatch(await user.locator('main').innerText(), new RegExp(secret));
  // Its last use (recorded a few seconds after the request, from every instance).
  for (let i = 0; ; i++) {
    if (!(await user.getByRole('row', { name: /laptop/ }).innerText()).includes('never')) break;
    assert.ok(i < 20, 'the key\'s last use is shown');
    await user.waitForTimeout(1000);
    await user.reload();
    await ready(user, '#/keys');
  }
  await check(user, 'keys');
});

let linkUrl;
let pdfUrl;
await step('create a share link and open it in a fresh browser context', async () => {
  await user.goto(`${base}/console/${bucketHash}`);
  await user.getByRole('button', { name: 'Share pattern.png' }).click();
  await user.getByLabel('Expires after').selectOption({ label: '1 hour' });
  await user.getByRole('button', { name: 'Create link' }).click();
  linkUrl = await user.getByRole('textbox', { name: 'Share link' }).inputValue();
  assert.match(linkUrl, /X-Amz-Signature=/);
  await user.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await user.getByRole('button', { name: 'Copy share link' }).click();
  await user.getByText('Copied to the clipboard').waitFor();
  assert.equal(await user.evaluate(() => navigator.clipboard.readText()), linkUrl);
  await check(user, 'share dialog');
  await user.getByRole('button', { name: 'Close' }).click();
  // A second link, as an attachment, for the administrator to revoke later.
  await user.getByRole('button', { name: 'Share doc.pdf' }).click();
  await user.getByLabel('Expires after').selectOption({ label: '1 day' });
  await user.getByRole('checkbox', { name: /Download as a file/ }).check();
  await user.getByRole('button', { name: 'Create link' }).click();
  pdfUrl = await user.getByRole('textbox', { name: 'Share link' }).inputValue();
  await user.getByRole('button', { name: 'Close' }).click();
  const stranger = await (await browser.newContext()).newPage();
  const resp = await stranger.goto(linkUrl);
  assert.equal(resp.status(), 200);
  assert.equal(sha(await resp.body()), sha(png));
  await stranger.context().close();
});

await step('an HTML file opened from this origin cannot read the session', async () => {
  const html = '<!doctype html><title>untouched</title><script>document.title = localStorage.getItem("godrive.refresh")</script>';
  await user.locator('#file-picker').setInputFiles([{ name: 'evil.html', mimeType: 'text/html', buffer: Buffer.from(html) }]);
  await user.getByRole('button', { name: 'Share evil.html' }).click();
  await user.getByRole('button', { name: 'Create link' }).click();
  const url = await user.getByRole('textbox', { name: 'Share link' }).inputValue();
  await user.getByRole('button', { name: 'Close' }).click();
  // In the same browser context as the logged-in console, on the same origin.
  assert.ok(await user.evaluate(() => localStorage.getItem('godrive.refresh')), 'the console holds a session');
  const tab = await user.context().newPage();
  const resp = await tab.goto(url);
  assert.equal(resp.headers()['content-security-policy'], 'sandbox');
  assert.equal(await tab.title(), 'untouched', 'its script did not run');
  const read = await tab.evaluate(() => {
    try {
      return `read: ${localStorage.getItem('godrive.refresh')}`;
    } catch (e) {
      return `denied: ${e.name}`;
    }
  });
  assert.equal(read, 'denied: SecurityError');
  await tab.close();
  await user.getByRole('button', { name: 'Delete evil.html' }).click();
  await user.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await user.getByRole('button', { name: 'Preview evil.html' }).waitFor({ state: 'detached' });
});

await step('see the link with its access log, revoke it, and see it fail', async () => {
  await user.getByRole('link', { name: 'Share links' }).click();
  await ready(user, '#/links');
  const row = user.getByRole('row', { name: new RegExp(`${bucket}/pattern.png`) });
  await row.getByText('active').waitFor();
  await user.getByRole('button', { name: `Access log of link to ${bucket}/pattern.png` }).click();
  await user.getByRole('dialog').getByRole('cell', { name: 'used' }).first().waitFor();
  await check(user, 'access log');
  await user.getByRole('button', { name: 'Close' }).click();
  await check(user, 'links');
  await shot(user, 'links');
  await user.getByRole('button', { name: `Revoke link to ${bucket}/pattern.png` }).click();
  await user.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await row.getByText('revoked').waitFor();
  const stranger = await (await browser.newContext()).newPage();
  const resp = await stranger.goto(linkUrl);
  assert.equal(resp.status(), 403);
  await stranger.context().close();
});

await step(`a page of 1,000 files renders, first and last of ${MANY} (measured, not asserted)`, async () => {
  // Seeded through the JSON API like any client, 16 at a time.
  // A fresh token now and then: they last 20 s here, and 10,000 files take longer.
  const login = async () => {
    const r = await fetch(`${base}/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) });
    return (await r.json()).access_token;
  };
  let token = await login();
  const buckets = await (await fetch(`${base}/v1/buckets`, { headers: { Authorization: `Bearer ${token}` } })).json();
  const id = buckets.items.find((b) => b.name === bucket).id;
  const name = (i) => `file-${String(i).padStart(5, '0')}.txt`;
  const keys = Array.from({ length: MANY }, (_, i) => `many/${name(i)}`);
  const seeding = performance.now();
  for (let i = 0; i < keys.length; i += 16) {
    if (i % 1024 === 0 && i > 0) token = await login();
    await Promise.all(keys.slice(i, i + 16).map(async (key) => {
      const form = new FormData();
      form.append('key', key);
      form.append('file', new Blob(['x']), 'x.txt');
      const r = await fetch(`${base}/v1/buckets/${id}/files`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
      assert.equal(r.status, 201);
    }));
  }
  measured.seeded_keys = MANY;
  measured.seed_ms = Math.round(performance.now() - seeding);
  await user.goto(`${base}/console/#/b/${id}/${encodeURIComponent('many/')}`);
  await user.getByRole('combobox', { name: 'Items per page' }).selectOption('1000');
  await user.waitForFunction(() => document.querySelector('.listing')?.dataset.rows === '1000', null, { timeout: 30000 });
  measured.render_1000_ms = Number(await user.locator('.listing').getAttribute('data-render-ms'));
  // Every further page of 1,000, to the last (a bucket of 10,000 keys with MANY=10000).
  for (let first = 1000; first < MANY; first += 1000) {
    await user.getByRole('button', { name: 'Next page' }).click();
    await user.getByRole('button', { name: `Preview ${name(first)}` }).waitFor();
    await user.waitForFunction((n) => document.querySelector('.listing')?.dataset.rows === String(n), Math.min(1000, MANY - first));
    measured.render_last_page_ms = Number(await user.locator('.listing').getAttribute('data-render-ms'));
  }
  assert.equal(await user.getByRole('button', { name: 'Next page' }).isDisabled(), true);
  await user.getByRole('searchbox', { name: 'Search by name prefix' }).fill('file-0099');
  await user.waitForFunction(() => document.querySelector('.listing')?.dataset.rows === '10');
  await user.getByRole('combobox', { name: 'Items per page' }).selectOption('50');
  await user.getByRole('searchbox', { name: 'Search by name prefix' }).fill('');
  await user.waitForFunction(() => document.querySelector('.listing')?.dataset.rows === '50');
  await user.getByRole('button', { name: 'Next page' }).click();
  await user.getByRole('button', { name: 'Preview file-00050.txt' }).waitFor();
});

await step('select several files and delete them', async () => {
  await user.getByRole('checkbox', { name: 'Select file-00050.txt' }).check();
  await user.getByRole('checkbox', { name: 'Select file-00051.txt' }).check();
  await user.getByRole('button', { name: 'Delete selected (2)' }).click();
  await user.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await user.getByRole('button', { name: 'Preview file-00050.txt' }).waitFor({ state: 'detached' });
  await user.getByRole('button', { name: 'Preview file-00052.txt' }).waitFor();
  assert.equal(await user.getByRole('button', { name: 'Preview file-00051.txt' }).count(), 0);
});

await step('usage shows a gauge and a daily chart', async () => {
  await user.getByRole('link', { name: 'Usage' }).click();
  await ready(user, '#/usage');
  await user.getByRole('img', { name: /Storage used/ }).waitFor();
  await user.getByRole('img', { name: /Stored bytes per day/ }).waitFor();
  assert.match(await user.locator('main').innerText(), /No quota is set/);
  await check(user, 'usage');
});

// ---------------------------------------------------------------------------------------
const admin = await newPage();
await step('an administrator logs in with the keyboard and sets the user\'s quota', async () => {
  await admin.goto(`${base}/console/`);
  await ready(admin, '#/login');
  await admin.keyboard.type(adminEmail);
  await admin.keyboard.press('Tab');
  await admin.keyboard.type(adminPassword);
  await admin.keyboard.press('Enter');
  await ready(admin, '#/buckets');
  await admin.getByRole('link', { name: 'Admin' }).click();
  await ready(admin, '#/admin/users');
  await admin.getByRole('searchbox', { name: 'Search users by email' }).fill(email);
  // One user matches (the search waits for typing to pause).
  await admin.waitForFunction(() => document.querySelectorAll('main tbody tr').length === 1);
  await admin.getByRole('button', { name: `Set quota of ${email}` }).waitFor();
  await check(admin, 'admin users');
  await shot(admin, 'admin-users');
  await admin.getByRole('button', { name: `Set quota of ${email}` }).click();
  await admin.getByLabel('Quota (GB)').fill('-1');
  await admin.getByRole('button', { name: 'Save quota' }).click();
  await admin.locator('#quota-error [role=alert]').waitFor();
  await admin.getByLabel('Quota (GB)').fill(String(30 / 1024));
  await admin.getByRole('button', { name: 'Save quota' }).click();
  await admin.getByRole('row', { name: new RegExp(`${email}.*of 30 MB`) }).waitFor();
  // The user's buckets, and a limit on one.
  await admin.getByRole('button', { name: `Buckets of ${email}` }).click();
  await admin.getByRole('button', { name: `Limits of ${bucket}` }).click();
  await admin.getByLabel('Maximum objects').fill(String(OBJECT_LIMIT));
  await admin.getByRole('button', { name: 'Save limits' }).click();
  await admin.getByRole('dialog', { name: `Buckets of ${email}` }).getByRole('row', { name: new RegExp(`${bucket}.* of ${OBJECT_LIMIT.toLocaleString('en-US')}`) }).waitFor();
  await check(admin, 'admin bucket limits');
  await admin.getByRole('dialog', { name: `Buckets of ${email}` }).getByRole('button', { name: 'Close' }).click();
});

await step('the administrator sees the usage report and the link audit', async () => {
  await admin.getByRole('link', { name: 'Usage report' }).click();
  await ready(admin, '#/admin/usage');
  await admin.getByRole('img', { name: /Stored bytes per day/ }).waitFor();
  const download = admin.waitForEvent('download');
  await admin.getByRole('button', { name: 'Export CSV' }).click();
  const csv = readFileSync(await (await download).path(), 'utf8');
  assert.match(csv, /^day,used_bytes,peak_bytes,objects,requests,users,final\n\d{4}-\d\d-\d\d,/);
  await check(admin, 'admin usage');
  await shot(admin, 'admin-usage');
  await admin.getByRole('link', { name: 'Link audit' }).click();
  await ready(admin, '#/admin/audit');
  await admin.getByRole('button', { name: new RegExp(`Revoke link .* to ${bucket}/pattern.png`) }).first().waitFor();
  await check(admin, 'admin audit');
  // Filtered to the PDF's link, then revoked by the administrator: refused from then on.
  const label = await admin.getByRole('button', { name: new RegExp(`Revoke link .* to ${bucket}/doc.pdf`) }).first().getAttribute('aria-label');
  const linkId = label.split(' ')[2];
  await admin.getByRole('textbox', { name: 'Filter by link id' }).fill(linkId);
  await admin.getByRole('button', { name: 'Filter' }).click();
  await admin.waitForFunction(() => !document.querySelector('main tbody')?.innerText.includes('pattern.png'));
  const stranger = await (await browser.newContext()).newPage();
  // An attachment is a download, not a page: the stranger fetches it from a page instead.
  const status = async () => stranger.evaluate(async (u) => (await fetch(u)).status, pdfUrl);
  await stranger.goto(`${base}/console/`);
  assert.equal(await status(), 200);
  await admin.getByRole('button', { name: `Revoke link ${linkId} to ${bucket}/doc.pdf` }).first().click();
  await admin.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await admin.getByText('Link revoked').waitFor();
  assert.equal(await status(), 403);
  await stranger.context().close();
});

await step('the user sees the quota and a clear refusal when over it', async () => {
  await user.reload();
  await ready(user, '#/usage');
  assert.match(await user.locator('.quota-line').innerText(), /of 30 MB used/);
  await shot(user, 'usage');
  await user.goto(`${base}/console/${bucketHash}`);
  await user.locator('#file-picker').setInputFiles([{ name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(8 * 1024 * 1024, 1) }]);
  const alert = user.locator('.upload-item.failed [role=alert]');
  await alert.waitFor({ timeout: 30000 });
  assert.match(await alert.innerText(), /too-big\.bin: This upload would exceed your storage quota/);
  await check(user, 'quota refusal');
});

await step('an administrator disables the user (refused in words), enables them, grants and revokes admin', async () => {
  await admin.getByRole('link', { name: 'Users' }).click();
  await ready(admin, '#/admin/users');
  await admin.getByRole('searchbox', { name: 'Search users by email' }).fill(email);
  await admin.waitForFunction(() => document.querySelectorAll('main tbody tr').length === 1);
  await admin.getByRole('button', { name: `Disable ${email}` }).click();
  await admin.getByRole('dialog').getByRole('button', { name: 'Disable' }).click();
  await admin.getByRole('button', { name: `Enable ${email}` }).waitFor();
  // A new page load finds the account disabled and says so on the login page.
  await user.goto(`${base}/console/#/keys`);
  await user.reload();
  await ready(user, '#/login');
  await user.getByText('Your account has been disabled').waitFor();
  await admin.getByRole('button', { name: `Enable ${email}` }).click();
  await admin.getByRole('button', { name: `Disable ${email}` }).waitFor();
  await admin.getByRole('button', { name: `Make admin ${email}` }).click();
  await admin.getByRole('button', { name: `Revoke admin from ${email}` }).click();
  await admin.getByRole('button', { name: `Make admin ${email}` }).waitFor();
  // Enabled again, the same session goes on: a reload of the login page finds it.
  await user.reload();
  await ready(user, '#/buckets');
});

await step('a bucket is deleted only once confirmed', async () => {
  await user.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Buckets' }).click();
  await ready(user, '#/buckets');
  await user.getByLabel('New bucket name').fill(`${bucket}-scratch`);
  await user.getByRole('button', { name: 'Create bucket' }).click();
  await user.getByRole('button', { name: `Delete bucket ${bucket}-scratch` }).click();
  await user.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await user.getByRole('link', { name: `${bucket}-scratch` }).waitFor();
  await user.getByRole('button', { name: `Delete bucket ${bucket}-scratch` }).click();
  await user.getByRole('dialog').getByRole('button', { name: 'Delete bucket' }).click();
  await user.getByRole('link', { name: `${bucket}-scratch` }).waitFor({ state: 'detached' });
  await user.getByRole('link', { name: bucket, exact: true }).waitFor();
});

await step('the dark theme (the system\'s setting) passes the same checks', async () => {
  await user.emulateMedia({ colorScheme: 'dark' });
  await user.goto(`${base}/console/${bucketHash}`);
  await user.getByRole('button', { name: 'Preview pattern.png' }).waitFor();
  const bg = await user.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(17, 20, 24)', 'the dark background');
  await check(user, 'files, dark');
  await shot(user, 'dark');
  await user.getByRole('link', { name: 'Usage' }).click();
  await ready(user, '#/usage');
  await check(user, 'usage, dark');
  await user.emulateMedia({ colorScheme: 'light' });
});

await step('a phone-width screen has no sideways scrolling', async () => {
  await user.setViewportSize({ width: 390, height: 844 });
  await user.goto(`${base}/console/${bucketHash}`);
  await user.getByRole('button', { name: 'Preview pattern.png' }).waitFor();
  const overflow = await user.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await check(user, 'files on a phone');
  await shot(user, 'phone');
  await user.setViewportSize({ width: 1280, height: 800 });
});

await step('the bucket shows its limit; a deleted access key is refused by the aws cli', async () => {
  await user.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Buckets' }).click();
  await ready(user, '#/buckets');
  await user.getByRole('row', { name: new RegExp(`${bucket} .* of ${OBJECT_LIMIT.toLocaleString('en-US')}`) }).waitFor();
  await user.getByRole('link', { name: 'Access keys' }).click();
  await ready(user, '#/keys');
  await user.getByRole('button', { name: 'Delete key laptop' }).click();
  await user.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await user.getByText('No access keys yet.').waitFor();
  const env = { ...process.env, AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: secret, AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
  assert.throws(() => execFileSync('aws', ['--endpoint-url', base, 's3', 'ls', `s3://${bucket}/`], { env, stdio: 'pipe' }), /InvalidAccessKeyId/);
});

await step('logging out in one tab logs out the other; an ended session goes back to login', async () => {
  assert.ok(refreshes >= 2, `the session was refreshed quietly (${refreshes} times)`);
  const second = await user.context().newPage();
  await second.goto(`${base}/console/#/usage`);
  await ready(second, '#/usage');
  await second.getByRole('button', { name: 'Log out' }).click();
  await ready(second, '#/login');
  await ready(user, '#/login');
  // Logged in again, the session is revoked on the server; once the access token runs
  // out (GODRIVE_AUTH_ACCESS_TOKEN_TTL), the next call finds no session and says so.
  await user.getByLabel('Email').fill(email);
  await user.getByLabel('Password').fill(password);
  await user.getByRole('button', { name: 'Log in' }).click();
  await ready(user, '#/buckets');
  const refresh = await user.evaluate(() => localStorage.getItem('godrive.refresh'));
  const r = await fetch(`${base}/v1/auth/logout`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: refresh }) });
  assert.equal(r.status, 204);
  await user.waitForTimeout(Number(process.env.ACCESS_TTL_SECS || 20) * 1000);
  await user.getByRole('link', { name: 'Access keys' }).click();
  await ready(user, '#/login');
  await user.getByText('Your session has expired').waitFor();
});

await browser.close();
log(`measured: ${JSON.stringify(measured)}`);
log('console flows: OK');
