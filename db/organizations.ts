import { eq } from 'drizzle-orm';
import { isUuid } from '../domain/ids';
import type { Db } from './client';
import { organizations } from './schema';

export async function organizationName(db: Pick<Db, 'select'>, orgId: string): Promise<string> {
  const [org] = await db.select({ name: organizations.name }).from(organizations).where(eq(organizations.id, orgId));
  return org?.name ?? '';
}

/** The organization a command acts on: the one named, or the only one there is; otherwise why not. */
export async function pickOrganization(db: Pick<Db, 'select'>, orgId: string | undefined): Promise<{ id: string; name: string } | { refused: string }> {
  if (orgId !== undefined) {
    const [org] = isUuid(orgId) ? await db.select({ id: organizations.id, name: organizations.name }).from(organizations).where(eq(organizations.id, orgId)) : [];
    return org ?? { refused: `No organization has the id "${orgId.slice(0, 64)}".` };
  }
  const orgs = await db.select({ id: organizations.id, name: organizations.name }).from(organizations).limit(2);
  if (orgs.length === 1 && orgs[0]) return orgs[0];
  return { refused: orgs.length === 0 ? 'There is no organization yet: create one with create-organization.' : 'There are several organizations: name one with --organization <id>.' };
}
