// Notifications (dms.view): what was sent to whom — each event with its email and webhook deliveries.
import { apiJson } from './api.js';
import { fmtDate, h } from './dom.js';

const PAGE = 50;

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A delivery state in words (and a badge whose text, not its colour, carries the meaning). */
function stateBadge(c) {
  const tries = c.attempts > 1 ? ` after ${plural(c.attempts, 'attempt')}` : '';
  const text = {
    SENT: `Sent${tries}`,
    DELIVERED: `Delivered${tries}`,
    NO_RECIPIENTS: 'Not sent: nobody manages service tokens',
    FAILED: `Failed${c.lastStatusCode ? ` (HTTP ${c.lastStatusCode})` : ''}${tries}`,
    PENDING: c.attempts ? `Retrying (${plural(c.attempts, 'attempt')} so far)` : 'Sending',
  }[c.status] ?? c.status;
  const kind = c.status === 'FAILED' ? 'bad' : c.status === 'PENDING' || c.status === 'NO_RECIPIENTS' ? 'warn' : 'ok';
  return h('span', { class: `badge ${kind}` }, c.status === 'FAILED' ? `⚠ ${text}` : text);
}

function channelCells(c) {
  if (c.channel === 'EMAIL') {
    const people = c.recipients ? c.recipients.map((r) => r.name).join(', ') : plural(c.recipientCount, 'person');
    return [h('td', { 'data-label': 'Channel' }, 'Email'), h('td', { 'data-label': 'Sent to' }, people || '—')];
  }
  return [h('td', { 'data-label': 'Channel' }, 'Webhook'), h('td', { 'data-label': 'Sent to' }, c.receiver)];
}

/** One table row per channel of each notification; a notification that went nowhere says so. */
function rowsOf(doc) {
  return doc.data.flatMap(({ id, attributes: n }) => {
    const event = () => [
      h('td', { 'data-label': 'When' }, fmtDate(n.createdDateTime)),
      h('td', { 'data-label': 'Event' }, h('strong', {}, n.kind), h('br'), h('span', { class: 'hint' }, n.summary)),
      // An organization-level notification (new terms) is about no one service.
      h('td', { 'data-label': 'Service' }, n.mdmServer
        ? h('a', { href: `#/services/${n.mdmServer.id}` }, n.mdmServer.serverName || n.mdmServer.id)
        : 'Organization'),
    ];
    if (!n.channels.length) {
      return [h('tr', { 'data-notification': id }, event(), h('td', { 'data-label': 'Channel' }, '—'), h('td', { 'data-label': 'Sent to' }, 'Nobody'),
        h('td', { 'data-label': 'State' }, h('span', { class: 'badge' }, 'Not sent: no webhook endpoint, no email (SMTP_URL)')))];
    }
    return n.channels.map((c) => h('tr', { 'data-notification': id, 'data-channel': c.channel }, event(), channelCells(c), h('td', { 'data-label': 'State' }, stateBadge(c))));
  });
}

export async function notificationsView(ui) {
  const tbody = h('tbody');
  const more = h('div', { class: 'actions' });
  const status = h('p', { role: 'status', class: 'hint' });
  let shown = 0;
  async function load(url) {
    const doc = await apiJson('GET', url);
    tbody.append(...rowsOf(doc));
    shown += doc.data.length;
    status.textContent = shown ? `${plural(shown, 'notification')} shown, newest first.` : 'No notifications yet: reminders, expiries, installations and replacements appear here.';
    more.replaceChildren(doc.links?.next ? h('button', { type: 'button', class: 'secondary', onclick: () => void load(doc.links.next) }, 'Show older') : '');
  }
  await load(`/v1/sentNotifications?limit=${PAGE}`);
  ui.page('Notifications',
    h('p', {}, 'What dms-link told people and systems about your device management services: each event, whom it went to (email to the people who manage service tokens, webhooks by their address) and whether it arrived. Webhook addresses show only their origin.'),
    status,
    h('table', { 'aria-label': 'Notifications sent' },
      h('thead', {}, h('tr', {}, ['When', 'Event', 'Service', 'Channel', 'Sent to', 'State'].map((t) => h('th', { scope: 'col' }, t)))),
      tbody),
    more);
}
