// Why: leaderboards are for teams first (CLPs, then phone banks), then for the volunteers who chose to be
// on their CLP's board (and their phone banks' boards), this campaign only. A volunteer can show or hide themselves here at any time; one
// who is not on the board sees the teams and why, never a rank of their own. Nothing is ever "bottom".
import * as api from '../api.js';
import * as db from '../db.js';
import { esc, focusHeading } from './common.js';
import { setLeaderboard } from './thanks.js';

const KIND_ORDER = { constituencies: 0, phone_banks: 1 };

function counts(e) {
  const parts = [];
  if (e.calls) parts.push(`${e.calls.toLocaleString('en-GB')} ${e.calls === 1 ? 'call' : 'calls'}`);
  if (e.doors) parts.push(`${e.doors.toLocaleString('en-GB')} ${e.doors === 1 ? 'door' : 'doors'}`);
  return parts.join(' · ') || 'getting started';
}

function boardHtml(title, entries, mineKey, mineWord) {
  return `<section class="card board" aria-labelledby="b-${esc(title).replace(/\W+/g, '-')}">
    <h2 id="b-${esc(title).replace(/\W+/g, '-')}">${esc(title)}</h2>
    ${entries.length ? `<ol class="plain-list board-list">${entries.map((e) => `<li class="board-row${e[mineKey] ? ' mine' : ''}" ${e[mineKey] ? 'data-mine' : ''}>
      <span class="board-rank">${esc(e.rank)}</span>
      <span class="board-name">${esc(e.name)}${e[mineKey] ? ` <span class="badge badge-ok">${esc(mineWord)}</span>` : ''}</span>
      <span class="board-n">${esc(counts(e))}</span></li>`).join('')}</ol>` : '<p class="muted">Nothing counted here yet this campaign.</p>'}
  </section>`;
}

function peopleHtml(people, optedIn, banks) {
  const toggle = optedIn
    ? '<button type="button" class="btn" data-board-toggle="off">Hide me</button>'
    : '<button type="button" class="btn btn-primary" data-board-toggle="on">Show me on my CLP\u2019s board</button>';
  if (!optedIn) {
    return `<section class="card board" aria-labelledby="b-people" data-people>
      <h2 id="b-people">${esc(people && people.title ? people.title : 'Volunteers in your CLP')}</h2>
      <p>Your CLP\u2019s board, and each phone bank\u2019s, lists the volunteers who choose to be on it. You are not on
        them: nobody sees your name or your counts there. Join if you would enjoy it; you can hide again at any time.</p>
      ${toggle}</section>`;
  }
  const entries = (people && people.entries) || [];
  const me = people && people.me;
  const meListed = entries.some((e) => e.is_me);
  return `${boardHtml(people && people.title ? people.title : 'Volunteers in your CLP', entries, 'is_me', 'You')}
    ${banks.map((b) => boardHtml(b.title, b.entries || [], 'is_me', 'You')).join('')}
    <section class="card" data-people>
      <p>You are on your CLP\u2019s board${banks.length ? ' and your phone banks\u2019' : ''}${me && !meListed ? `, with ${esc(counts(me))} this campaign` : ''}. You can hide at any time.</p>
      ${toggle}</section>`;
}

export async function renderBoards(root) {
  root.innerHTML = `<p><a class="back" href="#/lists">‹ Your lists</a></p>
    <h1>Leaderboards</h1><div data-boards aria-live="polite"><p class="muted">Loading…</p></div>`;
  focusHeading(root);
  const box = root.querySelector('[data-boards]');

  async function draw() {
    let data;
    let optedIn = false;
    try {
      const { token } = await db.session();
      [data, optedIn] = await Promise.all([api.call('GET', '/leaderboards', { token }),
        api.call('GET', '/me/recognition', { token }).then((r) => !!r.leaderboard_opt_in)]);
    } catch (error) {
      box.innerHTML = `<p class="notice notice-warn">${error instanceof api.NetworkError
        ? 'The leaderboards need a signal: they will be here when this phone is back online.'
        : esc(error.message)}</p>`;
      return;
    }
    if (data.people && typeof data.people.opted_in === 'boolean') optedIn = data.people.opted_in;
    const teams = [...(data.teams || [])].sort((a, b) => (KIND_ORDER[a.kind] ?? 9) - (KIND_ORDER[b.kind] ?? 9));
    box.innerHTML = `<p class="muted">${data.campaign ? esc(data.campaign.name) + ': ' : ''}this campaign so far${data.as_of ? ', counted up to a minute ago' : ''}.
      Teams first: every call and door counts for your team.</p>
      ${teams.map((t) => boardHtml(t.title, t.entries || [], 'is_mine', 'Yours')).join('')}
      ${peopleHtml(data.people, optedIn, data.phone_bank_people || [])}`;
  }

  box.addEventListener('click', async (event) => {
    const button = event.target.closest('[data-board-toggle]');
    if (!button) return;
    button.disabled = true;
    try {
      await setLeaderboard(button.dataset.boardToggle === 'on');
      await draw();
      box.querySelector('[data-board-toggle]')?.focus();
    } catch (error) {
      button.disabled = false;
      box.querySelector('[data-people]')?.insertAdjacentHTML('beforeend', `<p class="error" role="alert">${error instanceof api.NetworkError
        ? 'No connection: try again when you are online.' : esc(error.message)}</p>`);
    }
  });
  await draw();
  return null;
}
