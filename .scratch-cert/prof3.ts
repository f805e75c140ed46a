import * as asn1js from 'asn1js';
import { AlgorithmIdentifier, ContentInfo, EncryptedContentInfo, EnvelopedData, IssuerAndSerialNumber, KeyTransRecipientInfo, RecipientInfo, RelativeDistinguishedNames } from 'pkijs';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parsePublicKeyCertificate, locateCertificateFields } from '/work/main/domain/certificate';
const c = parsePublicKeyCertificate(readFileSync('/tmp/ctest/c.pem'), new Date());
const f = locateCertificateFields(c.der)!;
const issuerAB = Uint8Array.from(c.der.subarray(f.issuer.start, f.issuer.end)).buffer;
const serial = Uint8Array.from(c.der.subarray(f.serialNumber.valueStart, f.serialNumber.end));
const ek = randomBytes(256), iv = randomBytes(16), ec = randomBytes(560);
function build() {
  return new EnvelopedData({ version: 0, recipientInfos: [new RecipientInfo({ variant: 1, value: new KeyTransRecipientInfo({ version: 0,
    rid: new IssuerAndSerialNumber({ issuer: new RelativeDistinguishedNames({ valueBeforeDecode: issuerAB }), serialNumber: new asn1js.Integer({ valueHex: serial }) }),
    keyEncryptionAlgorithm: new AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.1', algorithmParams: new asn1js.Null() }),
    encryptedKey: new asn1js.OctetString({ valueHex: ek }) }) })],
    encryptedContentInfo: new EncryptedContentInfo({ contentType: '1.2.840.113549.1.7.1', contentEncryptionAlgorithm: new AlgorithmIdentifier({ algorithmId: '2.16.840.1.101.3.4.1.2', algorithmParams: new asn1js.OctetString({ valueHex: iv }) }),
      encryptedContent: new asn1js.OctetString({ valueHex: ec }), disableSplit: true }) });
}
function bench(name: string, fn: () => void) { for (let i=0;i<300;i++) fn(); let n = 0; const t0 = performance.now(); while (performance.now() - t0 < 1000) { fn(); n++; } console.log(name, (1e6/n).toFixed(1), 'us'); }
bench('construct', () => build());
const e = build();
bench('toSchema', () => e.toSchema());
const sch = new ContentInfo({ contentType: '1.2.840.113549.1.7.3', content: e.toSchema() }).toSchema();
bench('toBER', () => sch.toBER(false));
bench('all', () => new ContentInfo({ contentType: '1.2.840.113549.1.7.3', content: build().toSchema() }).toSchema().toBER(false));
bench('rdn', () => new RelativeDistinguishedNames({ valueBeforeDecode: issuerAB }).toSchema());
bench('oid', () => new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.3' }));
bench('oidber', () => new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.3' }).toBER());
bench('octet560', () => new asn1js.OctetString({ valueHex: ec }).toBER());
// variant A: cached issuer schema + reused constant objects
const issuerSchema = asn1js.fromBER(issuerAB).result as asn1js.Sequence;
class CachedName extends RelativeDistinguishedNames { override toSchema() { return issuerSchema; } }
const cachedName = new CachedName();
const serialInt = new asn1js.Integer({ valueHex: serial });
function buildA() {
  return new EnvelopedData({ version: 0, recipientInfos: [new RecipientInfo({ variant: 1, value: new KeyTransRecipientInfo({ version: 0,
    rid: new IssuerAndSerialNumber({ issuer: cachedName, serialNumber: serialInt }),
    keyEncryptionAlgorithm: new AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.1', algorithmParams: new asn1js.Null() }),
    encryptedKey: new asn1js.OctetString({ valueHex: ek }) }) })],
    encryptedContentInfo: new EncryptedContentInfo({ contentType: '1.2.840.113549.1.7.1', contentEncryptionAlgorithm: new AlgorithmIdentifier({ algorithmId: '2.16.840.1.101.3.4.1.2', algorithmParams: new asn1js.OctetString({ valueHex: iv }) }),
      encryptedContent: new asn1js.OctetString({ valueHex: ec }), disableSplit: true }) });
}
bench('allA', () => new ContentInfo({ contentType: '1.2.840.113549.1.7.3', content: buildA().toSchema() }).toSchema().toBER(false));
const a1 = Buffer.from(new ContentInfo({ contentType: '1.2.840.113549.1.7.3', content: buildA().toSchema() }).toSchema().toBER(false));
const a2 = Buffer.from(new ContentInfo({ contentType: '1.2.840.113549.1.7.3', content: build().toSchema() }).toSchema().toBER(false));
console.log('same', a1.equals(a2));
const issuerSchemaBER = issuerSchema.toBER(false);
bench('issuer toBER', () => issuerSchema.toBER(false));
console.log('issuer same', Buffer.from(issuerSchemaBER).equals(Buffer.from(issuerAB)));
