import type { Router } from 'express';
import type { Db } from '../db/client';
import { findLinkView } from '../db/link-views';
import { tokenHistory, tokenSummary } from '../db/token-summary';
import { addDuration, subtractDuration } from '../domain/durations';
import type { LifecycleDurations } from '../workflows/link-types';
import { principalOf, requirePermission } from './auth';
import { problem } from './problem';
import { apiRouter } from './router';

type TimelineKind = 'ISSUED' | 'INSTALLED' | 'INSTALL_REMINDER_SENT' | 'INSTALL_REMINDER_DUE' | 'REMINDER_SENT' | 'REMINDER_DUE' | 'EXPIRES' | 'EXPIRED' | 'ENDED';

/** "P30D" → "30 days", for people; other durations as written. */
const inWords = (offset: string) => {
  const days = /^P(\d+)D$/.exec(offset)?.[1];
  return days ? `${days} day${days === '1' ? '' : 's'}` : offset;
};

interface TimelineEvent {
  kind: TimelineKind;
  dateTime: string;
  /** Words for people (the chart's labels and its table). */
  label: string;
}

/** `GET /v1/tokenSummary` (the home page) and `GET /v1/mdmServers/{id}/tokenTimeline` (a service page). */
export function yearAtAGlanceRouter(deps: { db: Db; durations: LifecycleDurations; now: () => Date }): Router {
  const router = apiRouter();
  const view = requirePermission('dms.view');

  router.get('/tokenSummary', view, async (req, res) => {
    const summary = await tokenSummary(deps.db, principalOf(req).orgId, deps.now());
    res.json({ data: { type: 'tokenSummaries', id: principalOf(req).orgId, attributes: summary } });
  });

  /**
   * The current token's year: issued, installed, reminders sent (recorded notifications) and still
   * due (from today's REMINDER_OFFSETS and INSTALL_REMINDER_AFTER; a link keeps the settings it was
   * started with, so "due" is the expected date), and expiry.
   */
  router.get('/mdmServers/:id/tokenTimeline', view, async (req, res) => {
    const orgId = principalOf(req).orgId;
    const id = String(req.params.id);
    const link = await findLinkView(deps.db, orgId, id);
    if (!link) throw problem('NOT_FOUND', `No device management service with id "${id.slice(0, 64)}" exists in your organization.`);
    const history = await tokenHistory(deps.db, orgId, link.id);
    const events: TimelineEvent[] = [];
    const now = deps.now().getTime();
    if (history) {
      const { token, sent } = history;
      const at = (d: Date | number) => new Date(d).toISOString();
      events.push({ kind: 'ISSUED', dateTime: at(token.issuedAt), label: 'Token issued' });
      if (token.installedAt) events.push({ kind: 'INSTALLED', dateTime: at(token.installedAt), label: 'Installed by the MDM service' });
      const sentOffsets = new Set<string>();
      let installReminderSent = false;
      for (const n of sent) {
        if (n.kind === 'RENEWAL_REMINDER') {
          const offset = typeof n.payload.offset === 'string' ? n.payload.offset : '';
          sentOffsets.add(offset);
          events.push({ kind: 'REMINDER_SENT', dateTime: at(n.createdAt), label: `Reminder sent (${inWords(offset)} before expiry)` });
        } else if (n.kind === 'INSTALL_REMINDER') {
          installReminderSent = true;
          events.push({ kind: 'INSTALL_REMINDER_SENT', dateTime: at(n.createdAt), label: 'Reminder sent: not installed yet' });
        }
      }
      const live = token.status === 'ACTIVE';
      if (live) {
        for (const offset of deps.durations.reminderOffsets) {
          const due = subtractDuration(token.expiresAt.getTime(), offset);
          if (!sentOffsets.has(offset) && due > now) events.push({ kind: 'REMINDER_DUE', dateTime: at(due), label: `Reminder due (${inWords(offset)} before expiry)` });
        }
        const installDue = addDuration(token.issuedAt.getTime(), deps.durations.installReminderAfter);
        if (!token.installedAt && !installReminderSent && installDue > now) {
          events.push({ kind: 'INSTALL_REMINDER_DUE', dateTime: at(installDue), label: 'Reminder due if not installed' });
        }
      }
      if (!live && token.endedAt && token.status !== 'EXPIRED') {
        events.push({ kind: 'ENDED', dateTime: at(token.endedAt), label: `Token stopped working (${token.endedReason ?? token.status})` });
      }
      events.push({ kind: token.expiresAt.getTime() <= now ? 'EXPIRED' : 'EXPIRES', dateTime: at(token.expiresAt), label: token.expiresAt.getTime() <= now ? 'Expired' : 'Expires' });
      events.sort((a, b) => a.dateTime.localeCompare(b.dateTime));
    }
    res.json({
      data: {
        type: 'tokenTimelines',
        id: link.id,
        attributes: { serverName: link.serverName, linkState: link.linkState, serviceTokenId: history?.token.id ?? null, now: new Date(now).toISOString(), events },
      },
    });
  });

  return router;
}
