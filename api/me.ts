import type { Router } from 'express';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { organizations } from '../db/schema';
import { findUser } from '../db/users';
import { principalOf } from './auth';
import { apiRouter } from './router';

/** `GET /v1/me`: who the caller is and what their role allows (the console hides what it does not). */
export function meRouter(deps: { db: Db }): Router {
  const router = apiRouter();
  router.get('/', async (req, res) => {
    const principal = principalOf(req);
    const [org] = await deps.db.select({ name: organizations.name }).from(organizations).where(eq(organizations.id, principal.orgId));
    const user = await findUser(deps.db, principal.orgId, principal.userId);
    res.json({
      data: {
        type: 'users',
        id: principal.userId,
        attributes: {
          name: principal.userName,
          email: user?.email ?? null,
          // As on /v1/users: a built-in role name or a custom role's id, and the role's name.
          role: principal.role,
          roleName: user?.roleName ?? principal.role,
          permissions: [...principal.permissions].sort(),
          organization: { id: principal.orgId, name: org?.name ?? '' },
        },
      },
    });
  });
  return router;
}
