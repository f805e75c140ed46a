import { randomUUID } from 'node:crypto';
import { type Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { consumeAccountLink, inspectAccountLink, type LinkVerdict } from '../db/account-links';
import { recordAudit } from '../db/audit';
import type { Db } from '../db/client';
import { acceptTotpStep, clearFailedAttempts, credentialOf, ensureCredential, findSignInCandidates, isLocked, recordFailedAttempt, setPasswordHash, type SignInCandidate } from '../db/credentials';
import { permissionsOfRole } from '../db/identity';
import { hitRateLimit } from '../db/rate-limits';
import { createSession, findLiveSession, revokeSession, revokeUserSessions } from '../db/sessions';
import { hashPassword, spendPasswordCheck, verifyPassword } from '../domain/password-hash';
import { PASSWORD_MAX_LENGTH } from '../domain/password-rules';
import { sealedIn, type SecretBox } from '../domain/secret-box';
import { verifyTotp } from '../domain/totp';
import type { Logger } from '../runtime/logger';
import { recordAndStartAccountEvent } from './account-event-flow';
import { assertPasswordAcceptable, twoFactorRequired, type AccountsOptions } from './accounts-options';
import { readAttributes, jsonBody } from './body';
import { clearSessionCookies, readCookie, SESSION_COOKIE, setSessionCookies } from './cookies';
import type { LinkCommands } from './link-commands';
import { problem } from './problem';
import { apiRouter } from './router';

export interface SessionsDeps {
  db: Db;
  secretBox: SecretBox;
  commands: Pick<LinkCommands, 'startAccountEvent'>;
  logger: Logger;
  options: AccountsOptions;
  now: () => Date;
}

/** One answer for every wrong email, password, code or locked account: nothing tells them apart. */
const SIGN_IN_FAILED =
  'The email, password or code is not right. After 5 wrong tries in a row the account is locked for 15 minutes; an Administrator can unlock it sooner.';

/**
 * Per address (db/rate-limits.ts, shared by every API replica). Per account, the lockout
 * (db/credentials.ts) limits guesses: 5 wrong in a row lock it, and an Administrator's unlock is
 * not undone by a second, per-account counter.
 */
const ADDRESS_LIMIT = { limit: 30, windowSeconds: 600 };

const password = z.string({ error: 'password is required' }).min(1, 'password is required').max(PASSWORD_MAX_LENGTH * 4, 'password is too long');
const code = z.string().max(20).optional();

const LINK_REFUSALS = {
  UNKNOWN: ['LINK_UNKNOWN', 'This link is not valid. Ask an Administrator for a new one.'],
  EXPIRED: ['LINK_EXPIRED', 'This link has expired. Ask an Administrator for a new one.'],
  USED: ['LINK_USED', 'This link was already used; a link works once. Sign in, or ask an Administrator for a new one.'],
  SUPERSEDED: ['LINK_SUPERSEDED', 'A newer link was sent for this account; only the newest one works.'],
  USER_DEPARTED: ['LINK_UNKNOWN', 'This account is no longer active.'],
} as const;

export function linkRefusal(verdict: Exclude<LinkVerdict, { ok: true }>) {
  const [c, detail] = LINK_REFUSALS[verdict.reason];
  return problem(c, detail);
}

/** `/v1/auth`: sign in and out, and the one-time links (no API key or session needed to reach them). */
export function sessionsRouter(deps: SessionsDeps): Router {
  const { db, options, now } = deps;
  const router = apiRouter();
  const json = jsonBody('16kb');

  async function limitAttempts(req: Request, response: Response): Promise<void> {
    const verdict = await hitRateLimit(db, { bucket: `sign-in:ip:${req.ip ?? 'unknown'}`, ...ADDRESS_LIMIT, now: now() });
    if (!verdict.allowed) {
      response.setHeader('Retry-After', String(verdict.retryAfterSeconds));
      throw problem('RATE_LIMITED', `Too many sign-in attempts from your address; try again in ${Math.ceil(verdict.retryAfterSeconds / 60)} minute(s).`);
    }
  }

  async function startSession(req: Request, response: Response, user: { userId: string; orgId: string }, method: 'PASSWORD' | 'OIDC' | 'LINK', complete: boolean) {
    const session = await createSession(db, { ...user, method, complete, now: now(), timeouts: options.timeouts });
    setSessionCookies(req, response, session);
    await recordAudit(db, {
      id: randomUUID(),
      orgId: user.orgId,
      actorUserId: user.userId,
      actor: 'user',
      action: 'user.signIn',
      linkId: null,
      outcome: 'SUCCESS',
      detail: { method, sessionId: session.id, twoFactorEnrolmentRequired: !complete },
    });
    return session;
  }

  router.post('/signIn', json, async (req, response) => {
    const attrs = readAttributes(req, 'sessions', { email: z.string({ error: 'email is required' }).trim().min(1).max(254), password, code });
    await limitAttempts(req, response);
    const candidates = await findSignInCandidates(db, attrs.email);
    const at = now();
    let match: SignInCandidate | undefined;
    for (const candidate of candidates) {
      const hash = candidate.credential.passwordHash;
      if (hash && (await verifyPassword(hash, attrs.password)) && !isLocked(candidate.credential, at)) {
        match = candidate;
        break;
      }
    }
    if (!candidates.length) await spendPasswordCheck(attrs.password);
    if (!match) {
      for (const candidate of candidates) await recordFailedAttempt(db, candidate.userId, at, options.lockout);
      throw problem('SIGN_IN_FAILED', SIGN_IN_FAILED);
    }
    const { credential } = match;
    if (credential.totpSecretSealed) {
      if (!attrs.code) throw problem('CODE_REQUIRED', 'Enter the 6-digit code from your authenticator app.');
      const step = await verifyTotp(deps.secretBox.open(credential.totpSecretSealed, sealedIn.totpSeed(match.userId)), attrs.code, credential.totpLastStep);
      if (step === undefined || !(await acceptTotpStep(db, match.userId, step))) {
        await recordFailedAttempt(db, match.userId, at, options.lockout);
        throw problem('SIGN_IN_FAILED', SIGN_IN_FAILED);
      }
    }
    await clearFailedAttempts(db, match.userId);
    const permissions = await permissionsOfRole(db, match.orgId, match.role);
    const complete = Boolean(credential.totpSecretSealed) || !twoFactorRequired(permissions);
    const session = await startSession(req, response, match, 'PASSWORD', complete);
    response.setHeader('Cache-Control', 'no-store');
    response.status(201).json(sessionDocument(session, complete));
  });

  /** Signs this browser out (its session ends; other sessions stay). */
  router.post('/signOut', async (req, response) => {
    const token = readCookie(req, SESSION_COOKIE);
    if (token) {
      const session = await findLiveSession(db, token, now(), { ...options.timeouts, idleMs: Number.MAX_SAFE_INTEGER });
      if (session) await revokeSession(db, session.id, now());
    }
    clearSessionCookies(req, response);
    response.status(204).end();
  });

  /** What a one-time link is for, before the person chooses a password. */
  router.post('/links/inspect', json, async (req, response) => {
    const { secret } = readAttributes(req, 'accountLinks', { secret: z.string({ error: 'secret is required' }).min(1).max(200) });
    const verdict = await inspectAccountLink(db, secret, now());
    if (!verdict.ok) throw linkRefusal(verdict);
    const credential = await credentialOf(db, verdict.user.id);
    const permissions = await permissionsOfRole(db, verdict.user.orgId, verdict.user.role);
    response.setHeader('Cache-Control', 'no-store');
    response.json({
      data: {
        type: 'accountLinks',
        id: verdict.link.id,
        attributes: {
          purpose: verdict.link.purpose,
          name: verdict.user.name,
          email: verdict.user.email,
          expiresDateTime: verdict.link.expiresAt.toISOString(),
          twoFactorRequired: twoFactorRequired(permissions),
          twoFactorEnabled: Boolean(credential?.totpEnabledAt),
        },
      },
    });
  });

  /**
   * Sets the password a link was sent for. When the person already had one (a reset they asked for
   * by email), this is a password change: it goes through the account-event path, so the service
   * tokens they downloaded stop working. Every session of theirs ends.
   */
  router.post('/links/use', json, async (req, response) => {
    const attrs = readAttributes(req, 'accountLinks', { secret: z.string({ error: 'secret is required' }).min(1).max(200), password });
    const at = now();
    const verdict = await inspectAccountLink(db, attrs.secret, at);
    if (!verdict.ok) throw linkRefusal(verdict);
    const { link, user } = verdict;
    assertPasswordAcceptable(attrs.password, user);
    const passwordHash = await hashPassword(attrs.password);
    const before = await credentialOf(db, user.id);
    const store = async (tx: Parameters<NonNullable<Parameters<typeof recordAndStartAccountEvent>[1]['alsoInTransaction']>>[0]) => {
      if (!(await consumeAccountLink(tx, link.id, at))) throw linkRefusal({ ok: false, reason: 'USED' });
      await ensureCredential(tx, { userId: user.id, orgId: user.orgId });
      await setPasswordHash(tx, user.id, passwordHash, at);
      await recordAudit(tx, {
        id: randomUUID(),
        orgId: user.orgId,
        actorUserId: user.id,
        actor: 'user',
        action: link.purpose === 'INVITATION' ? 'user.acceptInvitation' : 'user.resetPassword',
        linkId: null,
        outcome: 'SUCCESS',
        detail: { userId: user.id, accountLinkId: link.id },
      });
    };
    if (before?.passwordHash) {
      await recordAndStartAccountEvent(deps, { orgId: user.orgId, userId: user.id, userName: user.name, kind: 'PASSWORD_CHANGED', actorUserId: user.id, alsoInTransaction: store });
    } else {
      await db.transaction(store);
    }
    await revokeUserSessions(db, user.id, at);
    const credential = await credentialOf(db, user.id);
    const permissions = await permissionsOfRole(db, user.orgId, user.role);
    response.setHeader('Cache-Control', 'no-store');
    // With two-factor on, the link alone is one factor: the person signs in with password and code.
    if (credential?.totpSecretSealed) {
      clearSessionCookies(req, response);
      response.json({ data: { type: 'accountLinks', id: link.id, attributes: { passwordSet: true, signInRequired: true } } });
      return;
    }
    const complete = !twoFactorRequired(permissions);
    const session = await startSession(req, response, { userId: user.id, orgId: user.orgId }, 'LINK', complete);
    response.status(201).json(sessionDocument(session, complete));
  });

  return router;
}

export function sessionDocument(session: { id: string; csrfToken: string; expiresAt: Date }, complete: boolean) {
  return {
    data: {
      type: 'sessions',
      id: session.id,
      attributes: { expiresDateTime: session.expiresAt.toISOString(), twoFactorEnrolmentRequired: !complete, passwordSet: true, signInRequired: false },
    },
    meta: { csrfToken: session.csrfToken },
  };
}
