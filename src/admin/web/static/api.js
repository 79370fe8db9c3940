// The REST API of the admin port, called with the signed-in token.
// The token lives in sessionStorage: gone when the tab closes, never shared with other tabs.

const TOKEN_KEY = 'papgate.token';
const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `the server answered ${status}`);
    this.status = status;
    this.code = body?.error || 'error';
    this.field = body?.field;
    /** Line errors of a rejected CSV import. */
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Milliseconds the server's clock is ahead of ours (from the Date header), so "time left" counts on the server's clock. */
let serverOffsetMs = 0;
export const serverNow = () => Date.now() + serverOffsetMs;

function noteServerTime(res) {
  const at = Date.parse(res.headers.get('date') || '');
  // The Date header has whole seconds: ignore differences smaller than that noise.
  if (Number.isFinite(at)) serverOffsetMs = Math.abs(at - Date.now()) > 5000 ? at - Date.now() : 0;
}

/** Called when the server refuses the token (401): the app signs out. */
let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

/**
 * One API call. `json` is sent as JSON, `csv` as text/csv. Resolves to the
 * parsed JSON, the text (for CSV), or null (204); rejects with ApiError.
 */
export async function call(method, path, { json, csv, accept = 'json', authToken } = {}) {
  const headers = { authorization: `Bearer ${authToken ?? token.get() ?? ''}` };
  let body;
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  }
  if (csv !== undefined) {
    headers['content-type'] = 'text/csv';
    body = csv;
  }
  let res;
  try {
    res = await fetch(BASE + path, { method, headers, body, cache: 'no-store', credentials: 'omit' });
  } catch {
    throw new ApiError(0, { error: 'unreachable', message: 'papgate did not answer: check the network and try again' });
  }
  noteServerTime(res);
  if (!res.ok) {
    const err = new ApiError(res.status, await res.json().catch(() => null));
    if (res.status === 401 && authToken === undefined) onUnauthorized(err);
    throw err;
  }
  if (res.status === 204) return null;
  if (accept === 'text') return res.text();
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

const t = (tenant) => `/tenants/${encodeURIComponent(tenant)}`;
const m = (mac) => `/devices/${encodeURIComponent(mac)}`;
const query = (o) => {
  const q = new URLSearchParams(Object.entries(o).filter(([, v]) => v !== undefined && v !== ''));
  return q.toString() ? `?${q}` : '';
};

export const api = {
  whoami: (authToken) => call('GET', '/whoami', { authToken }),
  tenants: () => call('GET', '/tenants'),
  createTenant: (name, locale) => call('POST', '/tenants', { json: locale ? { name, locale } : { name } }),
  tenant: (tenant) => call('GET', t(tenant)),
  setLocale: (tenant, locale) => call('PATCH', t(tenant), { json: { locale } }),
  rotateToken: (tenant) => call('POST', `${t(tenant)}/token`),
  sites: (tenant) => call('GET', `${t(tenant)}/sites`),
  addSite: (tenant, name, more = {}) => call('POST', `${t(tenant)}/sites`, { json: { name, ...more } }),
  devices: (tenant, filter = {}) => call('GET', `${t(tenant)}/devices${query(filter)}`),
  addDevice: (tenant, device) => call('POST', `${t(tenant)}/devices`, { json: device }),
  device: (mac) => call('GET', m(mac)),
  deleteDevice: (mac) => call('DELETE', m(mac)),
  resetDevice: (mac) => call('POST', `${m(mac)}/reset`),
  suspendDevice: (mac) => call('POST', `${m(mac)}/suspend`),
  setLines: (mac, lines) => call('PUT', `${m(mac)}/lines`, { json: { lines } }),
  allowList: (tenant) => call('GET', `${t(tenant)}/allow-list`),
  addAllow: (tenant, cidr) => call('POST', `${t(tenant)}/allow-list`, { json: { cidr } }),
  removeAllow: (tenant, cidr) => call('DELETE', `${t(tenant)}/allow-list${query({ cidr })}`),
  exportCsv: (tenant) => call('GET', `${t(tenant)}/export.csv`, { accept: 'text' }),
  importCsv: (tenant, text) => call('POST', `${t(tenant)}/import`, { csv: text }),
  audit: (tenant, limit = 50) => call('GET', `${t(tenant)}/audit${query({ limit })}`),
  webhook: (tenant) => call('GET', `${t(tenant)}/webhook`),
  setWebhook: (tenant, url) => call('PUT', `${t(tenant)}/webhook`, { json: { url } }),
  removeWebhook: (tenant) => call('DELETE', `${t(tenant)}/webhook`),
  rotateWebhookSecret: (tenant) => call('POST', `${t(tenant)}/webhook/secret`),
  webhookDeliveries: (tenant, limit = 20) => call('GET', `${t(tenant)}/webhook/deliveries${query({ limit })}`),
};
