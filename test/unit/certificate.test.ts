import { createPrivateKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateToPem, parsePublicKeyCertificate } from '../../domain/certificate';
import { DomainError, type ErrorCode } from '../../domain/errors';
import {
  cleanupTestCertificates,
  makeEcCertificate,
  makeEd25519Certificate,
  makeExpiredCertificate,
  makeNotYetValidCertificate,
  makeRsaCertificate,
  openssl,
  opensslFingerprintSha256,
  type TestCertificate,
} from '../support/certificates';

let rsa: TestCertificate;
let rsa2: TestCertificate;

beforeAll(() => {
  rsa = makeRsaCertificate({ cn: 'Acme MDM', days: 30 });
  rsa2 = makeRsaCertificate({ cn: 'Other MDM' });
});
afterAll(() => cleanupTestCertificates());

const now = (): Date => new Date();

function refusal(bytes: Buffer, at: Date = now()): DomainError {
  try {
    parsePublicKeyCertificate(bytes, at);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw new Error(`expected a DomainError, got ${String(error)}`);
  }
  throw new Error('expected the certificate to be refused');
}

function expectRefused(bytes: Buffer, code: ErrorCode, at?: Date): DomainError {
  const error = refusal(bytes, at);
  expect(error.code).toBe(code);
  expect(error.detail).toMatch(/^[A-Z].*\.$/); // a sentence
  return error;
}

function opensslDate(certPath: string, which: 'startdate' | 'enddate'): Date {
  const out = openssl(['x509', '-in', certPath, '-noout', `-${which}`]).toString('utf8');
  return new Date(out.trim().split('=')[1] ?? '');
}

describe('parsePublicKeyCertificate: accepted', () => {
  it('reads a PEM certificate', () => {
    const parsed = parsePublicKeyCertificate(Buffer.from(rsa.certPem), now());
    expect(parsed.der.equals(rsa.certDer)).toBe(true);
    expect(parsed.keyBits).toBe(2048);
    expect(parsed.subject).toBe('CN=Acme MDM');
    expect(parsed.issuer).toBe('CN=Acme MDM');
    expect(parsed.notBefore.getTime()).toBe(opensslDate(rsa.certPath, 'startdate').getTime());
    expect(parsed.notAfter.getTime()).toBe(opensslDate(rsa.certPath, 'enddate').getTime());
    const serial = openssl(['x509', '-in', rsa.certPath, '-noout', '-serial']).toString('utf8').trim().split('=')[1];
    expect(parsed.serialNumberHex).toBe(serial?.toLowerCase());
  });

  it('reads the same certificate as DER', () => {
    const fromPem = parsePublicKeyCertificate(Buffer.from(rsa.certPem), now());
    const fromDer = parsePublicKeyCertificate(rsa.certDer, now());
    expect(fromDer).toEqual(fromPem);
  });

  it('has the fingerprint openssl x509 -fingerprint -sha256 prints', () => {
    const parsed = parsePublicKeyCertificate(rsa.certDer, now());
    expect(parsed.fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(parsed.fingerprintSha256).toBe(opensslFingerprintSha256(rsa.certPath));
  });

  it('accepts CRLF PEM with text around the block (as exported by keychains and openssl pkcs12)', () => {
    const pem = `Bag Attributes\r\n    friendlyName: Acme MDM\r\nsubject=CN = Acme MDM\r\n${rsa.certPem.replace(/\n/g, '\r\n')}\r\n`;
    expect(parsePublicKeyCertificate(Buffer.from(pem), now()).der.equals(rsa.certDer)).toBe(true);
  });

  it('accepts a PEM block that also carries a public key block', () => {
    const publicKey = openssl(['pkey', '-in', rsa.keyPath, '-pubout']).toString('utf8');
    expect(parsePublicKeyCertificate(Buffer.from(publicKey + rsa.certPem), now()).keyBits).toBe(2048);
  });

  it('accepts RSA keys larger than 2048 bits', () => {
    const big = makeRsaCertificate({ bits: 3072 });
    expect(parsePublicKeyCertificate(big.certDer, now()).keyBits).toBe(3072);
  });

  it('does not keep a view of the caller buffer', () => {
    const input = Buffer.from(rsa.certDer);
    const parsed = parsePublicKeyCertificate(input, now());
    input.fill(0);
    expect(parsed.der.equals(rsa.certDer)).toBe(true);
  });

  it('certificateToPem produces PEM openssl reads back to the same DER', () => {
    const pem = certificateToPem(rsa.certDer);
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/);
    expect(openssl(['x509', '-outform', 'DER'], pem).equals(rsa.certDer)).toBe(true);
    expect(parsePublicKeyCertificate(Buffer.from(pem), now()).der.equals(rsa.certDer)).toBe(true);
  });
});

