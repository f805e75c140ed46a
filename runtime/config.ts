import path from 'node:path';
import { z } from 'zod';
import type { NotificationDeliveryConfig } from '../activities/notifications';
import type { WebhookUrlPolicy } from '../domain/webhook-url';
import { addDuration, isValidIsoDuration } from '../domain/durations';
import { DEFAULT_RETENTION_POLICY, type RetentionPolicy } from '../domain/retention';
import { checkTemporalTls, temporalTlsFields } from './temporal-tls';

const isoDuration = (name: string) =>
  z.string().trim().refine(isValidIsoDuration, { message: `${name} must be a positive ISO 8601 duration such as P1Y or PT30S` });

/** A duration's length in milliseconds (calendar units counted from the epoch). */
const durationMs = (v: string) => addDuration(0, v);

const port = z.coerce.number().int().min(0).max(65535);

const schema = z.object({
  PORT: port.default(3000),
  HOST: z.string().default('127.0.0.1'),
  /** The MDM-facing service's own listener (Apple's paths at its root); 0 picks a free port. */
  DEP_PORT: port.default(3001),
  /** Its interface; unset → HOST. */
  DEP_HOST: z.string().optional(),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z
    .string()
    .refine((v) => /^postgres(ql)?:\/\//.test(v), { message: 'DATABASE_URL must start with postgres:// or postgresql://' })
    .optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TASK_QUEUE: z.string().min(1).default('dms-link'),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_CLI_PATH: z.string().optional(),
  ...temporalTlsFields,
  /** A prebundled workflow bundle (`npm run build`); see runtime/workflow-bundle.ts. */
  WORKFLOW_BUNDLE_PATH: z.string().trim().min(1).optional(),
  TOKEN_VALIDITY: isoDuration('TOKEN_VALIDITY').default('P1Y'),
  REMINDER_OFFSETS: z
    .string()
    .default('P30D,P14D,P7D,P1D')
    .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0))
    .refine((list) => list.every(isValidIsoDuration), {
      message: 'REMINDER_OFFSETS must be a comma-separated list of ISO 8601 durations such as P30D,P14D',
    }),
  INSTALL_REMINDER_AFTER: isoDuration('INSTALL_REMINDER_AFTER').default('P7D'),
  /** How often the worker's reconciler starts account-event fan-outs whose start failed. */
  ACCOUNT_EVENT_RECONCILE_INTERVAL: isoDuration('ACCOUNT_EVENT_RECONCILE_INTERVAL').default('PT1M'),
  /** How often the worker's reconciler delivers installations and device activities the API could not hand to Temporal. */
  HANDOFF_RECONCILE_INTERVAL: isoDuration('HANDOFF_RECONCILE_INTERVAL').default('PT1M'),
  /** Hand-offs younger than this are left to the API; longer than its 15 s Temporal deadline, so no activity is started that the API is discarding. */
  HANDOFF_RECONCILE_GRACE: isoDuration('HANDOFF_RECONCILE_GRACE')
    .refine((v) => durationMs(v) >= 20_000, { message: 'HANDOFF_RECONCILE_GRACE must be at least PT20S (longer than the API\'s 15 s Temporal deadline)' })
    .default('PT1M'),
  /** An idle link workflow continues as new this long after its run began, picking up new workflow code. */
  LINK_IDLE_CONTINUE_AS_NEW_AFTER: isoDuration('LINK_IDLE_CONTINUE_AS_NEW_AFTER').default('P30D'),
  DEP_SESSION_TTL: isoDuration('DEP_SESSION_TTL').default('PT30M'),
  /** How long an Idempotency-Key stays bound to its request (README "Idempotency-Key"). */
  IDEMPOTENCY_KEY_TTL: isoDuration('IDEMPOTENCY_KEY_TTL').default('PT24H'),
  OAUTH_TIMESTAMP_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /**
   * The DEP origin as MDM clients reach it (their "base URL", e.g. https://dep.example.com) when a
   * proxy rewrites it: GET /session signatures are checked against it.
   */
  PUBLIC_DEP_BASE_URL: z
    .string()
    .trim()
    .refine((v) => /^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/i.test(v), {
      message: 'PUBLIC_DEP_BASE_URL must be an absolute http(s) URL without query, such as https://dep.example.com',
    })
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
  /** The admin port's public URL, only for the /dep alias (signatures of PUBLIC_BASE_URL/dep/session). */
  PUBLIC_BASE_URL: z
    .string()
    .trim()
    .refine((v) => /^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/i.test(v), {
      message: 'PUBLIC_BASE_URL must be an absolute http(s) URL without query, such as https://mdm.example.com',
    })
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
  BOOTSTRAP_ADMIN_API_KEY: z.string().min(16, 'BOOTSTRAP_ADMIN_API_KEY must be at least 16 characters').optional(),
  SECRETS_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, { message: 'SECRETS_KEY must be 32 bytes, base64-encoded' })
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Link workflows kept in a worker's memory; a parked lifecycle waits days for its next timer, so a
   * small cache costs only a replay then, while a large one costs ~0.5 MiB per workflow (README: 500
   * cached put 10,000 parked lifecycles over the 512 MiB goal). */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(250),
  MAX_CERTIFICATES_PER_ORGANIZATION: z.coerce.number().int().min(1).default(250),
  /** Notification email: unset → no email. Credentials may be in the URL; it is never logged. */
  SMTP_URL: z
    .string()
    .trim()
    .refine((v) => /^smtps?:\/\/[^/\s]+/i.test(v), { message: 'SMTP_URL must look like smtp://user:password@mail.example.com:587 or smtps://…:465' })
    .optional(),
  SMTP_FROM: z.string().trim().min(3).default('dms-link <dms-link@localhost>'),
  /** Refused admin API authentications per source address / per key prefix and window, then 429. */
  ADMIN_AUTH_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(50),
  ADMIN_AUTH_FAILURES_PER_KEY: z.coerce.number().int().min(1).default(10),
  /** Refused MDM-facing /session attempts per source address / per consumer key and window, then 429. */
  DEP_SESSION_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(100),
  DEP_SESSION_FAILURES_PER_KEY: z.coerce.number().int().min(1).default(20),
  AUTH_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /** Retention (README "Security"): how often the dms-retention schedule runs and what it keeps. */
  RETENTION_INTERVAL: isoDuration('RETENTION_INTERVAL').default('PT1H'),
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).default(400),
  NOTIFICATION_RETENTION_DAYS: z.coerce.number().int().min(1).default(90),
  IMPORT_ROW_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  WEBHOOK_RETRY_INITIAL_INTERVAL: isoDuration('WEBHOOK_RETRY_INITIAL_INTERVAL').default('PT30S'),
  WEBHOOK_RETRY_MAX_INTERVAL: isoDuration('WEBHOOK_RETRY_MAX_INTERVAL').default('PT1H'),
  WEBHOOK_TIMEOUT: isoDuration('WEBHOOK_TIMEOUT')
    .refine((v) => durationMs(v) <= 60_000, { message: 'WEBHOOK_TIMEOUT must be at most PT60S' })
    .default('PT10S'),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: z
    .enum(['true', 'false', '1', '0'], { error: 'WEBHOOK_ALLOW_PRIVATE_NETWORKS must be true or false' })
    .transform((v) => v === 'true' || v === '1')
    .default(false),
  /** Development only: accept and deliver to http:// webhook URLs (production: https only). */
  WEBHOOK_ALLOW_HTTP: z
    .enum(['true', 'false', '1', '0'], { error: 'WEBHOOK_ALLOW_HTTP must be true or false' })
    .transform((v) => v === 'true' || v === '1')
    .default(false),
  // People's accounts (issue 17): console sessions and OpenID Connect single sign-on.
  SESSION_IDLE_TIMEOUT: isoDuration('SESSION_IDLE_TIMEOUT').default('PT30M'),
  SESSION_ABSOLUTE_TIMEOUT: isoDuration('SESSION_ABSOLUTE_TIMEOUT').default('PT12H'),
  OIDC_ISSUER: z.url({ error: 'OIDC_ISSUER must be the provider\'s issuer URL, e.g. https://login.example.com' }).optional(),
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  OIDC_DISPLAY_NAME: z.string().min(1).max(60).default('single sign-on'),
  /** Comma-separated `acr` values that mean the provider checked a second factor (domain/second-factor.ts). */
  OIDC_MFA_ACR_VALUES: z
    .string()
    .max(2000)
    .transform((v) => v.split(',').map((x) => x.trim()).filter((x) => x.length > 0))
    .optional(),
}).superRefine(checkTemporalTls);

