/** Messages between the bench (parent) and the processes under test (bench/service.ts, child processes). */

/** What one process runs. Production shape: api and worker apart; embedded (PGlite): both in one. */
export interface ServiceRoles {
  api: boolean;
  worker: boolean;
  /** The ceiling's HTTP fronts (bench/ceiling.ts): admin onboarding routes and no-op MDM-facing routes. */
  ceilingApi: boolean;
  /** The ceiling worker: the real workflow bundle, no-op activities under the real names. */
  ceilingWorker: boolean;
}

export interface ServiceSettings {
  roles: ServiceRoles;
  temporalAddress: string;
  /**
   * Extra TEMPORAL_* variables for the process's configuration (runtime/config.ts): the cluster's
   * mTLS files and namespace with --temporal=cluster; none for the dev server (plain gRPC).
   */
  temporalEnv?: Record<string, string> | undefined;
  dataDir: string;
  /** A bench database on a Postgres server; PGlite in dataDir when absent. */
  databaseUrl?: string | undefined;
  logLevel: string;
  /** The prebundled workflow code (production workers run it, as `npm run worker` after `npm run build`). */
  workflowBundlePath?: string | undefined;
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
  /** pg_database_size, or the PGlite directory; null in a process without a database. */
  databaseBytes: number | null;
  /** Workflow executions in the worker's sticky cache (null without a worker). */
  cachedWorkflows: number | null;
}

/** A link written straight into Postgres as onboarding and installation leave it. */
export interface SeededLink {
  linkId: string;
  tokenId: string;
  certificateId: string;
  serverName: string;
  issuedAtMs: number;
  expiresAtMs: number;
}

export interface SeedRequest {
  org: BenchOrg;
  count: number;
  certificateDerBase64: string;
  /** 'spread': expiries spread over the next year (the list reads); a number: every token expires then. */
  expiresAt: 'spread' | number;
  /** Also the audit events and the TOKEN_INSTALLED notification a real onboarding writes (footprint). */
  withHistory: boolean;
}

export interface ReminderCount {
  /** Links with at least one renewal reminder recorded. */
  links: number;
  /** Reminders recorded in all. */
  recorded: number;
  /** Links with more than one. */
  doubled: number;
  /** When the last one was recorded (ms since the epoch), null if none. */
  lastAtMs: number | null;
}

export type ServiceRequest =
  | { op: 'createOrgs'; count: number }
  | ({ op: 'seedLinks' } & SeedRequest)
  | { op: 'countLinks'; state: string }
  | { op: 'reminders'; orgId: string }
  | { op: 'ceilingReminders' }
  /** Of these links, those the admin API shows ACTIVE (the api process reads its database). */
  | { op: 'activeLinks'; linkIds: string[] }
  /** Of these links, those whose installation the ceiling worker recorded. */
  | { op: 'ceilingInstalled'; linkIds: string[] }
  | { op: 'seedDevices'; org: BenchOrg; linkId: string; count: number }
  | { op: 'directDeviceFetch'; linkId: string; pageSize: number }
  | { op: 'startAssignDevices'; org: BenchOrg; linkId: string; serials: string[] }
  | { op: 'deviceActivityStatus'; orgId: string; activityId: string }
  /** gc: collect garbage first (comparable samples); the periodic peak sampler leaves it off. */
  | { op: 'stats'; gc?: boolean }
  | { op: 'stop' };

export type ServiceReply<R extends ServiceRequest['op']> = R extends 'createOrgs'
  ? BenchOrg[]
  : R extends 'seedLinks'
    ? SeededLink[]
    : R extends 'countLinks'
      ? number
      : R extends 'reminders' | 'ceilingReminders'
        ? ReminderCount
        : R extends 'stats'
          ? ServiceStats
          : R extends 'seedDevices' | 'activeLinks' | 'ceilingInstalled'
            ? string[]
            : R extends 'directDeviceFetch'
              ? { seconds: number; devices: number }
              : R extends 'startAssignDevices' | 'deviceActivityStatus'
                ? string
                : null;

export type ToService = { id: number } & ServiceRequest;
export interface ServiceUrls {
  apiUrl: string | null;
  /** The MDM-facing origin: its own listener (DEP_PORT), Apple's paths at its root. */
  mdmUrl: string | null;
  ceilingApiUrl: string | null;
  ceilingMdmUrl: string | null;
}
export type FromService = ({ type: 'ready' } & ServiceUrls) | { type: 'reply'; id: number; result?: unknown; error?: string };
