// The dashboard: a single page over the controller's public API, no build step. This module routes
// `#/…` to a view and owns each view's watches: leaving a view aborts them. Views are in
// store.js, agents.js, templates.js and pools.js; what they share is in lib.js.
import { api, el, session } from './lib.js';
import { agentsView, agentView } from './agents.js';
import { poolsView, statusView } from './pools.js';
import { claimView, signInView, storeView } from './store.js';
import { templatesView } from './templates.js';

const view = document.getElementById('view');
const nav = document.getElementById('nav');
let scope = null;

/** route name → [view, needs a session, nav label] */
const routes = {
  store: [storeView, false, 'Template store'],
  agents: [agentsView, true, 'Agents'],
  templates: [templatesView, true, 'Templates'],
  pools: [poolsView, false, 'Pools'],
  status: [statusView, true, 'Status'],
  agent: [agentView, true],
  claim: [claimView, true],
  signin: [signInView, false],
};

async function refresh() {
  Object.assign(session, await api('GET', '/ui/session'));
  renderNav();
}

function renderNav() {
  const page = currentPage();
  const links = Object.entries(routes).filter(([, [, needs, label]]) => label && (session.signedIn || !needs))
    .map(([name, [, , label]]) => el('a', { href: `#/${name}`, 'aria-current': name === page ? 'page' : null }, label));
  // Without a token set (loopback only) the API is open: nothing to sign in or out of.
  const account = session.tokenRequired === false ? el('span', { class: 'muted' }, 'open: no token set')
    : session.signedIn ? el('button', { type: 'button', id: 'sign-out', onclick: signOut }, 'Sign out')
      : el('a', { href: '#/signin', 'aria-current': page === 'signin' ? 'page' : null }, 'Sign in');
  nav.replaceChildren(...links, account);
}

async function signOut() {
  await api('DELETE', '/ui/session').catch(() => {});
  await refresh();
  go('#/store');
}

function go(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

function currentPage() {
  return (location.hash.replace(/^#\/?/, '') || 'store').split('/')[0];
}

async function route() {
  scope?.abort();
  const here = scope = new AbortController();
  const [page, ...rest] = (location.hash.replace(/^#\/?/, '') || 'store').split('/');
  const arg = rest.length ? decodeURIComponent(rest.join('/')) : undefined;
  const [show, needsSession] = routes[page] || routes.store;
  renderNav();
  let nodes;
  try {
    // Signed out, nothing but the store and the pool's counts: the sign-in form instead.
    nodes = needsSession && !session.signedIn ? signInView(undefined, here.signal, { refresh, go: () => route() })
      : await show(arg, here.signal, { refresh, go });
  } catch (err) {
    if (err.status === 401) { await refresh(); nodes = signInView(undefined, here.signal, { refresh, go: () => route() }); }
    else nodes = [el('h2', {}, 'Something went wrong'), el('p', { class: 'error', role: 'alert' }, err.message)];
  }
  if (here !== scope) return; // a newer route won
  view.replaceChildren(...nodes.flat().filter(n => n !== undefined && n !== null && n !== ''));
  document.title = `${view.querySelector('h2')?.textContent || 'Convos agents'} · Convos agents`;
  view.focus();
}

window.addEventListener('hashchange', route);
refresh().catch(() => {}).then(route);
