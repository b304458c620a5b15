// Why: turning notices on and off on this device (web push). The browser's permission is asked only when
// the person chooses "Get notices on this device" on the Account screen, never on load. The server keeps
// the subscription for this device's login and pushes only a notice's text and app route. No DOM here:
// the service worker uses it too (sw-push.js).
import * as api from './api.js';
import * as db from './db.js';

const QUICK_MS = 5000; // logging out must not wait long on a poor connection

/** Whether this browser can show pushed notices at all. */
export function supported() {
  return typeof navigator !== 'undefined' && 'serviceWorker' in navigator &&
    typeof PushManager !== 'undefined' && typeof Notification !== 'undefined';
}

/** iPhone and iPad show notices only for an app added to the Home Screen. */
export function needsHomeScreen() {
  return /iPhone|iPad|iPod/.test(navigator.userAgent) && !navigator.standalone;
}

export function fromBase64Url(text) {
  const base64 = (text + '='.repeat((4 - (text.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function sameKey(subscription, key) {
  const used = subscription.options && subscription.options.applicationServerKey;
  if (!used) return false;
  const a = new Uint8Array(used);
  return a.length === key.length && a.every((byte, i) => byte === key[i]);
}

async function registration() {
  const found = await navigator.serviceWorker.getRegistration();
  if (!found) throw new Error('The app is still installing. Try again in a moment.');
  return found;
}

/** The server's key to subscribe with, or null when the server has push turned off (404). */
export async function serverKey(token) {
  try {
    return (await api.call('GET', '/push/key', { token })).public_key;
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 404) return null;
    throw error;
  }
}

/** Tell the server about this browser's subscription, for this device's login. */
export async function register(token, subscription) {
  await api.call('POST', '/push/subscriptions', { token, body: subscription.toJSON() });
  await db.setMeta({ pushEndpoint: subscription.endpoint });
}

/** 'unsupported', 'home-screen', 'denied', 'on' or 'off', from what the browser and this login know. */
export async function state() {
  if (!supported()) return needsHomeScreen() ? 'home-screen' : 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const found = await navigator.serviceWorker.getRegistration();
  const subscription = found ? await found.pushManager.getSubscription() : null;
  const { pushEndpoint } = await db.getMeta(['pushEndpoint']);
  const on = subscription && Notification.permission === 'granted' && subscription.endpoint === pushEndpoint;
  return on ? 'on' : 'off';
}

/** Whether this browser's subscription was made with `key` (the server's key now). */
export async function usesKey(key) {
  const found = await navigator.serviceWorker.getRegistration();
  const subscription = found ? await found.pushManager.getSubscription() : null;
  return !!subscription && sameKey(subscription, fromBase64Url(key));
}

/**
 * Turn notices on: the browser asks the person (this must run from their tap), then subscribes with the
 * server's key and the server is told. Resolves to 'on', 'denied', 'off' (dismissed) or 'unavailable'.
 */
export async function enable() {
  const { token } = await db.session();
  const key = await serverKey(token);
  if (!key) return 'unavailable';
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission === 'denied' ? 'denied' : 'off';
  const applicationServerKey = fromBase64Url(key);
  const { pushManager } = await registration();
  let subscription = await pushManager.getSubscription();
  if (subscription && !sameKey(subscription, applicationServerKey)) {
    await subscription.unsubscribe(); // made with an earlier key of the server: it cannot be used
    subscription = null;
  }
  if (!subscription) subscription = await pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
  await register(token, subscription);
  return 'on';
}

/**
 * Turn notices off on this device: the server forgets the subscription and the browser drops it. Best
 * effort (logout calls it offline too): a subscription the server still holds fails at the push service
 * and is removed then, and a signed-out device's subscriptions are removed by the server anyway.
 */
export async function disable(token) {
  if (!supported()) return;
  let subscription = null;
  try {
    const found = await navigator.serviceWorker.getRegistration();
    subscription = found ? await found.pushManager.getSubscription() : null;
    if (subscription && token) {
      await api.call('DELETE', '/push/subscriptions', { token, body: { endpoint: subscription.endpoint }, timeoutMs: QUICK_MS });
    }
  } catch (error) { /* offline, or already gone on the server */ }
  try {
    if (subscription) await subscription.unsubscribe();
  } catch (error) { /* the browser keeps it: the server no longer sends to it */ }
  await db.setMeta({ pushEndpoint: undefined });
}