describe('parsePublicKeyCertificate: unreadable', () => {
  it('refuses random bytes', () => {
    expectRefused(randomBytes(512), 'CERTIFICATE_UNREADABLE');
    expectRefused(Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), randomBytes(256)]), 'CERTIFICATE_UNREADABLE');
  });

  it('refuses empty input and plain text', () => {
    expectRefused(Buffer.alloc(0), 'CERTIFICATE_UNREADABLE');
    expectRefused(Buffer.from('hello, this is not a certificate\n'), 'CERTIFICATE_UNREADABLE');
  });

  it('refuses truncated DER', () => {
    expectRefused(rsa.certDer.subarray(0, rsa.certDer.length - 1), 'CERTIFICATE_UNREADABLE');
    expectRefused(rsa.certDer.subarray(0, 100), 'CERTIFICATE_UNREADABLE');
    expectRefused(rsa.certDer.subarray(0, 1), 'CERTIFICATE_UNREADABLE');
  });

  it('refuses DER with trailing garbage', () => {
    const error = expectRefused(Buffer.concat([rsa.certDer, Buffer.from('trailing')]), 'CERTIFICATE_UNREADABLE');
    expect(error.detail).toMatch(/extra data/);
  });

  it('refuses PEM whose body is corrupted, truncated or unterminated', () => {
    const lines = rsa.certPem.trim().split('\n');
    const corrupted = [...lines];
    corrupted[3] = corrupted[3]!.replace(/^./, '*');
    expectRefused(Buffer.from(corrupted.join('\n')), 'CERTIFICATE_UNREADABLE');
    const truncated = [...lines.slice(0, 5), lines[lines.length - 1]!];
    expectRefused(Buffer.from(truncated.join('\n')), 'CERTIFICATE_UNREADABLE');
    expectRefused(Buffer.from(lines.slice(0, -1).join('\n')), 'CERTIFICATE_UNREADABLE');
  });

  it('refuses a CSR, a bare public key and a PEM without a certificate, saying what it is', () => {
    const csr = openssl(['req', '-new', '-key', rsa.keyPath, '-subj', '/CN=x']);
    expect(expectRefused(csr, 'CERTIFICATE_UNREADABLE').detail).toMatch(/signing request/);
    const publicKey = openssl(['pkey', '-in', rsa.keyPath, '-pubout']);
    expect(expectRefused(publicKey, 'CERTIFICATE_UNREADABLE').detail).toMatch(/public key/);
    expectRefused(Buffer.from('-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n'), 'CERTIFICATE_UNREADABLE');
  });

  it('refuses a PKCS#7 bundle', () => {
    const p7 = openssl(['crl2pkcs7', '-nocrl', '-certfile', rsa.certPath, '-outform', 'DER']);
    expect(expectRefused(p7, 'CERTIFICATE_UNREADABLE').detail).toMatch(/PKCS#7/);
  });

  it('never echoes the uploaded bytes in the detail', () => {
    const marker = 'SECRETMARKERxyz';
    const inputs = [
      Buffer.from(`-----BEGIN CERTIFICATE-----\n${marker}\n-----END CERTIFICATE-----\n`),
      Buffer.from(`-----BEGIN ${marker}-----\nAAAA\n-----END ${marker}-----\n`),
      Buffer.from(marker),
    ];
    for (const input of inputs) {
      const error = refusal(input);
      expect(error.detail).not.toContain(marker);
      expect(error.message).not.toContain(marker);
    }
  });
});

describe('parsePublicKeyCertificate: multiple certificates', () => {
  it('refuses a PEM with two certificates', () => {
    const error = expectRefused(Buffer.from(rsa.certPem + rsa2.certPem), 'CERTIFICATE_MULTIPLE');
    expect(error.detail).toContain('2 certificates');
  });

  it('refuses the same certificate twice', () => {
    expectRefused(Buffer.from(rsa.certPem + rsa.certPem), 'CERTIFICATE_MULTIPLE');
  });
});

