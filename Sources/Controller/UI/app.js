// The dashboard: a single page over the controller's public API, no build step. Every value
// reaches the page as text (textContent), never as markup. Signed in, the session cookie is
// HttpOnly; writes carry the session's CSRF token.
const view = document.getElementById('view');
const who = document.getElementById('who');
let session = { signedIn: false, csrf: null };
let stopWatch = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return node;
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  const r = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error?.message || data.message || `HTTP ${r.status}`);
  return data;
}

// Follows a Kubernetes watch: calls onEvent for each line; returns a function that stops it.
function watch(path, onEvent) {
  const controller = new AbortController();
  (async () => {
    const r = await fetch(path, { credentials: 'same-origin', signal: controller.signal });
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let pending = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      let i;
      while ((i = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, i); pending = pending.slice(i + 1);
        if (line) onEvent(JSON.parse(line));
      }
    }
  })().catch(() => {});
  return () => controller.abort();
}

async function refreshSession() {
  session = await api('GET', '/ui/session');
  who.replaceChildren(session.signedIn
    ? el('button', { type: 'button', onclick: signOut }, 'Sign out')
    : el('a', { href: '#/signin' }, 'Sign in'));
}

async function signOut() {
  await api('DELETE', '/ui/session');
  await refreshSession();
  location.hash = '#/store';
}

async function storeView() {
  const list = await api('GET', '/api/pool/templates?visibility=public');
  const templates = list.templates || list.items || list;
  const search = el('input', { id: 'search', type: 'search', 'aria-label': 'Search templates' });
  const results = el('div');
  const render = () => {
    const q = search.value.toLowerCase();
    results.replaceChildren(...templates
      .filter(t => !q || `${t.id} ${t.agentName} ${t.instructions}`.toLowerCase().includes(q))
      .map(t => el('div', { class: 'card' },
        el('h3', {}, t.agentName || t.id),
        el('p', {}, t.instructions || ''),
        el('p', { class: 'muted' }, `${t.model?.default || ''} · tools: ${(t.tools || []).map(x => x.id).join(', ') || 'none'}`),
        session.signedIn ? el('a', { href: `#/claim/${encodeURIComponent(t.id)}` }, `Claim an agent from ${t.agentName || t.id}`) : '')));
  };
  search.addEventListener('input', render);
  render();
  return [el('h2', {}, 'Template store'), el('label', { for: 'search' }, 'Search'), search, results];
}

function signInView() {
  const token = el('input', { id: 'token', type: 'password', autocomplete: 'current-password', required: '' });
  const message = el('p', { role: 'status' });
  const form = el('form', { onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('POST', '/ui/session', { token: token.value });
      await refreshSession();
      location.hash = '#/agents';
    } catch (err) { message.className = 'error'; message.textContent = err.message; }
  } }, el('label', { for: 'token' }, 'Controller token'), token, el('button', { type: 'submit' }, 'Sign in'), message);
  return [el('h2', {}, 'Sign in'), form];
}

async function agentsView() {
  if (!session.signedIn) return signInView();
  const base = '/apis/agents.convos.org/v1/agents';
  const list = await api('GET', base);
  const agents = new Map(list.items.map(a => [a.metadata.name, a]));
  const body = el('tbody');
  const render = () => body.replaceChildren(...[...agents.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)).map(a =>
    el('tr', {}, el('td', {}, el('a', { href: `#/agent/${encodeURIComponent(a.metadata.name)}` }, a.metadata.name)), el('td', {}, a.spec.template), el('td', {}, a.status?.phase || ''),
      el('td', {}, a.status?.inviteUrl || ''))));
  render();
  stopWatch = watch(`${base}?watch=true&resourceVersion=${encodeURIComponent(list.metadata.resourceVersion)}`, (event) => {
    const name = event.object?.metadata?.name;
    if (!name) return;
    if (event.type === 'DELETED') agents.delete(name); else agents.set(name, event.object);
    render();
  });
  return [el('h2', {}, 'Agents'), el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Name'), el('th', {}, 'Template'),
    el('th', {}, 'Phase'), el('th', {}, 'Invite'))), body)];
}

