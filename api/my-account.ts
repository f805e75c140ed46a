import { randomUUID } from 'node:crypto';
import { type Router, type Request } from 'express';
import { z } from 'zod';
import { recordAudit } from '../db/audit';
import type { Db } from '../db/client';
import { acceptTotpStep, clearFailedAttempts, confirmPendingTotp, credentialOf, isLocked, recordFailedAttempt, setPasswordHash, setPendingTotp } from '../db/credentials';
import { findUser } from '../db/users';
import { markSessionComplete, revokeUserSessions } from '../db/sessions';
import { hashPassword, verifyPassword } from '../domain/password-hash';
import { PASSWORD_MAX_LENGTH } from '../domain/password-rules';
import { sealedIn, type SecretBox } from '../domain/secret-box';
import { newTotpSecret, totpQrCode, totpUri, verifyTotp } from '../domain/totp';
import type { Logger } from '../runtime/logger';
import { accountEventMeta, accountEventResource, recordAndStartAccountEvent } from './account-event-flow';
import { assertPasswordAcceptable, twoFactorRequired, type AccountsOptions } from './accounts-options';
import { principalOf } from './auth';
import { readAttributes, jsonBody } from './body';
import { clearSessionCookies } from './cookies';
import type { LinkCommands } from './link-commands';
import { passwordChangePreview } from './password-change-preview';
import { problem } from './problem';
import { apiRouter } from './router';

export interface MyAccountDeps {
  db: Db;
  secretBox: SecretBox;
  commands: Pick<LinkCommands, 'startAccountEvent'>;
  logger: Logger;
  options: AccountsOptions;
  now: () => Date;
}

const secretText = z.string().max(PASSWORD_MAX_LENGTH * 4);