describe('parsePublicKeyCertificate: private keys', () => {
  const keyPem = (): string => rsa.keyPem;

  it('refuses certificate + PKCS#8 key PEM, in either order', () => {
    expectRefused(Buffer.from(rsa.certPem + keyPem()), 'CERTIFICATE_CONTAINS_PRIVATE_KEY');
    expectRefused(Buffer.from(keyPem() + rsa.certPem), 'CERTIFICATE_CONTAINS_PRIVATE_KEY');
  });

  it('refuses traditional RSA, EC and encrypted private key PEM', () => {
    const traditional = openssl(['pkey', '-in', rsa.keyPath, '-traditional']).toString('utf8');
    expect(traditional).toContain('BEGIN RSA PRIVATE KEY');
    expectRefused(Buffer.from(rsa.certPem + traditional), 'CERTIFICATE_CONTAINS_PRIVATE_KEY');

    const ec = makeEcCertificate();
    const ecTraditional = openssl(['ec', '-in', ec.keyPath]).toString('utf8');
    expect(ecTraditional).toContain('BEGIN EC PRIVATE KEY');
    expectRefused(Buffer.from(ecTraditional + ec.certPem), 'CERTIFICATE_CONTAINS_PRIVATE_KEY');

    const encrypted = openssl(['pkcs8', '-topk8', '-in', rsa.keyPath, '-v2', 'aes-128-cbc', '-passout', 'pass:secret']).toString('utf8');
    expect(encrypted).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    expectRefused(Buffer.from(rsa.certPem + encrypted), 'CERTIFICATE_CONTAINS_PRIVATE_KEY');
    expectRefused(Buffer.from(encrypted), 'CERTIFICATE_CONTAINS_PRIVATE_KEY');
  });

  it('refuses a lone private key PEM', () => {
    expectRefused(Buffer.from(keyPem()), 'CERTIFICATE_CONTAINS_PRIVATE_KEY');
  });

  it('refuses DER private keys (PKCS#8, PKCS#1, encrypted PKCS#8) and PKCS#12', () => {
    const key = createPrivateKey(keyPem());
    expectRefused(key.export({ format: 'der', type: 'pkcs8' }), 'CERTIFICATE_CONTAINS_PRIVATE_KEY');
    expectRefused(key.export({ format: 'der', type: 'pkcs1' }), 'CERTIFICATE_CONTAINS_PRIVATE_KEY');
    const encrypted = key.export({ format: 'der', type: 'pkcs8', cipher: 'aes-128-cbc', passphrase: 'secret' });
    expectRefused(encrypted, 'CERTIFICATE_CONTAINS_PRIVATE_KEY');
    const p12 = openssl(['pkcs12', '-export', '-in', rsa.certPath, '-inkey', rsa.keyPath, '-passout', 'pass:secret']);
    expectRefused(p12, 'CERTIFICATE_CONTAINS_PRIVATE_KEY');
  });

  it('never echoes the key in the detail', () => {
    const error = refusal(Buffer.from(rsa.certPem + keyPem()));
    const keyBody = keyPem().split('\n')[1] ?? '';
    expect(keyBody.length).toBeGreaterThan(10);
    expect(error.detail).not.toContain(keyBody);
    expect(error.detail).not.toContain('BEGIN');
  });
});

describe('parsePublicKeyCertificate: keys', () => {
  it('refuses RSA-1024 naming the size found and 2048', () => {
    const small = makeRsaCertificate({ bits: 1024 });
    const error = expectRefused(small.certDer, 'CERTIFICATE_KEY_TOO_SMALL');
    expect(error.detail).toContain('1024');
    expect(error.detail).toContain('2048');
  });

  it('refuses EC keys: not supported yet, RSA >= 2048 required', () => {
    const ec = makeEcCertificate();
    const error = expectRefused(Buffer.from(ec.certPem), 'CERTIFICATE_KEY_UNSUPPORTED');
    expect(error.detail).toMatch(/EC/);
    expect(error.detail).toMatch(/not supported yet/);
    expect(error.detail).toMatch(/RSA/);
    expect(error.detail).toContain('2048');
  });

  it('refuses Ed25519 keys', () => {
    const ed = makeEd25519Certificate();
    expect(expectRefused(ed.certDer, 'CERTIFICATE_KEY_UNSUPPORTED').detail).toContain('2048');
  });
});

