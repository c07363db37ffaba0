// The template store (public), one template opened, sign-in, and the claim: from a template to
// the agent's invite URL, its progress shown live.
import { api, copy, el, field, group, keyed, link, live, provisioning, replace, say, session, terms } from './lib.js';

/** The store's templates: public ones, kept current from the watch when signed in. */
async function publicTemplates(signal, onChange) {
  if (!session.signedIn) {
    const list = await api('GET', '/api/pool/templates?visibility=public');
    onChange(list.templates);
    return;
  }
  await live(`${group}/agenttemplates`, signal, items => onChange([...items.values()]
    .filter(o => o.spec.visibility === 'public').map(o => ({ id: o.metadata.name, ...o.spec }))));
}

const tools = t => (t.tools || []).map(x => x.id).join(', ') || 'none beyond its key and wallet';

export async function storeView(id, signal) {
  if (id) return templateView(id);
  const search = el('input', { id: 'search', type: 'search', autocomplete: 'off' });
  const results = el('div', { class: 'cards' });
  const empty = el('p', { class: 'muted' });
  let templates = [];
  const render = () => {
    const q = search.value.trim().toLowerCase();
    const shown = templates.filter(t => !q || `${t.id} ${t.agentName} ${t.instructions} ${t.model?.default} ${tools(t)}`.toLowerCase().includes(q))
      .sort((a, b) => a.id.localeCompare(b.id));
    keyed(results, shown, t => t.id, t => el('article', { class: 'card' },
      el('h3', {}, el('a', { href: `#/store/${encodeURIComponent(t.id)}` }, t.agentName || t.id)),
      el('p', {}, t.instructions || ''),
      el('p', { class: 'muted' }, `${t.model?.default || ''} · tools: ${tools(t)}`),
      session.signedIn ? el('a', { class: 'action', href: `#/claim/${encodeURIComponent(t.id)}` }, `Claim an agent from ${t.agentName || t.id}`) : ''));
    empty.textContent = shown.length ? '' : q ? 'No template matches.' : 'No public template yet.';
  };
  search.addEventListener('input', render);
  await publicTemplates(signal, list => { templates = list; render(); });
  return [el('h2', {}, 'Template store'), el('label', { for: 'search' }, 'Search templates', search), results, empty];
}

async function templateView(id) {
  const t = (await api('GET', '/api/pool/templates?visibility=public')).templates.find(x => x.id === id);
  if (!t) return [el('h2', {}, 'Not in the store'), el('p', {}, `No public template ${id}.`), el('a', { href: '#/store' }, 'Back to the store')];
  return [el('h2', {}, t.agentName || t.id),
    el('dl', {}, terms([['Template', t.id], ['Model', `${t.model?.default || ''}${t.model?.allowOverride ? ' (a claim may choose another)' : ''}`],
      ['Tools', (t.tools || []).map(x => `${x.id} (${provisioning(x.provisioning)})`).join(', ') || 'none'],
      ['Instructions', el('span', { class: 'pre' }, t.instructions || '')]])),
    session.signedIn ? el('a', { class: 'action', href: `#/claim/${encodeURIComponent(t.id)}` }, `Claim an agent from ${t.agentName || t.id}`)
      : el('a', { href: '#/signin' }, 'Sign in to claim an agent'),
    ' ', el('a', { href: '#/store' }, 'Back to the store')];
}

export function signInView(_, __, { refresh, go }) {
  const [token, tokenLabel] = field('token', 'Controller token', { type: 'password', autocomplete: 'current-password', required: true });
  const message = el('p', { role: 'status' });
  const form = el('form', { onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('POST', '/ui/session', { token: token.value });
      await refresh();
      go('#/agents');
    } catch (err) { say(message, err.message); }
  } }, tokenLabel, el('button', { type: 'submit' }, 'Sign in'), message);
  return [el('h2', {}, 'Sign in'), el('p', { class: 'muted' }, 'The controller’s API token; the page keeps only a session cookie it cannot read.'), form];
}

