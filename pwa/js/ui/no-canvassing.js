// Why: every role lands on a screen that serves it. Membership secretaries and regional staff do not
// canvass or phone bank, so the app says so plainly (in words, never a role code), runs no sync for them,
// and leaves them the way to their console, their account and a way to log out.
import * as db from '../db.js';
import { esc, focusHeading, roleName } from './common.js';

const ELSEWHERE = {
  regional_staff: 'Activity and contact rates across your region',
};

export async function renderNoCanvassing(root) {
  const { user } = await db.getMeta(['user']);
  const role = user ? roleName(user.role) : 'this role';
  const later = ELSEWHERE[user && user.role];
  root.innerHTML = `
    <h1>Nothing to canvass here</h1>
    <p class="big">You are logged in as ${esc(user ? user.name : '')}, ${esc(role)}.</p>
    <p>This app's walk lists and call lists are for canvassers, phone bankers and CLP admins, so there is
      nothing for you to download or send from this phone.</p>
    ${later ? `<p class="notice">${esc(later)} will appear here as Groundwork's screens for your role arrive.</p>` : ''}
    <p class="actions">${document.querySelector('.bottomnav a[href="#/admin"]:not([hidden])')
    ? '<a class="btn btn-primary" href="#/admin">Open the console</a>' : ''}<a class="btn" href="#/account">Your account</a></p>`;
  focusHeading(root);
  return null;
}
