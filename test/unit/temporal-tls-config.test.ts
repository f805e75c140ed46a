import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../runtime/config';
import { temporalConnectionOptions } from '../../runtime/temporal-tls';
import { cleanupTestCertificates, makeRsaCertificate, makeTempDir, openssl } from '../support/certificates';

// The Temporal TLS variables: what a correct mTLS / API-key setup yields, and a clear refusal for
// each way of getting it wrong (checked at start, before any connection is tried).
const client = makeRsaCertificate({ cn: 'dms-link worker' });
const other = makeRsaCertificate({ cn: 'someone else' });
const ca = makeRsaCertificate({ cn: 'Test CA' });
const dir = makeTempDir('dms-tls-config-');
const notPem = path.join(dir, 'cert.der');
fs.writeFileSync(notPem, client.certDer);
const encryptedKey = path.join(dir, 'encrypted-key.pem');
openssl(['pkey', '-in', client.keyPath, '-aes256', '-passout', 'pass:secret', '-out', encryptedKey]);

afterAll(() => cleanupTestCertificates());

const base = { TEMPORAL_ADDRESS: 'temporal.internal:7233' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('Temporal TLS configuration', () => {
  it('mTLS: client certificate, key, CA and server name reach both connections', () => {
    const config = loadConfig({
      ...base,
      TEMPORAL_TLS_CERT: client.certPath,
      TEMPORAL_TLS_KEY: client.keyPath,
      TEMPORAL_TLS_CA: ca.certPath,
      TEMPORAL_TLS_SERVER_NAME: 'temporal-frontend',
    });
    const options = temporalConnectionOptions(config, 'temporal.internal:7233');
    expect(options.address).toBe('temporal.internal:7233');
    expect(options.tls?.serverNameOverride).toBe('temporal-frontend');
    expect(Buffer.from(options.tls?.serverRootCACertificate ?? []).toString()).toBe(ca.certPem);
    expect(Buffer.from(options.tls?.clientCertPair?.crt ?? []).toString()).toBe(client.certPem);
    expect(Buffer.from(options.tls?.clientCertPair?.key ?? []).toString()).toBe(client.keyPem);
    expect(options.apiKey).toBeUndefined();
  });

  it('an API key (Temporal Cloud) turns TLS on with the system roots', () => {
    const options = temporalConnectionOptions(loadConfig({ ...base, TEMPORAL_API_KEY: 'cloud-key' }), 'ns.acct.tmprl.cloud:7233');
    expect(options.apiKey).toBe('cloud-key');
    expect(options.tls).toEqual({});
  });

  it('nothing set: plain gRPC, as to the embedded dev server', () => {
    expect(temporalConnectionOptions(loadConfig({}), '127.0.0.1:7233')).toEqual({ address: '127.0.0.1:7233' });
  });

  it('refuses a key without a certificate, and a certificate without a key', () => {
    expect(problems({ ...base, TEMPORAL_TLS_KEY: client.keyPath })).toEqual(['TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT: mTLS needs both']);
    expect(problems({ ...base, TEMPORAL_TLS_CERT: client.certPath })).toEqual(['TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY: mTLS needs both']);
  });

  it('refuses an unreadable file, naming the variable and the path', () => {
    const missing = path.join(dir, 'missing.pem');
    expect(problems({ ...base, TEMPORAL_TLS_CA: missing })).toEqual([`TEMPORAL_TLS_CA: cannot read ${missing} (ENOENT)`]);
  });

  it('refuses files that are not PEM, or PEM of the wrong kind', () => {
    expect(problems({ ...base, TEMPORAL_TLS_CERT: notPem, TEMPORAL_TLS_KEY: client.keyPath })).toEqual([
      `TEMPORAL_TLS_CERT: ${notPem} is not a PEM certificate (expected -----BEGIN CERTIFICATE-----)`,
    ]);
    expect(problems({ ...base, TEMPORAL_TLS_CERT: client.certPath, TEMPORAL_TLS_KEY: client.certPath })).toEqual([
      `TEMPORAL_TLS_KEY: ${client.certPath} is not a PEM private key (expected -----BEGIN PRIVATE KEY-----)`,
    ]);
    expect(problems({ ...base, TEMPORAL_TLS_CA: client.keyPath })).toEqual([
      `TEMPORAL_TLS_CA: ${client.keyPath} is not a PEM certificate (expected -----BEGIN CERTIFICATE-----)`,
    ]);
  });

  it('refuses an encrypted key and a key that is not the certificate’s', () => {
    expect(problems({ ...base, TEMPORAL_TLS_CERT: client.certPath, TEMPORAL_TLS_KEY: encryptedKey })).toEqual([
      `TEMPORAL_TLS_KEY: ${encryptedKey} is encrypted; give the key without a passphrase (protect the file instead)`,
    ]);
    expect(problems({ ...base, TEMPORAL_TLS_CERT: client.certPath, TEMPORAL_TLS_KEY: other.keyPath })).toEqual([
      `TEMPORAL_TLS_KEY (${other.keyPath}) is not the key of TEMPORAL_TLS_CERT (${client.certPath})`,
    ]);
  });

  it('refuses TLS settings without TEMPORAL_ADDRESS, and TEMPORAL_TLS=false beside them', () => {
    expect(problems({ TEMPORAL_API_KEY: 'k' })).toEqual(['TEMPORAL_ADDRESS is required when TEMPORAL_TLS_* or TEMPORAL_API_KEY is set (the embedded dev server has no TLS)']);
    expect(problems({ ...base, TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: ca.certPath })).toEqual([
      'TEMPORAL_TLS=false contradicts TEMPORAL_TLS_*/TEMPORAL_API_KEY, which need TLS',
    ]);
    expect(problems({ ...base, TEMPORAL_TLS: 'maybe' })).toEqual(['TEMPORAL_TLS must be true or false']);
  });

  it('names a bad WORKFLOW_BUNDLE_PATH at worker start (see runtime/workflow-bundle.ts)', async () => {
    const { workflowCodeSource } = await import('../../runtime/workflow-bundle');
    expect(() => workflowCodeSource(path.join(dir, 'nope.js'), 'production')).toThrow(/WORKFLOW_BUNDLE_PATH .*nope\.js does not exist/);
    expect(workflowCodeSource(undefined, 'development').kind).toBe('source');
  });
});
