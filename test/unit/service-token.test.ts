import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePublicKeyCertificate } from '../../domain/certificate';
import { DomainError } from '../../domain/errors';
import {
  buildServiceTokenP7m,
  generateServiceTokenSecrets,
  serviceTokenFileName,
  tokenMessageJson,
  readTokenMessage,
  tokenPlaintext,
  type ServiceTokenSecrets,
} from '../../domain/service-token';
import {
  asn1parseP7m,
  cleanupTestCertificates,
  decryptP7mWithOpenssl,
  makeEcCertificate,
  makeRsaCertificate,
  openssl,
  printCmsWithOpenssl,
  type TestCertificate,
} from '../support/certificates';

let rsa: TestCertificate;
let secrets: ServiceTokenSecrets;

beforeAll(() => {
  rsa = makeRsaCertificate({ cn: 'Acme MDM, Inc.' });
  secrets = generateServiceTokenSecrets(new Date('2027-11-28T09:30:00.789Z'));
});
afterAll(() => cleanupTestCertificates());

const TOKEN_KEYS = ['consumer_key', 'consumer_secret', 'access_token', 'access_secret', 'access_token_expiry'];

describe('generateServiceTokenSecrets', () => {
  it('makes Apple-shaped random values', () => {
    expect(secrets.consumerKey).toMatch(/^CK_[0-9a-f]{128}$/);
    expect(secrets.consumerSecret).toMatch(/^CS_[0-9a-f]{128}$/);
    expect(secrets.accessToken).toMatch(/^AT_[0-9a-f]{128}$/);
    expect(secrets.accessSecret).toMatch(/^AS_[0-9a-f]{128}$/);
    const other = generateServiceTokenSecrets(new Date());
    expect(other.consumerKey).not.toBe(secrets.consumerKey);
    expect(new Set([secrets.consumerKey, secrets.consumerSecret, secrets.accessToken, secrets.accessSecret].map((v) => v.slice(3))).size).toBe(4);
  });

  it('truncates the expiry to whole seconds', () => {
    expect(secrets.accessTokenExpiry.toISOString()).toBe('2027-11-28T09:30:00.000Z');
  });

  it('refuses an invalid date', () => {
    expect(() => generateServiceTokenSecrets(new Date('nope'))).toThrow(RangeError);
  });
});

describe('tokenMessageJson', () => {
  it('has exactly the five keys, in order, and an RFC 3339 UTC expiry without fraction', () => {
    const json = tokenMessageJson(secrets);
    expect(json).not.toContain('\n');
    const parsed = JSON.parse(json) as Record<string, string>;
    expect(Object.keys(parsed)).toEqual(TOKEN_KEYS);
    expect(parsed).toEqual({
      consumer_key: secrets.consumerKey,
      consumer_secret: secrets.consumerSecret,
      access_token: secrets.accessToken,
      access_secret: secrets.accessSecret,
      access_token_expiry: '2027-11-28T09:30:00Z',
    });
  });
});

