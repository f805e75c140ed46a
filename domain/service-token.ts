/**
 * Service tokens: OAuth 1.0a credentials for an MDM server, delivered the way Apple delivers them —
 * an S/MIME `.p7m` whose CMS EnvelopedData is encrypted to the server's public key certificate with
 * RSA PKCS#1 v1.5 key transport (recipient by issuer and serial) and AES-128-CBC content encryption.
 *
 * RSA PKCS#1 v1.5 and AES-CBC run in node:crypto (WebCrypto has no RSA PKCS#1 v1.5 encryption, so
 * pkijs's own `encrypt()` cannot be used); pkijs/asn1js only build and encode the CMS structure.
 */
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import {
  AlgorithmIdentifier,
  ContentInfo,
  EncryptedContentInfo,
  EnvelopedData,
  IssuerAndSerialNumber,
  KeyTransRecipientInfo,
  RecipientInfo,
  RelativeDistinguishedNames,
} from 'pkijs';
import { MIN_RSA_KEY_BITS, locateCertificateFields, type CertificateFieldOffsets } from './certificate';
import { DomainError } from './errors';

export interface ServiceTokenSecrets {
  consumerKey: string;
  consumerSecret: string;
  accessToken: string;
  accessSecret: string;
  /** Whole seconds (the JSON carries no fractions). */
  accessTokenExpiry: Date;
}

const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_AES_128_CBC = '2.16.840.1.101.3.4.1.2';
const OID_DATA = '1.2.840.113549.1.7.1';
const OID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';

/** Random bytes per secret: 64 bytes → 128 hex characters, as in Apple's documented token sample. */
const SECRET_BYTES = 64;

/**
 * Fresh random credentials shaped like Apple's (`CK_`, `CS_`, `AT_`, `AS_` followed by 128 lowercase
 * hex characters). The expiry is truncated to whole seconds.
 */
export function generateServiceTokenSecrets(expiry: Date): ServiceTokenSecrets {
  const time = expiry.getTime();
  if (!Number.isFinite(time)) throw new RangeError('Service token expiry is not a valid date');
  const random = randomBytes(SECRET_BYTES * 4).toString('hex');
  const part = (index: number): string => random.slice(index * SECRET_BYTES * 2, (index + 1) * SECRET_BYTES * 2);
  return {
    consumerKey: `CK_${part(0)}`,
    consumerSecret: `CS_${part(1)}`,
    accessToken: `AT_${part(2)}`,
    accessSecret: `AS_${part(3)}`,
    accessTokenExpiry: new Date(Math.floor(time / 1000) * 1000),
  };
}

/** RFC 3339 UTC with seconds and `Z`, no fraction: `2027-11-28T09:30:00Z`. */
export function formatTokenTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The token JSON exactly as Apple's: these five keys, in this order, on one line. */
export function tokenMessageJson(secrets: ServiceTokenSecrets): string {
  return JSON.stringify({
    consumer_key: secrets.consumerKey,
    consumer_secret: secrets.consumerSecret,
    access_token: secrets.accessToken,
    access_secret: secrets.accessSecret,
    access_token_expiry: formatTokenTime(secrets.accessTokenExpiry),
  });
}

/** The MIME part an Apple token decrypts to. */
export function tokenPlaintext(secrets: ServiceTokenSecrets): string {
  return (
    'Content-Type: text/plain;charset=UTF-8\r\n' +
    'Content-Transfer-Encoding: 7bit\r\n' +
    '\r\n' +
    '-----BEGIN MESSAGE-----\r\n' +
    `${tokenMessageJson(secrets)}\r\n` +
    '-----END MESSAGE-----\r\n'
  );
}

/** The MESSAGE JSON as an MDM server reads it from a decrypted token. */
export interface TokenMessage {
  consumer_key: string;
  consumer_secret: string;
  access_token: string;
  access_secret: string;
  access_token_expiry: string;
}

