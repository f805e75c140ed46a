import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';

/** RFC 6238 TOTP (30 s steps, 6 digits, SHA-1: what every authenticator app reads) through otplib. */
export const TOTP_ISSUER = 'dms-link';

export function newTotpSecret(): string {
  return generateSecret();
}

export function totpUri(secret: string, accountName: string): string {
  return generateURI({ issuer: TOTP_ISSUER, label: accountName, secret });
}

/**
 * The otpauth:// URI as a QR code (a PNG data: URL, which the console's CSP allows as an image):
 * what authenticator apps scan. It carries the seed, so it is shown only where the seed is, once.
 */
export function totpQrCode(uri: string): Promise<string> {
  return QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
}

/**
 * The time step of a valid code, or undefined. One step of clock drift either way is accepted; a
 * step at or before `afterStep` (the last accepted one) is refused, so a code works once.
 */
export async function verifyTotp(secret: string, code: string, afterStep: number | null): Promise<number | undefined> {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return undefined;
  const result = await verify({ secret, token, epochTolerance: 30, ...(afterStep !== null ? { afterTimeStep: afterStep } : {}) });
  // otplib's result covers HOTP too; a TOTP match carries its time step.
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}
