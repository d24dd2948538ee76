// The console's shell: the header, and the router from the URL's hash to a view.
//   #/login  #/register  #/buckets  #/b/<bucket id>/<folder>  #/links  #/keys  #/usage
//   #/admin/users  #/admin/usage  #/admin/audit

import * as session from './session.js';
import { h, mount } from './ui.js';
import { loginView, registerView } from './login.js';
import { bucketsView } from './buckets.js';
import { filesView } from './files.js';
import { linksView } from './links.js';
import { keysView } from './keys.js';
import { usageView } from './usage.js';
import { adminView } from './admin.js';

const NAV = [
  ['#/buckets', 'Buckets'],
  ['#/links', 'Share links'],
  ['#/keys', 'Access keys'],
  ['#/usage', 'Usage'],
];

function header() {
  const user = session.current();
  const top = document.getElementById('top');
  const route = location.hash.split('/').slice(0, 2).join('/');
  const item = ([href, label]) => {
    const section = href.split('/').slice(0, 2).join('/');
    const here = route === section || (href === '#/buckets' && route === '#/b');
    return h('li', {}, h('a', { href, 'aria-current': here ? 'page' : false }, label));
  };
  mount(top,
    h('a', { class: 'brand', href: user ? '#/buckets' : '#/login' },
      h('img', { src: 'favicon.svg', alt: '', width: 24, height: 24 }), 'GoDrive'),
    user ? h('nav', { 'aria-label': 'Main' },
      h('ul', {}, NAV.map(item), user.is_admin ? item(['#/admin/users', 'Admin']) : null)) : null,
    user ? h('div', { class: 'who' },
      h('span', { class: 'email', title: user.email }, user.email),
      h('button', { type: 'button', onclick: async () => { await session.logout(); location.hash = '#/login'; } }, 'Log out')) : null);
}

async function render() {
  const hash = location.hash || '#/';
  const [, root, ...rest] = hash.split('/');
  const user = session.current();
  header();
  if (!user && root !== 'login' && root !== 'register') {
    location.replace('#/login');
    return;
  }
  if (user && (root === 'login' || root === 'register' || !root)) {
    location.replace('#/buckets');
    return;
  }
  const main = document.getElementById('main');
  try {
    switch (root) {
      case 'login': return loginView();
      case 'register': return registerView();
      case 'buckets': return await bucketsView();
      case 'b': return await filesView(rest[0], decodeURIComponent(rest.slice(1).join('/')));
      case 'links': return await linksView();
      case 'keys': return await keysView();
      case 'usage': return await usageView();
      case 'admin': return await adminView(rest[0] || 'users');
      default:
        mount(main, h('h1', {}, 'Not found'), h('p', {}, 'There is no such page. ', h('a', { href: '#/buckets' }, 'Go to your buckets.')));
    }
  } catch (e) {
    if (e.status === 401) return;
    mount(main, h('h1', {}, 'Something went wrong'), h('p', { class: 'error', role: 'alert' }, e.message || String(e)));
  } finally {
    main.dataset.ready = hash;
  }
}

/** Moves focus to the new page's heading, for keyboard and screen-reader users. */
function focusMain() {
  const main = document.getElementById('main');
  // A view that focused a control itself (the login form's email) keeps it.
  if (main.contains(document.activeElement) && document.activeElement !== main) return;
  const h1 = main.querySelector('h1');
  if (h1) {
    h1.tabIndex = -1;
    h1.focus({ preventScroll: true });
  }
}

window.addEventListener('hashchange', () => render().then(focusMain));
session.onChange(header);

(async () => {
  try {
    await session.resume();
  } catch {
    // Logged out: the login page says nothing more.
  }
  await render();
})();
