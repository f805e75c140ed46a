import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roles } from '../db/schema';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { createLink, uploadCertificate } from './support/links';
import { insertUser } from './support/notifications';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

/** Subject and other headers of a raw message (unfolded; our subjects are ASCII). */
function header(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/)[0]?.replace(/\r?\n[ \t]+/g, ' ') ?? '';
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

// Expiry 10 s after issue; one reminder 6 s before it (4 s after download).
const durations = { tokenValidity: 'PT10S', reminderOffsets: ['PT6S'], installReminderAfter: 'PT1M' };

let stack: TestStack;
let smtp: SMTPServer;
let cert: TestCertificate;
const mails: Mail[] = [];

beforeAll(async () => {
  // A local SMTP sink: accepts any sender and recipient, keeps the raw message.
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  const { port } = smtp.server.address() as AddressInfo;
  stack = await startTestStack({
    durations,
    notifications: {
      smtp: { url: `smtp://127.0.0.1:${port}`, from: 'dms-link <notifications@dms-link.test>' },
      retry: { initialIntervalMs: 200, maximumIntervalMs: 1_000, backoffCoefficient: 2, maximumAttempts: 4 },
    },
  });
  cert = makeRsaCertificate({ cn: 'Email MDM' });
});

afterAll(async () => {
  await stack?.stop();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  cleanupTestCertificates();
});

describe('notification email through SMTP', () => {
  it('the token managers of the organization get a reminder email naming the server and the kind', async () => {
    const org = await stack.newOrganization();
    const call = apiClient(stack.apiUrl, org.apiKey);
    const tag = org.orgId.slice(0, 8);
    // Recipients: users whose role has dms.manageTokens and who have not left.
    await insertUser(stack.database.db, org.orgId, 'Device Manager', `manager-${tag}@example.test`);
    await insertUser(stack.database.db, org.orgId, 'Viewer', `viewer-${tag}@example.test`);
    await insertUser(stack.database.db, org.orgId, 'Device Manager', `gone-${tag}@example.test`, { departed: true });
    const tokenKeepers = randomUUID();
    await stack.database.db.insert(roles).values({ id: tokenKeepers, orgId: org.orgId, name: 'Token keepers', permissions: ['dms.view', 'dms.manageTokens'] });
    await insertUser(stack.database.db, org.orgId, tokenKeepers, `keeper-${tag}@example.test`);

    const linkId = await createLink(call, 'Mail Room MDM');
    await uploadCertificate(call, linkId, cert.certPem);
    expect((await call('POST', `/v1/mdmServers/${linkId}/serviceToken`)).status).toBe(200);

    const reminder = await eventually(async () => mails.find((m) => (header(m.raw, 'Subject') ?? '').includes('RENEWAL_REMINDER') && m.raw.includes(linkId)), 20_000, 200);
    const subject = header(reminder.raw, 'Subject') ?? '';
    expect(subject).toContain('Mail Room MDM');
    expect(subject).toContain('RENEWAL_REMINDER');
    expect(reminder.from).toBe('notifications@dms-link.test');
    // The Administrator (admin-…@example.test, made with the organization), the Device Manager and
    // the user of a custom role with dms.manageTokens.
    expect(reminder.to).toHaveLength(3);
    expect(reminder.to).toContain(`manager-${tag}@example.test`);
    expect(reminder.to).toContain(`keeper-${tag}@example.test`);
    expect(reminder.to.find((a) => a.startsWith('admin-'))).toBeDefined();
    expect(reminder.to).not.toContain(`viewer-${tag}@example.test`);
    expect(reminder.to).not.toContain(`gone-${tag}@example.test`);
    expect(reminder.raw).toContain('PT6S');

    // The notification shows the email as sent.
    const [notification] = (await call('GET', `/v1/notifications?filter[linkId]=${linkId}&filter[kind]=RENEWAL_REMINDER`)).json.data as Array<{ id: string }>;
    const one = await eventually(async () => {
      const res = await call('GET', `/v1/notifications/${notification?.id}`);
      return res.json.data.attributes.email?.status === 'SENT' && res.json.data.attributes;
    });
    expect(one.email).toMatchObject({ status: 'SENT', recipients: 3, attempts: 1 });
    expect(header(reminder.raw, 'X-Event-Id')).toBe(notification?.id);
  });
});
