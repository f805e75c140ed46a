import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smtpAccountMailer } from '../api/account-mail';
import { cookieClient, GOOD_PASSWORD } from './support/people';
import { mailHeader, mailText, startSmtpSink, type Mail, type SmtpSink } from './support/smtp-sink';
import { apiClient, eventually, startTestStack, type TestStack } from './support/stack';

// With SMTP set, invitation and reset links go by email, never in the API's answer. A real SMTP
// server (smtp-server, on 127.0.0.1) receives them; the link in the email works once and only once.
// When the mail server refuses, the Administrator gets the link instead (the person exists by then).
let stack: TestStack;
let smtp: SmtpSink;

beforeAll(async () => {
  smtp = await startSmtpSink({ refuse: (to) => to.startsWith('bounce.') });
  stack = await startTestStack({ accounts: { mailer: smtpAccountMailer({ url: smtp.url, from: 'dms-link <accounts@dms-link.test>' }) } });
});

afterAll(async () => {
  await stack?.stop();
  await smtp?.close();
});

/** The one email to `to` whose subject matches, and the one-time link's secret in its text. */
async function linkMailTo(to: string, subject: RegExp): Promise<{ mail: Mail; url: string; secret: string }> {
  const mail = await eventually(async () => smtp.mails.find((m) => m.to.includes(to) && subject.test(mailHeader(m.raw, 'Subject') ?? '')), 10_000, 100);
  const url = /https?:\/\/\S+\/console\/#\/link\/([\w-]+)/.exec(mailText(mail.raw));
  if (!url?.[1]) throw new Error(`no link in the email to ${to}`);
  return { mail, url: url[0], secret: url[1] };
}

let seq = 0;
const address = () => `203.0.113.${++seq}`;

