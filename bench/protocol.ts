/** Messages between the bench (parent) and the service under test (bench/service.ts, a child process). */

export interface ServiceSettings {
  temporalAddress: string;
  dataDir: string;
  /** A bench database on a Postgres server; PGlite in dataDir when absent. */
  databaseUrl?: string | undefined;
  api: boolean;
  worker: boolean;
  /** Also run the ceiling (bench/noop-app.ts) in this process. */
  noop: boolean;
  logLevel: string;
}

export interface BenchOrg {
  orgId: string;
  userId: string;
  apiKey: string;
}

export interface ServiceStats {
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  databaseBytes: number | null;
  /** Workflow executions in the worker's sticky cache (null without a worker). */
  cachedWorkflows: number | null;
}

export type ServiceRequest =
  | { op: 'createOrgs'; count: number }
  | { op: 'seedLinks'; org: BenchOrg; count: number; certificateDerBase64: string }
  | { op: 'countLinks'; state: string }
  /** gc: collect garbage first (comparable samples); the periodic peak sampler leaves it off. */
  | { op: 'stats'; gc?: boolean }
  | { op: 'stop' };

export type ServiceReply<R extends ServiceRequest['op']> = R extends 'createOrgs'
  ? BenchOrg[]
  : R extends 'seedLinks'
    ? string[]
    : R extends 'countLinks'
      ? number
      : R extends 'stats'
        ? ServiceStats
        : null;

export type ToService = { id: number } & ServiceRequest;
export type FromService =
  | { type: 'ready'; apiUrl: string | null; noopUrl: string | null }
  | { type: 'reply'; id: number; result?: unknown; error?: string };