/** Reads the JSON between the MESSAGE lines of a decrypted token: the inverse of tokenPlaintext. */
export function readTokenMessage(plaintext: string): TokenMessage {
  const match = /-----BEGIN MESSAGE-----\r?\n([\s\S]*?)\r?\n-----END MESSAGE-----/.exec(plaintext);
  if (!match?.[1]) throw new Error('no MESSAGE block in the decrypted token');
  return JSON.parse(match[1]) as TokenMessage;
}

const SMIME_HEADER =
  'Content-Type: application/pkcs7-mime; name="smime.p7m"; smime-type=enveloped-data\r\n' +
  'Content-Transfer-Encoding: base64\r\n' +
  'Content-Disposition: attachment; filename="smime.p7m"\r\n' +
  'Content-Description: S/MIME Encrypted Message\r\n' +
  '\r\n';

/**
 * The `.p7m` file for `secrets`, encrypted to the certificate (DER). CRLF line endings, base64 body
 * in 76-character lines. Throws DomainError CERTIFICATE_UNREADABLE / CERTIFICATE_KEY_UNSUPPORTED
 * if the certificate cannot take a token (it should have been checked on upload).
 */
export function buildServiceTokenP7m(certificateDer: Buffer, secrets: ServiceTokenSecrets): Buffer {
  const recipient = recipientFor(certificateDer);

  const keyAndIv = randomBytes(32);
  const contentKey = keyAndIv.subarray(0, 16);
  const iv = keyAndIv.subarray(16);
  const cipher = createCipheriv('aes-128-cbc', contentKey, iv);
  const encryptedContent = Buffer.concat([cipher.update(tokenPlaintext(secrets), 'utf8'), cipher.final()]);
  const encryptedKey = publicEncrypt({ key: recipient.publicKey, padding: constants.RSA_PKCS1_PADDING }, contentKey);

  const envelopedData = new EnvelopedData({
    version: 0,
    recipientInfos: [
      new RecipientInfo({
        variant: 1, // KeyTransRecipientInfo
        value: new KeyTransRecipientInfo({
          version: 0,
          rid: recipient.rid,
          keyEncryptionAlgorithm: new AlgorithmIdentifier({
            algorithmId: OID_RSA_ENCRYPTION,
            algorithmParams: new asn1js.Null(),
          }),
          encryptedKey: new asn1js.OctetString({ valueHex: plainView(encryptedKey) }),
        }),
      }),
    ],
    encryptedContentInfo: new EncryptedContentInfo({
      contentType: OID_DATA,
      contentEncryptionAlgorithm: new AlgorithmIdentifier({
        algorithmId: OID_AES_128_CBC,
        algorithmParams: new asn1js.OctetString({ valueHex: plainView(iv) }),
      }),
      encryptedContent: new asn1js.OctetString({ valueHex: plainView(encryptedContent) }),
      // Without this pkijs splits the content into a constructed, indefinite-length (BER) string.
      disableSplit: true,
    }),
  });
  const contentInfo = new ContentInfo({ contentType: OID_ENVELOPED_DATA, content: envelopedData.toSchema() });
  const der = Buffer.from(contentInfo.toSchema().toBER(false));
  keyAndIv.fill(0); // asn1js kept a view of the IV; it is in `der` now

  return Buffer.from(SMIME_HEADER + wrapBase64(der.toString('base64'), 76), 'latin1');
}

/**
 * `<server name>_Token_<UTC time with dashes>_smime.p7m`, e.g.
 * `Acme MDM_Token_2026-11-28T09-30-00Z_smime.p7m`; characters unsafe in file names become `_`.
 */
