import { randomUUID, timingSafeEqual } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { recordAudit } from '../db/audit';
import type { Db } from '../db/client';
import {
  findLiveDepSession,
  findTokenByConsumerKey,
  hashSessionToken,
  newSessionToken,
  openDepSession,
  pruneDepState,
  type DepSessionView,
  type DepTokenRecord,
} from '../db/dep-sessions';
import {
  DEP_ACCESS_DENIED,
  DEP_UNAUTHORIZED,
  DepSessionRefusal,
  consumerKeyHint,
  refusalForHeaderError,
  type DepSessionRefusalCode,
  type DepSessionRefusalReason,
} from '../domain/dep-errors';
import { addDuration } from '../domain/durations';
import {
  MAX_OAUTH_HEADER_LENGTH,
  OAuthHeaderError,
  assertNoOAuthParamsOutsideHeader,
  isTimestampFresh,
  parseFormUrlEncoded,
  parseOAuthAuthorizationHeader,
  verifyOAuthSignature,
  type OAuthParams,
} from '../domain/oauth1';
import type { SecretBox } from '../domain/secret-box';
import type { Logger } from '../runtime/logger';
import { accountBody, protocolVersionOf } from './dep-account';
import type { LinkCommands } from './link-commands';

export interface DepOptions {
  /** ISO 8601 duration of an auth session (DEP_SESSION_TTL). */
  sessionTtl: string;
  /** Accepted clock skew of oauth_timestamp, either way (OAUTH_TIMESTAMP_WINDOW_SECONDS). */
  timestampWindowSeconds: number;
  /** PUBLIC_BASE_URL: the origin (and path prefix) MDM clients sign against, when a proxy rewrites it. */
  publicBaseUrl?: string | undefined;
}

export const DEFAULT_DEP_OPTIONS: DepOptions = { sessionTtl: 'PT30M', timestampWindowSeconds: 300 };

export interface DepDeps {
  db: Db;
  commands: LinkCommands;
  secretBox: SecretBox;
  logger: Logger;
  options: DepOptions;
  now?: () => Date;
}

const SESSION_HEADER = 'X-ADM-Auth-Session';
/** Our session tokens: 32 bytes, base64url. Anything else is unknown without a database lookup. */
const SESSION_TOKEN = /^[A-Za-z0-9_-]{43}$/;

type Verdict =
  | { ok: true; token: DepTokenRecord; oauth: OAuthParams }
  | { ok: false; refusal: DepSessionRefusal; token: DepTokenRecord | undefined };

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function rawQuery(req: Request): string {
  const q = req.originalUrl.indexOf('?');
  return q < 0 ? '' : req.originalUrl.slice(q + 1);
}

/**
 * The MDM-facing endpoints, shaped like Apple's device enrollment service (README.md "MDM-facing
 * endpoints"; refusal table in domain/dep-errors.ts). Never logs a header, a signature or a secret.
 */
