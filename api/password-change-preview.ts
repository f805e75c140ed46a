import { tokensAPasswordChangeWouldRevoke } from '../db/account-events';
import type { Db } from '../db/client';

/**
 * What a password change of this user would do, said before it happens: how many service tokens
 * they downloaded stop working at once, and which services then need a new token.
 */
export async function passwordChangePreview(db: Db, orgId: string, userId: string) {
  const tokens = await tokensAPasswordChangeWouldRevoke(db, orgId, userId);
  return {
    data: {
      type: 'passwordChangePreviews',
      id: userId,
      attributes: {
        serviceTokensThatStopWorking: tokens.length,
        services: tokens.map((t) => ({ id: t.linkId, serverName: t.serverName, linkState: t.linkState, tokenExpiresDateTime: t.expiresAt.toISOString() })),
      },
    },
  };
}
