/**
 * Test keys and certificates made with the openssl CLI in throw-away temp directories.
 * Synchronous on purpose: call them in beforeAll. Call cleanupTestCertificates() in afterAll.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  keyPem: string;
  certPem: string;
  certDer: Buffer;
  keyPath: string;
  certPath: string;
  dir: string;
}

export interface CertificateOptions {
  /** RSA modulus size; default 2048. */
  bits?: number;
  /** Validity from now, in days; default 365. Ignored when notBefore or notAfter is given. */
  days?: number;
  /** Custom validity window (any dates, past or future; whole seconds). */
  notBefore?: Date;
  notAfter?: Date;
  /** Subject (and issuer) common name; default "Test MDM". */
  cn?: string;
}

const createdDirs: string[] = [];

export function makeTempDir(prefix = 'dms-cert-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  createdDirs.push(dir);
  return dir;
}

/** Removes every temp directory these helpers created. */
export function cleanupTestCertificates(): void {
  for (const dir of createdDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function openssl(args: string[], input?: Buffer | string): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
}

/** Self-signed certificate with an RSA key (openssl genpkey + req -x509, or ca -selfsign for custom dates). */
export function makeRsaCertificate(options: CertificateOptions = {}): TestCertificate {
  const dir = makeTempDir();
  const keyPath = join(dir, 'key.pem');
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${options.bits ?? 2048}`, '-out', keyPath]);
  return certificateForKey(dir, keyPath, options);
}

/** Self-signed certificate with an EC P-256 key. */
export function makeEcCertificate(options: Omit<CertificateOptions, 'bits'> = {}): TestCertificate {
  const dir = makeTempDir();
  const keyPath = join(dir, 'key.pem');
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]);
  return certificateForKey(dir, keyPath, options);
}

/** Self-signed certificate with an Ed25519 key. */
export function makeEd25519Certificate(options: Omit<CertificateOptions, 'bits'> = {}): TestCertificate {
  const dir = makeTempDir();
  const keyPath = join(dir, 'key.pem');
  openssl(['genpkey', '-algorithm', 'ED25519', '-out', keyPath]);
  return certificateForKey(dir, keyPath, options);
}

/** RSA certificate whose validity ended `daysAgo` days ago (it began a year before that). */
export function makeExpiredCertificate(daysAgo = 1, options: CertificateOptions = {}): TestCertificate {
  const notAfter = new Date(Date.now() - daysAgo * 86_400_000);
  return makeRsaCertificate({ ...options, notBefore: new Date(notAfter.getTime() - 365 * 86_400_000), notAfter });
}

/** RSA certificate whose validity starts `daysAhead` days from now. */
export function makeNotYetValidCertificate(daysAhead = 1, options: CertificateOptions = {}): TestCertificate {
  const notBefore = new Date(Date.now() + daysAhead * 86_400_000);
  return makeRsaCertificate({ ...options, notBefore, notAfter: new Date(notBefore.getTime() + 365 * 86_400_000) });
}

function certificateForKey(dir: string, keyPath: string, options: Omit<CertificateOptions, 'bits'>): TestCertificate {
  const certPath = join(dir, 'cert.pem');
  const subject = `/CN=${(options.cn ?? 'Test MDM').replace(/[/\\]/g, '\\$&')}`;
  if (options.notBefore || options.notAfter) {
    const notBefore = options.notBefore ?? new Date();
    const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 365 * 86_400_000);
    selfSignWithDates(dir, keyPath, certPath, subject, notBefore, notAfter);
  } else {
    openssl(['req', '-x509', '-new', '-key', keyPath, '-subj', subject, '-days', String(options.days ?? 365), '-sha256', '-out', certPath]);
  }
  const certPem = readFileSync(certPath, 'utf8');
  return {
    keyPem: readFileSync(keyPath, 'utf8'),
    certPem,
    certDer: openssl(['x509', '-in', certPath, '-outform', 'DER']),
    keyPath,
    certPath,
    dir,
  };
}

/** openssl 3.0 `req -x509` cannot set past dates; `ca -selfsign` takes explicit start and end dates. */
function selfSignWithDates(dir: string, keyPath: string, certPath: string, subject: string, notBefore: Date, notAfter: Date): void {
  const config = join(dir, 'ca.cnf');
  writeFileSync(
    config,
    [
      '[ ca ]',
      'default_ca = test_ca',
      '[ test_ca ]',
      `database = ${join(dir, 'index.txt')}`,
      `new_certs_dir = ${dir}`,
      `serial = ${join(dir, 'serial')}`,
      'default_md = sha256',
      'policy = test_policy',
      'unique_subject = no',
      'email_in_dn = no',
      '[ test_policy ]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), `01${randomBytes(8).toString('hex')}\n`); // random, positive
  const csrPath = join(dir, 'req.csr');
  openssl(['req', '-new', '-key', keyPath, '-subj', subject, '-out', csrPath]);
  openssl([
    'ca', '-batch', '-config', config, '-selfsign', '-keyfile', keyPath, '-in', csrPath, '-out', certPath, '-notext',
    '-startdate', opensslDate(notBefore), '-enddate', opensslDate(notAfter),
  ]);
}

function opensslDate(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** SHA-256 fingerprint as openssl prints it, normalised to lowercase hex without colons. */
export function opensslFingerprintSha256(certPath: string): string {
  const out = openssl(['x509', '-in', certPath, '-noout', '-fingerprint', '-sha256']).toString('utf8');
  const value = out.trim().split('=').pop() ?? '';
  return value.replace(/:/g, '').toLowerCase();
}

/** Writes the .p7m to a temp file and decrypts it with `openssl smime -decrypt`; returns stdout. */
export function decryptP7mWithOpenssl(p7m: Buffer, keyPath: string, recipientCertPath?: string): string {
  const dir = makeTempDir('dms-p7m-');
  const inPath = join(dir, 'token.p7m');
  writeFileSync(inPath, p7m);
  const args = ['smime', '-decrypt', '-inkey', keyPath, '-in', inPath];
  if (recipientCertPath) args.push('-recip', recipientCertPath); // forces the issuer-and-serial match
  return openssl(args).toString('utf8');
}

/** `openssl cms -cmsout -print` of the S/MIME message. */
export function printCmsWithOpenssl(p7m: Buffer): string {
  return openssl(['cms', '-cmsout', '-print', '-inform', 'SMIME'], p7m).toString('utf8');
}

/** `openssl asn1parse` of the DER ContentInfo inside the S/MIME message. */
export function asn1parseP7m(p7m: Buffer): string {
  const pem = openssl(['smime', '-pk7out'], p7m);
  return openssl(['asn1parse'], pem).toString('utf8');
}
