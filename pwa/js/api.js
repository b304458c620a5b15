// Why: the one place that speaks HTTP to the server's documented API (/api/v1: auth, me, sync), so that
// every answer becomes either data or a typed error the rest of the app can act on. No DOM here: the
// service worker uses it too.

export const PROTOCOL_VERSION = 1;
const BASE = '/api/v1';
const TIMEOUT_MS = 30000;

/** The server answered with an error (the one JSON shape), or with a status and no usable body. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    // 5xx and 429 may succeed later unchanged; anything else needs someone to do something.
    this.retryable = status >= 500 || status === 429;
  }
}

/** No answer at all: offline, DNS, a dropped connection or a timeout. Always worth retrying. */
export class NetworkError extends Error {
  constructor(message) {
    super(message || 'No connection to the server.');
    this.name = 'NetworkError';
    this.retryable = true;
  }
}

/**
 * Any documented operation: resolves with the JSON answer (null for 204), or throws ApiError or NetworkError.
 * With `file`, a successful answer is a download instead: { blob, filename } (errors are still JSON).
 */
export async function call(method, path, { token, body, query, timeoutMs = TIMEOUT_MS, file = false } = {}) {
  let url = BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null) params.set(key, String(value));
    }
    const text = params.toString();
    if (text) url += '?' + text;
  }
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  // A FormData body (a file upload) sets its own multipart Content-Type, boundary included.
  const form = typeof FormData !== 'undefined' && body instanceof FormData;
  if (body !== undefined && !form) headers['Content-Type'] = 'application/json';
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' || form ? body : JSON.stringify(body),
      signal: controller.signal,
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (error) {
    throw new NetworkError(controller.signal.aborted ? 'The server took too long to answer.' : undefined);
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 204) return null;
  if (file && response.ok) {
    const named = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') || '');
    try {
      return { blob: await response.blob(), filename: named ? named[1] : 'groundwork-download' };
    } catch (error) {
      throw new NetworkError('The file from the server was cut off.');
    }
  }
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    // A proxy's HTML error page, or a body cut off mid-way: the request's fate is unknown.
    if (response.ok) throw new NetworkError('The answer from the server was cut off.');
  }
  if (!response.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(response.status, err.code || 'http_' + response.status,
      err.message || `The server answered ${response.status}.`, err.details || null);
  }
  return data;
}

export function login(email, password, deviceName) {
  return call('POST', '/auth/login', { body: { email, password, device_name: deviceName } });
}

export function logout(token) {
  return call('POST', '/auth/logout', { token, body: {} });
}

export function me(token) {
  return call('GET', '/me', { token });
}

export function hello() {
  return call('GET', '/sync/hello', { timeoutMs: 15000 });
}

/** Push an already-serialised body (its size was checked against the server's limit). */
export function push(token, bodyText) {
  return call('POST', '/sync/push', { token, body: bodyText, timeoutMs: 60000 });
}

export function pull(token, { storageId, cursor, limit }) {
  return call('GET', '/sync/pull', { token, query: { storage_id: storageId, cursor, limit }, timeoutMs: 60000 });
}