describe('buildServiceTokenP7m', () => {
  let p7m: Buffer;
  beforeAll(() => {
    p7m = buildServiceTokenP7m(rsa.certDer, secrets);
  });

  it('is an S/MIME message with the headers of Apple token files', () => {
    const text = p7m.toString('latin1');
    const [head, body] = text.split('\r\n\r\n');
    expect(head).toBe(
      [
        'Content-Type: application/pkcs7-mime; name="smime.p7m"; smime-type=enveloped-data',
        'Content-Transfer-Encoding: base64',
        'Content-Disposition: attachment; filename="smime.p7m"',
        'Content-Description: S/MIME Encrypted Message',
      ].join('\r\n'),
    );
    expect(body).toBeDefined();
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/); // CRLF only
    const lines = (body ?? '').split('\r\n');
    expect(lines.pop()).toBe(''); // ends with CRLF
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^[A-Za-z0-9+/]{76}$/);
    expect(lines.at(-1)).toMatch(/^[A-Za-z0-9+/]{1,76}={0,2}$/);
  });

  it('decrypts with openssl smime -decrypt to the MESSAGE-wrapped JSON', () => {
    const plaintext = decryptP7mWithOpenssl(p7m, rsa.keyPath);
    expect(plaintext).toBe(tokenPlaintext(secrets));
    expect(plaintext).toBe(
      'Content-Type: text/plain;charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n' +
        `-----BEGIN MESSAGE-----\r\n${tokenMessageJson(secrets)}\r\n-----END MESSAGE-----\r\n`,
    );
    const json = /-----BEGIN MESSAGE-----\r\n(.*)\r\n-----END MESSAGE-----/.exec(plaintext)?.[1] ?? '';
    const parsed = JSON.parse(json) as Record<string, string>;
    expect(Object.keys(parsed).sort()).toEqual([...TOKEN_KEYS].sort());
    expect(parsed.access_token_expiry).toBe('2027-11-28T09:30:00Z');
    expect(parsed.consumer_key).toBe(secrets.consumerKey);
  });

  it('readTokenMessage reads back exactly the five values (LF line endings too) and refuses text without a MESSAGE block', () => {
    const expected = {
      consumer_key: secrets.consumerKey,
      consumer_secret: secrets.consumerSecret,
      access_token: secrets.accessToken,
      access_secret: secrets.accessSecret,
      access_token_expiry: '2027-11-28T09:30:00Z',
    };
    expect(readTokenMessage(decryptP7mWithOpenssl(p7m, rsa.keyPath))).toEqual(expected);
    expect(readTokenMessage(tokenPlaintext(secrets).replace(/\r\n/g, '\n'))).toEqual(expected);
    expect(() => readTokenMessage('Content-Type: text/plain\r\n\r\nhello')).toThrow(/no MESSAGE block/);
  });

  it('names the recipient by issuer and serial number exactly (openssl -recip matches it)', () => {
    expect(decryptP7mWithOpenssl(p7m, rsa.keyPath, rsa.certPath)).toBe(tokenPlaintext(secrets));
    const other = makeRsaCertificate({ cn: 'Acme MDM, Inc.' });
    expect(() => decryptP7mWithOpenssl(p7m, other.keyPath, other.certPath)).toThrow();
  });

  it('decrypts with openssl cms -decrypt too', () => {
    const out = openssl(['cms', '-decrypt', '-inform', 'SMIME', '-inkey', rsa.keyPath, '-recip', rsa.certPath], p7m);
    expect(out.toString('utf8')).toBe(tokenPlaintext(secrets));
  });

  it('uses RSA PKCS#1 v1.5 key transport and AES-128-CBC, as Apple does', () => {
    const printed = printCmsWithOpenssl(p7m);
    const serial = openssl(['x509', '-in', rsa.certPath, '-noout', '-serial']).toString('utf8').trim().split('=')[1] ?? '';
    expect(printed).toMatch(/contentType: pkcs7-envelopedData \(1\.2\.840\.113549\.1\.7\.3\)/);
    expect(printed).toMatch(/d\.envelopedData: \n\s+version: 0/);
    expect(printed).toMatch(/d\.ktri: \n\s+version: 0\n\s+d\.issuerAndSerialNumber:/);
    // Compare as numbers: openssl prints the serial with or without leading zeros depending on its length.
    const printedSerial = /serialNumber: (?:0x)?([0-9A-Fa-f]+)/.exec(printed)?.[1] ?? '';
    expect(BigInt(`0x${printedSerial}`)).toBe(BigInt(`0x${serial}`));
    expect(printed).toMatch(/algorithm: rsaEncryption \(1\.2\.840\.113549\.1\.1\.1\)\n\s+parameter: NULL/);
    expect(printed).toMatch(/contentType: pkcs7-data \(1\.2\.840\.113549\.1\.7\.1\)/);
    expect(printed).toMatch(/algorithm: aes-128-cbc \(2\.16\.840\.1\.101\.3\.4\.1\.2\)\n\s+parameter: OCTET STRING:/);
    expect(printed).toMatch(/unprotectedAttrs:\s*\n\s*<ABSENT>|unprotectedAttrs: <ABSENT>/);
    expect(printed).toMatch(/originatorInfo: <ABSENT>/);
  });

  it('is DER: definite lengths, primitive encryptedContent, 256-byte encryptedKey, 16-byte IV', () => {
    const parsed = asn1parseP7m(p7m);
    expect(parsed).not.toContain('l=inf');
    expect(parsed).toMatch(/prim: OBJECT\s+:rsaEncryption\n.*prim: NULL\s*\n.*l= 256 prim: OCTET STRING/);
    expect(parsed).toMatch(/prim: OBJECT\s+:aes-128-cbc\n.*l= {2}16 prim: OCTET STRING/);
    expect(parsed).toMatch(/prim: cont \[ 0 \]/);
  });

  it('uses a fresh content key and IV for every token', () => {
    const again = buildServiceTokenP7m(rsa.certDer, secrets);
    expect(again.equals(p7m)).toBe(false);
    expect(decryptP7mWithOpenssl(again, rsa.keyPath)).toBe(tokenPlaintext(secrets));
  });

  it('works for larger keys and for the DER parsePublicKeyCertificate returns', () => {
    const big = makeRsaCertificate({ bits: 4096 });
    const parsed = parsePublicKeyCertificate(Buffer.from(big.certPem), new Date());
    const token = buildServiceTokenP7m(parsed.der, secrets);
    expect(decryptP7mWithOpenssl(token, big.keyPath, big.certPath)).toBe(tokenPlaintext(secrets));
    expect(asn1parseP7m(token)).toMatch(/l= 512 prim: OCTET STRING/);
  });

  it('refuses certificates that cannot take a token with a DomainError', () => {
    const ec = makeEcCertificate();
    expect(() => buildServiceTokenP7m(ec.certDer, secrets)).toThrow(DomainError);
    try {
      buildServiceTokenP7m(ec.certDer, secrets);
    } catch (error) {
      expect((error as DomainError).code).toBe('CERTIFICATE_KEY_UNSUPPORTED');
    }
    expect(() => buildServiceTokenP7m(Buffer.from('not a certificate'), secrets)).toThrow(DomainError);
    expect(() => buildServiceTokenP7m(rsa.certDer.subarray(0, 200), secrets)).toThrow(DomainError);
  });
});

describe('serviceTokenFileName', () => {
  it('names the file like Apple: <name>_Token_<UTC time with dashes>_smime.p7m', () => {
    expect(serviceTokenFileName('Acme MDM', new Date('2026-11-28T09:30:00.456Z'))).toBe('Acme MDM_Token_2026-11-28T09-30-00Z_smime.p7m');
  });

  it('replaces characters unsafe in file names', () => {
    expect(serviceTokenFileName('a/b\\c:d*e?f"g<h>i|j', new Date('2026-01-02T03:04:05Z'))).toBe(
      'a_b_c_d_e_f_g_h_i_j_Token_2026-01-02T03-04-05Z_smime.p7m',
    );
    expect(serviceTokenFileName('tab\there\nnew\u007fdel', new Date('2026-01-02T03:04:05Z'))).toBe(
      'tab_here_new_del_Token_2026-01-02T03-04-05Z_smime.p7m',
    );
    expect(serviceTokenFileName('Gerät Ünïcødé', new Date('2026-01-02T03:04:05Z'))).toBe('Gerät Ünïcødé_Token_2026-01-02T03-04-05Z_smime.p7m');
  });
});
