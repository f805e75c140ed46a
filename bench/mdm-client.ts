/**
 * The MDM service's side of the benchmark: its key and public key certificates, decrypting a
 * downloaded service token, and signing `GET /dep/session` with OAuth 1.0a (the `oauth-1.0a`
 * package, a signer not written here).
 */
import 'reflect-metadata';
import { constants, createDecipheriv, createHmac, createPrivateKey, privateDecrypt, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import OAuth from 'oauth-1.0a';
import { ContentInfo, EnvelopedData, KeyTransRecipientInfo } from 'pkijs';
import * as asn1js from 'asn1js';
import { readTokenMessage, type TokenMessage } from '../domain/service-token';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface MdmCertificate {
  pem: string;
  der: Buffer;
  /** The key the certificate is for (to decrypt tokens issued to it). */
  privateKey: KeyObject;
}

export interface MdmIdentity {
  /** The first key (the MDM side of a single link). */
  privateKey: KeyObject;
  /** Distinct certificates, spread over a few keys: the service sees a new certificate per link. */
  certificates: MdmCertificate[];
}

const SIGNING = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } as const;

/** `keys` RSA-2048 keys and `count` self-signed certificates over them (valid from yesterday for two years). */
export async function makeMdmIdentity(count: number, keys = 1): Promise<MdmIdentity> {
  const pairs = await Promise.all(
    Array.from({ length: Math.max(1, Math.min(keys, count)) }, async () => {
      const pair = (await webcrypto.subtle.generateKey(SIGNING, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
      const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey));
      return { pair, privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }) };
    }),
  );
  const notBefore = new Date(Date.now() - 86_400_000);
  const notAfter = new Date(Date.now() + 2 * 365 * 86_400_000);
  const certificates: MdmCertificate[] = [];
  for (let i = 0; i < count; i++) {
    const key = pairs[i % pairs.length];
    if (!key) throw new Error('no key');
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: `01${randomBytes(8).toString('hex')}`,
      name: `CN=Bench MDM ${i}, O=dms-link bench`,
      notBefore,
      notAfter,
      signingAlgorithm: SIGNING,
      keys: key.pair as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    });
    certificates.push({ pem: cert.toString('pem'), der: Buffer.from(cert.rawData), privateKey: key.privateKey });
  }
  const first = pairs[0];
  if (!first) throw new Error('no key');
  return { privateKey: first.privateKey, certificates };
}

/**
 * Decrypts a service token `.p7m` as an MDM server does: RSA PKCS#1 v1.5 key transport, AES-128-CBC
 * content. Node refuses PKCS#1 v1.5 private decryption (CVE-2023-46809), so the padding is removed
 * here from a raw RSA decryption — fine for a client that only decrypts its own tokens.
 */
export function decryptServiceToken(p7m: Buffer, privateKey: KeyObject): TokenMessage {
  const text = p7m.toString('latin1');
  const bodyAt = text.indexOf('\r\n\r\n');
  const der = Buffer.from(text.slice(bodyAt + 4).replace(/\s+/g, ''), 'base64');
  const contentInfo = new ContentInfo({ schema: asn1js.fromBER(new Uint8Array(der)).result });
  const enveloped = new EnvelopedData({ schema: contentInfo.content });
  const recipient = enveloped.recipientInfos[0]?.value;
  if (!(recipient instanceof KeyTransRecipientInfo)) throw new Error('no key transport recipient');
  const block = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, Buffer.from(recipient.encryptedKey.valueBlock.valueHexView));
  if (block[0] !== 0 || block[1] !== 2) throw new Error('bad PKCS#1 v1.5 padding');
  const separator = block.indexOf(0, 2);
  if (separator < 10) throw new Error('bad PKCS#1 v1.5 padding');
  const contentKey = block.subarray(separator + 1);
  const eci = enveloped.encryptedContentInfo;
  const iv = Buffer.from((eci.contentEncryptionAlgorithm.algorithmParams as asn1js.OctetString).valueBlock.valueHexView);
  const encrypted = eci.encryptedContent;
  if (!encrypted) throw new Error('no encrypted content');
  const decipher = createDecipheriv('aes-128-cbc', contentKey, iv);
  const plaintext = Buffer.concat([decipher.update(Buffer.from(encrypted.valueBlock.valueHexView)), decipher.final()]).toString('utf8');
  return readTokenMessage(plaintext);
}

/** The Authorization header of `GET <url>` signed with the token's credentials (HMAC-SHA1). */
export function depSessionAuthorization(url: string, secrets: TokenMessage): string {
  const oauth = new OAuth({
    consumer: { key: secrets.consumer_key, secret: secrets.consumer_secret },
    signature_method: 'HMAC-SHA1',
    hash_function: (base: string, key: string) => createHmac('sha1', key).update(base).digest('base64'),
  });
  return oauth.toHeader(oauth.authorize({ url, method: 'GET' }, { key: secrets.access_token, secret: secrets.access_secret })).Authorization;
}
