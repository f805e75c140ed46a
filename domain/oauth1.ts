/**
 * Server side of OAuth 1.0a (RFC 5849) as used by MDM servers against Apple's device enrollment
 * service `GET /session`: an `Authorization: OAuth …` header signed with HMAC-SHA1 using the consumer
 * key + access token of a service token, keyed with the consumer secret & access secret.
 *
 * Pure functions only (node:crypto for HMAC and constant-time comparison). Refusal mapping is the
 * caller's: OAuthHeaderError → 400; `verifyOAuthSignature` false → 401 `signature_invalid`;
 * `isTimestampFresh` false → 401; nonce reuse (checked by the caller with `nonce`/`timestamp`) → 401.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Longest `Authorization` header value accepted (characters). */
export const MAX_OAUTH_HEADER_LENGTH = 4096;
/** Most parameters (including realm) accepted in one header. */
export const MAX_OAUTH_PARAMS = 32;

export interface OAuthParams {
  consumerKey: string;
  token: string;
  signatureMethod: 'HMAC-SHA1';
  timestamp: number;
  nonce: string;
  signature: string;
  version?: string;
  realm?: string;
  /** Every oauth_* param except oauth_signature, decoded, in header order (these are signed). */
  params: Array<[string, string]>;
}

export type OAuthHeaderErrorReason =
  | 'missing_header'
  | 'header_too_long'
  | 'invalid_scheme'
  | 'malformed'
  | 'unterminated_quote'
  | 'too_many_params'
  | 'invalid_encoding'
  | 'duplicate_param'
  | 'unsupported_param'
  | 'missing_param'
  | 'empty_param'
  | 'unsupported_signature_method'
  | 'invalid_timestamp'
  | 'invalid_version';

/** A malformed OAuth `Authorization` header (or OAuth parameters); the caller answers 400. */
export class OAuthHeaderError extends Error {
  readonly reason: OAuthHeaderErrorReason;
  /** The offending parameter name, when there is one. */
  readonly param: string | undefined;
  constructor(reason: OAuthHeaderErrorReason, message: string, param?: string) {
    super(message);
    this.name = 'OAuthHeaderError';
    this.reason = reason;
    this.param = param;
  }
}

const REQUIRED_PARAMS = [
  'oauth_consumer_key',
  'oauth_token',
  'oauth_signature_method',
  'oauth_timestamp',
  'oauth_nonce',
  'oauth_signature',
] as const;

// ---------------------------------------------------------------------------------------------
// Percent encoding (RFC 5849 §3.6)

const HEX = '0123456789ABCDEF';

function isUnreservedByte(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x30 && b <= 0x39) || // 0-9
    b === 0x2d || // -
    b === 0x2e || // .
    b === 0x5f || // _
    b === 0x7e // ~
  );
}

/**
 * RFC 5849 §3.6 / RFC 3986 percent-encoding: UTF-8 octets, unreserved characters
 * (ALPHA DIGIT - . _ ~) kept, everything else `%XX` with uppercase hex. Lone surrogates are
 * encoded as U+FFFD (never throws).
 */
export function percentEncode(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  for (const b of bytes) {
    if (isUnreservedByte(b)) out += String.fromCharCode(b);
    else out += '%' + HEX[b >> 4] + HEX[b & 0x0f];
  }
  return out;
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Strict percent-decoding of a header parameter (every `%` followed by two hex digits, UTF-8). */
function percentDecodeStrict(s: string, what: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) === 0x25 /* % */) {
      if (i + 2 >= s.length || !isHexDigit(s.charCodeAt(i + 1)) || !isHexDigit(s.charCodeAt(i + 2))) {
        throw new OAuthHeaderError('invalid_encoding', `Invalid percent-encoding in ${what}`, what);
      }
      i += 2;
    }
  }
  try {
    return decodeURIComponent(s);
  } catch {
    throw new OAuthHeaderError('invalid_encoding', `Invalid UTF-8 in ${what}`, what);
  }
}

/**
 * Decodes an `application/x-www-form-urlencoded` string (a URL query without `?`, or a form body)
 * into name/value pairs as RFC 5849 §3.4.1.3.1 asks (`+` is a space, `c2` alone is `["c2", ""]`),
 * keeping order and duplicates. Use it for `queryParams` / `bodyParams` instead of a framework's
 * parsed query object (which merges duplicates and nests brackets).
 */
export function parseFormUrlEncoded(s: string): Array<[string, string]> {
  const source = s.startsWith('?') ? s.slice(1) : s;
  return Array.from(new URLSearchParams(source).entries());
}

