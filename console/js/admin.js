// Administration: users (search, pages, disable and enable, admin rights, quota, their
// buckets' limits), the usage report (chart, per-user table, CSV export) and the
// presigned-link audit with filters and revocation of any link.

import * as api from './api.js';
import * as session from './session.js';
import { h, mount, page, table, bytes, count, when, field, errorSlot, showError, busy, modal, confirm, toast, message, saveBlob } from './ui.js';
import { history } from './usage.js';
import { accessTable } from './links.js';
import { limitsDialog, ofLimit } from './buckets.js';

const TABS = [['users', 'Users'], ['usage', 'Usage report'], ['audit', 'Link audit']];

export async function adminView(tab) {
  if (!session.current()?.is_admin) {
    page('Admin', h('p', { class: 'error', role: 'alert' }, 'Only administrators can open this page.'));
    return;
  }
  const body = h('div', {});
  page('Admin',
    h('nav', { class: 'tabs', 'aria-label': 'Admin sections' }, h('ul', {}, TABS.map(([id, label]) =>
      h('li', {}, h('a', { href: `#/admin/${id}`, 'aria-current': id === tab ? 'page' : false }, label))))),
    body);
  if (tab === 'usage') await usageReport(body);
  else if (tab === 'audit') await audit(body);
  else await users(body);
}

async function users(body) {
  const search = h('input', { type: 'search', placeholder: 'part of an email', 'aria-label': 'Search users by email' });
  const list = h('div', {});
  const cursors = [];
  let cursor = null;
  async function load() {
    try {
      const p = await api.get('/admin/users', { email: search.value.trim(), cursor, limit: 50 });
      const prev = h('button', { type: 'button', disabled: cursors.length === 0, onclick: () => { cursor = cursors.pop() ?? null; load(); } }, 'Previous page');
      const next = h('button', { type: 'button', disabled: !p.next_cursor, onclick: () => { cursors.push(cursor); cursor = p.next_cursor; load(); } }, 'Next page');
      mount(list, p.items.length === 0 ? h('p', { class: 'muted' }, 'No user matches.')
        : table('Users', ['Email', 'Role', 'State', 'Stored', ['Created', 'hide-narrow'], h('span', { class: 'sr-only' }, 'Actions')], p.items.map((u) => userRow(u, load))),
      h('nav', { class: 'pager', 'aria-label': 'Pages of users' }, prev, next));
    } catch (err) {
      mount(list, h('p', { class: 'error', role: 'alert' }, message(err)));
    }
  }
  search.addEventListener('input', () => {
    clearTimeout(search.timer);
    search.timer = setTimeout(() => { cursors.length = 0; cursor = null; load(); }, 250);
  });
  mount(body, h('div', { class: 'toolbar' }, search), list);
  await load();
}

function userRow(u, reload) {
  const me = session.current();
  const flag = (patch, done) => async () => {
    try {
      await api.patch(`/admin/users/${u.id}`, patch);
      toast(`${u.email}: ${done}`);
      await reload();
    } catch (err) {
      toast(message(err));
    }
  };
  const self = u.id === me.id;
  return h('tr', {},
    h('th', { scope: 'row', class: 'wrap' }, u.email),
    h('td', {}, u.is_admin ? 'admin' : 'user'),
    h('td', {}, h('span', { class: `badge ${u.disabled ? 'revoked' : 'active'}` }, u.disabled ? 'disabled' : 'active')),
    h('td', {}, ofLimit(u.used_bytes, u.quota_bytes, bytes)),
    h('td', { class: 'hide-narrow' }, when(u.created_at)),
    h('td', { class: 'row-actions' },
      h('button', { type: 'button', 'aria-label': `Set quota of ${u.email}`, onclick: () => quotaDialog(u, reload) }, 'Quota'),
      h('button', { type: 'button', 'aria-label': `Buckets of ${u.email}`, onclick: () => bucketsDialog(u) }, 'Buckets'),
      self ? null : h('button', { type: 'button', 'aria-label': `${u.is_admin ? 'Revoke admin from' : 'Make admin'} ${u.email}`, onclick: flag({ is_admin: !u.is_admin }, u.is_admin ? 'no longer an admin' : 'now an admin') }, u.is_admin ? 'Revoke admin' : 'Make admin'),
      self ? null : h('button', {
        type: 'button', class: u.disabled ? '' : 'danger', 'aria-label': `${u.disabled ? 'Enable' : 'Disable'} ${u.email}`,
        onclick: async () => {
          if (!u.disabled && !(await confirm(`Disable ${u.email}?`, 'Their sessions, access keys and share links are refused at once, on every instance, until enabled again.', 'Disable'))) return;
          await flag({ disabled: !u.disabled }, u.disabled ? 'enabled' : 'disabled')();
        },
      }, u.disabled ? 'Enable' : 'Disable')));
}

