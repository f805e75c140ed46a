import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiKeyPrefix, generateApiKey, hashApiKey } from '../../domain/api-key';
import type { Db } from '../../db/client';
import { apiKeys, users } from '../../db/schema';

export interface ReceivedRequest {
  /** The raw body, exactly as signed. */
  body: string;
  json: {
    id: string;
    type: string;
    createdDateTime: string;
    organizationId: string;
    mdmServer: { id: string; serverName: string } | null;
    data: Record<string, unknown>;
  };
  headers: http.IncomingHttpHeaders;
  /** The status this receiver answered. */
  answered: number;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * A local webhook receiver on 127.0.0.1:0. `answer(eventId, nth)` picks the HTTP status of the nth
 * (1-based) request carrying that event id; 200 by default.
 */
export async function startWebhookReceiver(answer: (eventId: string, nth: number) => number = () => 200): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const seen = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const eventId = String(req.headers['x-event-id'] ?? '');
      const nth = (seen.get(eventId) ?? 0) + 1;
      seen.set(eventId, nth);
      const status = answer(eventId, nth);
      received.push({ body, json: JSON.parse(body) as ReceivedRequest['json'], headers: req.headers, answered: status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'try again');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/dms-link/events`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A user of the organization with a built-in role or a custom role id, and an API key (straight into the database). */
export async function insertUser(db: Db, orgId: string, role: string, email: string, options: { departed?: boolean } = {}): Promise<{ userId: string; apiKey: string }> {
  const userId = randomUUID();
  const apiKey = generateApiKey();
  await db.insert(users).values({ id: userId, orgId, name: email.split('@')[0] ?? email, email, role, ...(options.departed ? { departedAt: new Date() } : {}) });
  await db.insert(apiKeys).values({ id: randomUUID(), userId, orgId, keyHash: hashApiKey(apiKey), prefix: apiKeyPrefix(apiKey) });
  return { userId, apiKey };
}

/** Parses the Prometheus text format into `name{labels}` → value. */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match?.[1] || match[3] === undefined) continue;
    values.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]));
  }
  return values;
}
