// The console's only way to the service: the admin API, with the API key the user signed in with.
const KEY = 'dms-link.apiKey';

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};

/** A fresh Idempotency-Key (getRandomValues: unlike randomUUID it works outside secure contexts too). */
export function newIdempotencyKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** An API error as the API words it: the detail of its first JSON:API error (all of them in `errors`). */
export class ApiError extends Error {
  constructor(status, detail, code, errors = []) { super(detail); this.status = status; this.code = code; this.errors = errors; }
}

/** The CSRF token of a console session (the dms_csrf cookie), echoed in X-CSRF-Token on changes. */
function csrfToken() {
  const match = /(?:^|;\s*)dms_csrf=([^;]+)/.exec(document.cookie);
  return match ? decodeURIComponent(match[1]) : '';
}

/** With an API key: Authorization: Bearer. Signed in as a person: the HttpOnly session cookie goes by itself. */
export async function api(method, path, { json, body, contentType, idempotencyKey } = {}) {
  const headers = session.key ? { authorization: `Bearer ${session.key}` } : {};
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  if (!session.key && method !== 'GET') headers['x-csrf-token'] = csrfToken();
  let payload;
  if (json !== undefined) { headers['content-type'] = 'application/json'; payload = JSON.stringify(json); }
  else if (body !== undefined) { if (contentType) headers['content-type'] = contentType; payload = body; }
  const res = await fetch(path, { method, headers, body: payload });
  if (res.ok) return res;
  let detail = `${res.status} ${res.statusText}`;
  let code;
  let errors = [];
  try {
    errors = (await res.json()).errors ?? [];
    const err = errors[0];
    if (err) { detail = err.detail || err.title || detail; code = err.code; }
  } catch { /* not JSON */ }
  throw new ApiError(res.status, detail, code, errors);
}

export async function apiJson(method, path, options) {
  const res = await api(method, path, options);
  return res.status === 204 ? null : res.json();
}

/** "<name>_Token_<time>_smime.p7m" from Content-Disposition. */
export function fileNameOf(res, fallback) {
  const cd = res.headers.get('content-disposition') || '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename="([^"]+)"/i.exec(cd);
  return plain ? plain[1] : fallback;
}

/**
 * Sends a certificate file as the API wants it, told apart by content, not by file name: DER is an
 * ASN.1 SEQUENCE (first byte 0x30); anything else goes as PEM text (which may carry a preamble such
 * as openssl's "Bag Attributes"), and the API names what is wrong with it.
 */
export async function uploadCertificate(linkId, file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const contentType = bytes[0] === 0x30 ? 'application/pkix-cert' : 'application/x-pem-file';
  return apiJson('PUT', `/v1/mdmServers/${linkId}/publicKeyCertificate`, { body: bytes, contentType });
}

/**
 * Calls the API and hands the answer to the browser as a download (a same-origin blob: URL, because
 * an API key travels in a header a plain link cannot send); returns the file name it was saved as.
 */
export async function downloadFile(method, path, fallbackName) {
  const res = await api(method, path);
  const blob = await res.blob();
  const name = fileNameOf(res, fallbackName);
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url; a.download = name; document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/** POST serviceToken and hand the .p7m to the browser as a download. */
export function downloadServiceToken(linkId, serverName) {
  return downloadFile('POST', `/v1/mdmServers/${linkId}/serviceToken`, `${serverName}_Token_smime.p7m`);
}
