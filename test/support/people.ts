import { generate } from 'otplib';
import type { ApiResponse } from './stack';

type Call = (method: string, pathname: string, options?: { json?: unknown; headers?: Record<string, string>; key?: string | null }) => Promise<ApiResponse>;

/**
 * A browser-like client of the admin API: keeps the cookies the API sets (session and CSRF) and
 * echoes the CSRF cookie in X-CSRF-Token on changes, as the console does. `csrf: false` leaves it out.
 */
export function cookieClient(baseUrl: string, address?: string) {
  const jar = new Map<string, string>();
  async function call(method: string, pathname: string, options: { json?: unknown; csrf?: boolean; headers?: Record<string, string> } = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...options.headers };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (options.csrf !== false && method !== 'GET' && jar.has('dms_csrf')) headers['x-csrf-token'] = jar.get('dms_csrf') ?? '';
    if (address) headers['x-forwarded-for'] = address;
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const res = await fetch(`${baseUrl}${pathname}`, { method, headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    const buf = Buffer.from(await res.arrayBuffer());
    let json: unknown;
    if ((res.headers.get('content-type') ?? '').includes('json') && buf.length) json = JSON.parse(buf.toString('utf8'));
    return { status: res.status, headers: res.headers, body: buf, json };
  }
  return Object.assign(call, { jar });
}

export type CookieClient = ReturnType<typeof cookieClient>;

let seq = 0;
/** Invites a person through the API (no SMTP: the link comes back once) and returns the link's secret. */
export async function invite(admin: Call, role: string, name = `Person ${++seq}`): Promise<{ userId: string; email: string; name: string; url: string; secret: string }> {
  const email = `${name.toLowerCase().replace(/\W+/g, '.')}.${Math.random().toString(36).slice(2, 8)}@example.test`;
  const res = await admin('POST', '/v1/invitations', { json: { data: { type: 'invitations', attributes: { name, email, role } } } });
  if (res.status !== 201) throw new Error(`invite: ${res.status} ${res.body.toString()}`);
  const url = res.json.meta.invitationUrl as string;
  return { userId: res.json.relationships.user.data.id as string, email, name, url, secret: url.split('#/link/')[1] ?? '' };
}

/** The code an authenticator app shows `stepsAhead` 30-second steps from now (the API accepts one step of drift). */
export function totpCode(secret: string, stepsAhead = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + stepsAhead * 30 });
}

export const GOOD_PASSWORD = 'violet kettle harbour 42';
