/**
 * Public key certificates uploaded for an MDM server: one X.509 certificate, PEM or DER, holding an
 * RSA key of at least 2048 bits that is valid now. Everything else is refused with a DomainError
 * whose detail is a plain sentence that never repeats the uploaded bytes.
 */
import { X509Certificate, constants, createHash, publicEncrypt, type KeyObject } from 'node:crypto';
import { DomainError } from './errors';

export interface ParsedCertificate {
  /** The certificate's DER encoding, exactly as uploaded (after PEM decoding). */
  der: Buffer;
  /** SHA-256 of the DER, lowercase hex without colons. */
  fingerprintSha256: string;
  /** Distinguished names, one line, attributes in certificate order, e.g. `C=US, O=Acme, CN=Acme MDM`. */
  subject: string;
  issuer: string;
  /** Serial number as lowercase hex. */
  serialNumberHex: string;
  notBefore: Date;
  notAfter: Date;
  /** RSA modulus length in bits. */
  keyBits: number;
}

export const MIN_RSA_KEY_BITS = 2048;
/** OpenSSL refuses RSA public operations on larger moduli, so such a key could never carry a token. */
const MAX_RSA_KEY_BITS = 16384;

const UNREADABLE_GENERIC = 'The file could not be read as an X.509 certificate; upload one certificate as PEM or DER.';

/**
 * Parses and checks an uploaded public key certificate. `now` decides expiry. Throws only
 * DomainError (CERTIFICATE_*), whatever the input.
 */
export function parsePublicKeyCertificate(bytes: Buffer, now: Date): ParsedCertificate {
  try {
    return parse(bytes, now);
  } catch (error) {
    if (error instanceof DomainError) throw error;
    // Library errors (and stack overflows on hostile nesting) say nothing useful and may quote input.
    throw new DomainError('CERTIFICATE_UNREADABLE', UNREADABLE_GENERIC);
  }
}

/** PEM text for a DER certificate (64-character base64 lines, LF line endings). */
export function certificateToPem(der: Buffer): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

// ---------------------------------------------------------------------------------------------
// Parsing

function parse(bytes: Buffer, now: Date): ParsedCertificate {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
    throw new DomainError('CERTIFICATE_UNREADABLE', 'The file is empty; upload one certificate as PEM or DER.');
  }
  const view: Uint8Array = bytes; // callers may hand over a plain Uint8Array despite the type
  const input = Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  const der = input.includes('-----BEGIN') ? derFromPem(input.toString('latin1')) : input;
  const fields = classifyDer(der);

  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch {
    throw new DomainError('CERTIFICATE_UNREADABLE', 'The certificate is not a well-formed X.509 certificate.');
  }

  const keyBits = checkPublicKey(x509);
  const notBefore = readTime(der, fields.notBefore) ?? dateOrUndefined(x509.validFrom);
  const notAfter = readTime(der, fields.notAfter) ?? dateOrUndefined(x509.validTo);
  if (!notBefore || !notAfter) {
    throw new DomainError('CERTIFICATE_UNREADABLE', 'The certificate has an unreadable validity period.');
  }
  if (now.getTime() > notAfter.getTime()) {
    throw new DomainError('CERTIFICATE_EXPIRED', `The certificate expired on ${rfc3339(notAfter)}; upload a current certificate.`);
  }
  if (now.getTime() < notBefore.getTime()) {
    throw new DomainError(
      'CERTIFICATE_NOT_YET_VALID',
      `The certificate is not valid before ${rfc3339(notBefore)}; upload a certificate that is valid now.`,
    );
  }

  const ownDer = Buffer.from(der); // never keep a view into the caller's (possibly larger) buffer
  return {
    der: ownDer,
    fingerprintSha256: createHash('sha256').update(ownDer).digest('hex'),
    subject: oneLineName(x509.subject),
    issuer: oneLineName(x509.issuer),
    serialNumberHex: x509.serialNumber.toLowerCase(),
    notBefore,
    notAfter,
    keyBits,
  };
}