describe('parsePublicKeyCertificate: validity', () => {
  it('refuses an expired certificate', () => {
    const expired = makeExpiredCertificate(2);
    const error = expectRefused(Buffer.from(expired.certPem), 'CERTIFICATE_EXPIRED');
    expect(error.detail).toMatch(/expired on \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/);
  });

  it('refuses a not-yet-valid certificate', () => {
    const future = makeNotYetValidCertificate(2);
    const error = expectRefused(future.certDer, 'CERTIFICATE_NOT_YET_VALID');
    expect(error.detail).toMatch(/not valid before \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/);
  });

  it('judges validity at the given time, inclusive at both ends', () => {
    const parsed = parsePublicKeyCertificate(rsa.certDer, now());
    expect(parsePublicKeyCertificate(rsa.certDer, parsed.notAfter).notAfter).toEqual(parsed.notAfter);
    expect(parsePublicKeyCertificate(rsa.certDer, parsed.notBefore).notBefore).toEqual(parsed.notBefore);
    expectRefused(rsa.certDer, 'CERTIFICATE_EXPIRED', new Date(parsed.notAfter.getTime() + 1000));
    expectRefused(rsa.certDer, 'CERTIFICATE_NOT_YET_VALID', new Date(parsed.notBefore.getTime() - 1000));
  });

  it('reads GeneralizedTime dates (2050 and later)', () => {
    const notBefore = new Date('2049-06-01T00:00:00Z');
    const notAfter = new Date('2051-06-01T12:34:56Z');
    const late = makeRsaCertificate({ notBefore, notAfter });
    const parsed = parsePublicKeyCertificate(late.certDer, new Date('2050-01-01T00:00:00Z'));
    expect(parsed.notBefore).toEqual(notBefore);
    expect(parsed.notAfter).toEqual(notAfter);
  });
});

describe('parsePublicKeyCertificate: hostile input', () => {
  it('throws only DomainError for arbitrary bytes and mutated certificates', () => {
    const check = (bytes: Uint8Array): void => {
      try {
        parsePublicKeyCertificate(Buffer.from(bytes), now());
      } catch (error) {
        expect(error).toBeInstanceOf(DomainError);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), check), { numRuns: 300 });
    fc.assert(
      fc.property(fc.nat(rsa.certDer.length - 1), fc.integer({ min: 0, max: 255 }), (index, value) => {
        const mutated = Buffer.from(rsa.certDer);
        mutated[index] = value;
        check(mutated);
        check(Buffer.from(certificateToPem(mutated)));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.nat(rsa.certDer.length), (length) => check(rsa.certDer.subarray(0, length))),
      { numRuns: 100 },
    );
  });

  it('does not hang or crash on deep nesting, huge lengths or 1 MB of data', () => {
    const started = Date.now();
    const deep = Buffer.alloc(1024 * 1024);
    for (let i = 0; i + 1 < deep.length; i += 2) {
      deep[i] = 0x30;
      deep[i + 1] = 0x80; // indefinite-length SEQUENCE, nested all the way down
    }
    expectRefused(deep, 'CERTIFICATE_UNREADABLE');
    // 100 000 definite-length SEQUENCEs nested inside each other.
    const parts: Buffer[] = [];
    let length = 0;
    for (let level = 0; level < 100_000; level++) {
      const header = length < 0x80 ? Buffer.from([0x30, length]) : Buffer.from([0x30, 0x83, length >> 16, (length >> 8) & 0xff, length & 0xff]);
      parts.push(header);
      length += header.length;
    }
    expectRefused(Buffer.concat(parts.reverse()), 'CERTIFICATE_UNREADABLE');
    expectRefused(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30]), 'CERTIFICATE_UNREADABLE');
    expectRefused(randomBytes(1024 * 1024), 'CERTIFICATE_UNREADABLE');
    expectRefused(Buffer.from('-----BEGIN '.repeat(95_000)), 'CERTIFICATE_UNREADABLE');
    expectRefused(Buffer.from(`-----BEGIN CERTIFICATE-----\n${'A'.repeat(1024 * 1024)}\n-----END CERTIFICATE-----\n`), 'CERTIFICATE_UNREADABLE');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
