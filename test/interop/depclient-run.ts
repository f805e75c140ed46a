/** Runs the nanodep interop client (test/interop/depclient) against a DEP origin and reads its report. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TestCertificate } from '../support/certificates';
import type { apiClient } from '../support/stack';
import { ensureDepclient } from './depclient-binary';

export type DepclientStep =
  | 'session'
  | 'account'
  | 'fetch'
  | 'sync'
  | 'define-profile'
  | 'get-profile'
  | 'assign-profile'
  | 'remove-profile'
  | 'details'
  | 'disown';

export interface DepclientStepResult {
  step: DepclientStep;
  ok: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- what godep decoded; tests assert its shape
  result?: any;
  /** kind "auth": /session refused (nanodep's AuthError); "http": another non-200 (godep.HTTPError). */
  error?: { kind: 'auth' | 'http' | 'other'; status?: number; body?: string; message: string };
}

export interface DepclientOptions {
  /** The DEP origin as configured in nanodep (its base URL). */
  baseUrl: string;
  tokenPath: string;
  cert: TestCertificate;
  steps: DepclientStep[];
  serials?: string[];
  cursor?: string;
  limit?: number;
  profile?: Record<string, unknown>;
  profileUuid?: string;
  protocolVersion?: string;
}

/** One run of the client; every step's result or error, in order. */
export async function runDepclient(options: DepclientOptions): Promise<DepclientStepResult[]> {
  const binary = await ensureDepclient();
  const args = ['-base-url', options.baseUrl, '-token', options.tokenPath, '-cert', options.cert.certPath, '-key', options.cert.keyPath, '-steps', options.steps.join(',')];
  if (options.serials) args.push('-serials', options.serials.join(','));
  if (options.cursor) args.push('-cursor', options.cursor);
  if (options.limit) args.push('-limit', String(options.limit));
  if (options.profile) args.push('-profile', JSON.stringify(options.profile));
  if (options.profileUuid) args.push('-profile-uuid', options.profileUuid);
  if (options.protocolVersion) args.push('-protocol-version', options.protocolVersion);
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(binary, args, { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 }, (err, out, errOut) => {
      if (err) reject(new Error(`depclient failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  return (JSON.parse(stdout) as { steps: DepclientStepResult[] }).steps;
}

/** Downloads a service token through the admin API and saves the .p7m as the vendor would. */
export async function downloadTokenFile(call: ReturnType<typeof apiClient>, linkId: string, dir: string): Promise<string> {
  const res = await call('POST', `/v1/mdmServers/${linkId}/serviceToken`);
  if (res.status !== 200) throw new Error(`download: ${res.status} ${res.body.toString()}`);
  // One file per download: a new download supersedes the previous token, whose file a test may still use.
  const file = path.join(dir, `${linkId}_${res.headers.get('x-service-token-id') ?? Date.now()}_smime.p7m`);
  fs.writeFileSync(file, res.body);
  return file;
}