export type Config = Omit<z.infer<typeof schema>, 'DATA_DIR'> & { DATA_DIR: string };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment; one message per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const key = issue.path.join('.');
        return issue.message.startsWith(key) ? issue.message : `${key}: ${issue.message}`;
      }),
    );
  }
  return { ...result.data, DATA_DIR: path.resolve(result.data.DATA_DIR) };
}

/** The lifecycle durations handed to every link workflow as input. */
export interface LifecycleDurations {
  tokenValidity: string;
  reminderOffsets: string[];
  installReminderAfter: string;
  idleContinueAsNewAfter: string;
}

export function lifecycleDurations(config: Config): LifecycleDurations {
  return {
    tokenValidity: config.TOKEN_VALIDITY,
    reminderOffsets: config.REMINDER_OFFSETS,
    installReminderAfter: config.INSTALL_REMINDER_AFTER,
    idleContinueAsNewAfter: config.LINK_IDLE_CONTINUE_AS_NEW_AFTER,
  };
}

/** HANDOFF_RECONCILE_INTERVAL and HANDOFF_RECONCILE_GRACE in milliseconds. */
export function handoffReconcileTiming(config: Config): { intervalMs: number; graceMs: number } {
  return { intervalMs: durationMs(config.HANDOFF_RECONCILE_INTERVAL), graceMs: durationMs(config.HANDOFF_RECONCILE_GRACE) };
}

