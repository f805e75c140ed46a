import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { recordAudit } from '../db/audit';
import { EmbeddedDatabaseLockedError } from '../db/embedded-lock';
import { createOrganizationWithAdmin } from '../db/identity';
import { revokeApiKeyByPrefix } from '../db/users';
import { publishTerms, TermsVersionTaken } from '../db/terms';
import { isEmailAddress } from '../domain/email';
import { ConfigError } from '../runtime/config';
import { InputError, UsageError, required, say, withDatabase } from './common';
import { generateDevicesCommand } from './generate-devices';
import { importDevicesCommand } from './import-devices';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  create-organization --name <name> --admin-email <email> [--admin-name <name>]
                      [--email <org email>] [--phone <phone>] [--address <address>]
      Creates an organization with its first Administrator and prints the Administrator's
      API key (shown once; only its hash is stored).

  revoke-api-key --prefix <prefix>
      Revokes the one live API key starting with <prefix> (as listed by GET /v1/users/{id}/apiKeys).

  publish-terms --version <version> --title <title> --url <https URL of the full text>
      Publishes new terms and conditions. From now on every organization's MDM services get
      403 T_C_NOT_SIGNED until one of its Administrators accepts them
      (console, or POST /v1/terms/{id}/acceptance).

  import-devices <file.csv> [--organization <id>]
      Adds the devices of a CSV file. Its first line names the columns, orgDevices attributes:
      serialNumber, deviceModel and productFamily are required; os, color, deviceCapacity,
      orderNumber, purchaseSourceType, description and assetTag are optional (an empty cell is
      not given). The whole file is checked first: if any line breaks a rule (each is listed with
      its line number) or names a serial number already held, nothing is imported. Then devices
      are added in batches of 1,000, each all or nothing, like POST /v1/orgDevices, with default
      assignment. Progress ("imported 3000/10000") goes to stderr.

  generate-devices --count <n> [--organization <id>]
      Adds <n> realistic demo devices (Apple-style serial numbers, real model names, colors and
      capacities per product family), with default assignment. Progress goes to stderr.

  --organization may be left out when the database holds one organization.

The database is DATABASE_URL when set, otherwise the embedded PGlite database in DATA_DIR (./data).
`;

async function createOrganization(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      'admin-email': { type: 'string' },
      'admin-name': { type: 'string' },
      email: { type: 'string' },
      phone: { type: 'string' },
      address: { type: 'string' },
    },
    strict: true,
  });
  const name = required(values, 'name');
  const adminEmail = required(values, 'admin-email');
  if (!isEmailAddress(adminEmail)) throw new UsageError(`--admin-email "${adminEmail}" is not an email address.`);
  if (values.email && !isEmailAddress(values.email)) throw new UsageError(`--email "${values.email}" is not an email address.`);
  if (name.length > 200) throw new UsageError('--name must be at most 200 characters.');
  const adminName = values['admin-name']?.trim() || 'Administrator';

  const made = await withDatabase(async ({ db }) => {
    const created = await createOrganizationWithAdmin(db, {
      name,
      adminName,
      adminEmail,
      ...(values.email ? { email: values.email } : {}),
      ...(values.phone ? { phone: values.phone } : {}),
      ...(values.address ? { address: values.address } : {}),
    });
    await recordAudit(db, {
      id: randomUUID(),
      orgId: created.orgId,
      actorUserId: null,
      actor: 'service',
      action: 'organization.create',
      linkId: null,
      outcome: 'SUCCESS',
      detail: { name, adminUserId: created.userId, via: 'cli' },
    });
    return created;
  });
  say(`Organization "${name}" created: ${made.orgId}`);
  say(`Administrator ${adminName} <${adminEmail}>: user ${made.userId}`);
  say(`API key (shown once, keep it): ${made.apiKey}`);
}

async function revokeApiKey(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { prefix: { type: 'string' } }, strict: true });
  const prefix = required(values, 'prefix');
  const result = await withDatabase(({ db }) => revokeApiKeyByPrefix(db, prefix));
  if (result.matches === 0) throw new Error(`No live API key has the prefix "${prefix}".`);
  if (result.matches > 1) throw new Error(`${result.matches} live API keys have the prefix "${prefix}"; revoke the right one with DELETE /v1/users/{id}/apiKeys/{keyId}.`);
  say(`API key ${prefix}… revoked${result.revoked ? ` (id ${result.revoked.id})` : ''}.`);
}

async function publishTermsCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { version: { type: 'string' }, title: { type: 'string' }, url: { type: 'string' } }, strict: true });
  const version = required(values, 'version');
  const title = required(values, 'title');
  const url = required(values, 'url');
  if (version.length > 100) throw new UsageError('--version must be at most 100 characters.');
  if (title.length > 300) throw new UsageError('--title must be at most 300 characters.');
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new UsageError(`--url "${url}" is not an http(s) URL.`);
  const published = await withDatabase(async ({ db }) => {
    try {
      return await publishTerms(db, { version, title, url });
    } catch (err) {
      if (err instanceof TermsVersionTaken) throw new UsageError(err.message);
      throw err;
    }
  });
  say(`Terms "${title}" (version ${version}) published: ${published.terms.id}`);
  say(`${published.orgIds.length} organization(s) must accept them; until then their MDM services get 403 T_C_NOT_SIGNED.`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'create-organization':
        await createOrganization(rest);
        return 0;
      case 'revoke-api-key':
        await revokeApiKey(rest);
        return 0;
      case 'publish-terms':
        await publishTermsCommand(rest);
        return 0;
      case 'import-devices':
        await importDevicesCommand(rest);
        return 0;
      case 'generate-devices':
        await generateDevicesCommand(rest);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof EmbeddedDatabaseLockedError) {
      process.stderr.write(`${err.message}\nThe server is running on this DATA_DIR: stop it first, or do this through its API (e.g. POST /v1/users with an Administrator's key).\n`);
      return 1;
    }
    if (err instanceof InputError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    process.stderr.write(`Failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
