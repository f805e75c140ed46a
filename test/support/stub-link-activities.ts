import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { LinkActivities } from '../../activities/link-activity-types';
import { addDuration } from '../../domain/durations';

export interface StubCall {
  name: keyof LinkActivities;
  linkId: string;
  input: Record<string, unknown>;
}

/**
 * In-memory activities registered under the link workflow's activity names: the product's own
 * workflow runs against them on a real Temporal server, so every message can be driven in every
 * state quickly. `failing` makes a named activity fail for good (a bug), `refusing` with a rule.
 */
export function stubLinkActivities() {
  const calls: StubCall[] = [];
  const failing = new Set<keyof LinkActivities>();
  const refusing = new Map<keyof LinkActivities, string>();
  const record = (name: keyof LinkActivities, input: { linkId: string } & object) => {
    calls.push({ name, linkId: input.linkId, input: input as Record<string, unknown> });
    const refusal = refusing.get(name);
    if (refusal) throw ApplicationFailure.create({ message: `${name} refused`, type: refusal, nonRetryable: true });
    if (failing.has(name)) throw ApplicationFailure.create({ message: `${name} is broken`, type: 'INTERNAL_ERROR', nonRetryable: true });
  };
  const activities: LinkActivities = {
    async createLinkRecord(input) {
      record('createLinkRecord', input);
      return { serverName: input.serverName.trim() };
    },
    async ingestCertificate(input) {
      record('ingestCertificate', input);
    },
    async issueServiceToken(input) {
      record('issueServiceToken', input);
      const issuedAtMs = Math.floor(Date.now() / 1000) * 1000;
      return { issuedAtMs, expiresAtMs: addDuration(issuedAtMs, input.tokenValidity) };
    },
    async recordInstallation(input) {
      record('recordInstallation', input);
    },
    async expireServiceToken(input) {
      record('expireServiceToken', input);
    },
    async requireReplacement(input) {
      record('requireReplacement', input);
    },
    async notify(input) {
      record('notify', input);
      // No id: the workflow starts no delivery child (webhooks are not under test here).
      return undefined as unknown as { notificationId: string; deliver: boolean };
    },
    async updateLinkRecord(input) {
      record('updateLinkRecord', input);
      return { serverName: input.serverName ?? 'unchanged' };
    },
    async deleteLinkRecord(input) {
      record('deleteLinkRecord', input);
    },
  };
  return {
    activities,
    calls,
    failing,
    refusing,
    callsOf: (linkId: string, name?: keyof LinkActivities) => calls.filter((c) => c.linkId === linkId && (!name || c.name === name)),
    newId: () => randomUUID(),
  };
}
