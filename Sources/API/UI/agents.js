// Agents (signed in): the live list with phase and conditions, and one agent in detail: its
// conditions, the failing step and its next retry, tools, instance, invite and events; delete with
// confirmation, the teardown followed until the agent is gone.
import { api, copy, el, every, group, keyed, link, live, provisioning, relative, replace, say, table, terms, time } from './lib.js';

/** One badge per condition: its type, marked true or not, the reason on hover and for readers. */
function badges(a) {
  return el('span', { class: 'badges' }, ...(a.status?.conditions || []).filter(c => c.type !== 'Ready').map(c =>
    el('span', { class: `badge ${c.status === 'True' ? 'ok' : 'no'}`, title: `${c.reason}: ${c.message}` },
      c.type, el('span', { class: 'offscreen' }, c.status === 'True' ? ' true' : ` false, ${c.reason}`))));
}

/** The phase, and why when the reason matters to a reader: `Failed · Tainted`, `Provisioning · PendingAcceptance`. */
function phaseText(status) {
  const phase = status?.phase || 'Pending';
  const reason = (status?.conditions || []).find(c => c.type === 'Ready')?.reason;
  return ['Tainted', 'PendingAcceptance', 'InstanceLost', 'Upgrading'].includes(reason) ? `${phase} · ${reason}` : phase;
}

