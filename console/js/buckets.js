// Buckets: list with size, object count and limits; create; delete with confirmation;
// set a bucket's limits (its owner here, any bucket from the admin pages).

import * as api from './api.js';
import { h, page, table, bytes, count, when, field, errorSlot, showError, confirm, modal, busy, toast } from './ui.js';

/** "12 MB of 1 GB" or "12 MB" when there is no limit. */
export function ofLimit(used, max, format) {
  return max === null || max === undefined ? format(used) : `${format(used)} of ${format(max)}`;
}

export async function bucketsView() {
  const buckets = (await api.get('/buckets')).items;
  const name = h('input', { type: 'text', name: 'bucket', required: true, pattern: '[a-z0-9][a-z0-9.\\-]{1,61}[a-z0-9]', autocomplete: 'off', spellcheck: 'false' });
  const slot = errorSlot('create-bucket-error');
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create bucket');
  const form = h('form', {
    class: 'inline',
    onsubmit: (e) => {
      e.preventDefault();
      showError(slot, null);
      busy(create, async () => {
        await api.post('/buckets', { name: name.value.trim() });
        toast(`Bucket ${name.value.trim()} created`);
        await bucketsView();
      }).catch((err) => { showError(slot, err); name.focus(); });
    },
  }, field('New bucket name', name, '3 to 63 lowercase letters, digits, dots or hyphens.'), create);
  const rows = buckets.map((b) => h('tr', {},
    h('th', { scope: 'row' }, h('a', { href: `#/b/${b.id}/` }, b.name)),
    h('td', { 'data-label': 'Size' }, ofLimit(b.used_bytes, b.max_bytes, bytes)),
    h('td', { 'data-label': 'Objects' }, ofLimit(b.objects, b.max_objects, count)),
    h('td', { 'data-label': 'Versioning', class: 'hide-narrow' }, b.versioning),
    h('td', { 'data-label': 'Access', class: 'hide-narrow' }, b.public ? 'public' : 'private'),
    h('td', { 'data-label': 'Created', class: 'hide-narrow' }, when(b.created_at)),
    h('td', { class: 'row-actions' },
      h('button', { type: 'button', 'aria-label': `Settings of ${b.name}`, onclick: () => settingsDialog(b) }, 'Settings'),
      h('button', { type: 'button', 'aria-label': `Limits of ${b.name}`, onclick: () => limitsDialog(b, `/buckets/${b.id}/quota`, bucketsView) }, 'Limits'),
      h('button', {
        type: 'button', class: 'danger', 'aria-label': `Delete bucket ${b.name}`,
        onclick: async () => {
          const ok = await confirm(`Delete ${b.name}?`,
            `The bucket and all ${count(b.objects)} objects in it (${bytes(b.used_bytes)}) are deleted for good.`, 'Delete bucket');
          if (!ok) return;
          try {
            await api.del(`/buckets/${b.id}`);
            toast(`Bucket ${b.name} deleted`);
            await bucketsView();
          } catch (err) {
            toast(err.message);
          }
        },
      }, 'Delete'))));
  page('Buckets',
    form, slot,
    buckets.length === 0
      ? h('p', { class: 'muted' }, 'No buckets yet. Create one above, or with any S3 client.')
      : table('Your buckets', ['Name', 'Size', 'Objects', ['Versioning', 'hide-narrow'], ['Access', 'hide-narrow'], ['Created', 'hide-narrow'], h('span', { class: 'sr-only' }, 'Actions')], rows));
}

/** The limits of a bucket, editable; `path` is the PUT route; `after` re-renders. */
export function limitsDialog(b, path, after) {
  const toUnits = (n) => (n === null || n === undefined ? '' : String(n / 1024 / 1024));
  const maxMb = h('input', { type: 'number', step: 'any', value: toUnits(b.max_bytes), inputmode: 'decimal' });
  const maxObjects = h('input', { type: 'number', step: 1, value: b.max_objects ?? '' });
  const slot = errorSlot('limits-error');
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save limits');
  const m = modal(`Limits of ${b.name}`,
    h('p', {}, `Stored: ${bytes(b.used_bytes)} in ${count(b.objects)} objects. Leave a field empty for no limit.`),
    h('form', {
      onsubmit: (e) => {
        e.preventDefault();
        showError(slot, null);
        busy(save, async () => {
          const body = {
            max_bytes: maxMb.value === '' ? null : Math.round(Number(maxMb.value) * 1024 * 1024),
            max_objects: maxObjects.value === '' ? null : Number(maxObjects.value),
          };
          await api.put(path, body);
          m.close();
          toast(`Limits of ${b.name} saved`);
          await after();
        }).catch((err) => showError(slot, err));
      },
    },
    field('Maximum size (MB)', maxMb),
    field('Maximum objects', maxObjects),
    slot,
    h('div', { class: 'actions' }, save)));
  maxMb.focus();
}

/** Versioning and public read access of one of my buckets. */
function settingsDialog(b) {
  const versioning = h('select', {},
    b.versioning === 'off' ? h('option', { value: 'off', selected: true }, 'Off (never enabled)') : null,
    h('option', { value: 'enabled', selected: b.versioning === 'enabled' }, 'Enabled: keep every version'),
    h('option', { value: 'suspended', selected: b.versioning === 'suspended' }, 'Suspended: keep the versions made so far'));
  const isPublic = h('input', { type: 'checkbox', checked: b.public });
  const versioningSlot = errorSlot('versioning-error');
  const publicSlot = errorSlot('public-error');
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save settings');
  const m = modal(`Settings of ${b.name}`,
    h('form', {
      onsubmit: (e) => {
        e.preventDefault();
        showError(versioningSlot, null);
        showError(publicSlot, null);
        busy(save, async () => {
          let failed = false;
          if (versioning.value !== b.versioning && versioning.value !== 'off') {
            await api.put(`/buckets/${b.id}/versioning`, { status: versioning.value })
              .catch((err) => { failed = true; showError(versioningSlot, err); });
          }
          if (isPublic.checked !== b.public) {
            await api.put(`/buckets/${b.id}/public`, { public: isPublic.checked })
              .catch((err) => { failed = true; showError(publicSlot, err); });
          }
          if (failed) return;
          m.close();
          toast(`Settings of ${b.name} saved`);
          await bucketsView();
        });
      },
    },
    field('Versioning', versioning, 'Once enabled, versioning can be suspended but not turned off.'),
    versioningSlot,
    h('label', { class: 'check' }, isPublic, ' Public: anyone with a file\'s address can read it (not list the bucket)'),
    publicSlot,
    h('div', { class: 'actions' }, save)));
  versioning.focus();
}