// ---------------------------------------------------------------------------------------------
// Authorization header parsing (RFC 5849 §3.5.1, RFC 7235 auth-param syntax)

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Parameter-name characters: the §3.6 encoded alphabet (unreserved + `%`). */
function isNameChar(c: number): boolean {
  return isUnreservedByte(c) || c === 0x25;
}

/** RFC 7230 tchar, for the auth-scheme. */
function isTokenChar(c: number): boolean {
  return isUnreservedByte(c) || (c < 0x7f && "!#$%&'*+^`|".includes(String.fromCharCode(c)));
}

interface RawParam {
  name: string;
  value: string;
}

/** Single left-to-right scan, O(n), no regular expressions. */
function scanAuthorizationHeader(header: string): RawParam[] {
  const n = header.length;
  let i = 0;
  while (i < n && isWhitespace(header.charCodeAt(i))) i++;
  const schemeStart = i;
  while (i < n && isTokenChar(header.charCodeAt(i))) i++;
  const scheme = header.slice(schemeStart, i);
  if (scheme.toLowerCase() !== 'oauth') {
    throw new OAuthHeaderError('invalid_scheme', 'Authorization scheme must be OAuth');
  }
  if (i < n && !isWhitespace(header.charCodeAt(i))) {
    throw new OAuthHeaderError('invalid_scheme', 'Authorization scheme must be OAuth');
  }

  const params: RawParam[] = [];
  for (;;) {
    while (i < n && isWhitespace(header.charCodeAt(i))) i++;
    if (i >= n) break;
    if (header.charCodeAt(i) === 0x2c /* , */) {
      i++; // empty list element (RFC 7230 §7): tolerated
      continue;
    }

    const nameStart = i;
    while (i < n && isNameChar(header.charCodeAt(i))) i++;
    if (i === nameStart) {
      throw new OAuthHeaderError('malformed', `Unexpected character at position ${i} of the Authorization header`);
    }
    const name = header.slice(nameStart, i);

    while (i < n && isWhitespace(header.charCodeAt(i))) i++;
    if (i >= n || header.charCodeAt(i) !== 0x3d /* = */) {
      throw new OAuthHeaderError('malformed', `Expected '=' after parameter ${name}`, name);
    }
    i++;
    while (i < n && isWhitespace(header.charCodeAt(i))) i++;
    if (i >= n || header.charCodeAt(i) !== 0x22 /* " */) {
      throw new OAuthHeaderError('malformed', `Value of parameter ${name} must be a quoted string`, name);
    }
    i++;

    let value = '';
    let closed = false;
    while (i < n) {
      const c = header.charCodeAt(i);
      if (c === 0x22) {
        closed = true;
        i++;
        break;
      }
      if (c === 0x5c /* \ */) {
        // quoted-pair
        i++;
        if (i >= n) break;
        const e = header.charCodeAt(i);
        if (e < 0x20 || e > 0x7e) {
          throw new OAuthHeaderError('malformed', `Invalid character in value of ${name}`, name);
        }
        value += header[i];
        i++;
        continue;
      }
      if (c < 0x20 || c > 0x7e) {
        throw new OAuthHeaderError('malformed', `Invalid character in value of ${name}`, name);
      }
      value += header[i];
      i++;
    }
    if (!closed) {
      throw new OAuthHeaderError('unterminated_quote', `Unterminated quoted value for parameter ${name}`, name);
    }

    params.push({ name, value });
    if (params.length > MAX_OAUTH_PARAMS) {
      throw new OAuthHeaderError('too_many_params', `More than ${MAX_OAUTH_PARAMS} parameters`);
    }

    while (i < n && isWhitespace(header.charCodeAt(i))) i++;
    if (i < n) {
      if (header.charCodeAt(i) !== 0x2c) {
        throw new OAuthHeaderError('malformed', `Expected ',' after parameter ${name}`, name);
      }
      i++;
    }
  }
  return params;
}

function isDecimalDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function parseHeader(header: unknown): OAuthParams {
  if (header === undefined || header === null || header === '') {
    throw new OAuthHeaderError('missing_header', 'Missing Authorization header');
  }
  if (typeof header !== 'string') {
    throw new OAuthHeaderError('malformed', 'Authorization header must be a single value');
  }
  if (header.length > MAX_OAUTH_HEADER_LENGTH) {
    throw new OAuthHeaderError('header_too_long', `Authorization header longer than ${MAX_OAUTH_HEADER_LENGTH} characters`);
  }

  const raw = scanAuthorizationHeader(header);

  const seen = new Map<string, string>();
  let realm: string | undefined;
  const signed: Array<[string, string]> = [];
  let signature: string | undefined;

  for (const { name: rawName, value: rawValue } of raw) {
    if (rawName.toLowerCase() === 'realm') {
      // realm is an RFC 2617 quoted-string, not percent-encoded, and is never signed.
      if (realm !== undefined) {
        throw new OAuthHeaderError('duplicate_param', 'Duplicate parameter realm', 'realm');
      }
      realm = rawValue;
      continue;
    }
    const name = percentDecodeStrict(rawName, 'a parameter name');
    const value = percentDecodeStrict(rawValue, name.startsWith('oauth_') ? name : 'a parameter value');
    if (!name.startsWith('oauth_')) {
      throw new OAuthHeaderError('unsupported_param', `Unsupported parameter ${name} in Authorization header`, name);
    }
    if (seen.has(name)) {
      throw new OAuthHeaderError('duplicate_param', `Duplicate parameter ${name}`, name);
    }
    seen.set(name, value);
    if (name === 'oauth_signature') signature = value;
    else signed.push([name, value]);
  }

  for (const name of REQUIRED_PARAMS) {
    const value = seen.get(name);
    if (value === undefined) {
      throw new OAuthHeaderError('missing_param', `Missing parameter ${name}`, name);
    }
    if (value === '') {
      throw new OAuthHeaderError('empty_param', `Empty parameter ${name}`, name);
    }
  }

  const method = seen.get('oauth_signature_method');
  if (method !== 'HMAC-SHA1') {
    throw new OAuthHeaderError(
      'unsupported_signature_method',
      'Unsupported oauth_signature_method (only HMAC-SHA1)',
      'oauth_signature_method',
    );
  }

  const timestampText = seen.get('oauth_timestamp') ?? '';
  const timestamp = isDecimalDigits(timestampText) && timestampText.length <= 15 ? Number(timestampText) : NaN;
  if (!Number.isSafeInteger(timestamp) || timestamp <= 0) {
    throw new OAuthHeaderError(
      'invalid_timestamp',
      'oauth_timestamp must be a positive integer number of seconds',
      'oauth_timestamp',
    );
  }

  const version = seen.get('oauth_version');
  if (version !== undefined && version !== '1.0') {
    throw new OAuthHeaderError('invalid_version', 'oauth_version must be 1.0', 'oauth_version');
  }

  const result: OAuthParams = {
    consumerKey: seen.get('oauth_consumer_key') ?? '',
    token: seen.get('oauth_token') ?? '',
    signatureMethod: 'HMAC-SHA1',
    timestamp,
    nonce: seen.get('oauth_nonce') ?? '',
    signature: signature ?? '',
    params: signed,
  };
  if (version !== undefined) result.version = version;
  if (realm !== undefined) result.realm = realm;
  return result;
}

/**
 * Parses an RFC 5849 §3.5.1 `Authorization: OAuth …` header value. Throws only OAuthHeaderError
 * (missing/over-long header, other scheme, syntax error, unterminated quote, bad percent-encoding,
 * duplicate or non-oauth_* parameter, missing/empty required parameter, signature method other than
 * HMAC-SHA1, timestamp not a positive decimal integer, oauth_version other than "1.0").
 * Linear in the header length, which is capped at MAX_OAUTH_HEADER_LENGTH.
 */
export function parseOAuthAuthorizationHeader(header: string | undefined): OAuthParams {
  try {
    return parseHeader(header);
  } catch (err) {
    if (err instanceof OAuthHeaderError) throw err;
    throw new OAuthHeaderError('malformed', 'Malformed Authorization header');
  }
}

// ---------------------------------------------------------------------------------------------
// Signature base string (RFC 5849 §3.4.1)

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' };

/**
 * Base string URI (§3.4.1.2): scheme and host lowercased, default port dropped, path kept as sent
 * (an empty path becomes "/"), userinfo, query and fragment dropped. Throws TypeError for anything
 * that is not an absolute http(s) URL.
 */
