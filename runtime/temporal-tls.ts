import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { z } from 'zod';

/**
 * How the API and the worker reach a Temporal cluster over TLS: mTLS with a client certificate
 * (self-hosted), an API key (Temporal Cloud), or server-verified TLS alone. Files are read and checked
 * when the configuration loads, so a wrong path or a key without its certificate stops the process
 * at start with one message per problem, not at the first connection.
 */

const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PRIVATE_KEY_PEM = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

export interface PemFile {
  path: string;
  pem: Buffer;
}

function readPem(name: string, kind: 'certificate' | 'key', filePath: string, ctx: z.RefinementCtx): PemFile | typeof z.NEVER {
  let text: string;
  try {
    text = fs.readFileSync(filePath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    ctx.addIssue({ code: 'custom', message: `${name}: cannot read ${filePath} (${code})` });
    return z.NEVER;
  }
  if (kind === 'certificate') {
    const blocks = text.match(CERTIFICATE_PEM) ?? [];
    const parsed = blocks.every((block) => {
      try {
        new X509Certificate(block);
        return true;
      } catch {
        return false;
      }
    });
    if (blocks.length === 0 || !parsed) {
      ctx.addIssue({ code: 'custom', message: `${name}: ${filePath} is not a PEM certificate (expected -----BEGIN CERTIFICATE-----)` });
      return z.NEVER;
    }
  } else {
    const block = PRIVATE_KEY_PEM.exec(text)?.[0];
    if (!block) {
      ctx.addIssue({ code: 'custom', message: `${name}: ${filePath} is not a PEM private key (expected -----BEGIN PRIVATE KEY-----)` });
      return z.NEVER;
    }
    if (block.includes('ENCRYPTED')) {
      ctx.addIssue({ code: 'custom', message: `${name}: ${filePath} is encrypted; give the key without a passphrase (protect the file instead)` });
      return z.NEVER;
    }
    try {
      createPrivateKey(block);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${name}: ${filePath} is not a readable private key` });
      return z.NEVER;
    }
  }
  return { path: filePath, pem: Buffer.from(text, 'utf8') };
}

const pemFile = (name: string, kind: 'certificate' | 'key') =>
  z
    .string()
    .trim()
    .transform((p, ctx) => readPem(name, kind, p, ctx));

/** The TLS variables of the configuration schema (runtime/config.ts spreads them in). */
export const temporalTlsFields = {
  /** Client certificate for mTLS (PEM file), with TEMPORAL_TLS_KEY. */
  TEMPORAL_TLS_CERT: pemFile('TEMPORAL_TLS_CERT', 'certificate').optional(),
  TEMPORAL_TLS_KEY: pemFile('TEMPORAL_TLS_KEY', 'key').optional(),
  /** CA that signed the frontend's certificate, when it is not one the system trusts. */
  TEMPORAL_TLS_CA: pemFile('TEMPORAL_TLS_CA', 'certificate').optional(),
  /** The name the frontend's certificate carries, when TEMPORAL_ADDRESS is an IP or another name. */
  TEMPORAL_TLS_SERVER_NAME: z.string().trim().min(1).optional(),
  /** TLS with none of the above (a cluster whose certificate the system trusts). */
  TEMPORAL_TLS: z
    .enum(['true', 'false', '1', '0'], { error: 'TEMPORAL_TLS must be true or false' })
    .transform((v) => v === 'true' || v === '1')
    .optional(),
  /** Temporal Cloud API key (sent as a bearer token, over TLS only). */
  TEMPORAL_API_KEY: z.string().trim().min(1).optional(),
};

type TlsFields = {
  TEMPORAL_ADDRESS?: string | undefined;
  TEMPORAL_TLS_CERT?: PemFile | undefined;
  TEMPORAL_TLS_KEY?: PemFile | undefined;
  TEMPORAL_TLS_CA?: PemFile | undefined;
  TEMPORAL_TLS_SERVER_NAME?: string | undefined;
  TEMPORAL_TLS?: boolean | undefined;
  TEMPORAL_API_KEY?: string | undefined;
};

function wantsTls(c: TlsFields): boolean {
  return Boolean(c.TEMPORAL_TLS_CERT || c.TEMPORAL_TLS_KEY || c.TEMPORAL_TLS_CA || c.TEMPORAL_TLS_SERVER_NAME || c.TEMPORAL_API_KEY || c.TEMPORAL_TLS);
}

/** Rules across the TLS variables (added to the schema with superRefine). */
export function checkTemporalTls(c: TlsFields, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (c.TEMPORAL_TLS_KEY && !c.TEMPORAL_TLS_CERT) issue('TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT: mTLS needs both');
  if (c.TEMPORAL_TLS_CERT && !c.TEMPORAL_TLS_KEY) issue('TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY: mTLS needs both');
  if (c.TEMPORAL_TLS_CERT && c.TEMPORAL_TLS_KEY) {
    const first = c.TEMPORAL_TLS_CERT.pem.toString('utf8').match(CERTIFICATE_PEM)?.[0] ?? '';
    if (!new X509Certificate(first).checkPrivateKey(createPrivateKey(c.TEMPORAL_TLS_KEY.pem))) {
      issue('TEMPORAL_TLS_KEY', `TEMPORAL_TLS_KEY (${c.TEMPORAL_TLS_KEY.path}) is not the key of TEMPORAL_TLS_CERT (${c.TEMPORAL_TLS_CERT.path})`);
    }
  }
  if (c.TEMPORAL_TLS === false && wantsTls({ ...c, TEMPORAL_TLS: undefined })) {
    issue('TEMPORAL_TLS', 'TEMPORAL_TLS=false contradicts TEMPORAL_TLS_*/TEMPORAL_API_KEY, which need TLS');
  }
  // The embedded dev server (no TEMPORAL_ADDRESS) speaks plain gRPC on loopback.
  if (wantsTls(c) && !c.TEMPORAL_ADDRESS) issue('TEMPORAL_ADDRESS', 'TEMPORAL_ADDRESS is required when TEMPORAL_TLS_* or TEMPORAL_API_KEY is set (the embedded dev server has no TLS)');
}

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

/** Options for both `Connection.connect` (API) and `NativeConnection.connect` (worker). */
export function temporalConnectionOptions(config: TlsFields, address: string): TemporalConnectionOptions {
  if (!wantsTls(config)) return { address };
  const tls: TLSConfig = {};
  if (config.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = config.TEMPORAL_TLS_SERVER_NAME;
  if (config.TEMPORAL_TLS_CA) tls.serverRootCACertificate = config.TEMPORAL_TLS_CA.pem;
  if (config.TEMPORAL_TLS_CERT && config.TEMPORAL_TLS_KEY) tls.clientCertPair = { crt: config.TEMPORAL_TLS_CERT.pem, key: config.TEMPORAL_TLS_KEY.pem };
  return { address, tls, ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY } : {}) };
}
