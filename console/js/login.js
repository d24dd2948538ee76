// Log in and register.

import * as session from './session.js';
import { h, page, field, errorSlot, showError, busy } from './ui.js';

function form(title, submitLabel, onSubmit, footer) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', {
    type: 'password', name: 'password', required: true, minlength: 8,
    autocomplete: submitLabel === 'Log in' ? 'current-password' : 'new-password',
  });
  const slot = errorSlot('auth-error');
  const submit = h('button', { type: 'submit', class: 'primary' }, submitLabel);
  const notice = sessionStorage.getItem('godrive.notice');
  sessionStorage.removeItem('godrive.notice');
  const f = h('form', {
    class: 'card narrow',
    onsubmit: (e) => {
      e.preventDefault();
      showError(slot, null);
      busy(submit, () => onSubmit(email.value.trim(), password.value)).catch((err) => {
        showError(slot, err);
        password.focus();
      });
    },
  },
  notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
  field('Email', email),
  field('Password', password, submitLabel === 'Log in' ? null : 'At least 8 characters.'),
  slot,
  h('div', { class: 'actions' }, submit),
  footer);
  page(title, f);
  email.focus();
}

export function loginView() {
  form('Log in', 'Log in', async (email, password) => {
    await session.login(email, password);
    location.hash = '#/buckets';
  }, h('p', {}, 'No account yet? ', h('a', { href: '#/register' }, 'Register')));
}

export function registerView() {
  form('Register', 'Create account', async (email, password) => {
    await session.register(email, password);
    await session.login(email, password);
    location.hash = '#/buckets';
  }, h('p', {}, 'Already registered? ', h('a', { href: '#/login' }, 'Log in')));
}