function quotaDialog(u, reload) {
  const gb = h('input', { type: 'number', step: 'any', inputmode: 'decimal', value: u.quota_bytes === null ? '' : String(u.quota_bytes / 1024 ** 3) });
  const slot = errorSlot('quota-error');
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save quota');
  const m = modal(`Quota of ${u.email}`,
    h('p', {}, `Stored now: ${bytes(u.used_bytes)}. Leave empty for no quota. A quota below what is stored refuses new uploads; nothing is deleted.`),
    h('form', {
      onsubmit: (e) => {
        e.preventDefault();
        showError(slot, null);
        busy(save, async () => {
          const quota = gb.value === '' ? null : Math.round(Number(gb.value) * 1024 ** 3);
          await api.put(`/admin/users/${u.id}/quota`, { quota_bytes: quota });
          m.close();
          toast(`Quota of ${u.email} saved`);
          await reload();
        }).catch((err) => showError(slot, err));
      },
    }, field('Quota (GB)', gb), slot, h('div', { class: 'actions' }, save)));
  gb.focus();
}

async function bucketsDialog(u) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  modal(`Buckets of ${u.email}`, body);
  const load = async () => {
    try {
      const list = (await api.get(`/admin/users/${u.id}/buckets`)).items;
      mount(body, list.length === 0 ? h('p', { class: 'muted' }, 'No buckets.')
        : table('Buckets', ['Name', 'Size', 'Objects', h('span', { class: 'sr-only' }, 'Actions')], list.map((b) => h('tr', {},
          h('th', { scope: 'row' }, b.name),
          h('td', {}, ofLimit(b.used_bytes, b.max_bytes, bytes)),
          h('td', {}, ofLimit(b.objects, b.max_objects, count)),
          h('td', {}, h('button', { type: 'button', 'aria-label': `Limits of ${b.name}`, onclick: () => limitsDialog(b, `/admin/buckets/${b.id}/quota`, load) }, 'Limits'))))));
    } catch (err) {
      mount(body, h('p', { class: 'error', role: 'alert' }, message(err)));
    }
  };
  await load();
}

function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

async function usageReport(body) {
  const today = new Date();
  const from = h('input', { type: 'date', value: isoDay(new Date(today.getTime() - 29 * 86400000)) });
  const to = h('input', { type: 'date', value: isoDay(today) });
  const slot = errorSlot('report-error');
  const out = h('div', {});
  const show = h('button', { type: 'submit', class: 'primary' }, 'Show');
  let days = [];
  const csv = h('button', {
    type: 'button',
    onclick: () => {
      const lines = ['day,used_bytes,peak_bytes,objects,requests,users,final',
        ...days.map((d) => [d.day, d.used_bytes, d.peak_bytes, d.objects, d.requests, d.users, d.final].join(','))];
      saveBlob(new Blob([`${lines.join('\n')}\n`], { type: 'text/csv' }), `godrive-usage-${from.value}-${to.value}.csv`);
    },
  }, 'Export CSV');
  const load = async () => {
    showError(slot, null);
    try {
      const [report, top] = await Promise.all([
        api.get('/admin/usage/report', { from: from.value, to: to.value }),
        api.get('/admin/usage', { sort: 'used_bytes', limit: 20 }),
      ]);
      days = report.days;
      mount(out, history(days, `Usage from ${report.from} to ${report.to}`),
        h('h2', {}, 'Largest users'),
        table('Largest users', ['Email', 'Stored', 'Objects', 'Requests'], top.items.map((u) => h('tr', {},
          h('th', { scope: 'row', class: 'wrap' }, u.email), h('td', {}, ofLimit(u.used_bytes, u.quota_bytes, bytes)),
          h('td', { class: 'num' }, count(u.objects)), h('td', { class: 'num' }, count(u.requests))))));
    } catch (err) {
      showError(slot, err);
    }
  };
  mount(body,
    h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); busy(show, load); } },
      field('From', from), field('To', to), show, csv),
    slot, out);
  await load();
}

async function audit(body) {
  const user = h('input', { type: 'text', placeholder: 'user id', 'aria-label': 'Filter by user id', class: 'mono' });
  const link = h('input', { type: 'text', placeholder: 'link id', 'aria-label': 'Filter by link id', class: 'mono' });
  const slot = errorSlot('audit-error');
  const out = h('div', {});
  const filter = h('button', { type: 'submit', class: 'primary' }, 'Filter');
  const load = async () => {
    showError(slot, null);
    try {
      const p = await api.get('/admin/audit', { user_id: user.value.trim(), link_id: link.value.trim(), limit: 200 });
      mount(out, p.items.length === 0 ? h('p', { class: 'muted' }, 'Nothing matches.')
        : accessTable(p.items, {
          header: 'Link',
          cell: (a) => (a.link_id ? h('button', {
            type: 'button', class: 'danger', 'aria-label': `Revoke link ${a.link_id} to ${a.bucket}/${a.key}`,
            onclick: async () => {
              if (!(await confirm('Revoke this link?', `The link to ${a.bucket}/${a.key} stops working at once.`, 'Revoke'))) return;
              try {
                await api.del(`/admin/presign/${a.link_id}`);
                toast('Link revoked');
              } catch (err) {
                toast(message(err));
              }
            },
          }, 'Revoke') : '—'),
        }));
    } catch (err) {
      showError(slot, err);
    }
  };
  mount(body,
    h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); busy(filter, load); } }, user, link, filter),
    slot, out);
  await load();
}
