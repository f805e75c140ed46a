import { createHash } from 'node:crypto';
import { Router } from 'express';
import type { DepSessionView } from '../../db/dep-sessions';
import { protocolVersionOf } from './protocol';
import { depSessionOf } from './session-auth';

/** Apple's "Url" entries of an account: which endpoints a server may call, with page limits. */
interface DepUrl {
  uri: string;
  http_method: string[];
  limit: { default: number; maximum: number };
}

/**
 * The endpoints announced to protocol version 3 clients, shaped like Apple's account response, with
 * the methods this service answers on each: assigning a profile is `PUT /profile/devices` (Apple's
 * original method, the one nanodep's godep sends) and `POST` (Apple's current documentation),
 * removing it `DELETE`.
 */
export const DEP_URLS: DepUrl[] = [
  { uri: '/session', http_method: ['GET'], limit: { default: 1, maximum: 1 } },
  { uri: '/account', http_method: ['GET'], limit: { default: 1, maximum: 1 } },
  { uri: '/server/devices', http_method: ['POST'], limit: { default: 100, maximum: 1000 } },
  { uri: '/devices/sync', http_method: ['POST'], limit: { default: 100, maximum: 1000 } },
  { uri: '/devices', http_method: ['POST'], limit: { default: 1000, maximum: 1000 } },
  { uri: '/profile', http_method: ['GET', 'POST'], limit: { default: 1, maximum: 1 } },
  { uri: '/profile/devices', http_method: ['PUT', 'POST', 'DELETE'], limit: { default: 1000, maximum: 1000 } },
];

/**
 * GET /account body. admin_id and facilitator_id are the email of the user who downloaded the
 * service token: Apple's admin_id is that user's Apple ID, an email address, so clients that
 * display or parse it as one keep working.
 */
export function accountBody(view: DepSessionView, protocolVersion: number): Record<string, unknown> {
  const adminId = view.downloadedByEmail ?? '';
  const body: Record<string, unknown> = {
    server_name: view.serverName,
    server_uuid: view.linkId,
    admin_id: adminId,
    facilitator_id: adminId,
    org_name: view.orgName,
    org_email: view.orgEmail,
    org_phone: view.orgPhone,
    org_address: view.orgAddress,
  };
  if (protocolVersion >= 3) {
    body.org_id = view.orgId;
    body.org_id_hash = createHash('sha256').update(view.orgId, 'utf8').digest('hex');
    body.org_type = view.orgType;
    body.org_version = 'v2';
    body.urls = DEP_URLS;
  }
  return body;
}

/** `GET /account` (behind requireDepSession and requireCurrentTerms). */
export function accountRouter(): Router {
  const router = Router({ caseSensitive: true });
  router.get('/account', (req, res) => {
    const body = accountBody(depSessionOf(res).view, protocolVersionOf(req.get('x-server-protocol-version')));
    res.status(200).setHeader('Cache-Control', 'no-store').json(body);
  });
  return router;
}