function checkPublicKey(x509: X509Certificate): number {
  let key: KeyObject;
  try {
    key = x509.publicKey;
  } catch {
    throw new DomainError(
      'CERTIFICATE_KEY_UNSUPPORTED',
      `The certificate's public key algorithm is not supported; an RSA key of at least ${MIN_RSA_KEY_BITS} bits is required.`,
    );
  }
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    throw new DomainError(
      'CERTIFICATE_KEY_UNSUPPORTED',
      `The certificate holds an EC (elliptic curve) key. EC keys are not supported yet; an RSA key of at least ${MIN_RSA_KEY_BITS} bits is required.`,
    );
  }
  if (type !== 'rsa') {
    const name = type === 'rsa-pss' ? 'an RSA-PSS' : type ? `an ${type.toUpperCase()}` : 'an unknown';
    throw new DomainError(
      'CERTIFICATE_KEY_UNSUPPORTED',
      `The certificate holds ${name} key, which cannot encrypt a service token; an RSA (rsaEncryption) key of at least ${MIN_RSA_KEY_BITS} bits is required.`,
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) {
    throw new DomainError('CERTIFICATE_KEY_UNSUPPORTED', "The certificate's RSA key could not be read.");
  }
  if (bits < MIN_RSA_KEY_BITS) {
    throw new DomainError(
      'CERTIFICATE_KEY_TOO_SMALL',
      `The certificate holds a ${bits}-bit RSA key; at least ${MIN_RSA_KEY_BITS} bits are required.`,
    );
  }
  if (bits > MAX_RSA_KEY_BITS) {
    throw new DomainError(
      'CERTIFICATE_KEY_UNSUPPORTED',
      `The certificate holds a ${bits}-bit RSA key; keys larger than ${MAX_RSA_KEY_BITS} bits are not supported.`,
    );
  }
  try {
    // Proves the key can do exactly what a token download will do with it.
    publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.alloc(16));
  } catch {
    throw new DomainError('CERTIFICATE_KEY_UNSUPPORTED', "The certificate's RSA key cannot be used for encryption.");
  }
  return bits;
}

// ---------------------------------------------------------------------------------------------
// PEM

const PEM_BEGIN = '-----BEGIN ';
const PEM_DASHES = '-----';
const MAX_LABEL = 64;
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);

interface PemBlock {
  label: string;
  /** Index just after the BEGIN line's closing dashes. */
  bodyStart: number;
}

function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let index = text.indexOf(PEM_BEGIN);
  while (index !== -1) {
    const labelStart = index + PEM_BEGIN.length;
    const labelEnd = text.slice(labelStart, labelStart + MAX_LABEL + PEM_DASHES.length).indexOf(PEM_DASHES);
    if (labelEnd !== -1) {
      blocks.push({ label: text.slice(labelStart, labelStart + labelEnd).trim(), bodyStart: labelStart + labelEnd + PEM_DASHES.length });
    }
    index = text.indexOf(PEM_BEGIN, labelStart);
  }
  return blocks;
}

function derFromPem(text: string): Buffer {
  const blocks = pemBlocks(text);
  if (blocks.some((block) => block.label.includes('PRIVATE KEY'))) {
    throw containsPrivateKey();
  }
  const certificates = blocks.filter((block) => CERTIFICATE_LABELS.has(block.label));
  if (certificates.length > 1) {
    throw new DomainError(
      'CERTIFICATE_MULTIPLE',
      `The file contains ${certificates.length} certificates; upload exactly one, the MDM server's own public key certificate, without a chain.`,
    );
  }
  const block = certificates[0];
  if (!block) {
    throw new DomainError('CERTIFICATE_UNREADABLE', noCertificateDetail(blocks));
  }
  const endMarker = `-----END ${block.label}-----`;
  const bodyEnd = text.indexOf(endMarker, block.bodyStart);
  if (bodyEnd === -1) {
    throw new DomainError('CERTIFICATE_UNREADABLE', 'The PEM certificate block has no matching END line.');
  }
  const body = text.slice(block.bodyStart, bodyEnd).replace(/\s+/g, '');
  if (body.length === 0 || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
    throw new DomainError('CERTIFICATE_UNREADABLE', 'The PEM certificate block is not valid base64.');
  }
  const der = Buffer.from(body, 'base64');
  if (block.label === 'TRUSTED CERTIFICATE') {
    // OpenSSL's "trusted" form appends trust settings after the certificate; keep the certificate.
    const outer = readTlv(der, 0, der.length);
    return outer ? der.subarray(0, outer.end) : der;
  }
  return der;
}

