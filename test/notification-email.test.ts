import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roles } from '../db/schema';
import { cleanupTestCertificates, makeRsaCertificate, type TestCertificate } from './support/certificates';
import { createLink, uploadCertificate } from './support/links';
import { insertUser } from './support/notifications';
import { mailHeader, startSmtpSink, type SmtpSink } from './support/smtp-sink';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// Expiry 10 s after issue; one reminder 6 s before it (4 s after download).
const durations = { tokenValidity: 'PT10S', reminderOffsets: ['PT6S'], installReminderAfter: 'PT1M' };

let stack: TestStack;
let smtp: SmtpSink;
let cert: TestCertificate;

beforeAll(async () => {
  smtp = await startSmtpSink();
  stack = await startTestStack({
    durations,
    notifications: {
      smtp: { url: smtp.url, from: 'dms-link <notifications@dms-link.test>' },
      retry: { initialIntervalMs: 200, maximumIntervalMs: 1_000, backoffCoefficient: 2, maximumAttempts: 4 },
    },
  });
  cert = makeRsaCertificate({ cn: 'Email MDM' });
});

afterAll(async () => {
  await stack?.stop();
  await smtp?.close();
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

    const reminder = await eventually(async () => smtp.mails.find((m) => (mailHeader(m.raw, 'Subject') ?? '').includes('RENEWAL_REMINDER') && m.raw.includes(linkId)), 20_000, 200);
    const subject = mailHeader(reminder.raw, 'Subject') ?? '';
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
    expect(mailHeader(reminder.raw, 'X-Event-Id')).toBe(notification?.id);
  });
});