export async function agentsView(_, signal) {
  const body = el('tbody');
  const count = el('p', { class: 'muted' });
  await live(`${group}/agents`, signal, items => {
    const agents = [...items.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    count.textContent = agents.length ? `${agents.length} agent(s)` : 'No agent yet: claim one from the store.';
    keyed(body, agents, a => a.metadata.name, a => el('tr', {},
      el('td', {}, el('a', { id: `agent-${a.metadata.name}`, href: `#/agent/${encodeURIComponent(a.metadata.name)}` }, a.metadata.name)),
      el('td', { class: `phase ${a.status?.phase || 'Pending'}` }, phaseText(a.status)),
      el('td', {}, a.spec.template), el('td', {}, a.spec.owner), el('td', {}, badges(a))));
  });
  return [el('h2', {}, 'Agents'), count, table(['Name', 'Phase', 'Template', 'Owner', 'Conditions'], body, { style: 'compact' }),
    el('p', {}, el('a', { href: '#/store' }, 'Claim an agent from the store'))];
}

/** The steps of `name` that are failing (its work queue keys, from `/status`): each with its
 * attempts, last error and next retry. */
function retries(report, name) {
  const prefix = `agent/${name}`;
  return (report.backoffs || []).filter(b => b.key === prefix || b.key.startsWith(`${prefix}/`)).map(b => ({
    step: `${b.action || 'action'}${b.key.length > prefix.length ? ` ${b.key.slice(prefix.length + 1)}` : ''}`,
    failures: b.failures, error: b.lastError, next: b.nextAttempt,
  }));
}

function inviteNode(url) {
  const button = el('button', { type: 'button', id: 'copy-invite', onclick: () => copy(url, button) }, 'Copy');
  return el('span', {}, link(url, { id: 'invite' }), ' ', button);
}

export async function agentView(name, signal) {
  const summary = el('dl', { class: 'summary' });
  // Not a live region: its countdown changes every second and would be read out each time.
  const retrying = el('div', { id: 'retrying' });
  const conditions = el('tbody');
  const toolList = el('ul', { id: 'tools' });
  const instanceInfo = el('dl', { id: 'instance', class: 'summary' });
  const eventRows = el('tbody', { id: 'events' });
  const message = el('p', { role: 'status' });
  const sections = el('div', {});
  let agent = null, failing = [], template = null, invite = { url: {}, node: '' }; // url: {} differs from any URL, so the first render draws it

  const renderRetries = () => replace(retrying, failing.length ? el('div', { class: 'retry' }, el('h3', {}, 'Failing step'),
    ...failing.map(f => el('p', {}, el('b', {}, f.step), ` — attempt ${f.failures} failed: ${f.error || 'no error recorded'}. `,
      el('span', { class: 'next' }, !f.next ? 'Not retried until something changes.'
        : Date.parse(f.next) > Date.now() ? `Next retry ${relative(f.next)}` : 'Next retry due now'), f.next ? el('span', { class: 'muted' }, ` (${f.next})`) : ''))) : '');

  const refresh = async () => {
    try {
      const [report, events] = await Promise.all([api('GET', '/status'), api('GET', `/v1/events?kind=Agent&name=${encodeURIComponent(name)}&limit=50`)]);
      failing = retries(report, name);
      renderRetries();
      replace(eventRows, events.items.map(e => el('tr', { class: e.type === 'Warning' ? 'warn' : '' },
        el('td', {}, time(e.at)), el('td', {}, e.reason), el('td', {}, e.message))));
      // The instance as it is now (its health moves without the agent changing); gone once torn down.
      const i = agent?.status?.instanceId ? await api('GET', `/v1/instances/${encodeURIComponent(agent.status.instanceId)}`).catch(() => null) : null;
      replace(instanceInfo, terms(!i ? [['Instance', 'none bound']] : [['Id', i.id], ['State', i.state], ['Health', i.health || '-'], ['Pool', i.pool],
        ['Image', (i.imageDigest || '-').slice(0, 19)], ['URL', link(i.url)], ['Created', time(i.createdAt)]]));
    } catch (err) { say(message, err.message); }
  };

  const render = () => {
    const s = agent.status || {};
    // The invite's link and Copy button outlive updates while the URL stays, so "Copied" does too.
    if (s.inviteUrl !== invite.url) invite = { url: s.inviteUrl, node: s.inviteUrl ? inviteNode(s.inviteUrl) : 'not yet' };
    replace(summary, terms([['Phase', el('span', { class: `phase ${s.phase || 'Pending'}` }, phaseText(s))],
      ['Template', el('a', { href: `#/templates/${encodeURIComponent(agent.spec.template)}` }, agent.spec.template)],
      ['Owner', agent.spec.owner], ['Agent name', agent.spec.agentName || (template?.agentName ?? '')],
      ['Instance', s.instanceId || 'not bound yet'], ['Invite', invite.node], ['Runtime', s.runtimeVersion || 'unknown'],
      ['Created', time(agent.metadata.creationTimestamp)]]));
    replace(conditions, (s.conditions || []).map(c => el('tr', {}, el('th', { scope: 'row' }, c.type),
      el('td', { class: c.status === 'True' ? 'ok' : 'no' }, c.status), el('td', {}, c.reason), el('td', {}, c.message), el('td', {}, time(c.lastTransitionTime)))));
    const toolsReady = (s.conditions || []).find(c => c.type === 'ToolsReady');
    replace(toolList, [el('li', {}, 'OpenRouter key and wallet (every instance)'), ...(template?.tools || []).map(t =>
      el('li', {}, `${t.id}, ${provisioning(t.provisioning)}: `,
        toolsReady?.status === 'True' ? 'provisioned' : (toolsReady?.reason || 'pending')))]);
  };

  const remove = el('button', { type: 'button', class: 'danger', onclick: async () => {
    if (!confirm(`Delete agent ${name}? Its tools are torn down, then its Railway project.`)) return;
    try {
      await api('DELETE', `${group}/agents/${encodeURIComponent(name)}`);
      say(message, 'Deleting: tearing down its tools, then its Railway project…', true);
      remove.disabled = true;
    } catch (err) { say(message, err.message); }
  } }, 'Delete');

  let pending = null;
  await live(`${group}/agents?fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`, signal, async items => {
    agent = items.get(name);
    if (!agent) {
      // Gone: deleted while shown (the teardown finished), or never there.
      replace(sections, el('p', { id: 'gone' }, `${name} is gone.`), el('a', { href: '#/agents' }, 'Back to agents'));
      return;
    }
    if (!template) template = await api('GET', `/api/pool/templates/${encodeURIComponent(agent.spec.template)}`).catch(() => null);
    render();
    // Events and failing steps change with the agent; read them at most twice a second.
    pending ??= setTimeout(() => { pending = null; refresh(); }, 300);
  });
  every(1000, signal, renderRetries);
  every(5000, signal, refresh);
  if (agent) {
    sections.replaceChildren(summary, remove, message, retrying,
      el('h3', {}, 'Conditions'), table(['Condition', 'Status', 'Reason', 'Message', 'Since'], conditions, { style: 'stack' }),
      el('h3', {}, 'Tools'), toolList, el('h3', {}, 'Instance'), instanceInfo,
      el('h3', {}, 'Events'), table(['When', 'Reason', 'Message'], eventRows, { style: 'stack' }));
    await refresh();
  }
  return [el('h2', {}, name), sections];
}
