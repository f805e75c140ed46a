import nodemailer, { type Transporter } from 'nodemailer';

/** Sends invitation and reset links by email (SMTP_URL); without SMTP the API shows the link once instead. */
export interface AccountMailer {
  sendLink(input: { to: string; name: string; purpose: 'INVITATION' | 'PASSWORD_RESET'; url: string; expiresAt: Date; organization: string }): Promise<void>;
}

export function smtpAccountMailer(smtp: { url: string; from: string }): AccountMailer {
  let transporter: Transporter | undefined;
  return {
    async sendLink({ to, name, purpose, url, expiresAt, organization }) {
      transporter ??= nodemailer.createTransport(smtp.url);
      const invitation = purpose === 'INVITATION';
      await transporter.sendMail({
        from: smtp.from,
        to,
        subject: invitation ? `[dms-link] You are invited to ${organization}` : `[dms-link] Reset your password for ${organization}`,
        text: [
          `Hello ${name},`,
          '',
          invitation
            ? `You were invited to manage devices for ${organization} in dms-link. Open this link to set your password:`
            : `Open this link to set a new password for ${organization} in dms-link:`,
          '',
          url,
          '',
          `The link works once and until ${expiresAt.toISOString().replace('T', ' ').slice(0, 16)} UTC.`,
          invitation ? '' : 'If you did not ask for this, tell your administrator.',
        ].join('\n'),
      });
    },
  };
}
