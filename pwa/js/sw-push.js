// Why: what the service worker does for web push, apart from its event wiring in sw.js: show a notice the
// server pushed (its text and nothing more), open the app at the notice's screen when it is tapped, and
// subscribe again when the browser replaces a subscription, so notices keep coming.
import * as db from './db.js';
import { fromBase64Url, register, serverKey } from './push.js';

const ROUTE = /^#\/[A-Za-z0-9/_-]*$/; // an app route such as #/admin/members; anything else opens the app

/** A push arrived: show it. One notification per notice (its tag), so a repeat replaces, never doubles. */
export function showNotice(registration, event) {
  let data = {};
  try {
    data = (event.data && event.data.json()) || {};
  } catch (error) { /* not JSON: the generic line below */ }
  const link = typeof data.link === 'string' && ROUTE.test(data.link) ? data.link : '#/';
  return registration.showNotification('Groundwork', {
    body: typeof data.body === 'string' && data.body ? data.body : 'There is something new for you in Groundwork.',
    tag: Number.isInteger(data.id) ? `notice-${data.id}` : 'groundwork-notice',
    icon: '/icons/icon-192.png',
    data: { link, id: Number.isInteger(data.id) ? data.id : null },
  });
}

/** A notice was tapped: bring the app forward at its screen, or open it there. */
export async function openNotice(clients, origin, notification) {
  notification.close();
  const link = (notification.data && notification.data.link) || '#/';
  const url = `${origin}/${ROUTE.test(link) ? link : '#/'}`;
  const windows = await clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((client) => new URL(client.url).origin === origin);
  if (!open) {
    await clients.openWindow(url);
    return;
  }
  await open.focus();
  try {
    await open.navigate(url);
  } catch (error) { /* a page this worker does not control: it is in front, which is enough */ }
}

/** The browser replaced (or dropped) the subscription: if notices were on for this login, subscribe again. */
export async function resubscribe(registration, event) {
  const { token, pushEndpoint } = await db.getMeta(['token', 'pushEndpoint']);
  if (!token || !pushEndpoint) return;
  let subscription = event.newSubscription;
  if (!subscription) {
    const old = event.oldSubscription;
    const usedKey = old && old.options && old.options.applicationServerKey;
    const key = usedKey || fromBase64Url((await serverKey(token)) || '');
    if (!key.byteLength) return; // push is now off on the server
    subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  await register(token, subscription);
}