// A claim from a template: optional name, instructions, model, join URL, and a field for each key
// a `provisioning: user` tool needs; then the agent's progress, live, ending on its invite URL.
async function claimView(id) {
  if (!session.signedIn) return signInView();
  const [template, registry] = await Promise.all([api('GET', `/api/pool/templates/${encodeURIComponent(id)}`), api('GET', '/registry')]);
  const fields = [];
  const field = (key, label, attrs = {}) => {
    const input = el(attrs.multiline ? 'textarea' : 'input', { id: key, name: key, ...(attrs.type ? { type: attrs.type } : {}) });
    fields.push([key, input, attrs]);
    return el('label', { for: key }, label, el('br'), input);
  };
  const parts = [field('agentName', 'Agent name (optional)'), field('instructions', 'Instructions (optional)', { multiline: true })];
  if (template.model?.allowOverride) parts.push(field('model', `Model (default ${template.model.default})`));
  parts.push(field('joinUrl', 'Join URL (optional)'));
  for (const tool of (template.tools || []).filter(t => t.provisioning === 'user')) {
    const known = registry.tools.find(r => r.id === tool.id);
    for (const key of known?.userConfig || []) parts.push(field(`user.${key}`, `${known.name}: ${key}`, { type: 'password', user: key }));
  }
  const progress = el('div', { role: 'status', 'aria-live': 'polite' });
  const form = el('form', { onsubmit: async (e) => {
    e.preventDefault();
    const body = { templateId: id, ownerId: 'dashboard', userConfig: {} };
    for (const [key, input, attrs] of fields) {
      if (!input.value) continue;
      if (attrs.user) body.userConfig[attrs.user] = input.value; else body[key] = input.value;
    }
    try {
      const claimed = await api('POST', '/api/pool/claim?wait=0', body);
      progress.replaceChildren(el('p', {}, `Claimed ${claimed.agent}; setting it up…`));
      followAgent(claimed.agent, progress);
    } catch (err) { progress.replaceChildren(el('p', { class: 'error' }, err.message)); }
  } }, ...parts, el('button', { type: 'submit' }, 'Claim'));
  return [el('h2', {}, `Claim an agent from ${template.agentName || id}`), form, progress];
}

