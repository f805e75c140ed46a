import { randomUUID } from 'node:crypto';
import { type Router, type Request, type Response } from 'express';
import * as oidc from 'openid-client';
import { recordAudit } from '../db/audit';
import type { Db } from '../db/client';
import { credentialOf, findPeopleByEmail } from '../db/credentials';
import { findPrincipalByUserId } from '../db/identity';
import { createSession } from '../db/sessions';
import { providerVouchedSecondFactor } from '../domain/second-factor';
import { sealedIn, type SecretBox } from '../domain/secret-box';
import type { Logger } from '../runtime/logger';
import { twoFactorRequired, type AccountsOptions } from './accounts-options';
import { OIDC_COOKIE, readCookie, setSessionCookies } from './cookies';
import { problem } from './problem';
import { apiRouter } from './router';

/** OpenID Connect single sign-on (OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET). */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The name on the console's button, e.g. "Okta". */
  displayName: string;
  /** `acr` values that mean a second factor (OIDC_MFA_ACR_VALUES; domain/second-factor.ts has the default). */
  mfaAcrValues?: readonly string[] | undefined;
}

const TRANSACTION_MS = 10 * 60_000;
const CALLBACK_PATH = '/v1/auth/oidc/callback';

interface Transaction {
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
  startedAt: number;
}

const isLoopback = (url: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);

/**
 * `/v1/auth/oidc`: the authorization code flow with PKCE, state and nonce, through openid-client.
 * A person is matched by the provider's verified email to exactly one live person (a user with a
 * credential row, not an API account) across organizations. The provider's sign-in vouches for them.
 * Where their role requires two-factor (users.manage), the ID token must also show a second factor
 * (`amr`/`acr`, domain/second-factor.ts); without one the session is not complete: a person with
 * TOTP enters a code (POST /v1/me/twoFactor/verification), one without sets it up first, exactly as
 * after a password sign-in. Nothing else is reachable until then.
 */
export function oidcRouter(deps: { db: Db; secretBox: SecretBox; logger: Logger; options: AccountsOptions; now: () => Date }): Router {
  const router = apiRouter();
  const settings = deps.options.oidc;
  let configuration: Promise<oidc.Configuration> | undefined;
  const configured = (): Promise<oidc.Configuration> => {
    if (!settings) throw problem('SSO_NOT_CONFIGURED', 'Single sign-on is not set up on this server (OIDC_ISSUER).');
    configuration ??= oidc
      .discovery(new URL(settings.issuer), settings.clientId, settings.clientSecret, undefined, {
        // Plain HTTP only for a provider on this machine (tests, a local IdP); anything else needs HTTPS.
        ...(isLoopback(settings.issuer) ? { execute: [oidc.allowInsecureRequests] } : {}),
        timeout: 10,
      })
      .catch((err: unknown) => {
        configuration = undefined;
        throw err;
      });
    return configuration;
  };
  const base = (req: Request) => deps.options.publicBaseUrl ?? `${req.protocol}://${req.get('host') ?? '127.0.0.1'}`;

  router.get('/', (_req, res) => {
    res.json({ data: { type: 'singleSignOn', id: 'oidc', attributes: { enabled: Boolean(settings), displayName: settings?.displayName ?? null } } });
  });

  router.get('/start', async (req, res) => {
    const config = await configured();
    const verifier = oidc.randomPKCECodeVerifier();
    const transaction: Transaction = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier,
      redirectUri: `${base(req)}${CALLBACK_PATH}`,
      startedAt: deps.now().getTime(),
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: transaction.redirectUri,
      scope: 'openid email profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: transaction.state,
      nonce: transaction.nonce,
    });
    res.cookie(OIDC_COOKIE, deps.secretBox.seal(JSON.stringify(transaction), sealedIn.oidcTransactionCookie()), {
      httpOnly: true,
      secure: req.secure,
      sameSite: 'lax',
      path: '/v1/auth/oidc',
      maxAge: TRANSACTION_MS,
    });
    res.redirect(303, url.href);
  });

  router.get('/callback', async (req, res) => {
    const fail = (reason: string) => {
      deps.logger.info({ reason }, 'single sign-on refused');
      res.clearCookie(OIDC_COOKIE, { path: '/v1/auth/oidc' });
      res.redirect(303, `/console/#/signin/sso-failed`);
    };
    const sealed = readCookie(req, OIDC_COOKIE);
    let transaction: Transaction;
    try {
      transaction = JSON.parse(deps.secretBox.open(sealed ?? '', sealedIn.oidcTransactionCookie())) as Transaction;
    } catch {
      return fail('no sign-in in progress in this browser');
    }
    if (deps.now().getTime() - transaction.startedAt > TRANSACTION_MS) return fail('sign-in took too long');
    const config = await configured();
    let claims: oidc.IDToken | undefined;
    try {
      const current = new URL(req.originalUrl, transaction.redirectUri);
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: transaction.verifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
    } catch (err) {
      return fail(`code exchange failed: ${(err as Error).message}`);
    }
    const email = typeof claims?.email === 'string' ? claims.email : undefined;
    if (!email || claims?.email_verified !== true) return fail('the provider gave no verified email');
    const people = await findPeopleByEmail(deps.db, email, 2);
    const [person] = people;
    if (!person || people.length > 1) return fail(people.length > 1 ? 'the email belongs to people in several organizations' : 'no person with this email');
    const principal = await findPrincipalByUserId(deps.db, person.userId);
    const credential = await credentialOf(deps.db, person.userId);
    if (!principal || !credential) return fail('no person with this email');
    const amr = Array.isArray(claims?.amr) ? claims.amr.filter((m): m is string => typeof m === 'string').slice(0, 10) : [];
    const secondFactor = !twoFactorRequired(principal.permissions)
      ? 'NOT_REQUIRED'
      : providerVouchedSecondFactor({ amr: claims?.amr, acr: claims?.acr }, settings?.mfaAcrValues)
        ? 'PROVIDER'
        : credential.totpEnabledAt
          ? 'TOTP_CODE_REQUIRED'
          : 'TOTP_ENROLMENT_REQUIRED';
    const complete = secondFactor === 'NOT_REQUIRED' || secondFactor === 'PROVIDER';
    const session = await createSession(deps.db, { ...person, method: 'OIDC', complete, now: deps.now(), timeouts: deps.options.timeouts });
    await recordAudit(deps.db, {
      id: randomUUID(),
      orgId: person.orgId,
      actorUserId: person.userId,
      actor: 'user',
      action: 'user.signIn',
      linkId: null,
      outcome: 'SUCCESS',
      detail: { method: 'OIDC', sessionId: session.id, issuer: settings?.issuer ?? '', amr, acr: typeof claims?.acr === 'string' ? claims.acr.slice(0, 200) : null, secondFactor },
    });
    res.clearCookie(OIDC_COOKIE, { path: '/v1/auth/oidc' });
    setSessionCookies(req, res as Response, session);
    res.redirect(303, secondFactor === 'TOTP_CODE_REQUIRED' ? '/console/#/verify' : secondFactor === 'TOTP_ENROLMENT_REQUIRED' ? '/console/#/enrol' : '/console/#/home');
  });

  return router;
}