/** A claim from a template: optional name, instructions, model, join URL, owner, and each key a
 * `provisioning: user` tool needs; then the agent's progress, live, ending on its invite URL. */
export async function claimView(id, signal) {
  const [template, registry] = await Promise.all([api('GET', `/api/pool/templates/${encodeURIComponent(id)}`), api('GET', '/registry')]);
  const fields = [];
  const add = (key, label, options = {}) => {
    const [input, node] = field(`claim-${key.replace('.', '-')}`, label, options);
    fields.push({ key, input, user: options.user });
    return node;
  };
  const parts = [add('agentName', 'Agent name (optional)', { placeholder: template.agentName }),
    add('instructions', 'Instructions (optional)', { multiline: true, placeholder: template.instructions, rows: 3 })];
  if (template.model?.allowOverride) parts.push(add('model', `Model (optional; default ${template.model.default})`, { placeholder: template.model.default }));
  parts.push(add('joinUrl', 'Join URL (optional: join this conversation instead of starting one)', { type: 'url' }),
    add('ownerId', 'Owner (optional)', { placeholder: 'dashboard' }));
  for (const tool of (template.tools || []).filter(t => t.provisioning === 'user')) {
    const known = registry.tools.find(r => r.id === tool.id);
    for (const key of known?.userConfig || []) parts.push(add(`user.${key}`, `${known.name}: ${key}`, { type: 'password', user: key, required: true, autocomplete: 'off' }));
  }
  const progress = el('div', { id: 'progress', role: 'status', 'aria-live': 'polite' });
  const submit = el('button', { type: 'submit' }, 'Claim');
  const form = el('form', { onsubmit: async (e) => {
    e.preventDefault();
    const body = { templateId: id, ownerId: 'dashboard', userConfig: {} };
    for (const { key, input, user } of fields) {
      if (!input.value) continue;
      if (user) body.userConfig[user] = input.value; else body[key] = input.value;
    }
    submit.disabled = true;
    try {
      const claimed = await api('POST', '/api/pool/claim?wait=0', body);
      form.replaceChildren(el('p', {}, `Claimed ${claimed.agent}.`));
      await follow(claimed.agent, progress, signal);
    } catch (err) { submit.disabled = false; say(progress, err.message); }
  } }, ...parts, submit);
  return [el('h2', {}, `Claim an agent from ${template.agentName || id}`), form, progress];
}

const steps = [['Claimed', 'Bound to an instance'], ['ToolsReady', 'Tools provisioned'], ['Configured', 'Runtime configured'], ['Ready', 'Ready']];

/** The claim's progress (bound, tools, configured) live, then its invite URL with Copy. The
 * invite, once known, is drawn once: later updates leave its link, button and focus alone. */
async function follow(name, into, signal) {
  const status = el('div', {});
  const invite = el('div', {});
  into.replaceChildren(status, invite);
  await live(`${group}/agents?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`, signal, items => {
    const a = items.get(name);
    if (!a) return;
    const conditions = new Map((a.status?.conditions || []).map(c => [c.type, c]));
    replace(status, el('p', {}, el('a', { href: `#/agent/${encodeURIComponent(name)}` }, name), `: ${a.status?.phase || 'Pending'}`),
      el('ol', { class: 'steps' }, ...steps.map(([type, label]) => {
        const c = conditions.get(type);
        const done = c?.status === 'True';
        return el('li', { class: done ? 'ok' : '' }, `${done ? '✓' : '…'} ${label}`, c && !done && c.message ? el('span', { class: 'muted' }, ` — ${c.reason}: ${c.message}`) : '');
      })));
    const url = a.status?.inviteUrl;
    if (url && !invite.hasChildNodes()) {
      const button = el('button', { type: 'button', id: 'copy-invite', onclick: () => copy(url, button) }, 'Copy invite URL');
      const anchor = link(url, { id: 'invite' });
      invite.append(el('p', { class: 'invite' }, 'Invite: ', anchor, ' ', button));
      // Where the claim ends: focus on the invite, so a keyboard user is already there.
      anchor.focus();
    }
  });
}