/** ACCOUNT_EVENT_RECONCILE_INTERVAL in milliseconds. */
export function accountEventReconcileIntervalMs(config: Config): number {
  return durationMs(config.ACCOUNT_EVENT_RECONCILE_INTERVAL);
}

/** IDEMPOTENCY_KEY_TTL in milliseconds. */
export function idempotencyKeyTtlMs(config: Config): number {
  return durationMs(config.IDEMPOTENCY_KEY_TTL);
}

/** How the worker delivers notifications: webhook retries and timeout, SMTP. */
export function notificationDelivery(config: Config): NotificationDeliveryConfig {
  return {
    retry: {
      initialIntervalMs: durationMs(config.WEBHOOK_RETRY_INITIAL_INTERVAL),
      maximumIntervalMs: durationMs(config.WEBHOOK_RETRY_MAX_INTERVAL),
      backoffCoefficient: 2,
      maximumAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    },
    webhookTimeoutMs: durationMs(config.WEBHOOK_TIMEOUT),
    allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    allowHttp: config.WEBHOOK_ALLOW_HTTP,
    smtp: config.SMTP_URL ? { url: config.SMTP_URL, from: config.SMTP_FROM } : undefined,
  };
}

/** Which webhook URLs the API accepts (the worker checks the same at delivery). */
export function webhookUrlPolicy(config: Config): WebhookUrlPolicy {
  return { allowHttp: config.WEBHOOK_ALLOW_HTTP, allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS };
}

/** The retention workflow's input and schedule interval. */
export function retentionSetup(config: Config): { every: number; policy: RetentionPolicy } {
  return {
    every: durationMs(config.RETENTION_INTERVAL),
    policy: {
      ...DEFAULT_RETENTION_POLICY,
      oauthTimestampWindowSeconds: config.OAUTH_TIMESTAMP_WINDOW_SECONDS,
      auditRetentionDays: config.AUDIT_RETENTION_DAYS,
      notificationRetentionDays: config.NOTIFICATION_RETENTION_DAYS,
      importRowRetentionDays: config.IMPORT_ROW_RETENTION_DAYS,
      batchSize: config.RETENTION_BATCH_SIZE,
    },
  };
}
