import { timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import type { Db } from '../../db/client';
import {
  findSessionContext,
  hashSessionToken,
  newSessionToken,
  openDepSession,
  type DepTokenRecord,
} from '../../db/dep-sessions';
import { pruneBatch } from '../../db/retention';
import {
  DepSessionRefusal,
  consumerKeyHint,
  refusalForHeaderError,
  type DepSessionRefusalCode,
  type DepSessionRefusalReason,
} from '../../domain/dep-errors';
import { addDuration } from '../../domain/durations';
import {
  MAX_OAUTH_HEADER_LENGTH,
  OAuthHeaderError,
  assertNoOAuthParamsOutsideHeader,
  isTimestampFresh,
  parseFormUrlEncoded,
  parseOAuthAuthorizationHeader,
  verifyOAuthSignature,
  type OAuthParams,
} from '../../domain/oauth1';
import { DEFAULT_RETENTION_POLICY } from '../../domain/retention';
import { sealedIn, type SecretBox } from '../../domain/secret-box';
import type { Logger } from '../../runtime/logger';
import type { LinkCommands } from '../link-commands';
import { SESSION_HEADER } from './errors';
import { protocolVersionOf } from './protocol';
import { addressThrottleWindow, addressThrottled, refuseSession, tooManySessions, type SessionThrottle } from './session-refusals';

export interface DepOptions {
  /** ISO 8601 duration of an auth session (DEP_SESSION_TTL). */
  sessionTtl: string;
  /** Accepted clock skew of oauth_timestamp, either way (OAUTH_TIMESTAMP_WINDOW_SECONDS). */
  timestampWindowSeconds: number;
  /**
   * The URL MDM clients reach this mount at, when a proxy rewrites it: PUBLIC_DEP_BASE_URL for the
   * DEP origin, PUBLIC_BASE_URL for the /dep alias on the admin port. Signatures are checked
   * against it + the mount path + the endpoint path, since that is the URL the client signed.
   */
  publicBaseUrl?: string | undefined;
  /** Refused sessions allowed per source address and per consumer key and window, then 429. */
  refusalThrottle: SessionThrottle;
}

/** Expired nonces and sessions deleted after a session: at most once per interval, up to a batch of each. */
const PRUNE_INTERVAL_MS = 1000;
const PRUNE_BATCH = 2000;

export const DEFAULT_DEP_OPTIONS: DepOptions = {
  sessionTtl: 'PT30M',
  timestampWindowSeconds: 300,
  refusalThrottle: { failuresPerAddress: 100, failuresPerKey: 20, windowSeconds: 300 },
};

export interface SessionDeps {
  db: Db;
  commands: LinkCommands;
  secretBox: SecretBox;
  logger: Logger;
  options: DepOptions;
  now: () => Date;
}

type Verdict =
  | { ok: true; token: DepTokenRecord; oauth: OAuthParams }
  | {
      ok: false;
      refusal: DepSessionRefusal;
      token: DepTokenRecord | undefined;
      /** The consumer key the request named, when it named one (its throttle bucket). */
      consumerKey: string | undefined;
      /** Correctly signed with a fresh timestamp: earns its own audit row (others are aggregated). */
      signed: boolean;
    };

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
 * `GET /session`: OAuth 1.0a (HMAC-SHA1) with the service token's credentials → an auth session
 * token (README "MDM-facing service"; refusal table in domain/dep-errors.ts). Never logs a header,
 * a signature or a secret. The first successful session installs the token.
 */
export function sessionRouter(deps: SessionDeps): Router {
  const { db, commands, secretBox, logger, options, now } = deps;
  const windowSeconds = options.timestampWindowSeconds;
  /** A nonce can pass the timestamp check for 2 × the window after it was first seen. */
  const nonceRetentionSeconds = 2 * windowSeconds;
  const router = Router({ caseSensitive: true });
  const prunePolicy = { ...DEFAULT_RETENTION_POLICY, oauthTimestampWindowSeconds: windowSeconds, batchSize: PRUNE_BATCH };
  let lastPruneMs = 0;

  /**
   * Expired nonces and sessions go in bounded batches, at most once a second per process and after
   * answering, instead of two deletes per session: the retention schedule alone (100,000 rows per
   * step and run) would fall behind a busy MDM-facing service. Correctness never depends on it.
   */
  async function pruneNowAndThen(at: Date): Promise<void> {
    if (at.getTime() - lastPruneMs < PRUNE_INTERVAL_MS) return;
    lastPruneMs = at.getTime();
    try {
      await pruneBatch(db, 'oauthNonces', prunePolicy, at);
      await pruneBatch(db, 'depSessions', prunePolicy, at);
    } catch (err) {
      logger.debug({ err: { message: err instanceof Error ? err.message : String(err) } }, 'dep state prune failed');
    }
  }

  /** The URL the client signed: as it saw it (trust proxy: loopback), or the configured public URL. */
  function signedUrl(req: Request): string {
    const origin = options.publicBaseUrl ?? `${req.protocol}://${req.host}`;
    return `${origin}${req.baseUrl}${req.path}`;
  }

  /** The Authorization header read, or why it could not be (and the consumer key it seems to name). */
  function readHeader(req: Request): { ok: true; oauth: OAuthParams } | { ok: false; error: OAuthHeaderError; hint: string | undefined } {
    const header = req.get('authorization');
    try {
      return { ok: true, oauth: parseOAuthAuthorizationHeader(header) };
    } catch (err) {
      if (!(err instanceof OAuthHeaderError)) throw err;
      return { ok: false, error: err, hint: consumerKeyHint(header, MAX_OAUTH_HEADER_LENGTH) };
    }
  }

  function verify(req: Request, at: Date, header: ReturnType<typeof readHeader>, token: DepTokenRecord | undefined): Verdict {
    if (!header.ok) return { ok: false, refusal: refusalForHeaderError(header.error), token, consumerKey: header.hint, signed: false };
    const { oauth } = header;
    const refused = (code: DepSessionRefusalCode, reason: DepSessionRefusalReason, signed = false): Verdict => ({
      ok: false,
      refusal: new DepSessionRefusal(code, reason),
      token,
      consumerKey: oauth.consumerKey,
      signed,
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
      consumerSecret: secretBox.open(token.consumerSecretEnc, sealedIn.tokenConsumerSecret(token.id)),
      tokenSecret: secretBox.open(token.accessSecretEnc, sealedIn.tokenAccessSecret(token.id)),
    });
    if (!signed) return refused('signature_invalid', 'bad_signature');
    if (!isTimestampFresh(oauth.timestamp, Math.floor(at.getTime() / 1000), windowSeconds)) {
      return refused('signature_invalid', 'timestamp_refused');
    }
    // From here on the request is the token holder's own (signed, fresh): each refusal is its own audit row.
    if (token.status === 'SUPERSEDED') return refused('token_rejected', 'token_superseded', true);
    if (token.status === 'REVOKED') return refused('token_rejected', 'token_revoked', true);
    if (token.linkDeleted) return refused('token_rejected', 'link_deleted', true);
    // The expiry date decides, even before the workflow's timer has marked the token EXPIRED.
    if (token.status === 'EXPIRED' || token.expiresAt.getTime() <= at.getTime()) return refused('token_expired', 'token_expired', true);
    if (token.status !== 'ACTIVE') return refused('token_rejected', 'token_revoked', true);
    // Apple counts unsigned terms among the authentication errors: no session, no installation.
    if (!token.termsAccepted) return refused('T_C_NOT_SIGNED', 'terms_not_accepted', true);
    return { ok: true, token, oauth };
  }

  /**
   * Installation is proven by use, and the proof is durable: the session's transaction records the
   * token's first_session_at. The signal is not awaited (the MDM's answer does not depend on
   * Temporal); a failed one is sent again by the next session (every session sends it while the
   * token's installed_at is empty) and by the hand-off reconciler (workflows/handoff-reconciler.ts),
   * so it arrives even if the MDM service opens no other session. The workflow ignores repeats.
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
    const header = readHeader(req);
    // The address's refusals and the named token in one round trip; an address over its limit is
    // refused before anything else is looked at, even a correctly signed request.
    const context = await findSessionContext(db, {
      ...addressThrottleWindow(req, options.refusalThrottle, at),
      consumerKey: header.ok ? header.oauth.consumerKey : header.hint,
    });
    const blocked = addressThrottled(context.addressRefusals, options.refusalThrottle, at);
    if (!blocked.allowed) return tooManySessions(res, blocked);
    const verdict = verify(req, at, header, context.token);
    if (!verdict.ok) return refuseSession(deps, req, res, verdict.refusal, { token: verdict.token, consumerKey: verdict.consumerKey, signed: verdict.signed, at });
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
    if (opened === 'nonce_used') {
      // A replay: possibly someone else's capture, so aggregated like unsigned refusals.
      return refuseSession(deps, req, res, new DepSessionRefusal('signature_invalid', 'nonce_used'), { token, consumerKey: oauth.consumerKey, signed: false, at });
    }
    if (!token.installedAt) signalInstalled(token);
    res.status(200).setHeader(SESSION_HEADER, sessionToken).setHeader('Cache-Control', 'no-store').json({ auth_session_token: sessionToken });
    await pruneNowAndThen(at);
  });

  return router;
}