export function serviceTokenFileName(serverName: string, issuedAt: Date): string {
  // Lone UTF-16 surrogates cannot be written as UTF-8 (RFC 6266 filename*), so they become `_` too.
  const safeName = serverName.replace(/[/\\:*?"<>|\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '_');
  return `${safeName}_Token_${formatTokenTime(issuedAt).replace(/:/g, '-')}_smime.p7m`;
}

// ---------------------------------------------------------------------------------------------

interface Recipient {
  publicKey: KeyObject;
  /** The recipient identifier; immutable, so shared by every token for the certificate. */
  rid: IssuerAndSerialNumber;
}

/**
 * IssuerAndSerialNumber whose issuer Name is emitted exactly as encoded in the certificate.
 * Recipients are matched on the issuer, so copying it beats decoding and re-encoding it — which in
 * asn1js also costs more than the RSA operation itself.
 */
class CertificateIssuerAndSerialNumber extends IssuerAndSerialNumber {
  readonly #issuerNode: asn1js.BaseBlock;
  constructor(der: Buffer, fields: CertificateFieldOffsets) {
    const issuerDer = Uint8Array.from(der.subarray(fields.issuer.start, fields.issuer.end));
    super({
      issuer: new RelativeDistinguishedNames({ valueBeforeDecode: issuerDer.buffer }),
      serialNumber: new asn1js.Integer({ valueHex: Uint8Array.from(der.subarray(fields.serialNumber.valueStart, fields.serialNumber.end)) }),
    });
    // The Name's own tag (SEQUENCE, constructed) and content octets, as one asn1js node.
    const node = new asn1js.Primitive({
      idBlock: { tagClass: 1, tagNumber: 16 },
      valueHex: Uint8Array.from(der.subarray(fields.issuer.valueStart, fields.issuer.end)),
    });
    node.idBlock.isConstructed = true;
    this.#issuerNode = node;
  }
  override toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [this.#issuerNode, this.serialNumber] });
  }
}

/** Recently used certificates: a token download for the same link needs no re-parse. */
const recipientCache = new Map<string, Recipient>();
const RECIPIENT_CACHE_SIZE = 256;

function recipientFor(certificateDer: Buffer): Recipient {
  const cacheKey = certificateDer.toString('latin1');
  const cached = recipientCache.get(cacheKey);
  if (cached) return cached;

  const fields = locateCertificateFields(certificateDer);
  if (!fields) {
    throw new DomainError('CERTIFICATE_UNREADABLE', 'The stored certificate is not a readable X.509 certificate.');
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({
      key: certificateDer.subarray(fields.subjectPublicKeyInfo.start, fields.subjectPublicKeyInfo.end),
      format: 'der',
      type: 'spki',
    });
  } catch {
    throw new DomainError('CERTIFICATE_KEY_UNSUPPORTED', "The certificate's public key cannot be read.");
  }
  if (publicKey.asymmetricKeyType !== 'rsa') {
    throw new DomainError(
      'CERTIFICATE_KEY_UNSUPPORTED',
      `Service tokens can only be encrypted to a certificate with an RSA key of at least ${MIN_RSA_KEY_BITS} bits.`,
    );
  }
  const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_KEY_BITS) {
    throw new DomainError(
      'CERTIFICATE_KEY_TOO_SMALL',
      `The certificate holds a ${bits}-bit RSA key; at least ${MIN_RSA_KEY_BITS} bits are required.`,
    );
  }
  const recipient: Recipient = { publicKey, rid: new CertificateIssuerAndSerialNumber(certificateDer, fields) };

  if (recipientCache.size >= RECIPIENT_CACHE_SIZE) {
    const oldest = recipientCache.keys().next();
    if (!oldest.done) recipientCache.delete(oldest.value);
  }
  recipientCache.set(cacheKey, recipient);
  return recipient;
}

/** A plain Uint8Array view (asn1js copies Buffers through a slower generic path). */
function plainView(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function wrapBase64(base64: string, width: number): string {
  let out = '';
  for (let i = 0; i < base64.length; i += width) out += `${base64.slice(i, i + width)}\r\n`;
  return out;
}
