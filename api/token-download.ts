import { validateHeaderValue } from 'node:http';
import { create as contentDisposition } from 'content-disposition';
import { buildServiceTokenP7m, serviceTokenFileName, type ServiceTokenSecrets } from '../domain/service-token';

/** Everything a token download answers with, built (and checked) before it is sent. */
export interface TokenDownload {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * The download's headers: the file name goes in RFC 6266 `filename*=UTF-8''…` (any script, emoji,
 * zero-width or right-to-left characters) with an ASCII `filename="…"` fallback for old clients.
 * Each value is checked the way Node's http layer will check it, so a header that could not be sent
 * fails here — before anything irreversible — rather than in `res.send` after a token was issued.
 */
export function tokenDownloadHeaders(serverName: string, issuedAt: Date, tokenId: string): Record<string, string> {
  const fileName = serviceTokenFileName(serverName, issuedAt);
  const headers: Record<string, string> = {
    'Content-Type': 'application/pkcs7-mime',
    'Content-Disposition': contentDisposition(fileName, { fallback: asciiFallback(fileName) }),
    'Cache-Control': 'no-store',
    'X-Service-Token-Id': tokenId,
  };
  for (const [name, value] of Object.entries(headers)) validateHeaderValue(name, value);
  return headers;
}

/** Printable ASCII only; every other character (and `%`, which old clients decode) becomes `_`. */
function asciiFallback(fileName: string): string {
  return fileName.replace(/[^\x20-\x7e]|%/g, '_');
}

/**
 * A dry run of the download for a token not yet issued: the same headers with the current time, and
 * a body encrypted to the certificate with throw-away secrets. Only the digits of the time differ
 * from the real download, so when this passes the real one cannot fail to build.
 */
export function rehearseTokenDownload(serverName: string, certificateDer: Buffer, at: Date): void {
  tokenDownloadHeaders(serverName, at, '00000000-0000-4000-8000-000000000000');
  const rehearsal: ServiceTokenSecrets = {
    consumerKey: 'CK_rehearsal',
    consumerSecret: 'CS_rehearsal',
    accessToken: 'AT_rehearsal',
    accessSecret: 'AS_rehearsal',
    accessTokenExpiry: at,
  };
  buildServiceTokenP7m(certificateDer, rehearsal);
}

export function tokenDownload(serverName: string, issuedAt: Date, tokenId: string, certificateDer: Buffer, secrets: ServiceTokenSecrets): TokenDownload {
  return { headers: tokenDownloadHeaders(serverName, issuedAt, tokenId), body: buildServiceTokenP7m(certificateDer, secrets) };
}
