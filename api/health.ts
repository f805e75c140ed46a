import type { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Database } from '../db/client';
import { apiRouter } from './router';

const CHECK_TIMEOUT_MS = 2000;

/** /healthz: the process answers. /readyz: Postgres and Temporal answer within 2 s each, else 503 naming which. */
export function healthRouter(database: Database, client: Client): Router {
  const router = apiRouter();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [postgres, temporal] = await Promise.all([
      database.ping(CHECK_TIMEOUT_MS).then(
        () => ({ ok: true, detail: database.kind }),
        (err: Error) => ({ ok: false, detail: err.message }),
      ),
      client
        .withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => client.workflowService.getSystemInfo({}))
        .then(
          () => ({ ok: true, detail: 'reachable' }),
          (err: Error) => ({ ok: false, detail: err.message.split('\n')[0] ?? 'unreachable' }),
        ),
    ]);
    const checks = { postgres, temporal };
    const down = Object.entries(checks).filter(([, c]) => !c.ok).map(([name]) => (name === 'postgres' ? 'Postgres' : 'Temporal'));
    res.status(down.length ? 503 : 200).json({
      status: down.length ? 'unavailable' : 'ready',
      ...(down.length ? { detail: `${down.join(' and ')} ${down.length > 1 ? 'are' : 'is'} unreachable` } : {}),
      checks,
    });
  });
  return router;
}