describe('invitation and reset links by email (SMTP)', () => {
  it('an invitation is emailed with a link that sets the password once and only once', async () => {
    const org = await stack.newOrganization('Mailed Org');
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const email = `ivy.${org.orgId.slice(0, 8)}@example.test`;
    const invited = await admin('POST', '/v1/invitations', { json: { data: { type: 'invitations', attributes: { name: 'Ivy Invited', email, role: 'Viewer' } } } });
    expect(invited.status).toBe(201);
    expect(invited.json.data.attributes.delivery).toBe('EMAIL');
    // Emailed, so the answer does not carry the link.
    expect(invited.json.meta).toEqual({});

    const { mail, url, secret } = await linkMailTo(email, /invited to Mailed Org/);
    expect(mail.from).toBe('accounts@dms-link.test');
    expect(mail.to).toEqual([email]);
    expect(url.startsWith(`${stack.apiUrl}/console/#/link/`)).toBe(true);
    expect(mailText(mail.raw)).toContain('The link works once');
    expect(JSON.stringify(invited.json)).not.toContain(secret);

    const browser = cookieClient(stack.apiUrl, address());
    const inspected = await browser('POST', '/v1/auth/links/inspect', { json: { secret } });
    expect(inspected.json.data.attributes).toMatchObject({ purpose: 'INVITATION', email, name: 'Ivy Invited' });
    const used = await browser('POST', '/v1/auth/links/use', { json: { secret, password: GOOD_PASSWORD } });
    expect(used.status).toBe(201);
    expect((await browser('GET', '/v1/me')).json.data.attributes.email).toBe(email);

    // The same link again: refused, and the password it set stays.
    const stranger = cookieClient(stack.apiUrl, address());
    const again = await stranger('POST', '/v1/auth/links/use', { json: { secret, password: 'someone else entirely 77' } });
    expect([again.status, again.json.errors[0].code]).toEqual([410, 'LINK_USED']);
    expect((await stranger('POST', '/v1/auth/links/inspect', { json: { secret } })).json.errors[0].code).toBe('LINK_USED');
    expect((await stranger('POST', '/v1/auth/signIn', { json: { email, password: 'someone else entirely 77' } })).status).toBe(401);
    expect((await stranger('POST', '/v1/auth/signIn', { json: { email, password: GOOD_PASSWORD } })).status).toBe(201);
  });

  it('a mail server that refuses the invitation: 201 with the link shown once and why, and the link works', async () => {
    const org = await stack.newOrganization('Bounce Org');
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const email = `bounce.${org.orgId.slice(0, 8)}@example.test`;
    const invited = await admin('POST', '/v1/invitations', { json: { data: { type: 'invitations', attributes: { name: 'Bo Bounced', email, role: 'Viewer' } } } });
    expect(invited.status).toBe(201);
    expect(invited.json.data.attributes.delivery).toBe('SHOWN_ONCE');
    expect(invited.json.meta.emailError).toMatch(/could not be sent/);
    const secret = /\/console\/#\/link\/([\w-]+)$/.exec(invited.json.meta.invitationUrl as string)?.[1];
    expect(secret).toBeTruthy();
    expect(smtp.mails.some((m) => m.to.includes(email))).toBe(false);

    const browser = cookieClient(stack.apiUrl, address());
    expect((await browser('POST', '/v1/auth/links/use', { json: { secret, password: GOOD_PASSWORD } })).status).toBe(201);
    expect((await browser('GET', '/v1/me')).json.data.attributes.email).toBe(email);

    // A reset of that person, refused by the mail server too: its link is shown the same way.
    const userId = invited.json.relationships.user.data.id as string;
    const reset = await admin('POST', `/v1/users/${userId}/passwordResets`);
    expect(reset.status).toBe(201);
    expect(reset.json.data.attributes.delivery).toBe('SHOWN_ONCE');
    expect(reset.json.meta.url).toMatch(/\/console\/#\/link\//);
    expect(reset.json.meta.emailError).toMatch(/could not be sent/);
  });

  it("an Administrator's reset is emailed: the old password stops at once, the link sets a new one once", async () => {
    const org = await stack.newOrganization('Reset Org');
    const admin = apiClient(stack.apiUrl, org.apiKey);
    const email = `rex.${org.orgId.slice(0, 8)}@example.test`;
    const invited = await admin('POST', '/v1/invitations', { json: { data: { type: 'invitations', attributes: { name: 'Rex Reset', email, role: 'Device Manager' } } } });
    const userId = invited.json.relationships.user.data.id as string;
    const invitation = await linkMailTo(email, /invited to Reset Org/);
    const browser = cookieClient(stack.apiUrl, address());
    expect((await browser('POST', '/v1/auth/links/use', { json: { secret: invitation.secret, password: GOOD_PASSWORD } })).status).toBe(201);

    const reset = await admin('POST', `/v1/users/${userId}/passwordResets`);
    expect(reset.status).toBe(201);
    expect(reset.json.data.attributes).toMatchObject({ purpose: 'PASSWORD_RESET', delivery: 'EMAIL' });
    expect(reset.json.meta.url).toBeUndefined();
    // The old password and the old session stop now.
    expect((await browser('GET', '/v1/me')).status).toBe(401);
    const signIn = (password: string) => cookieClient(stack.apiUrl, address())('POST', '/v1/auth/signIn', { json: { email, password } });
    expect((await signIn(GOOD_PASSWORD)).status).toBe(401);

    const { mail, secret } = await linkMailTo(email, /Reset your password for Reset Org/);
    expect(mail.to).toEqual([email]);
    expect(secret).not.toBe(invitation.secret);
    const newPassword = 'quiet lantern meadow 93';
    const used = await cookieClient(stack.apiUrl, address())('POST', '/v1/auth/links/use', { json: { secret, password: newPassword } });
    expect(used.status).toBe(201);
    const again = await cookieClient(stack.apiUrl, address())('POST', '/v1/auth/links/use', { json: { secret, password: 'a third password here 12' } });
    expect([again.status, again.json.errors[0].code]).toEqual([410, 'LINK_USED']);
    expect((await signIn(newPassword)).status).toBe(201);
    expect((await signIn('a third password here 12')).status).toBe(401);
  });
});