// Shows an agent's phase and conditions as they change; its invite URL, ready to copy, once known.
function followAgent(name, into) {
  const path = `/apis/agents.convos.org/v1/agents?watch=true&fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;
  stopWatch = watch(path, (event) => {
    const a = event.object;
    if (event.type === 'DELETED') { into.replaceChildren(el('p', {}, `${name} is gone.`)); return; }
    const rows = (a.status?.conditions || []).map(c => el('li', {}, `${c.type}: ${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? ` – ${c.message}` : ''}`));
    const out = [el('p', {}, `${name}: ${a.status?.phase || 'Pending'}`), el('ul', {}, ...rows)];
    if (a.status?.inviteUrl) {
      const link = el('a', { href: a.status.inviteUrl, id: 'invite', target: '_blank', rel: 'noopener' }, a.status.inviteUrl);
      out.push(el('p', {}, 'Invite: ', link, ' ', el('button', { type: 'button', onclick: () => navigator.clipboard?.writeText(a.status.inviteUrl) }, 'Copy')));
    }
    into.replaceChildren(...out);
  });
}

// One agent: conditions (a failing step says why and when it is tried next), instance, invite,
// events; delete with confirmation, then the teardown followed until it is gone.
async function agentView(name) {
  if (!session.signedIn) return signInView();
  const live = el('div', { role: 'status', 'aria-live': 'polite' });
  followAgent(name, live);
  const events = await api('GET', `/v1/events?kind=Agent&name=${encodeURIComponent(name)}&limit=50`);
  const remove = el('button', { type: 'button', onclick: async () => {
    if (!confirm(`Delete agent ${name}? Its instance and tools are torn down.`)) return;
    try { await api('DELETE', `/apis/agents.convos.org/v1/agents/${encodeURIComponent(name)}`); }
    catch (err) { live.append(el('p', { class: 'error' }, err.message)); }
  } }, 'Delete');
  return [el('h2', {}, name), live, remove, el('h3', {}, 'Events'),
    el('table', {}, el('tbody', {}, ...events.items.map(e => el('tr', {}, el('td', {}, e.at), el('td', {}, e.type), el('td', {}, e.reason), el('td', {}, e.message)))))];
}

// Templates: every one, with a form to create or edit (name, instructions, model, each tool and
// its provisioning mode), publish or unpublish, and delete (refused while agents use it, with why).
async function templatesView(editing) {
  if (!session.signedIn) return signInView();
  const list = (await api('GET', '/api/pool/templates')).templates;
  const current = list.find(t => t.id === editing) || { id: '', agentName: '', instructions: '', model: { default: '' }, tools: [], visibility: 'private' };
  const message = el('p', { role: 'status' });
  const input = (id, label, value, attrs = {}) => {
    const node = el(attrs.multiline ? 'textarea' : 'input', { id, ...(attrs.multiline ? {} : { type: attrs.type || 'text' }) });
    if (attrs.type === 'checkbox') node.checked = !!value; else node.value = value ?? '';
    if (attrs.readonly) node.setAttribute('readonly', '');
    return [node, el('label', { for: id }, label, el('br'), node)];
  };
  const [id, idLabel] = input('t-id', 'Template id (lowercase letters, digits, -)', current.id, { readonly: !!editing });
  const [name, nameLabel] = input('t-name', 'Agent name', current.agentName);
  const [instructions, instructionsLabel] = input('t-instructions', 'Instructions', current.instructions, { multiline: true });
  const [model, modelLabel] = input('t-model', 'Model', current.model?.default);
  const [override, overrideLabel] = input('t-override', 'Claims may choose another model', current.model?.allowOverride, { type: 'checkbox' });
  const toolRows = ['email', 'sms', 'crypto'].map(tool => {
    const had = (current.tools || []).find(t => t.id === tool);
    const [on, onLabel] = input(`t-tool-${tool}`, `Tool: ${tool}`, !!had, { type: 'checkbox' });
    const mode = el('select', { id: `t-mode-${tool}` }, el('option', { value: 'pool' }, 'from the pool'), el('option', { value: 'user' }, 'brought by the user'));
    mode.value = had?.provisioning || 'pool';
    return { tool, on, mode, node: el('div', {}, onLabel, el('label', { for: `t-mode-${tool}` }, 'provisioning ', mode)) };
  });
  const form = el('form', { onsubmit: async (e) => {
    e.preventDefault();
    const body = { id: id.value, agentName: name.value, instructions: instructions.value,
      model: { default: model.value, allowOverride: override.checked }, visibility: current.visibility || 'private',
      tools: toolRows.filter(r => r.on.checked).map(r => ({ id: r.tool, provisioning: r.mode.value })) };
    try {
      if (editing) await api('PUT', `/api/pool/templates/${encodeURIComponent(editing)}`, body);
      else await api('POST', '/api/pool/templates', body);
      message.className = 'ok'; message.textContent = `saved ${body.id}`;
      location.hash = `#/templates/${encodeURIComponent(body.id)}`;
    } catch (err) { message.className = 'error'; message.textContent = err.message; }
  } }, idLabel, nameLabel, instructionsLabel, modelLabel, overrideLabel, ...toolRows.map(r => r.node),
    el('button', { type: 'submit' }, editing ? 'Save' : 'Create'), message);
  const rows = list.map(t => el('tr', {},
    el('td', {}, el('a', { href: `#/templates/${encodeURIComponent(t.id)}` }, t.id)), el('td', {}, t.visibility),
    el('td', {}, el('button', { type: 'button', onclick: async () => {
      try { await api('PATCH', `/api/pool/templates/${encodeURIComponent(t.id)}/visibility`, { visibility: t.visibility === 'public' ? 'private' : 'public' }); route(); }
      catch (err) { message.className = 'error'; message.textContent = err.message; }
    } }, t.visibility === 'public' ? `Unpublish ${t.id}` : `Publish ${t.id}`)),
    el('td', {}, el('button', { type: 'button', onclick: async () => {
      if (!confirm(`Delete template ${t.id}?`)) return;
      try { await api('DELETE', `/api/pool/templates/${encodeURIComponent(t.id)}`); location.hash = '#/templates'; route(); }
      catch (err) { message.className = 'error'; message.textContent = err.message; }
    } }, `Delete ${t.id}`))));
  return [el('h2', {}, 'Templates'), el('table', {}, el('tbody', {}, ...rows)),
    el('h3', {}, editing ? `Edit ${editing}` : 'New template'), editing ? el('a', { href: '#/templates' }, 'New template instead') : '', form];
}

async function poolsView() {
  const counts = await api('GET', '/api/pool/counts');
  return [el('h2', {}, 'Pools'), el('div', { class: 'counts' },
    ...Object.entries(counts).map(([k, v]) => el('div', {}, el('b', {}, v), k)))];
}

async function route() {
  if (stopWatch) { stopWatch(); stopWatch = null; }
  const [page, arg] = (location.hash.replace('#/', '') || 'store').split('/').map(decodeURIComponent);
  const views = { store: storeView, signin: signInView, agents: agentsView, pools: poolsView, claim: claimView, agent: agentView,
    templates: templatesView };
  try {
    view.replaceChildren(...await (views[page] || storeView)(arg));
  } catch (err) {
    view.replaceChildren(el('p', { class: 'error' }, err.message));
  }
  view.focus();
}

window.addEventListener('hashchange', route);
refreshSession().then(route);