/** `/v1/me/…`: the caller's own password, two-factor and sessions (console session or API key). */
export function myAccountRouter(deps: MyAccountDeps): Router {
  const { db, secretBox, options, now } = deps;
  const router = apiRouter();
  const json = jsonBody('16kb');

  async function me(req: Request) {
    const principal = principalOf(req);
    const user = await findUser(db, principal.orgId, principal.userId);
    if (!user) throw problem('NOT_FOUND', 'Your user no longer exists.');
    return { principal, user, credential: await credentialOf(db, user.id) };
  }

  router.get('/signIn', async (req, res) => {
    const { principal, credential } = await me(req);
    const session = (req.principal as { session?: { complete: boolean; method: string; expiresAt: Date } } | undefined)?.session;
    res.json({
      data: {
        type: 'signIns',
        id: principal.userId,
        attributes: {
          person: Boolean(credential),
          passwordSet: Boolean(credential?.passwordHash),
          twoFactorEnabled: Boolean(credential?.totpEnabledAt),
          twoFactorRequired: twoFactorRequired(principal.permissions),
          authenticatedWith: session ? 'SESSION' : 'API_KEY',
          sessionMethod: session?.method ?? null,
          sessionComplete: session ? session.complete : true,
          sessionExpiresDateTime: session?.expiresAt.toISOString() ?? null,
        },
      },
    });
  });

  router.get('/passwordChangePreview', async (req, res) => {
    const principal = principalOf(req);
    res.json(await passwordChangePreview(db, principal.orgId, principal.userId));
  });

  /**
   * The person changes their own password: current password (and code, with two-factor) first.
   * The new hash and the account event commit together, so the service tokens they downloaded stop
   * working with the new password; their other sessions end.
   */
  router.post('/passwordChanges', json, async (req, res) => {
    const { principal, user, credential } = await me(req);
    const attrs = readAttributes(req, 'passwordChanges', { currentPassword: secretText, newPassword: secretText, code: z.string().max(20).optional() });
    if (!credential?.passwordHash) throw problem('NOT_A_PERSON', 'This account has no password (an API account, or an invitation not yet accepted).');
    const at = now();
    const reauthFailed = async () => {
      await recordFailedAttempt(db, user.id, at, options.lockout);
      return problem('REAUTHENTICATION_FAILED', 'The current password or code is not right (5 wrong tries lock the account for 15 minutes).');
    };
    if (isLocked(credential, at) || !(await verifyPassword(credential.passwordHash, attrs.currentPassword))) throw await reauthFailed();
    if (credential.totpSecretSealed) {
      const step = attrs.code ? await verifyTotp(secretBox.open(credential.totpSecretSealed, sealedIn.totpSeed(user.id)), attrs.code, credential.totpLastStep) : undefined;
      if (step === undefined || !(await acceptTotpStep(db, user.id, step))) throw await reauthFailed();
    }
    assertPasswordAcceptable(attrs.newPassword, user);
    if (attrs.newPassword === attrs.currentPassword) throw problem('VALIDATION_FAILED', 'The new password must differ from the current one.');
    const passwordHash = await hashPassword(attrs.newPassword);
    const recorded = await recordAndStartAccountEvent(deps, {
      orgId: principal.orgId,
      userId: user.id,
      userName: user.name,
      kind: 'PASSWORD_CHANGED',
      actorUserId: user.id,
      alsoInTransaction: (tx) => setPasswordHash(tx, user.id, passwordHash, at),
    });
    await revokeUserSessions(db, user.id, at, principal.sessionId);
    res.status(201).json({ data: accountEventResource(recorded), meta: accountEventMeta(recorded) });
  });

  /** A new TOTP seed, shown this once (as text, as an otpauth:// URI and as its QR code); confirmed by a first code. */
  router.post('/twoFactor/enrolment', async (req, res) => {
    const { user, credential } = await me(req);
    if (!credential) throw problem('NOT_A_PERSON', 'An API account signs in with its API key; it has no two-factor.');
    if (credential.totpEnabledAt) throw problem('TWO_FACTOR_ALREADY_ENABLED', 'Two-factor authentication is already set up for your account.');
    const secret = newTotpSecret();
    await setPendingTotp(db, user.id, secretBox.seal(secret, sealedIn.totpSeed(user.id)));
    res.setHeader('Cache-Control', 'no-store');
    const otpauthUri = totpUri(secret, user.email);
    res.status(201).json({ data: { type: 'twoFactorEnrolments', id: user.id, attributes: { secret, otpauthUri, qrCode: await totpQrCode(otpauthUri) } } });
  });

  router.post('/twoFactor', json, async (req, res) => {
    const { principal, user, credential } = await me(req);
    const { code } = readAttributes(req, 'twoFactor', { code: z.string({ error: 'code is required' }).max(20) });
    if (!credential?.totpPendingSealed) throw problem('CONFLICT', 'Start the set-up first (POST /v1/me/twoFactor/enrolment).');
    const step = await verifyTotp(secretBox.open(credential.totpPendingSealed, sealedIn.totpSeed(user.id)), code, null);
    if (step === undefined) throw problem('TWO_FACTOR_CODE_INVALID', 'That code does not match; check the time on your device and enter the current code.');
    if (!(await confirmPendingTotp(db, user.id, credential.totpPendingSealed, step))) throw problem('CONFLICT', 'The set-up was restarted meanwhile; use the newest code.');
    if (principal.sessionId) await markSessionComplete(db, principal.sessionId);
    await recordAudit(db, { id: randomUUID(), orgId: principal.orgId, actorUserId: user.id, actor: 'user', action: 'user.enableTwoFactor', linkId: null, outcome: 'SUCCESS', detail: { userId: user.id } });
    res.json({ data: { type: 'twoFactor', id: user.id, attributes: { enabled: true } } });
  });

  /**
   * The second factor of a session that lacks one: single sign-on whose provider did not vouch for a
   * second factor, for a person whose role requires it (api/oidc.ts). A wrong code counts toward the
   * lockout like a wrong sign-in; a locked account gets the same answer as a wrong code.
   */
  router.post('/twoFactor/verification', json, async (req, res) => {
    const { principal, user, credential } = await me(req);
    const { code } = readAttributes(req, 'twoFactorVerifications', { code: z.string({ error: 'code is required' }).max(20) });
    const session = (req.principal as { session?: { complete: boolean } } | undefined)?.session;
    if (!session || session.complete) throw problem('CONFLICT', 'This sign-in needs no two-factor code.');
    if (!credential?.totpSecretSealed) throw problem('CONFLICT', 'Set up two-factor first (POST /v1/me/twoFactor/enrolment).');
    const at = now();
    const step = isLocked(credential, at) ? undefined : await verifyTotp(secretBox.open(credential.totpSecretSealed, sealedIn.totpSeed(user.id)), code, credential.totpLastStep);
    if (step === undefined || !(await acceptTotpStep(db, user.id, step))) {
      await recordFailedAttempt(db, user.id, at, options.lockout);
      throw problem('TWO_FACTOR_CODE_INVALID', 'That code is not right (or was used already). After 5 wrong tries in a row the account is locked for 15 minutes.');
    }
    await clearFailedAttempts(db, user.id);
    if (principal.sessionId) await markSessionComplete(db, principal.sessionId);
    await recordAudit(db, { id: randomUUID(), orgId: principal.orgId, actorUserId: user.id, actor: 'user', action: 'user.verifyTwoFactor', linkId: null, outcome: 'SUCCESS', detail: { sessionId: principal.sessionId ?? null } });
    res.json({ data: { type: 'twoFactorVerifications', id: principal.sessionId ?? user.id, attributes: { sessionComplete: true } } });
  });

  /** Sign out of every session (every browser), this one included. */
  router.delete('/sessions', async (req, res) => {
    const principal = principalOf(req);
    const ended = await revokeUserSessions(db, principal.userId, now());
    await recordAudit(db, { id: randomUUID(), orgId: principal.orgId, actorUserId: principal.userId, actor: 'user', action: 'user.signOutEverywhere', linkId: null, outcome: 'SUCCESS', detail: { sessionsEnded: ended } });
    clearSessionCookies(req, res);
    res.status(204).end();
  });

  return router;
}
