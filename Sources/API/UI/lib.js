// What every view of the dashboard shares: elements built from values as text (never markup),
// calls to the controller's API with the session's CSRF token, and lists kept current by the
// Kubernetes API's watches.

/** The sign-in state from `/ui/session`; the cookie itself is HttpOnly and never seen here. */
export const session = { signedIn: false, csrf: null };

export const group = '/apis/agents.convos.org/v1';

/** An element with attributes (`on…` become listeners) and children (strings become text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Replaces `node`'s children; the element that had focus, found again by its id, keeps it, so a
 * live update never throws a keyboard user back to the top of the page. */
export function replace(node, ...children) {
  const focused = node.contains(document.activeElement) ? document.activeElement.id : '';
  node.replaceChildren(...children.flat().filter(c => c !== undefined && c !== null && c !== false)
    .map(c => c instanceof Node ? c : document.createTextNode(String(c))));
  if (focused) document.getElementById(focused)?.focus();
}

/** Keeps `parent`'s children one per item, in order. A child is built again only when its item
 * changed, so the rest keep their nodes: a click or focus on an unchanged row survives an update
 * of another. Focus on a rebuilt row is found again by id, as `replace` does. */
export function keyed(parent, items, key, build) {
  const focused = parent.contains(document.activeElement) ? document.activeElement.id : '';
  const before = parent.keyedRows || new Map();
  const after = new Map();
  const nodes = items.map(item => {
    const k = key(item), signature = JSON.stringify(item);
    const had = before.get(k);
    const node = had && had.signature === signature ? had.node : build(item);
    after.set(k, { signature, node });
    return node;
  });
  parent.keyedRows = after;
  nodes.forEach((node, i) => { if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] || null); });
  while (parent.children.length > nodes.length) parent.lastElementChild.remove();
  if (focused && document.activeElement?.id !== focused) document.getElementById(focused)?.focus();
}

/** A link only for http(s) addresses: a value from elsewhere must not become `javascript:`. */
export function link(url, attrs = {}) {
  return /^https?:\/\//i.test(url || '') ? el('a', { href: url, target: '_blank', rel: 'noopener noreferrer', ...attrs }, url) : el('span', attrs, url || '');
}

/** An API error with the message and the field paths the controller named. */
export class APIError extends Error {
  constructor(status, body) {
    const error = body.error || {};
    const fields = (error.details || []).map(d => `${d.path}: ${d.message}`);
    const causes = (body.details?.causes || []).map(c => `${c.field}: ${c.message}`);
    super([error.message || body.message || `HTTP ${status}`, ...fields, ...causes].join(' — '));
    this.status = status;
  }
}

export async function api(method, path, body, contentType = 'application/json') {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = contentType;
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  const r = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new APIError(r.status, data);
  return data;
}

/** The lines of a watch's body, each parsed; cancelling the loop cancels the stream. */
async function* events(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      pending += decoder.decode(value, { stream: true });
      let i;
      while ((i = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        if (line) yield JSON.parse(line);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

const pause = (ms, signal) => new Promise(resolve => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
});

/**
 * Lists `path` (a Kubernetes collection, selectors allowed) and keeps the list current from its
 * watch until `signal` aborts: `onChange(items, event)` after the list and after every change.
 * An ended watch resumes from the last version seen; a compacted one (410 Gone) lists again.
 * The first list's failure is thrown to the caller; later ones are retried with backoff.
 */
export async function live(path, signal, onChange) {
  const items = new Map();
  let version = null;
  const list = async () => {
    const result = await api('GET', path);
    items.clear();
    for (const o of result.items) items.set(o.metadata.name, o);
    version = result.metadata.resourceVersion;
    onChange(items, null);
  };
  await list();
  (async () => {
    let delay = 250;
    const separator = path.includes('?') ? '&' : '?';
    while (!signal.aborted) {
      try {
        const r = await fetch(`${path}${separator}watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(version)}`,
          { credentials: 'same-origin', signal });
        if (r.status === 410) { await list(); continue; }
        if (!r.ok) throw new Error(`watch answered ${r.status}`);
        for await (const event of events(r.body)) {
          if (event.type === 'ERROR') { if (event.object?.code === 410) await list(); break; }
          version = event.object?.metadata?.resourceVersion || version;
          if (event.type === 'BOOKMARK') continue;
          if (event.type === 'DELETED') items.delete(event.object.metadata.name); else items.set(event.object.metadata.name, event.object);
          onChange(items, event);
          delay = 250;
        }
      } catch {
        if (signal.aborted) return;
      }
      await pause(delay, signal);
      delay = Math.min(delay * 2, 10000);
    }
  })();
  return items;
}

/** Calls `f` every `ms` until `signal` aborts. */
export function every(ms, signal, f) {
  const timer = setInterval(f, ms);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}

/** "12 s ago", "in 3 min": how far `iso` is from now. */
export function relative(iso) {
  if (!iso) return '';
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  const size = Math.abs(seconds);
  const text = size < 90 ? `${size} s` : size < 5400 ? `${Math.round(size / 60)} min` : `${Math.round(size / 3600)} h`;
  if (seconds === 0) return 'now';
  return seconds > 0 ? `in ${text}` : `${text} ago`;
}

/** A `<time>` showing `iso` relative to now, the exact time as its title. */
export function time(iso) {
  return iso ? el('time', { datetime: iso, title: iso }, relative(iso)) : '';
}

/** A table of `body` (a tbody) under column headings; `style` a class, `caption` a title. */
export function table(heads, body, { style = null, caption = null } = {}) {
  return el('table', { class: style }, caption ? el('caption', {}, caption) : '',
    el('thead', {}, el('tr', {}, ...heads.map(h => el('th', { scope: 'col' }, h)))), body);
}

/** The `dt`/`dd` pairs of a `<dl>`, from [term, value] pairs. */
export function terms(pairs) {
  return pairs.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]);
}

/** A tool's provisioning mode, as people read it. */
export function provisioning(mode) {
  return mode === 'user' ? 'brought by the user' : 'from the pool';
}

/** A labelled field: returns [input, label wrapping it]. */
export function field(id, label, { value = '', type = 'text', multiline = false, ...attrs } = {}) {
  const input = el(multiline ? 'textarea' : 'input', { id, name: id, ...(multiline ? {} : { type }), ...attrs });
  if (type === 'checkbox') input.checked = !!value; else input.value = value ?? '';
  return [input, el('label', { for: id, class: type === 'checkbox' ? 'check' : '' }, type === 'checkbox' ? [input, ' ', label] : [label, input])];
}

/** A status line that says what went wrong, or what was done. */
export function say(node, text, ok = false) {
  node.className = ok ? 'ok' : 'error';
  node.textContent = text;
}

/** Copies `text`, saying so on `button`; falls back to selecting it where the clipboard is closed. */
export async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    const area = el('textarea', { 'aria-hidden': 'true', class: 'offscreen' });
    area.value = text;
    document.body.append(area);
    area.select();
    button.textContent = document.execCommand('copy') ? 'Copied' : 'Select and copy the link';
    area.remove();
    button.focus();
  }
}
