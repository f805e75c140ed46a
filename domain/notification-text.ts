/**
 * What a notification says to a person (the email), from the stored notification alone. Plain text,
 * ASCII subject lines; the kind's code is in the subject so mail rules can sort on it.
 */
export interface NotificationForText {
  id: string;
  kind: string;
  /** Null for an organization-level notification: it names no service. */
  linkId: string | null;
  serverName: string;
  createdAt: Date;
  data: Record<string, unknown>;
}

const REASONS: Record<string, string> = {
  NEW_PUBLIC_KEY: 'a new public key certificate was uploaded',
  PASSWORD_CHANGED: 'the user who downloaded the token changed their password',
  USER_DEPARTED: 'the user who downloaded the token left the organization',
};

/** What happened, in a few words (the email's subject after the kind; the console's notifications page). */
export function notificationHeadline(n: Pick<NotificationForText, 'kind' | 'data'>): string {
  const expires = typeof n.data.expiresDateTime === 'string' ? n.data.expiresDateTime : undefined;
  switch (n.kind) {
    case 'RENEWAL_REMINDER':
      return `the service token expires ${expires ? `on ${expires}` : 'soon'}${typeof n.data.offset === 'string' ? ` (reminder ${n.data.offset} before expiry)` : ''}`;
    case 'INSTALL_REMINDER':
      return `the downloaded service token has not been installed${typeof n.data.after === 'string' ? ` ${n.data.after} after download` : ''}`;
    case 'TOKEN_EXPIRED':
      return 'the service token has expired';
    case 'TOKEN_INSTALLED':
      return 'the service token was installed';
    case 'REPLACEMENT_REQUIRED': {
      const reason = typeof n.data.reason === 'string' ? n.data.reason : undefined;
      return `a new service token is required${reason ? ` because ${REASONS[reason] ?? reason}` : ''}`;
    }
    case 'TERMS_PUBLISHED': {
      const title = typeof n.data.title === 'string' ? n.data.title : 'new terms';
      const version = typeof n.data.version === 'string' ? ` (version ${n.data.version})` : '';
      return `new terms to accept: ${title}${version}`;
    }
    default:
      return n.kind;
  }
}

const ACTIONS: Record<string, string> = {
  RENEWAL_REMINDER: 'Download a new service token before then and install it in the device management service.',
  INSTALL_REMINDER: 'Install the service token in the device management service, or download a new one.',
  TOKEN_EXPIRED: 'Download a new service token and install it in the device management service.',
  REPLACEMENT_REQUIRED: 'Download a new service token and install it in the device management service.',
  TERMS_PUBLISHED:
    "Until an Administrator accepts them, the organization's device management services are refused (403 T_C_NOT_SIGNED). " +
    'Read them and accept them in the console, or with POST /v1/terms/{id}/acceptance.',
};

export function notificationSubject(n: NotificationForText): string {
  return n.linkId === null ? `[dms-link] ${n.kind} - ${notificationHeadline(n)}` : `[dms-link] ${n.serverName}: ${n.kind} - ${notificationHeadline(n)}`;
}

export function notificationText(n: NotificationForText): string {
  if (n.linkId === null) {
    const url = typeof n.data.url === 'string' ? n.data.url : undefined;
    const lines = [
      `Your organization: ${notificationHeadline(n)}.`,
      '',
      ...(ACTIONS[n.kind] ? [ACTIONS[n.kind] ?? '', ''] : []),
      `Event:   ${n.kind} (${n.id})`,
      ...(url ? [`Terms:   ${url}`] : []),
      `At:      ${n.createdAt.toISOString()}`,
      '',
      `API: GET /v1/terms`,
    ];
    return `${lines.join('\n')}\n`;
  }
  const lines = [
    `Device management service "${n.serverName}": ${notificationHeadline(n)}.`,
    '',
    ...(ACTIONS[n.kind] ? [ACTIONS[n.kind] ?? '', ''] : []),
    `Event:   ${n.kind} (${n.id})`,
    `Server:  ${n.serverName} (${n.linkId})`,
    `At:      ${n.createdAt.toISOString()}`,
    '',
    `API: GET /v1/mdmServers/${n.linkId}`,
  ];
  return `${lines.join('\n')}\n`;
}