export function depRouter(deps: DepDeps): Router {
  const { db, commands, secretBox, logger, options } = deps;
  const now = deps.now ?? (() => new Date());
  const windowSeconds = options.timestampWindowSeconds;
  /** A nonce can pass the timestamp check for 2 × the window after it was first seen. */
  const nonceRetentionSeconds = 2 * windowSeconds;
  const router = Router();

  /** The URL the client signed: as it saw it (trust proxy: loopback), or PUBLIC_BASE_URL. */
  function signedUrl(req: Request): string {
    const origin = options.publicBaseUrl ?? `${req.protocol}://${req.host}`;
    return `${origin}${req.baseUrl}${req.path}`;
  }

  async function verify(req: Request, at: Date): Promise<Verdict> {
    const header = req.get('authorization');
    let oauth: OAuthParams;
    try {
      oauth = parseOAuthAuthorizationHeader(header);
    } catch (err) {
      if (!(err instanceof OAuthHeaderError)) throw err;
      const hint = consumerKeyHint(header, MAX_OAUTH_HEADER_LENGTH);
      return { ok: false, refusal: refusalForHeaderError(err), token: hint ? await findTokenByConsumerKey(db, hint) : undefined };
    }
    const token = await findTokenByConsumerKey(db, oauth.consumerKey);
    const refused = (code: DepSessionRefusalCode, reason: DepSessionRefusalReason): Verdict => ({
      ok: false,
      refusal: new DepSessionRefusal(code, reason),
      token,
    });

    const queryParams = parseFormUrlEncoded(rawQuery(req));
    try {
      assertNoOAuthParamsOutsideHeader(queryParams);
    } catch (err) {
      if (err instanceof OAuthHeaderError) return refused('parameter_rejected', 'oauth_param_in_query');
      throw err;
    }
    if (!token) return refused('token_rejected', 'unknown_consumer_key');
    if (!sameText(token.accessToken, oauth.token)) return refused('token_rejected', 'access_token_mismatch');
    // Possession of the secrets is proven before anything about the token's state is told.
    const signed = verifyOAuthSignature({
      method: req.method,
      baseUrl: signedUrl(req),
      queryParams,
      oauth,
      consumerSecret: secretBox.open(token.consumerSecretEnc),
      tokenSecret: secretBox.open(token.accessSecretEnc),
    });
    if (!signed) return refused('signature_invalid', 'bad_signature');
    if (!isTimestampFresh(oauth.timestamp, Math.floor(at.getTime() / 1000), windowSeconds)) {
      return refused('signature_invalid', 'timestamp_refused');
    }
    if (token.status === 'SUPERSEDED') return refused('token_rejected', 'token_superseded');
    if (token.status === 'REVOKED') return refused('token_rejected', 'token_revoked');
    if (token.linkDeleted) return refused('token_rejected', 'link_deleted');
    // The expiry date decides, even before the workflow's timer has marked the token EXPIRED.
    if (token.status === 'EXPIRED' || token.expiresAt.getTime() <= at.getTime()) return refused('token_expired', 'token_expired');
    if (token.status !== 'ACTIVE') return refused('token_rejected', 'token_revoked');
    return { ok: true, token, oauth };
  }

  /** 401/400 JSON refusal; audited when the consumer key belongs to a known token (and so an organization). */
  async function refuse(req: Request, res: Response, refusal: DepSessionRefusal, token: DepTokenRecord | undefined): Promise<void> {
    if (token) {
      await recordAudit(db, {
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
    logger.info({ reqId: req.id, code: refusal.code, reason: refusal.reason, linkId: token?.linkId }, 'dep session refused');
    if (refusal.status === 401) res.setHeader('WWW-Authenticate', 'OAuth realm="ADM"');
    res.status(refusal.status).setHeader('Cache-Control', 'no-store').json(refusal.body());
  }

  /**
   * Installation is proven by use. The signal is not awaited (the MDM's answer does not depend on
   * Temporal); a failed one is retried by the next session, since every session sends it while the
   * token's installed_at is empty. The workflow ignores repeats.
   */
  function signalInstalled(token: DepTokenRecord): void {
    commands.tokenInstalled(token.linkId, token.id).catch((err: unknown) => {
      logger.warn(
        { linkId: token.linkId, tokenId: token.id, err: { message: err instanceof Error ? err.message : String(err) } },
        'could not signal the token installation; the next session retries',
      );
    });
  }

  router.get('/session', async (req, res) => {
    const at = now();
    const verdict = await verify(req, at);
    if (!verdict.ok) return refuse(req, res, verdict.refusal, verdict.token);
    const { token, oauth } = verdict;
    const sessionToken = newSessionToken();
    const opened = await openDepSession(db, {
      consumerKey: oauth.consumerKey,
      nonce: oauth.nonce,
      token,
      tokenHash: hashSessionToken(sessionToken),
      now: at,
      expiresAt: new Date(addDuration(at.getTime(), options.sessionTtl)),
      nonceRetentionSeconds,
      protocolVersion: protocolVersionOf(req.get('x-server-protocol-version')),
    });
    if (opened === 'nonce_used') return refuse(req, res, new DepSessionRefusal('signature_invalid', 'nonce_used'), token);
    if (!token.installedAt) signalInstalled(token);
    res.status(200).setHeader(SESSION_HEADER, sessionToken).setHeader('Cache-Control', 'no-store').json({ auth_session_token: sessionToken });
    // Opportunistic clean-up after answering; a failure only delays it to the next session.
    await pruneDepState(db, at, nonceRetentionSeconds).catch((err: unknown) => {
      logger.debug({ err: { message: err instanceof Error ? err.message : String(err) } }, 'dep state prune failed');
    });
  });

  async function sessionOf(req: Request): Promise<{ token: string; view: DepSessionView } | undefined> {
    const token = req.get('x-adm-auth-session');
    if (!token || !SESSION_TOKEN.test(token)) return undefined;
    const view = await findLiveDepSession(db, token, now());
    return view ? { token, view } : undefined;
  }

  function unauthorized(res: Response): void {
    res.status(401).setHeader('Cache-Control', 'no-store').type('text/plain').send(DEP_UNAUTHORIZED);
  }

  router.get('/account', async (req, res) => {
    const session = await sessionOf(req);
    if (!session) return unauthorized(res);
    const body = accountBody(session.view, protocolVersionOf(req.get('x-server-protocol-version')));
    res.status(200).setHeader(SESSION_HEADER, session.token).setHeader('Cache-Control', 'no-store').json(body);
  });

  // Anything else under /dep: a live session may not use it (403), otherwise authenticate first (401).
  router.use(async (req, res) => {
    const session = await sessionOf(req);
    if (!session) return unauthorized(res);
    res.status(403).setHeader(SESSION_HEADER, session.token).setHeader('Cache-Control', 'no-store').type('text/plain').send(DEP_ACCESS_DENIED);
  });

  return router;
}