function noCertificateDetail(blocks: PemBlock[]): string {
  const labels = new Set(blocks.map((block) => block.label));
  if (labels.has('CERTIFICATE REQUEST') || labels.has('NEW CERTIFICATE REQUEST')) {
    return 'The file is a certificate signing request, not a certificate; upload the certificate itself.';
  }
  if (labels.has('PUBLIC KEY') || labels.has('RSA PUBLIC KEY')) {
    return 'The file holds a bare public key, not a certificate; upload the X.509 certificate that contains it.';
  }
  if (labels.has('PKCS7')) {
    return 'The file is a PKCS#7 bundle; upload the single certificate as PEM or DER.';
  }
  return 'The file contains no PEM certificate block.';
}

function containsPrivateKey(): DomainError {
  return new DomainError(
    'CERTIFICATE_CONTAINS_PRIVATE_KEY',
    'The file contains a private key. Upload only the public key certificate and keep the private key on the MDM server.',
  );
}

// ---------------------------------------------------------------------------------------------
// DER: just enough structure reading to classify the input and find a few certificate fields.
// Lengths are bounded by the input, loops by the element count, so hostile input cannot hang it.

/** One DER element: tag byte, where it starts, where its value starts, where it ends. */
export interface DerElement {
  tag: number;
  start: number;
  valueStart: number;
  end: number;
}

const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OCTET_STRING = 0x04;
const TAG_OID = 0x06;
const TAG_UTC_TIME = 0x17;
const TAG_GENERALIZED_TIME = 0x18;
const TAG_SEQUENCE = 0x30;
const TAG_VERSION = 0xa0; // [0] EXPLICIT Version

/** Reads the element header at `offset`; undefined unless it is definite-length and fits in `limit`. */
export function readTlv(buf: Uint8Array, offset: number, limit: number): DerElement | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = buf[offset] ?? 0;
  if ((tag & 0x1f) === 0x1f) return undefined; // high tag numbers never occur where we look
  let pos = offset + 1;
  const first = buf[pos++] ?? 0;
  let length = first;
  if (first >= 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4 || pos + count > limit) return undefined; // indefinite (BER) or absurd
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buf[pos++] ?? 0);
  }
  const end = pos + length;
  if (end > limit) return undefined;
  return { tag, start: offset, valueStart: pos, end };
}

