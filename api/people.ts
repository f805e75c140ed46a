import { randomUUID } from 'node:crypto';
import { type Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { createAccountLink } from '../db/account-links';
import { recordAudit } from '../db/audit';
import type { Db } from '../db/client';
import { clearFailedAttempts, clearPassword, credentialOf, signInStates } from '../db/credentials';
import { organizationName } from '../db/organizations';
import { createInvitedPerson } from '../db/people';
import { revokeUserSessions } from '../db/sessions';
import { findUser, resolveRole, type UserView } from '../db/users';
import { permissionsOfRole } from '../db/identity';
import { isEmailAddress } from '../domain/email';
import { assertMayActOnUser, assertMayGrant } from '../domain/privileges';
import type { Logger } from '../runtime/logger';
import { accountEventResource, recordAndStartAccountEvent } from './account-event-flow';
import { accountLinkUrl, type AccountsOptions } from './accounts-options';
import { principalOf, requirePermission } from './auth';
import { readAttributes, jsonBody } from './body';
import { displayName } from './fields';
import type { LinkCommands } from './link-commands';
import { passwordChangePreview } from './password-change-preview';
import { problem } from './problem';
import { apiRouter } from './router';

export interface PeopleDeps {
  db: Db;
  commands: Pick<LinkCommands, 'startAccountEvent'>;
  logger: Logger;
  options: AccountsOptions;
  now: () => Date;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * An Administrator's side of people's accounts: invitations, resets, unlocking, sign-in states,
 * the password-change preview (`users.manage`). Users created with POST /v1/users remain API
 * accounts (API keys, no password).
 */
export function peopleRouter(deps: PeopleDeps): Router {
  const { db, options, now } = deps;
  const router = apiRouter();
  const json = jsonBody('16kb');
  const manage = requirePermission('users.manage');

  /** The user the request acts on, once the caller holds every permission that user holds (domain/privileges.ts). */
  async function userOf(req: Request, action: string): Promise<UserView> {
    const id = typeof req.params.id === 'string' ? req.params.id : '';
    const user = await findUser(db, principalOf(req).orgId, id);
    if (!user) throw problem('NOT_FOUND', `No user with id "${id.slice(0, 64)}" exists in your organization.`);
    assertMayActOnUser(principalOf(req), user, action);
    return user;
  }

  /**
   * Emails the link when SMTP is set; otherwise it goes to the Administrator in this answer, once.
   * The person and the link already exist when the email is sent, so a mail server that refuses
   * is not a failed request: the Administrator gets the link to hand over, and is told why.
   */
  async function deliver(
    req: Request,
    res: Response,
    user: { name: string; email: string },
    purpose: 'INVITATION' | 'PASSWORD_RESET',
    link: { secret: string; expiresAt: Date },
  ): Promise<{ delivery: 'EMAIL' } | { delivery: 'SHOWN_ONCE'; url: string; emailError?: string }> {
    const url = accountLinkUrl(req, options, link.secret);
    res.setHeader('Cache-Control', 'no-store');
    if (options.mailer) {
      const organization = await organizationName(db, principalOf(req).orgId);
      try {
        await options.mailer.sendLink({ to: user.email, name: user.name, purpose, url, expiresAt: link.expiresAt, organization });
        return { delivery: 'EMAIL' };
      } catch (err) {
        // The error names the mail server's refusal, never the link (it is not part of the SMTP error).
        deps.logger.warn({ err: { message: (err as Error).message }, purpose }, 'account link email not sent; shown to the Administrator instead');
        return { delivery: 'SHOWN_ONCE', url, emailError: 'The email could not be sent (the mail server refused or did not answer). Give this link to the person yourself; it is shown only now.' };
      }
    }
    return { delivery: 'SHOWN_ONCE', url };
  }
  const shownOnce = (sent: Awaited<ReturnType<typeof deliver>>, key: 'invitationUrl' | 'url') =>
    sent.delivery === 'SHOWN_ONCE' ? { [key]: sent.url, ...(sent.emailError ? { emailError: sent.emailError } : {}) } : {};

  router.post('/invitations', manage, json, async (req, res) => {
    const principal = principalOf(req);
    const attrs = readAttributes(req, 'invitations', {
      name: displayName('name', 200),
      email: z.string({ error: 'email is required' }).trim().refine(isEmailAddress, 'email must be an email address'),
      role: z.string({ error: 'role is required' }).max(100),
    });
    const role = await resolveRole(db, principal.orgId, attrs.role);
    assertMayGrant(principal.permissions, await permissionsOfRole(db, principal.orgId, role), `the role "${attrs.role.slice(0, 100)}"`);
    const made = await createInvitedPerson(db, { orgId: principal.orgId, ...attrs, role, actorUserId: principal.userId, now: now(), ttlMs: options.invitationTtlMs });
    const sent = await deliver(req, res, attrs, 'INVITATION', made.link);
    res
      .status(201)
      .location(`/v1/users/${made.userId}`)
      .json({
        data: { type: 'invitations', id: made.link.id, attributes: { name: attrs.name, email: attrs.email, role, expiresDateTime: made.link.expiresAt.toISOString(), delivery: sent.delivery } },
        relationships: { user: { data: { type: 'users', id: made.userId } } },
        // The link itself only when it was not emailed: shown this once, only its hash is kept.
        meta: shownOnce(sent, 'invitationUrl'),
      });
  });

  router.get('/userSignIns', manage, async (req, res) => {
    const states = await signInStates(db, principalOf(req).orgId);
    res.json({
      data: states.map((s) => ({
        type: 'userSignIns',
        id: s.userId,
        attributes: {
          kind: s.person ? 'PERSON' : 'API_ACCOUNT',
          passwordSet: s.passwordSet,
          passwordSetDateTime: iso(s.passwordSetAt),
          twoFactorEnabled: s.twoFactor,
          lockedUntil: iso(s.lockedUntil),
        },
      })),
    });
  });

  router.get('/users/:id/passwordChangePreview', manage, async (req, res) => {
    const user = await userOf(req, 'preview a password change of');
    res.json(await passwordChangePreview(db, principalOf(req).orgId, user.id));
  });

  /**
   * An Administrator resets a person's password: the old one stops working now, which is a password
   * change (account event: the tokens they downloaded stop working, links REPLACEMENT_REQUIRED), their
   * sessions end, and a one-time link lets them set a new one. A person who never set a password
   * gets a fresh invitation instead.
   */
  router.post('/users/:id/passwordResets', manage, async (req, res) => {
    const principal = principalOf(req);
    const user = await userOf(req, 'reset the password of');
    if (user.departedAt) throw problem('USER_DEPARTED', `${user.name} left the organization.`);
    const credential = await credentialOf(db, user.id);
    if (!credential) throw problem('NOT_A_PERSON', `${user.name} is an API account: it signs in with API keys, not a password.`);
    const at = now();
    let link: { id: string; secret: string; expiresAt: Date } | undefined;
    let event;
    if (credential.passwordHash) {
      event = await recordAndStartAccountEvent(deps, {
        orgId: principal.orgId,
        userId: user.id,
        userName: user.name,
        kind: 'PASSWORD_CHANGED',
        actorUserId: principal.userId,
        alsoInTransaction: async (tx) => {
          await clearPassword(tx, user.id, at);
          link = await createAccountLink(tx, { orgId: principal.orgId, userId: user.id, purpose: 'PASSWORD_RESET', createdBy: principal.userId, now: at, ttlMs: options.resetTtlMs });
        },
      });
    } else {
      link = await createAccountLink(db, { orgId: principal.orgId, userId: user.id, purpose: 'INVITATION', createdBy: principal.userId, now: at, ttlMs: options.invitationTtlMs });
    }
    if (!link) throw new Error('reset link not created');
    await revokeUserSessions(db, user.id, at);
    const purpose = event ? 'PASSWORD_RESET' : 'INVITATION';
    const sent = await deliver(req, res, user, purpose, link);
    res.status(201).json({
      data: { type: 'passwordResets', id: link.id, attributes: { purpose, expiresDateTime: link.expiresAt.toISOString(), delivery: sent.delivery } },
      relationships: { user: { data: { type: 'users', id: user.id } } },
      meta: { ...shownOnce(sent, 'url'), ...(event ? { accountEvent: accountEventResource(event) } : {}) },
    });
  });

  router.post('/users/:id/unlock', manage, async (req, res) => {
    const principal = principalOf(req);
    const user = await userOf(req, 'unlock');
    await clearFailedAttempts(db, user.id);
    await recordAudit(db, { id: randomUUID(), orgId: principal.orgId, actorUserId: principal.userId, actor: 'user', action: 'user.unlock', linkId: null, outcome: 'SUCCESS', detail: { userId: user.id } });
    res.status(204).end();
  });

  return router;
}
