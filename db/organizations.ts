import { eq } from 'drizzle-orm';
import type { Db } from './client';
import { organizations } from './schema';

export async function organizationName(db: Pick<Db, 'select'>, orgId: string): Promise<string> {
  const [org] = await db.select({ name: organizations.name }).from(organizations).where(eq(organizations.id, orgId));
  return org?.name ?? '';
}