/** The first `max` children of a constructed element (fewer if it has fewer); undefined if malformed. */
function readChildren(buf: Uint8Array, parent: DerElement, max: number): DerElement[] | undefined {
  const out: DerElement[] = [];
  let offset = parent.valueStart;
  while (offset < parent.end && out.length < max) {
    const child = readTlv(buf, offset, parent.end);
    if (!child) return undefined;
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** Where the fields a service token and the checks need sit inside a certificate's DER. */
export interface CertificateFieldOffsets {
  serialNumber: DerElement;
  issuer: DerElement;
  notBefore: DerElement;
  notAfter: DerElement;
  subjectPublicKeyInfo: DerElement;
}

/** Locates certificate fields without a full parse; undefined unless `der` is one certificate. */
export function locateCertificateFields(der: Uint8Array): CertificateFieldOffsets | undefined {
  const outer = readTlv(der, 0, der.length);
  if (!outer || outer.tag !== TAG_SEQUENCE || outer.end !== der.length) return undefined;
  const [tbs, algorithm, signature] = readChildren(der, outer, 4) ?? [];
  if (tbs?.tag !== TAG_SEQUENCE || algorithm?.tag !== TAG_SEQUENCE || signature?.tag !== TAG_BIT_STRING) return undefined;
  const all = readChildren(der, tbs, 7);
  if (!all) return undefined;
  const fields = all[0]?.tag === TAG_VERSION ? all.slice(1) : all.slice(0, 6);
  const [serialNumber, , issuer, validity, , subjectPublicKeyInfo] = fields;
  if (
    serialNumber?.tag !== TAG_INTEGER ||
    issuer?.tag !== TAG_SEQUENCE ||
    validity?.tag !== TAG_SEQUENCE ||
    subjectPublicKeyInfo?.tag !== TAG_SEQUENCE
  ) {
    return undefined;
  }
  const [notBefore, notAfter] = readChildren(der, validity, 2) ?? [];
  if (!notBefore || !notAfter) return undefined;
  return { serialNumber, issuer, notBefore, notAfter, subjectPublicKeyInfo };
}

/** Classifies DER input: a certificate's field offsets, or the reason it is refused. */
function classifyDer(der: Buffer): CertificateFieldOffsets {
  const outer = readTlv(der, 0, der.length);
  if (!outer || outer.tag !== TAG_SEQUENCE) {
    throw new DomainError(
      'CERTIFICATE_UNREADABLE',
      der.length > 0 && der[0] === TAG_SEQUENCE
        ? 'The certificate data is truncated or is not valid DER.'
        : 'The file is neither a PEM certificate nor a DER-encoded X.509 certificate.',
    );
  }
  const children = readChildren(der, outer, 4);
  if (children) {
    const [first, second] = children;
    // PKCS#1 RSAPrivateKey, PKCS#8 PrivateKeyInfo, SEC1 ECPrivateKey and PKCS#12 all start with a version INTEGER.
    if (first?.tag === TAG_INTEGER) throw containsPrivateKey();
    // PKCS#8 EncryptedPrivateKeyInfo: SEQUENCE { AlgorithmIdentifier, OCTET STRING }.
    if (children.length === 2 && first?.tag === TAG_SEQUENCE && second?.tag === TAG_OCTET_STRING) throw containsPrivateKey();
    if (first?.tag === TAG_OID) {
      throw new DomainError('CERTIFICATE_UNREADABLE', 'The file is a PKCS#7/CMS structure, not a certificate; upload the single certificate as PEM or DER.');
    }
  }
  if (outer.end < der.length) {
    throw new DomainError('CERTIFICATE_UNREADABLE', 'The file has extra data after the certificate; upload exactly one certificate.');
  }
  const fields = locateCertificateFields(der);
  if (!fields) {
    throw new DomainError('CERTIFICATE_UNREADABLE', 'The data is DER but not an X.509 certificate, or it is truncated.');
  }
  return fields;
}

/** UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ` (the DER forms). */
function readTime(der: Buffer, element: DerElement): Date | undefined {
  const text = der.toString('latin1', element.valueStart, element.end);
  let match: RegExpExecArray | null;
  let year: number;
  if (element.tag === TAG_UTC_TIME && (match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    const yy = Number(match[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (element.tag === TAG_GENERALIZED_TIME && (match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    year = Number(match[1]);
  } else {
    return undefined;
  }
  const [, , month, day, hour, minute, second] = match.map(Number);
  const date = new Date(Date.UTC(year, (month ?? 1) - 1, day, hour, minute, second));
  date.setUTCFullYear(year); // Date.UTC maps years 0-99 to 1900-1999
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function dateOrUndefined(text: string): Date | undefined {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Node prints names one attribute per line (RFC 2253 escaping); show them on one line. */
function oneLineName(multiline: string): string {
  return multiline.split('\n').filter((part) => part.length > 0).join(', ');
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
