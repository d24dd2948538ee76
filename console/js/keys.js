// Access keys: create (the secret shown once, with aws cli and rclone snippets), list with
// last use, delete.

import * as api from './api.js';
import { h, page, table, when, field, errorSlot, showError, busy, modal, copyable, copy, confirm, toast, message } from './ui.js';

function snippets(k) {
  const origin = location.origin;
  const aws = [
    `aws configure set aws_access_key_id ${k.access_key_id} --profile godrive`,
    `aws configure set aws_secret_access_key ${k.secret_access_key} --profile godrive`,
    `aws --profile godrive --endpoint-url ${origin} s3 ls`,
  ].join('\n');
  const rclone = [
    '[godrive]',
    'type = s3',
    'provider = Other',
    `access_key_id = ${k.access_key_id}`,
    `secret_access_key = ${k.secret_access_key}`,
    `endpoint = ${origin}`,
    'force_path_style = true',
  ].join('\n');
  return { aws, rclone };
}

function snippet(label, text) {
  const pre = h('pre', { class: 'snippet', tabindex: 0, 'aria-label': label }, text);
  const input = h('textarea', { class: 'sr-only', readonly: true, tabindex: -1, 'aria-hidden': 'true' }, text);
  return h('div', { class: 'snippet-box' }, h('h3', {}, label), pre, input,
    h('button', { type: 'button', 'aria-label': `Copy ${label}`, onclick: () => copy(text, input) }, 'Copy'));
}

function showCreated(k) {
  const s = snippets(k);
  modal(`Access key ${k.name}`,
    h('p', { class: 'notice', role: 'status' }, 'Copy the secret now: it is shown this once and never again.'),
    h('dl', { class: 'pairs' },
      h('dt', {}, 'Access key id'), h('dd', {}, copyable('Access key id', k.access_key_id)),
      h('dt', {}, 'Secret access key'), h('dd', {}, copyable('Secret access key', k.secret_access_key))),
    snippet('aws cli', s.aws),
    snippet('rclone config', s.rclone));
}

export async function keysView() {
  const keys = (await api.get('/keys')).items;
  const name = h('input', { type: 'text', required: true, maxlength: 100, autocomplete: 'off' });
  const slot = errorSlot('key-error');
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create access key');
  const form = h('form', {
    class: 'inline',
    onsubmit: (e) => {
      e.preventDefault();
      showError(slot, null);
      busy(create, async () => {
        const k = await api.post('/keys', { name: name.value.trim() });
        await keysView();
        showCreated(k);
      }).catch((err) => showError(slot, err));
    },
  }, field('Key name', name, 'For you to recognise it, e.g. "laptop" or "backups".'), create);
  const rows = keys.map((k) => h('tr', {},
    h('th', { scope: 'row' }, k.name),
    h('td', { class: 'mono' }, k.access_key_id),
    h('td', { class: 'hide-narrow' }, when(k.created_at)),
    h('td', {}, k.last_used_at ? when(k.last_used_at) : 'never'),
    h('td', { class: 'row-actions' }, h('button', {
      type: 'button', class: 'danger', 'aria-label': `Delete key ${k.name}`,
      onclick: async () => {
        if (!(await confirm(`Delete key ${k.name}?`, `Clients using ${k.access_key_id} are refused from the next request on, and share links it signed stop working.`))) return;
        try {
          await api.del(`/keys/${k.id}`);
          toast(`Key ${k.name} deleted`);
          await keysView();
        } catch (err) {
          toast(message(err));
        }
      },
    }, 'Delete'))));
  page('Access keys',
    h('p', { class: 'muted' }, 'S3 clients (aws cli, rclone, SDKs) sign their requests with an access key. Share links are signed with your newest key.'),
    form, slot,
    keys.length === 0 ? h('p', { class: 'muted' }, 'No access keys yet.')
      : table('Your access keys', ['Name', 'Access key id', ['Created', 'hide-narrow'], 'Last used', h('span', { class: 'sr-only' }, 'Actions')], rows));
}
