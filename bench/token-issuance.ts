/**
 * Service tokens issued per second in this process, on one thread, each for the next of many
 * distinct certificates (domain/service-token.ts: fresh secrets + the `.p7m`; in production every
 * link has its own certificate, so no per-certificate cache may stay warm), against
 * `openssl speed rsa2048` public-key operations per second on the same machine. Node's bare RSA encryption rate is recorded beside
 * them: it is the most any token builder on node:crypto can reach.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, constants, publicEncrypt } from 'node:crypto';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { buildServiceTokenP7m, generateServiceTokenSecrets } from '../domain/service-token';
import { ratio } from './util';

export interface OpensslSpeed {
  /** The column used as the reference: encrypt/s where this openssl prints it, else verify/s. */
  reference: 'encrypt' | 'verify';
  publicOpsPerSecond: number;
  verifyPerSecond: number;
  encryptPerSecond: number | null;
  signPerSecond: number;
  version: string;
}

export interface TokenIssuanceResult {
  /** Distinct certificates the loop went round. */
  certificates: number;
  seconds: number;
  tokens: number;
  tokensPerSecond: number;
  nodePublicEncryptPerSecond: number;
  openssl: OpensslSpeed;
  ratioToOpenssl: number | null;
  /** Bare node:crypto RSA encryption against openssl: the ratio no token builder on Node can pass. */
  nodeEncryptRatioToOpenssl: number | null;
}

/** Calls fn for `seconds` after a one-second warm-up; returns calls per second. Checks the clock every 25 calls. */
function ratePerSecond(fn: () => void, seconds: number): { count: number; perSecond: number } {
  const warm = performance.now() + 1000;
  while (performance.now() < warm) for (let i = 0; i < 25; i++) fn();
  const start = performance.now();
  const end = start + seconds * 1000;
  let count = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 25; i++) fn();
    count += 25;
  }
  const elapsed = (performance.now() - start) / 1000;
  return { count, perSecond: Math.round(count / elapsed) };
}

/** Parses the summary table of `openssl speed rsa2048` (3.0 prints sign/verify; 3.2+ also encrypt/decrypt). */
export function parseOpensslSpeed(output: string): Omit<OpensslSpeed, 'version'> {
  const lines = output.split('\n');
  const headerIndex = lines.findIndex((l) => /\bverify\/s\b/.test(l));
  const header = lines[headerIndex]?.trim().split(/\s+/) ?? [];
  const row = lines.slice(headerIndex + 1).find((l) => /^\s*rsa\s+2048\s+bits/.test(l));
  if (headerIndex < 0 || !row) throw new Error(`unexpected openssl speed output:\n${output.slice(-1500)}`);
  const values = row.replace(/^\s*rsa\s+2048\s+bits\s*/, '').trim().split(/\s+/);
  const column = (name: string): number | null => {
    const i = header.indexOf(name);
    return i >= 0 && values[i] !== undefined ? Number(values[i]) : null;
  };
  const verify = column('verify/s');
  const sign = column('sign/s');
  const encrypt = column('encr./s') ?? column('encrypt/s');
  if (verify === null || sign === null) throw new Error(`openssl speed: no sign/s or verify/s column in "${header.join(' ')}"`);
  return encrypt !== null
    ? { reference: 'encrypt', publicOpsPerSecond: encrypt, verifyPerSecond: verify, encryptPerSecond: encrypt, signPerSecond: sign }
    : { reference: 'verify', publicOpsPerSecond: verify, verifyPerSecond: verify, encryptPerSecond: null, signPerSecond: sign };
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

export async function opensslSpeed(seconds: number): Promise<OpensslSpeed> {
  const out = await run('openssl', ['speed', '-seconds', String(seconds), 'rsa2048'], 120_000);
  const version = (await run('openssl', ['version'], 10_000)).trim();
  return { ...parseOpensslSpeed(out), version };
}

/** CPU profile (node:inspector) of fn in this process, written to file when given. */
async function profiled<T>(file: string | undefined, fn: () => T): Promise<T> {
  if (!file) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}

/** profileFile: a CPU profile of the token loop alone. */
export async function measureTokenIssuance(certificatesDer: Buffer[], seconds: number, profileFile?: string): Promise<TokenIssuanceResult> {
  const expiry = new Date(Date.now() + 365 * 86_400_000);
  let next = 0;
  const tokens = await profiled(profileFile, () =>
    ratePerSecond(() => {
      const der = certificatesDer[next++ % certificatesDer.length] ?? Buffer.alloc(0);
      buildServiceTokenP7m(der, generateServiceTokenSecrets(expiry));
    }, seconds),
  );
  const publicKey = new X509Certificate(certificatesDer[0] ?? Buffer.alloc(0)).publicKey;
  const contentKey = Buffer.alloc(16, 7);
  const encrypt = ratePerSecond(() => {
    publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, contentKey);
  }, Math.min(seconds, 2));
  const openssl = await opensslSpeed(seconds);
  return {
    certificates: certificatesDer.length,
    seconds,
    tokens: tokens.count,
    tokensPerSecond: tokens.perSecond,
    nodePublicEncryptPerSecond: encrypt.perSecond,
    openssl,
    ratioToOpenssl: ratio(tokens.perSecond, openssl.publicOpsPerSecond),
    nodeEncryptRatioToOpenssl: ratio(encrypt.perSecond, openssl.publicOpsPerSecond),
  };
}
