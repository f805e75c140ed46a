import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { recordAudit } from '../../db/audit';
import type { Db } from '../../db/client';
import type { DepTokenRecord } from '../../db/dep-sessions';
import type { DepSessionRefusal } from '../../domain/dep-errors';
import type { Logger } from '../../runtime/logger';

export interface SessionRefusalDeps {
  db: Db;
  logger: Logger;
}

/**
 * The one path every refused `GET /session` takes: audit (when the consumer key belongs to a known
 * token, and so to an organization), log (code and reason, never a header or secret), answer
 * Apple's JSON refusal. Rate limiting and aggregation of refusals belong here too.
 */
export async function refuseSession(
  deps: SessionRefusalDeps,
  req: Request,
  res: Response,
  refusal: DepSessionRefusal,
  token: DepTokenRecord | undefined,
): Promise<void> {
  if (token) {
    await recordAudit(deps.db, {
      id: randomUUID(),
      orgId: token.orgId,
      actorUserId: null,
      actor: 'mdm',
      action: 'dep.session',
      linkId: token.linkId,
      outcome: 'REFUSED',
      detail: { code: refusal.code, reason: refusal.reason, tokenId: token.id },
    });
  }
  deps.logger.info({ reqId: req.id, code: refusal.code, reason: refusal.reason, linkId: token?.linkId }, 'dep session refused');
  if (refusal.status === 401) res.setHeader('WWW-Authenticate', 'OAuth realm="ADM"');
  res.status(refusal.status).setHeader('Cache-Control', 'no-store').json(refusal.body());
}
