import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  WorkflowIdReusePolicy,
  upsertSearchAttributes,
  setCurrentDetails,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { LinkActivities, NotifyInput } from '../activities/link-activity-types';
import { subtractDuration } from '../domain/durations';
import { DomainError, isErrorCode, type ErrorCode } from '../domain/errors';
import { normalizeServerName } from '../domain/server-name';
import { deliverNotificationWorkflow, deliverNotificationWorkflowId } from './deliver-notification';
import { nextDueEvent, type DueEvent } from './link-timers';
import type {
  CreateLinkRequest,
  DeleteLinkRequest,
  IssueTokenRequest,
  IssueTokenResult,
  LinkLifecycle,
  LinkState,
  LinkWorkflowInput,
  TokenGeneration,
  TokenInstalledSignal,
  TokenRevokedSignal,
  UpdateLinkRequest,
  UploadCertificateRequest,
} from './link-types';
import { linkSearchAttributePairs } from './search-attributes';
import { takeTurns } from './take-turns';

// Messages are declared next to the workflow that handles them; the API imports these constants.
export const createLinkUpdate = defineUpdate<{ linkId: string }, [CreateLinkRequest]>('createLink');
export const uploadCertificateUpdate = defineUpdate<{ linkState: LinkState }, [UploadCertificateRequest]>('uploadCertificate');
export const issueTokenUpdate = defineUpdate<IssueTokenResult, [IssueTokenRequest]>('issueToken');
export const updateLinkUpdate = defineUpdate<{ serverName: string }, [UpdateLinkRequest]>('updateLink');
export const deleteLinkUpdate = defineUpdate<void, [DeleteLinkRequest]>('deleteLink');
export const tokenInstalledSignal = defineSignal<[TokenInstalledSignal]>('tokenInstalled');
export const tokenRevokedSignal = defineSignal<[TokenRevokedSignal]>('tokenRevoked');
export const lifecycleQuery = defineQuery<LinkLifecycle>('lifecycle');

