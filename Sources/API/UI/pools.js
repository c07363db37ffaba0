// Pools: the claim pool's counts for everyone; signed in, each pool live with its counts by state,
// its conditions (Progressing says why creation is held back), its rollout to claimed agents (with
// pause, resume and undo) and a form for minIdle and maxInstances. Status (signed in): the operator's view of leader, ticks, providers, failing work,
// instances and the latest events.
import { api, el, every, field, group, link, live, replace, say, session, table, time } from './lib.js';

const states = ['provisioning', 'idle', 'claimed', 'failed', 'deleting'];

export async function poolsView(_, signal) {
  if (!session.signedIn) {
    const counts = await api('GET', '/api/pool/counts');
    return [el('h2', {}, 'Pool'), el('div', { class: 'counts' }, ...Object.entries(counts).map(([k, v]) => el('div', {}, el('b', { id: `count-${k}` }, v), k))),
      el('p', { class: 'muted' }, el('a', { href: '#/signin' }, 'Sign in'), ' to see each pool and change its size.')];
  }
  const cards = new Map();
  const list = el('div', {});
  await live(`${group}/pools`, signal, items => {
    for (const [name, pool] of items) {
      if (!cards.has(name)) cards.set(name, card(name));
      cards.get(name).update(pool);
    }
    for (const name of [...cards.keys()]) if (!items.has(name)) cards.delete(name);
    list.replaceChildren(...[...cards.keys()].sort().map(name => cards.get(name).node));
    if (!items.size) list.replaceChildren(el('p', { class: 'muted' }, 'No pool yet: apply one with the CLI.'));
  });
  return [el('h2', {}, 'Pools'), list];
}

/** One pool's card. Its form keeps what the user typed while live updates change the rest. */
function card(name) {
  const counts = el('div', { class: 'counts' });
  const conditions = el('ul', { class: 'conditions' });
  const image = el('p', { class: 'muted' });
  const rollout = el('div', { class: 'rollout' });
  const message = el('p', { role: 'status' });
  const command = (verb) => el('button', { type: 'button', id: `${name}-rollout-${verb}`, onclick: async () => {
    try {
      await api('POST', `/v1/pools/${encodeURIComponent(name)}/rollout/${verb}`);
      say(message, `Rollout ${verb}: sent.`, true);
    } catch (err) { say(message, err.message); }
  } }, `${verb[0].toUpperCase()}${verb.slice(1)} rollout`);
  const [minIdle, minLabel] = field(`${name}-minIdle`, 'minIdle (idle instances kept ready)', { type: 'number', min: 0, required: true });
  const [maxInstances, maxLabel] = field(`${name}-maxInstances`, 'maxInstances (instances at most)', { type: 'number', min: 1, required: true });
  let edited = false;
  for (const input of [minIdle, maxInstances]) input.addEventListener('input', () => { edited = true; });
  const form = el('form', { class: 'inline', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('PATCH', `${group}/pools/${encodeURIComponent(name)}`, { spec: { minIdle: Number(minIdle.value), maxInstances: Number(maxInstances.value) } },
        'application/merge-patch+json');
      edited = false;
      say(message, `Saved: minIdle ${minIdle.value}, maxInstances ${maxInstances.value}.`, true);
    } catch (err) { say(message, err.message); }
  } }, minLabel, maxLabel, el('button', { type: 'submit', id: `${name}-save` }, `Save ${name}`));
  const node = el('section', { class: 'card', 'aria-label': `Pool ${name}` }, el('h3', {}, name), counts, conditions, image, rollout, form, message);
  return {
    node,
    update(pool) {
      const s = pool.status || {};
      replace(counts, states.map(k => el('div', {}, el('b', { id: `${name}-${k}` }, s[k] ?? 0), k)));
      replace(conditions, (s.conditions || []).map(c => el('li', { class: c.status === 'True' ? 'ok' : 'no' },
        el('b', {}, `${c.type} ${c.status}`), ` ${c.reason}`, c.message ? ` — ${c.message}` : '', ' ', el('span', { class: 'muted' }, time(c.lastTransitionTime)))));
      image.textContent = `${pool.spec.image} → ${(s.imageDigest || 'not resolved yet').slice(0, 19)}`;
      const r = s.rollout;
      replace(rollout, r ? [
        el('p', { id: `${name}-rollout` }, el('b', {}, `Rollout ${r.phase}${r.paused ? ' (paused)' : ''}`),
          ` ${r.updated} of ${r.total} claimed agents on ${r.targetDigest.slice(0, 19)}${r.targetVersion ? ` (${r.targetVersion})` : ''}; `,
          `${r.upgrading} upgrading, ${r.failed} failed; started `, time(r.startedAt)),
        el('progress', { max: Math.max(1, r.total), value: r.updated, 'aria-label': `Rollout of ${name}: ${r.updated} of ${r.total}` }),
        el('div', { class: 'inline' }, command('pause'), command('resume'), command('undo')),
      ] : []);
      if (!edited) { minIdle.value = pool.spec.minIdle; maxInstances.value = pool.spec.maxInstances; }
    },
  };
}

