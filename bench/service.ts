/**
 * The service under test, as its own process: runtime/services.ts startServices exactly as
 * `npm start` wires it (API and/or worker, Postgres or PGlite), plus — when asked — the ceiling
 * (bench/noop-app.ts). The bench drives it over HTTP from another process; this IPC channel only
 * creates fixtures (organizations, seeded rows) and reports memory, never on the measured path.
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { count, eq, sql } from 'drizzle-orm';
import { createOrganizationWithAdmin } from '../db/identity';
import { certificates, links, serviceTokens } from '../db/schema';
import { parsePublicKeyCertificate } from '../domain/certificate';
import { SecretBox } from '../domain/secret-box';
import { loadConfig } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { loadSecretsKey } from '../runtime/secrets-key';
import { startServices, type Services } from '../runtime/services';
import { startNoopStack, type NoopStack } from './noop-app';
import { directorySize } from './util';
import type { BenchOrg, FromService, ServiceRequest, ServiceSettings, ServiceStats, ToService } from './protocol';

const settings = JSON.parse(process.env.BENCH_SERVICE ?? '{}') as ServiceSettings;

function send(message: FromService): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: settings.dataDir,
    PORT: '0',
    DEP_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: settings.logLevel,
    DATABASE_URL: settings.databaseUrl ?? '',
    TEMPORAL_ADDRESS: settings.temporalAddress,
  };
  const config = loadConfig(env);
  const logger = createLogger(config.LOG_LEVEL);
  const services: Services = await startServices(config, settings.temporalAddress, logger, { api: settings.api, worker: settings.worker });
  const noop: NoopStack | undefined = settings.noop ? await startNoopStack(settings.temporalAddress, config.TEMPORAL_NAMESPACE) : undefined;
  const db = services.database.db;
  const secretBox = new SecretBox(loadSecretsKey(config));

  async function handle(request: ServiceRequest): Promise<unknown> {
    switch (request.op) {
      case 'createOrgs': {
        const orgs: BenchOrg[] = [];
        for (let i = 0; i < request.count; i++) {
          const suffix = randomBytes(4).toString('hex');
          orgs.push(await createOrganizationWithAdmin(db, { name: `Bench ${suffix}`, adminName: 'Bench Admin', adminEmail: `bench-${suffix}@example.test` }));
        }
        return orgs;
      }
      case 'seedLinks':
        return seedLinks(request.org, request.count, Buffer.from(request.certificateDerBase64, 'base64'));
      case 'countLinks': {
        const [row] = await db.select({ n: count() }).from(links).where(eq(links.linkState, request.state));
        return row?.n ?? 0;
      }
      case 'stats':
        return stats(request.gc ?? false);
      case 'stop':
        await noop?.stop();
        await services.stop();
        return null;
    }
  }

  async function stats(gc: boolean): Promise<ServiceStats> {
    // A full collection first (the bench starts this process with --expose-gc), so RSS is comparable between samples.
    if (gc) (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    let databaseBytes: number | null;
    if (services.database.kind === 'postgres') {
      const result = (await db.execute(sql`select pg_database_size(current_database())::bigint as size`)) as unknown as Array<{ size: string | number }>;
      databaseBytes = Number(result[0]?.size ?? 0);
    } else {
      databaseBytes = directorySize(path.join(config.DATA_DIR, 'pglite'));
    }
    const cachedWorkflows = services.worker ? services.worker.getStatus().numCachedWorkflows : null;
    return { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, externalBytes: memory.external, databaseBytes, cachedWorkflows };
  }

  /**
   * Rows as the activities would have written them after onboarding and installation, for one
   * organization, straight through Drizzle in batches (workflows would take far too long). The
   * certificate limit is an activity rule and does not apply to fixtures.
   */
  async function seedLinks(org: BenchOrg, total: number, der: Buffer): Promise<string[]> {
    const parsed = parsePublicKeyCertificate(der, new Date());
    const ids: string[] = [];
    const base = Date.now() - 400 * 86_400_000;
    const batch = 500;
    for (let start = 0; start < total; start += batch) {
      const linkRows: Array<typeof links.$inferInsert> = [];
      const certificateRows: Array<typeof certificates.$inferInsert> = [];
      const tokenRows: Array<typeof serviceTokens.$inferInsert> = [];
      for (let i = start; i < Math.min(total, start + batch); i++) {
        const id = randomUUID();
        const certificateId = randomUUID();
        const tokenId = randomUUID();
        const createdAt = new Date(base + i * 1000);
        const issuedAt = new Date(createdAt.getTime() + 3_600_000 + ((i * 7919) % 300) * 86_400_000);
        const expiresAt = new Date(issuedAt.getTime() + 365 * 86_400_000);
        const name = `Bench MDM ${String(i).padStart(5, '0')}`;
        ids.push(id);
        linkRows.push({
          id,
          orgId: org.orgId,
          serverName: name,
          nameKey: name.toLowerCase(),
          serverType: 'MDM',
          allowReleaseDevices: i % 3 === 0,
          linkState: 'ACTIVE',
          certificateId,
          tokenId,
          createdBy: org.userId,
          createdAt,
          updatedAt: issuedAt,
        });
        certificateRows.push({
          id: certificateId,
          linkId: id,
          orgId: org.orgId,
          der: parsed.der,
          fingerprintSha256: parsed.fingerprintSha256,
          subject: parsed.subject,
          issuer: parsed.issuer,
          serialNumber: parsed.serialNumberHex,
          notBefore: parsed.notBefore,
          notAfter: parsed.notAfter,
          keyBits: parsed.keyBits,
          uploadedBy: org.userId,
          uploadedAt: createdAt,
        });
        tokenRows.push({
          id: tokenId,
          linkId: id,
          orgId: org.orgId,
          certificateId,
          consumerKey: `CK_${randomBytes(64).toString('hex')}`,
          accessToken: `AT_${randomBytes(64).toString('hex')}`,
          consumerSecretEnc: secretBox.seal(`CS_${randomBytes(64).toString('hex')}`),
          accessSecretEnc: secretBox.seal(`AS_${randomBytes(64).toString('hex')}`),
          issuedAt,
          expiresAt,
          downloadedBy: org.userId,
          installedAt: new Date(issuedAt.getTime() + 600_000),
          status: 'ACTIVE',
        });
      }
      await db.transaction(async (tx) => {
        await tx.insert(links).values(linkRows);
        await tx.insert(certificates).values(certificateRows);
        await tx.insert(serviceTokens).values(tokenRows);
      });
    }
    await db.execute(sql`analyze`);
    return ids;
  }

  process.on('message', (message: ToService) => {
    const { id, ...request } = message;
    handle(request as ServiceRequest).then(
      (result) => {
        send({ type: 'reply', id, result });
        if (request.op === 'stop') process.exit(0);
      },
      (err: unknown) => send({ type: 'reply', id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  send({ type: 'ready', apiUrl: services.apiUrl ?? null, noopUrl: noop?.url ?? null });
}

// The bench owns this process: if it goes away, so does the service.
process.on('disconnect', () => process.exit(1));
main().catch((err: unknown) => {
  process.stderr.write(`bench service failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
