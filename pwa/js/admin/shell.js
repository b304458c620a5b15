// Why: the CLP admin's console lives in the same app as the volunteers' screens, chosen by role. This
// module is its frame: the sections the user's permissions open, the CLP being managed (a CLP admin's
// own; a national admin chooses one), and a plain notice when there is no connection, since every
// section reads and writes the server. The sections load on first use, so volunteers never fetch them.
import * as db from '../db.js';
import { esc, focusHeading } from '../ui/common.js';
import { api, can, explain } from './common.js';

const SECTIONS = [
  { key: 'members', label: 'New members', permission: 'members:read', load: () => import('./members.js') },
  // Regional staff start here (the first of their sections); it picks its own area, so no CLP is chosen above it.
  { key: 'dashboard', label: 'Dashboard', permission: 'activity:read', clp: false, load: () => import('./monitoring.js') },
  { key: 'membership-list', label: 'Membership list', permission: 'members:import', clp: false, load: () => import('./member-imports.js') },
  { key: 'imports', label: 'Imports', permission: 'imports:manage', load: () => import('./imports.js') },
  { key: 'review', label: 'Review queue', permission: 'review', load: () => import('./review.js') },
  { key: 'lists', label: 'Lists', permission: 'lists:manage', load: () => import('./lists.js') },
  { key: 'campaign', label: 'Campaign', permission: 'campaigns:manage', load: () => import('./campaign.js') },
  { key: 'volunteers', label: 'Volunteers', permission: 'volunteers:manage', load: () => import('./volunteers.js') },
  { key: 'recognition', label: 'Recognition', permission: 'volunteers:manage', load: () => import('./recognition.js') },
  { key: 'do-not-contact', label: 'Do not contact', permission: 'suppressions:manage', load: () => import('./do-not-contact.js') },
  { key: 'member-access', label: 'Member access', permission: 'members:access-log', load: () => import('./member-access.js') },
  // These cover every CLP in scope, and their forms name the CLP: no CLP is chosen above them.
  { key: 'clp-access', label: 'CLP access', permission: 'access:manage', clp: false, load: () => import('./clp-access.js') },
  { key: 'roles', label: 'Temporary roles', permission: 'access:manage', clp: false, load: () => import('./grants.js') },
  // National admins: the scheduler's heartbeat and its jobs.
  { key: 'system', label: 'System', permission: 'system:read', clp: false, load: () => import('./scheduler.js') },
];

/** The CLP this console manages: the user's own, or the one a national admin chose (kept on the device). */
async function chooseConstituency(user) {
  if (user.scope && user.scope.kind === 'constituency') return { id: user.scope.constituency_id, choices: null };
  const constituencies = await api('GET', '/constituencies');
  constituencies.sort((a, b) => a.name.localeCompare(b.name));
  const { adminConstituency } = await db.getMeta(['adminConstituency']);
  const held = constituencies.find((c) => c.id === adminConstituency);
  return { id: held ? held.id : constituencies[0]?.id ?? null, choices: constituencies };
}

function offlineNotice(box) {
  const update = () => { box.hidden = navigator.onLine; };
  update();
  window.addEventListener('online', update);
  window.addEventListener('offline', update);
  return () => {
    window.removeEventListener('online', update);
    window.removeEventListener('offline', update);
  };
}

/** Unread notices for this person ("3 new members joined … this week"), each dismissed once read. */
async function showNotices(box) {
  let notices;
  try {
    notices = (await api('GET', '/notices')).filter((n) => !n.read_at);
  } catch (error) {
    return; // notices are a courtesy: the section itself says what is wrong with the connection
  }
  box.innerHTML = notices.map((n) => `<div class="notice notice-row" data-notice="${n.id}">
      <p>${n.link ? `<a href="${esc(n.link)}">${esc(n.text)}</a>` : esc(n.text)}</p>
      <button type="button" class="btn btn-small" data-read="${n.id}" aria-label="Dismiss: ${esc(n.text)}">Dismiss</button>
    </div>`).join('');
  box.addEventListener('click', async (event) => {
    const button = event.target.closest('[data-read]');
    if (!button) return;
    button.disabled = true;
    try {
      await api('POST', `/notices/${button.dataset.read}/read`);
      button.closest('[data-notice]').remove();
    } catch (error) { button.disabled = false; }
  });
}

export async function renderAdmin(root, ctx, params) {
  const { user } = await db.session();
  const sections = SECTIONS.filter((s) => can(user, s.permission));
  if (!sections.length) {
    root.innerHTML = `<h1>Not for your role</h1><p>The console is for CLP admins, membership secretaries, regional
      staff and national admins.</p>
      <p><a class="btn" href="#/account">Your account</a></p>`;
    focusHeading(root);
    return null;
  }
  // The lists are where a CLP admin starts (what is being canvassed); a membership secretary starts with the
  // new members, regional staff with the dashboard. The nav follows the order of the work.
  const section = sections.find((s) => s.key === (params.section || 'lists')) || sections[0];
  document.title = `${section.label} · Groundwork console`;
  root.innerHTML = `
    <nav class="admin-nav" aria-label="Console sections">
      ${sections.map((s) => `<a href="#/admin/${s.key}" ${s === section ? 'aria-current="page"' : ''}>${esc(s.label)}</a>`).join('')}
    </nav>
    <p class="notice notice-warn" data-offline hidden>You are offline. The console needs the server: nothing can be
      changed until the connection is back, and anything you type is kept on this device meanwhile.</p>
    <div data-system-alert></div>
    <div data-clp></div>
    <div data-notices></div>
    <div data-section><p class="muted">Loading…</p></div>`;
  // On a phone the sections scroll sideways: keep the current one in view.
  root.querySelector('.admin-nav [aria-current]')?.scrollIntoView({ block: 'nearest', inline: 'center' });
  const stopWatching = offlineNotice(root.querySelector('[data-offline]'));
  const body = root.querySelector('[data-section]');
  let clp;
  try {
    clp = await chooseConstituency(user);
  } catch (error) {
    body.innerHTML = `<h1>${esc(section.label)}</h1><p class="notice notice-warn" role="alert">${esc(explain(error))}</p>`;
    focusHeading(root);
    return stopWatching;
  }
  if (clp.choices && section.clp !== false) {
    const picker = root.querySelector('[data-clp]');
    picker.innerHTML = `<div class="field clp-choice"><label for="admin-clp">CLP</label>
      <select id="admin-clp">${clp.choices.map((c) => `<option value="${c.id}" ${c.id === clp.id ? 'selected' : ''}>${esc(c.name)}</option>`).join('')}</select></div>`;
    picker.querySelector('select').addEventListener('change', async (event) => {
      await db.setMeta({ adminConstituency: Number(event.target.value) });
      ctx.rerender();
    });
  }
  showNotices(root.querySelector('[data-notices]'));
  // A stopped scheduler is itself an alert: national admins see it where they land and on the dashboard.
  if (can(user, 'system:read') && (!params.section || section.key === 'dashboard')) {
    import('./scheduler.js').then((m) => m.showSchedulerAlert(root.querySelector('[data-system-alert]')));
  }
  const admin = { user, ctx, constituencyId: clp.id, params, go: (hash) => { location.hash = hash; } };
  const module = await section.load();
  const stopSection = await module.render(body, admin);
  focusHeading(root);
  return () => {
    stopWatching();
    if (typeof stopSection === 'function') stopSection();
    document.title = 'Groundwork';
  };
}
