// Templates (signed in): every one, live, with publish or unpublish and delete (refused while
// agents use it, with the reason shown); a form to create or edit one: name, instructions, model,
// and each tool with its provisioning mode. An edit keeps what the form does not show (tool
// options, the OpenRouter limit).
import { api, el, field, group, keyed, live, provisioning, say, table } from './lib.js';

const blank = { id: '', agentName: '', instructions: '', model: { default: '', allowOverride: false }, tools: [], visibility: 'private' };

export async function templatesView(editing, signal) {
  const [registry, current] = await Promise.all([api('GET', '/registry'),
    editing ? api('GET', `/api/pool/templates/${encodeURIComponent(editing)}`) : Promise.resolve(blank)]);
  const message = el('p', { id: 'template-message', role: 'status' });
  const rows = el('tbody');
  await live(`${group}/agenttemplates`, signal, items => keyed(rows, [...items.values()]
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)), t => t.metadata.name, t => row(t, message)));

  const [id, idLabel] = field('t-id', 'Template id (lowercase letters, digits and -)', { value: current.id, readonly: !!editing, required: true });
  const [name, nameLabel] = field('t-name', 'Agent name', { value: current.agentName, required: true });
  const [instructions, instructionsLabel] = field('t-instructions', 'Instructions', { value: current.instructions, multiline: true, rows: 4, required: true });
  const [model, modelLabel] = field('t-model', 'Model (an OpenRouter model id)', { value: current.model?.default, required: true });
  const [override, overrideLabel] = field('t-override', 'Claims may choose another model', { value: current.model?.allowOverride, type: 'checkbox' });
  const tools = registry.tools.filter(t => t.id !== 'openrouter').map(tool => {
    const had = (current.tools || []).find(t => t.id === tool.id);
    const [on, onLabel] = field(`t-tool-${tool.id}`, `${tool.name} (${tool.id})`, { value: !!had, type: 'checkbox' });
    const mode = el('select', { id: `t-mode-${tool.id}` }, ...tool.provisioning.map(p => el('option', { value: p }, provisioning(p))));
    mode.value = had?.provisioning || 'pool';
    return { tool, on, mode, had, node: el('div', { class: 'tool' }, onLabel, el('label', { for: `t-mode-${tool.id}` }, `${tool.id} provisioning`, mode)) };
  });
  const form = el('form', { onsubmit: async (e) => {
    e.preventDefault();
    const body = { ...current, id: id.value, agentName: name.value, instructions: instructions.value,
      model: { ...current.model, default: model.value, allowOverride: override.checked },
      tools: tools.filter(t => t.on.checked).map(t => ({ ...t.had, id: t.tool.id, provisioning: t.mode.value })) };
    for (const key of ['status', 'createdAt', 'updatedAt', 'generation', 'resourceVersion']) delete body[key];
    try {
      if (editing) await api('PUT', `/api/pool/templates/${encodeURIComponent(editing)}`, body);
      else await api('POST', '/api/pool/templates', body);
      say(message, `Saved ${body.id}.`, true);
      if (!editing) location.hash = `#/templates/${encodeURIComponent(body.id)}`;
    } catch (err) { say(message, err.message); }
  } }, idLabel, nameLabel, instructionsLabel, modelLabel, overrideLabel,
    el('fieldset', {}, el('legend', {}, 'Tools, beyond the OpenRouter key and wallet every agent has'), ...tools.map(t => t.node)),
    el('button', { type: 'submit' }, editing ? 'Save' : 'Create'));
  return [el('h2', {}, 'Templates'), message,
    table(['Template', 'Visibility', 'Agents', '', ''], rows, { style: 'stack' }),
    el('h3', {}, editing ? `Edit ${editing}` : 'New template'), editing ? el('p', {}, el('a', { href: '#/templates' }, 'Make a new template instead')) : '', form];
}

function row(t, message) {
  const id = t.metadata.name, visibility = t.spec.visibility || 'private';
  const publish = visibility === 'public' ? `Unpublish ${id}` : `Publish ${id}`;
  return el('tr', {},
    el('td', {}, el('a', { id: `template-${id}`, href: `#/templates/${encodeURIComponent(id)}` }, id), el('span', { class: 'muted' }, ` ${t.spec.agentName || ''}`)),
    el('td', {}, visibility),
    el('td', {}, `${t.status?.agentsSynced ?? 0}/${t.status?.agents ?? 0} synced`),
    el('td', {}, el('button', { type: 'button', id: `publish-${id}`, onclick: async () => {
      try { await api('PATCH', `/api/pool/templates/${encodeURIComponent(id)}/visibility`, { visibility: visibility === 'public' ? 'private' : 'public' }); }
      catch (err) { say(message, err.message); }
    } }, publish)),
    el('td', {}, el('button', { type: 'button', id: `delete-${id}`, class: 'danger', onclick: async () => {
      if (!confirm(`Delete template ${id}?`)) return;
      try {
        await api('DELETE', `/api/pool/templates/${encodeURIComponent(id)}`);
        say(message, `Deleted ${id}.`, true);
        if (location.hash === `#/templates/${encodeURIComponent(id)}`) location.hash = '#/templates';
      } catch (err) { say(message, `${id} was not deleted: ${err.message}`); }
    } }, `Delete ${id}`)));
}