export function baseStringUri(url: string): string {
  const schemeEnd = url.indexOf('://');
  if (schemeEnd <= 0) throw new TypeError('Base URL must be an absolute http(s) URL');
  const scheme = url.slice(0, schemeEnd).toLowerCase();
  const defaultPort = DEFAULT_PORTS[scheme];
  if (defaultPort === undefined) throw new TypeError('Base URL must be an absolute http(s) URL');

  const rest = url.slice(schemeEnd + 3);
  let authorityEnd = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (c === '/' || c === '?' || c === '#') {
      authorityEnd = i;
      break;
    }
  }
  let authority = rest.slice(0, authorityEnd);
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);

  let host: string;
  let port = '';
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw new TypeError('Base URL has an invalid IPv6 host');
    host = authority.slice(0, close + 1);
    const after = authority.slice(close + 1);
    if (after.startsWith(':')) port = after.slice(1);
    else if (after !== '') throw new TypeError('Base URL has an invalid authority');
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0) {
      host = authority.slice(0, colon);
      port = authority.slice(colon + 1);
    } else {
      host = authority;
    }
  }
  if (host === '') throw new TypeError('Base URL has no host');
  if (port !== '' && !isDecimalDigits(port)) throw new TypeError('Base URL has an invalid port');
  if (port !== '' && String(Number(port)) !== defaultPort) port = String(Number(port));
  else port = '';

  const afterAuthority = rest.slice(authorityEnd);
  let pathEnd = afterAuthority.length;
  for (let i = 0; i < afterAuthority.length; i++) {
    const c = afterAuthority[i];
    if (c === '?' || c === '#') {
      pathEnd = i;
      break;
    }
  }
  const path = afterAuthority.slice(0, pathEnd) || '/';

  return `${scheme}://${host.toLowerCase()}${port === '' ? '' : ':' + port}${path}`;
}

function compareAscii(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** §3.4.1.3.2: encode names and values, sort by name then value (byte order), join. */
export function normalizeParameters(params: Array<[string, string]>): string {
  return params
    .map(([k, v]): [string, string] => [percentEncode(k), percentEncode(v)])
    .sort((a, b) => compareAscii(a[0], b[0]) || compareAscii(a[1], b[1]))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/**
 * RFC 5849 §3.4.1.1 signature base string. `params` are decoded name/value pairs: the query
 * parameters, the oauth_* protocol parameters (without oauth_signature and realm) and, for an
 * `application/x-www-form-urlencoded` body, the body parameters. `baseUrl`'s query is ignored;
 * pass query parameters in `params`.
 */
export function signatureBaseString(method: string, baseUrl: string, params: Array<[string, string]>): string {
  return [
    percentEncode(method.toUpperCase()),
    percentEncode(baseStringUri(baseUrl)),
    percentEncode(normalizeParameters(params)),
  ].join('&');
}

/** RFC 5849 §3.4.2: HMAC-SHA1 keyed with encode(consumerSecret) & encode(tokenSecret), base64. */
export function hmacSha1Signature(baseString: string, consumerSecret: string, tokenSecret: string): string {
  const key = `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`;
  return createHmac('sha1', key).update(baseString, 'utf8').digest('base64');
}

/**
 * Recomputes the HMAC-SHA1 signature of a request and compares it, in constant time, with the
 * received oauth_signature. Returns false (never throws) for a mismatch or an unusable baseUrl.
 * Staleness and nonce reuse are the caller's checks (isTimestampFresh, its nonce store).
 */
export function verifyOAuthSignature(input: {
  method: string;
  baseUrl: string;
  queryParams: Array<[string, string]>;
  bodyParams?: Array<[string, string]>;
  oauth: OAuthParams;
  consumerSecret: string;
  tokenSecret: string;
}): boolean {
  let expected: string;
  try {
    const params: Array<[string, string]> = [
      ...input.queryParams,
      ...(input.bodyParams ?? []),
      ...input.oauth.params,
    ];
    const base = signatureBaseString(input.method, input.baseUrl, params);
    expected = hmacSha1Signature(base, input.consumerSecret, input.tokenSecret);
  } catch {
    return false;
  }
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(input.oauth.signature, 'utf8');
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/**
 * RFC 5849 §3.5: protocol parameters travel in exactly one place. When the header carries them,
 * an oauth_* parameter in the query or form body is a duplicated protocol parameter (400).
 */
export function assertNoOAuthParamsOutsideHeader(...lists: Array<Array<[string, string]> | undefined>): void {
  for (const list of lists) {
    for (const [name] of list ?? []) {
      if (name.startsWith('oauth_')) {
        throw new OAuthHeaderError('duplicate_param', `Protocol parameter ${name} outside the Authorization header`, name);
      }
    }
  }
}

/** True when `timestamp` is within `windowSeconds` of `nowSeconds`, in either direction. */
export function isTimestampFresh(timestamp: number, nowSeconds: number, windowSeconds: number): boolean {
  if (!Number.isFinite(timestamp) || !Number.isFinite(nowSeconds) || !Number.isFinite(windowSeconds)) return false;
  if (windowSeconds < 0) return false;
  return Math.abs(nowSeconds - timestamp) <= windowSeconds;
}