/** Instances listed at most; a fleet of thousands is summed up by the pools' counts instead. */
const shownInstances = 100;

export async function statusView(_, signal) {
  const summary = el('p', {});
  const failing = el('tbody');
  const providers = el('tbody');
  const instances = el('tbody');
  const more = el('p', { class: 'muted' });
  const events = el('tbody');
  const message = el('p', { role: 'status' });
  const rows = (into, list, cells) => replace(into, list.map(item => el('tr', {}, ...cells(item).map(c => el('td', {}, c)))));
  const refresh = async () => {
    try {
      const [report, latest] = await Promise.all([api('GET', '/status'), api('GET', '/v1/events?limit=25')]);
      summary.replaceChildren(`Replica ${report.thisReplica}, `, report.isLeader ? el('b', {}, 'leader') : `follower of ${report.leader?.identity || 'nobody'}`,
        `; last tick `, time(report.lastTick?.at), ` (${report.lastTick?.actions ?? 0} actions); queue ${report.queueDepth}; Railway ${report.railway?.mode || ''}`);
      rows(failing, report.backoffs, b => [b.key, b.action || '', b.failures, b.lastError || '', time(b.nextAttempt)]);
      rows(providers, report.providers, p => [p.name, el('span', { class: p.breaker === 'closed' ? 'ok' : 'no' }, p.breaker), p.calls, p.errors, p.retries]);
      rows(events, latest.items, e => [time(e.at), `${e.kind}/${e.name}`, e.reason, e.message]);
    } catch (err) { say(message, err.message); }
  };
  // The instance list is the heavy read: less often, and the newest hundred shown.
  const refreshInstances = async () => {
    try {
      const fleet = (await api('GET', '/v1/instances')).items.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      rows(instances, fleet.slice(0, shownInstances), i => [i.id, i.state, i.health || '-', i.agent || '-', link(i.url), time(i.createdAt)]);
      more.textContent = fleet.length > shownInstances ? `The newest ${shownInstances} of ${fleet.length}; the pools' counts sum up the rest.` : '';
    } catch (err) { say(message, err.message); }
  };
  await Promise.all([refresh(), refreshInstances()]);
  every(3000, signal, refresh);
  every(15000, signal, refreshInstances);
  return [el('h2', {}, 'Status'), summary, message,
    table(['Key', 'Action', 'Attempts', 'Last error', 'Next attempt'], failing, { caption: 'Failing work', style: 'stack' }),
    table(['Provider', 'Breaker', 'Calls', 'Errors', 'Retries'], providers, { caption: 'Providers' }),
    table(['Id', 'State', 'Health', 'Agent', 'URL', 'Created'], instances, { caption: 'Instances', style: 'compact' }), more,
    table(['When', 'Object', 'Reason', 'Message'], events, { caption: 'Latest events', style: 'stack' })];
}
