// DOM helpers, formatting and the dialogs every view uses.

/** Makes an element: h('button', {class: 'x', onclick: f, 'aria-label': 'Close'}, 'text', child). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** The main region, emptied, with a page title (h1) and the document's title set. */
export function page(title, ...children) {
  const main = document.getElementById('main');
  document.title = `${title} · GoDrive`;
  mount(main, h('h1', {}, title), ...children);
  return main;
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** 1536 -> "1.5 KB" (powers of 1024, as storage is sold). */
export function bytes(n) {
  if (n === null || n === undefined) return '—';
  let i = 0;
  let v = Number(n);
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${UNITS[i]}`;
}

/** A timestamp in the reader's locale. */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A count with thousands separators. */
export function count(n) {
  return n === null || n === undefined ? '—' : Number(n).toLocaleString();
}

/** The words of an error, for a person. */
export function message(err) {
  if (!err) return '';
  if (err.name === 'ApiError') return err.message;
  if (err.name === 'TypeError') return 'The server could not be reached. Check the connection and try again.';
  return err.message || String(err);
}

/** An error shown in words where it happened (replacing any earlier one in `slot`). */
export function showError(slot, err) {
  mount(slot, err ? h('p', { class: 'error', role: 'alert' }, message(err)) : null);
}

/** An empty slot for `showError`, placed next to the control it is about. */
export function errorSlot(id) {
  return h('div', { class: 'error-slot', id });
}

/** A labelled control: <label>Text <input></label>. */
export function field(label, control, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'label' }, label), control, hint ? h('small', { class: 'muted' }, hint) : null);
}

/** A table inside a horizontally scrolling box; a header given as [text, class] takes the class
 * (`hide-narrow` for columns a phone leaves out). */
export function table(caption, headers, rows) {
  return h('div', { class: 'scroll' },
    h('table', {},
      caption ? h('caption', { class: 'sr-only' }, caption) : null,
      h('thead', {}, h('tr', {}, headers.map((t) => (Array.isArray(t)
        ? h('th', { scope: 'col', class: t[1] }, t[0])
        : h('th', { scope: 'col' }, t))))),
      h('tbody', {}, rows)));
}

/** A short message at the bottom of the screen. */
export function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.add('shown');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('shown'), 4000);
}

/** A modal dialog; `close()` removes it. Escape closes it too. */
export function modal(title, ...content) {
  const id = `d${Math.random().toString(36).slice(2)}`;
  const dialog = h('dialog', { 'aria-labelledby': id },
    h('div', { class: 'dialog-head' },
      h('h2', { id }, title),
      h('button', { type: 'button', class: 'icon', 'aria-label': 'Close', onclick: () => close() }, '×')),
    h('div', { class: 'dialog-body' }, content));
  const opener = document.activeElement;
  let done = false;
  const close = () => {
    if (done) return;
    done = true;
    dialog.close();
    dialog.remove();
    dialog.dispatchEvent(new Event('closed'));
    if (opener && opener.isConnected) opener.focus();
  };
  dialog.addEventListener('close', close);
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close };
}

/** Asks before something that cannot be undone; resolves true when confirmed. */
export function confirm(title, text, action = 'Delete') {
  return new Promise((resolve) => {
    let answered = false;
    const ok = h('button', { type: 'button', class: 'danger', onclick: () => { answered = true; resolve(true); m.close(); } }, action);
    const m = modal(title,
      h('p', {}, text),
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => m.close() }, 'Cancel'),
        ok));
    m.dialog.addEventListener('closed', () => { if (!answered) resolve(false); });
    ok.focus();
  });
}

/** Copies text; falls back to selecting it where the clipboard API is not offered (plain http). */
export async function copy(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copied to the clipboard');
    return true;
  } catch {
    if (input) {
      input.focus();
      input.select();
      const ok = document.execCommand && document.execCommand('copy');
      toast(ok ? 'Copied to the clipboard' : 'Selected: press Ctrl+C to copy');
      return ok;
    }
    toast('Could not copy: select the text and copy it');
    return false;
  }
}

/** A read-only text box with a Copy button. */
export function copyable(label, value) {
  const input = h('input', { type: 'text', readonly: true, value, class: 'mono', 'aria-label': label });
  return h('div', { class: 'copyable' }, input,
    h('button', { type: 'button', 'aria-label': `Copy ${label.toLowerCase()}`, onclick: () => copy(value, input) }, 'Copy'));
}

/** Saves bytes as a file the browser downloads. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Runs `f` with the button disabled, so a double click does not do it twice. */
export async function busy(button, f) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await f();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}
