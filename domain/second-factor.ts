/**
 * Did an OpenID Connect provider vouch for a second factor? Read from the ID token's `amr`
 * (Authentication Method References, RFC 8176) and `acr` (Authentication Context Class Reference).
 *
 * - `amr` holds `mfa` (the provider says so: Entra ID, Okta, Auth0 do), or
 * - `amr` names two or more methods, at least one of them not a knowledge factor (a password and
 *   a one-time code, `["pwd", "otp"]`; a key and a fingerprint, `["hwk", "fpt"]`), or
 * - `acr` is one the operator names as multi-factor (OIDC_MFA_ACR_VALUES; by default the OpenID
 *   PAPE multi-factor policies, which many providers send).
 *
 * Anything else, including no `amr` and no `acr` at all, is one factor.
 */
export const DEFAULT_MFA_ACR_VALUES: readonly string[] = [
  'http://schemas.openid.net/pape/policies/2007/06/multi-factor',
  'http://schemas.openid.net/pape/policies/2007/06/multi-factor-physical',
];

/** RFC 8176 methods that are something the person knows: two of them are still one factor. */
const KNOWLEDGE_METHODS = new Set(['pwd', 'pin', 'kba']);

export function providerVouchedSecondFactor(claims: { amr?: unknown; acr?: unknown }, mfaAcrValues: readonly string[] = DEFAULT_MFA_ACR_VALUES): boolean {
  const amr = Array.isArray(claims.amr) ? [...new Set(claims.amr.filter((m): m is string => typeof m === 'string'))] : [];
  if (amr.includes('mfa')) return true;
  if (amr.length >= 2 && amr.some((m) => !KNOWLEDGE_METHODS.has(m))) return true;
  return typeof claims.acr === 'string' && mfaAcrValues.includes(claims.acr);
}