const activities = proxyActivities<LinkActivities>({
  // Short: a crashed worker's activity is retried elsewhere after this long; every activity is a few queries.
  startToCloseTimeout: '10 seconds',
  // Postgres blips are retried for as long as it takes; broken rules are non-retryable failures.
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

function initialLifecycle(): LinkLifecycle {
  return {
    created: false,
    rejected: false,
    serverName: '',
    serverType: 'MDM',
    linkState: 'PENDING_CERTIFICATE',
    replacementReason: null,
    certificateId: null,
    token: null,
    generation: 0,
  };
}

/** A broken rule from an activity (or a validator) becomes the update's failure, with its code as type. */
function domainFailure(err: unknown): unknown {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && isErrorCode(err.cause.type)) {
    return ApplicationFailure.create({ message: err.cause.message, type: err.cause.type, nonRetryable: true });
  }
  if (err instanceof DomainError) return reject(err.code, err.detail);
  return err;
}

function reject(code: ErrorCode, detail: string): ApplicationFailure {
  return ApplicationFailure.create({ message: detail, type: code, nonRetryable: true });
}

/**
 * One durable workflow per link: creation, certificate, token generations, installation, reminder
 * timers, expiry, replacement and deletion. Deterministic: time is the workflow clock, durations
 * come from the input, every side effect is an activity.
 */
export async function linkWorkflow(input: LinkWorkflowInput): Promise<LinkLifecycle> {
  const { linkId, orgId, durations } = input;
  const life: LinkLifecycle = input.carried ?? initialLifecycle();
  let deleted = false;
  let newGeneration = false;
  /** Bumped on every change, so the timer wait wakes up and replans. */
  let version = 0;

  // Handlers take turns: two updates never interleave their activities.
  const serialized = takeTurns();
  const op = () => ({ operationId: uuid4(), linkId, orgId });

  function publish(): void {
    version++;
    upsertSearchAttributes(linkSearchAttributePairs(orgId, life));
    const expiry = life.token ? new Date(life.token.expiresAtMs).toISOString() : 'no token';
    setCurrentDetails(
      `**${life.serverName}** (${life.serverType})\n\nState: \`${life.linkState}\`` +
        (life.replacementReason ? ` — reason \`${life.replacementReason}\`` : '') +
        `\n\nToken expires: ${expiry}${life.token?.installed ? ' (installed)' : ''}`,
    );
  }

  function requireLive(): void {
    if (!life.created || deleted) throw reject('LINK_NOT_FOUND', 'The device management service does not exist.');
  }
  function requireExternal(): void {
    if (life.serverType === 'BUILT_IN') {
      throw reject('BUILT_IN_HAS_NO_TOKEN', 'A built-in device management service takes no public key certificate or service token.');
    }
  }

  setHandler(lifecycleQuery, () => life);

  setHandler(
    createLinkUpdate,
    (request) =>
      serialized(async () => {
        if (life.created) return { linkId }; // a repeated create (same Idempotency-Key) answers the same
        if (life.rejected) throw reject('NAME_TAKEN', 'The device management service could not be created.');
        try {
          const { serverName } = await activities.createLinkRecord({
            ...op(),
            serverName: request.serverName,
            serverType: request.serverType,
            allowReleaseDevices: request.allowReleaseDevices,
            actorUserId: request.actorUserId,
          });
          life.serverName = serverName;
        } catch (err) {
          life.rejected = true;
          throw domainFailure(err);
        }
        life.created = true;
        life.serverType = request.serverType;
        life.linkState = request.serverType === 'BUILT_IN' ? 'ACTIVE' : 'PENDING_CERTIFICATE';
        if (request.certificate) {
          // The link exists either way; a refused certificate leaves it waiting for one (API says which).
          try {
            await ingest(request.certificate.certificateId, request.certificate.derBase64, request.actorUserId);
          } catch (err) {
            publish();
            throw domainFailure(err);
          }
        }
        publish();
        return { linkId };
      }),
    {
      validator: (request) => {
        try {
          normalizeServerName(request.serverName);
        } catch (err) {
          throw domainFailure(err);
        }
      },
    },
  );

  async function ingest(certificateId: string, derBase64: string, actorUserId: string): Promise<void> {
    const tokenLive = life.token !== null && !life.token.ended;
    const nextState: LinkState = tokenLive ? 'REPLACEMENT_REQUIRED' : life.token ? life.linkState : 'READY_FOR_TOKEN';
    const replacementReason = tokenLive ? 'NEW_PUBLIC_KEY' : life.replacementReason;
    await activities.ingestCertificate({ ...op(), certificateId, derBase64, actorUserId, nextState, replacementReason });
    life.certificateId = certificateId;
    const changedToReplacement = nextState === 'REPLACEMENT_REQUIRED' && life.linkState !== 'REPLACEMENT_REQUIRED';
    life.linkState = nextState;
    life.replacementReason = replacementReason;
    if (changedToReplacement) await notifyReplacement();
  }

  /** Records a notification, then delivers it (webhooks, email) in a child workflow of its own. */
  async function notify(input: Omit<NotifyInput, 'operationId' | 'linkId' | 'orgId'>): Promise<void> {
    const recorded: { notificationId?: string } | null | undefined = await activities.notify({ ...op(), ...input });
    // Histories recorded before webhook delivery start no child here (and their notify returned nothing).
    if (recorded?.notificationId && patched('webhook-delivery')) await startDelivery(recorded.notificationId, input.kind);
  }

  async function startDelivery(notificationId: string, kind: string): Promise<void> {
    try {
      await startChild(deliverNotificationWorkflow, {
        workflowId: deliverNotificationWorkflowId(notificationId),
        args: [{ notificationId }],
        // Retries may outlive this run (continue-as-new) or the link (deletion): delivery goes on.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: `${kind} of ${life.serverName}`,
      });
    } catch (err) {
      // The same notification again (its record was deduplicated): it is delivered once.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  async function notifyReplacement(): Promise<void> {
    await notify({
      tokenId: life.token?.tokenId ?? null,
      kind: 'REPLACEMENT_REQUIRED',
      detail: { reason: life.replacementReason },
    });
  }

  setHandler(
    uploadCertificateUpdate,
    (request) =>
      serialized(async () => {
        requireLive();
        requireExternal();
        try {
          await ingest(request.certificateId, request.derBase64, request.actorUserId);
        } catch (err) {
          throw domainFailure(err);
        }
        publish();
        return { linkState: life.linkState };
      }),
    {
      validator: (_request: UploadCertificateRequest) => {
        if (deleted) throw reject('LINK_NOT_FOUND', 'The device management service was deleted.');
      },
    },
  );

  setHandler(issueTokenUpdate, (request) =>
    serialized(async () => {
      requireLive();
      requireExternal();
      if (!life.certificateId) {
        throw reject('CERTIFICATE_REQUIRED', 'Upload the public key certificate of the device management service before downloading a service token.');
      }
      let issued: { issuedAtMs: number; expiresAtMs: number };
      try {
        issued = await activities.issueServiceToken({
          ...op(),
          tokenId: request.tokenId,
          certificateId: life.certificateId,
          actorUserId: request.actorUserId,
          tokenValidity: durations.tokenValidity,
        });
      } catch (err) {
        throw domainFailure(err);
      }
      life.token = newTokenGeneration(request.tokenId, issued.issuedAtMs, issued.expiresAtMs);
      life.linkState = 'AWAITING_INSTALLATION';
      life.replacementReason = null;
      newGeneration = true;
      publish();
      return { tokenId: request.tokenId, ...issued };
    }),
  );

  function newTokenGeneration(tokenId: string, issuedAtMs: number, expiresAtMs: number): TokenGeneration {
    // Reminders whose time had already passed at issue (a short validity) are not sent.
    const remindersDone = durations.reminderOffsets.filter((offset) => subtractDuration(expiresAtMs, offset) <= issuedAtMs);
    return { tokenId, issuedAtMs, expiresAtMs, installed: false, remindersDone, installReminderDone: false, ended: false };
  }

  setHandler(updateLinkUpdate, (request) =>
    serialized(async () => {
      requireLive();
      try {
        const { serverName } = await activities.updateLinkRecord({ ...op(), ...request });
        life.serverName = serverName;
      } catch (err) {
        throw domainFailure(err);
      }
      publish();
      return { serverName: life.serverName };
    }),
  );

  setHandler(deleteLinkUpdate, (request) =>
    serialized(async () => {
      requireLive();
      await activities.deleteLinkRecord({ ...op(), actorUserId: request.actorUserId });
      deleted = true;
      life.linkState = 'DELETED';
      if (life.token) life.token.ended = true;
      publish();
    }),
  );

  // Signal handlers return their work, so allHandlersFinished (before continue-as-new) waits for it:
  // a revocation queued behind an installation must not be dropped by the new run.
  setHandler(tokenInstalledSignal, ({ tokenId }) =>
    serialized(async () => {
      const token = life.token;
      // Only the current, still-working token can be installed; a repeated signal is a no-op.
      if (deleted || !token || token.tokenId !== tokenId || token.installed || token.ended) return;
      const nextState: LinkState = life.linkState === 'AWAITING_INSTALLATION' ? 'ACTIVE' : life.linkState;
      await activities.recordInstallation({ ...op(), tokenId, nextState, replacementReason: life.replacementReason });
      token.installed = true;
      life.linkState = nextState;
      await notify({ tokenId, kind: 'TOKEN_INSTALLED', detail: {} });
      publish();
    }),
  );

  setHandler(tokenRevokedSignal, ({ tokenId, reason }) =>
    serialized(async () => {
      const token = life.token;
      if (deleted || !token || token.tokenId !== tokenId || token.ended) return;
      await activities.requireReplacement({ ...op(), tokenId, reason, nextState: 'REPLACEMENT_REQUIRED', replacementReason: reason });
      token.ended = true;
      life.linkState = 'REPLACEMENT_REQUIRED';
      life.replacementReason = reason;
      await notifyReplacement();
      publish();
    }),
  );

  // ---- main: wait for creation, then drive the timers of the current token generation ----
  if (!life.created) {
    await condition(() => life.created || life.rejected);
    if (life.rejected) {
      await condition(allHandlersFinished);
      return life;
    }
  } else {
    publish();
  }

  // A new run right after a token download would hold the next workflow task back (the server
  // spaces continue-as-new runs ~1 s apart), delaying a quick installation. So the run continues as
  // new once the new token's first event has happened: installed, ended, or its install reminder.
  const lazyContinueAsNew = patched('lazy-continue-as-new');
  const generationSettled = () => {
    const token = life.token;
    return !token || token.installed || token.ended || token.installReminderDone;
  };
  for (;;) {
    if (deleted) break;
    if (workflowInfo().continueAsNewSuggested || (newGeneration && (!lazyContinueAsNew || generationSettled()))) {
      await condition(allHandlersFinished);
      life.generation++;
      await continueAsNew<typeof linkWorkflow>({ linkId, orgId, durations, carried: life });
    }
    const due = nextDueEvent(life.token, durations);
    const seen = version;
    const woke = due
      ? await condition(() => version !== seen || deleted, Math.max(1, due.atMs - Date.now()))
      : await condition(() => version !== seen || deleted);
    if (woke || !due) continue;
    await serialized(() => fire(due));
  }
  await condition(allHandlersFinished);
  return life;

  async function fire(due: DueEvent): Promise<void> {
    const token = life.token;
    if (!token || token.tokenId !== due.tokenId || token.ended || deleted) return;
    if (due.kind === 'INSTALL_REMINDER') {
      if (!token.installed) {
        await notify({ tokenId: token.tokenId, kind: 'INSTALL_REMINDER', detail: { after: durations.installReminderAfter } });
      }
      token.installReminderDone = true;
    } else if (due.kind === 'RENEWAL_REMINDER') {
      await notify({
        tokenId: token.tokenId,
        kind: 'RENEWAL_REMINDER',
        detail: { offset: due.offset, expiresDateTime: new Date(token.expiresAtMs).toISOString() },
      });
      token.remindersDone.push(due.offset);
    } else {
      const nextState: LinkState = 'EXPIRED';
      await activities.expireServiceToken({ ...op(), tokenId: token.tokenId, nextState, replacementReason: null });
      await notify({ tokenId: token.tokenId, kind: 'TOKEN_EXPIRED', detail: { expiresDateTime: new Date(token.expiresAtMs).toISOString() } });
      token.ended = true;
      life.linkState = nextState;
      life.replacementReason = null;
    }
    publish();
  }
}
