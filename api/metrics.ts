import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { and, count, eq, gte, isNotNull, isNull, lte } from 'drizzle-orm';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/client';
import { links, notificationEmails, serviceTokens, webhookDeliveries, webhookDeliveryAttempts } from '../db/schema';
import { isUuid } from '../domain/ids';
import { LINK_STATES } from '../workflows/link-types';

export interface MetricsOptions {
  db: Db;
  /** How long one database snapshot serves scrapes (default 5 s, so many scrapers cost one set of queries). */
  cacheMs?: number | undefined;
}

export interface Metrics {
  registry: Registry;
  /** Times every request into dms_http_request_duration_seconds (mount first). */
  middleware: RequestHandler;
  /** `GET /metrics` in the Prometheus text format. */
  handler: RequestHandler;
}

interface Snapshot {
  links: Map<string, number>;
  expiringTokens: number;
  deliveries: Map<string, number>;
  failedAttempts: number;
  emails: Map<string, number>;
}

const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'FAILED'];
const EMAIL_STATUSES = ['PENDING', 'SENT', 'FAILED', 'NO_RECIPIENTS'];
const EXPIRING_WINDOW_MS = 30 * 86_400_000;

async function readSnapshot(db: Db): Promise<Snapshot> {
  const now = new Date();
  const [byState, expiring, byDelivery, failed, byEmail] = await Promise.all([
    // One grouped count: live links per state (deleted links are not counted).
    db.select({ state: links.linkState, n: count() }).from(links).where(isNull(links.deletedAt)).groupBy(links.linkState),
    db
      .select({ n: count() })
      .from(serviceTokens)
      .innerJoin(links, eq(links.tokenId, serviceTokens.id))
      .where(
        and(
          isNull(links.deletedAt),
          eq(serviceTokens.status, 'ACTIVE'),
          gte(serviceTokens.expiresAt, now),
          lte(serviceTokens.expiresAt, new Date(now.getTime() + EXPIRING_WINDOW_MS)),
        ),
      ),
    db.select({ status: webhookDeliveries.status, n: count() }).from(webhookDeliveries).groupBy(webhookDeliveries.status),
    db.select({ n: count() }).from(webhookDeliveryAttempts).where(isNotNull(webhookDeliveryAttempts.error)),
    db.select({ status: notificationEmails.status, n: count() }).from(notificationEmails).groupBy(notificationEmails.status),
  ]);
  return {
    links: new Map(byState.map((r) => [r.state, r.n])),
    expiringTokens: expiring[0]?.n ?? 0,
    deliveries: new Map(byDelivery.map((r) => [r.status, r.n])),
    failedAttempts: failed[0]?.n ?? 0,
    emails: new Map(byEmail.map((r) => [r.status, r.n])),
  };
}

/**
 * The route pattern of a request (`/v1/mdmServers/:id`), never the raw path: the matched route's own
 * path, under the mount path it was reached through (the leading segments the route did not match).
 * Unmatched requests (404s, scanners) share one label, so no caller can blow up the series count.
 */
export function routeLabel(req: Request): string {
  const routePath: unknown = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof routePath !== 'string') return 'unmatched';
  const segments = (req.originalUrl.split('?')[0] ?? '').split('/').filter((s) => s.length > 0);
  const routeSegments = routePath.split('/').filter((s) => s.length > 0);
  const base = segments.slice(0, Math.max(0, segments.length - routeSegments.length)).map((s) => (isUuid(s) ? ':id' : s));
  return `/${[...base, ...routeSegments].join('/')}`;
}

/**
 * Prometheus metrics. Gauges are read from Postgres at scrape time (one snapshot per cacheMs), so
 * every API replica reports the same values; no label carries an organization, a link or a secret.
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const { db } = options;
  const cacheMs = options.cacheMs ?? 5_000;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  let cached: { at: number; value: Promise<Snapshot> } | undefined;
  let last: Snapshot | undefined;
  let up = 0;
  async function snapshot(): Promise<Snapshot> {
    const nowMs = Date.now();
    if (!cached || nowMs - cached.at >= cacheMs) {
      cached = { at: nowMs, value: readSnapshot(db) };
    }
    try {
      last = await cached.value;
      up = 1;
    } catch {
      cached = undefined;
      up = 0;
    }
    return last ?? { links: new Map(), expiringTokens: 0, deliveries: new Map(), failedAttempts: 0, emails: new Map() };
  }

  new Gauge({
    name: 'dms_metrics_database_up',
    help: '1 when this scrape read the database, 0 when it failed (the other gauges then keep their last values)',
    registers: [registry],
    async collect() {
      await snapshot();
      this.set(up);
    },
  });
  new Gauge({
    name: 'dms_links',
    help: 'Links (device management services) by linkState; deleted links are not counted',
    labelNames: ['linkState'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      for (const state of LINK_STATES) if (state !== 'DELETED') this.set({ linkState: state }, s.links.get(state) ?? 0);
    },
  });
  new Gauge({
    name: 'dms_service_tokens_expiring_within_30_days',
    help: 'Active service tokens of live links that expire within the next 30 days',
    registers: [registry],
    async collect() {
      this.set((await snapshot()).expiringTokens);
    },
  });
  new Gauge({
    name: 'dms_webhook_deliveries',
    help: 'Webhook deliveries by status: PENDING (being retried), DELIVERED, FAILED (gave up after the last attempt)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      for (const status of DELIVERY_STATUSES) this.set({ status }, s.deliveries.get(status) ?? 0);
    },
  });
  new Gauge({
    name: 'dms_webhook_delivery_failed_attempts',
    help: 'Webhook delivery attempts that failed (non-2xx answer, network error or timeout), retried or not',
    registers: [registry],
    async collect() {
      this.set((await snapshot()).failedAttempts);
    },
  });
  new Gauge({
    name: 'dms_notification_emails',
    help: 'Notification emails by status (SMTP_URL configured)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      for (const status of EMAIL_STATUSES) this.set({ status }, s.emails.get(status) ?? 0);
    },
  });

  const duration = new Histogram({
    name: 'dms_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  return {
    registry,
    middleware(req: Request, res: Response, next: NextFunction) {
      const end = duration.startTimer();
      res.once('finish', () => end({ method: req.method, route: routeLabel(req), status_code: String(res.statusCode) }));
      next();
    },
    handler(_req: Request, res: Response, next: NextFunction) {
      registry.metrics().then(
        (text) => res.type(registry.contentType).send(text),
        (err: unknown) => next(err),
      );
    },
  };
}
