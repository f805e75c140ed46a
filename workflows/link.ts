import {
  ActivityFailure,
  ApplicationFailure,
  log,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
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
import { addDuration, isValidIsoDuration, subtractDuration } from '../domain/durations';
import { DomainError, isErrorCode, type ErrorCode } from '../domain/errors';
import { normalizeServerName } from '../domain/server-name';
import { deliverNotificationWorkflow, deliverNotificationWorkflowId } from './deliver-notification';
import { nextDueEvent, type DueEvent } from './link-timers';
import type {
  CreateLinkRequest,
  DeleteLinkRequest,
  IssueTokenRequest,
  IssueTokenResult,
  LifecycleDurations,
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

/**
 * The same activities run as local activities: in the workflow task that asks for them, with their
 * result recorded as a marker. Same implementations, timeout and retry as the activities above.
 * - The timer path (reminders, expiry): a reminder is then one workflow task instead of two plus an
 *   activity task, and in a timer storm those tasks (each a cache miss replaying the history) are the
 *   bottleneck.
 * - The API's commands and the installation and revocation signals: an update waits for its
 *   activity, and each regular activity is a dispatch through the server's matching and back (on the
 *   dev server 60-100 ms per step, against ~15 ms for a local one; see README "Benchmark").
 */
const localActivities = proxyLocalActivities<LinkActivities>({
  startToCloseTimeout: '10 seconds',
  // No attempt or schedule-to-close limit: an outage is retried for as long as it takes, as above.
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  // Backoffs up to this are slept inside the workflow task (heartbeated); longer ones (a real outage)
  // become a durable timer, so a waiting step holds no workflow task or cache slot open.
  localRetryThreshold: '10 seconds',
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
    supersededTokenIds: [],
    supersededCertificateIds: [],
  };
}

/** Bounded: over a lifecycle of years a link supersedes a handful of ids; the newest 100 are plenty. */
function remember(ids: string[], id: string): void {
  if (!ids.includes(id)) ids.push(id);
  if (ids.length > 100) ids.splice(0, ids.length - 100);
}

/** A broken rule from an activity (or a validator) becomes the update's failure, with its code as type. */
function domainFailure(err: unknown): unknown {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && isErrorCode(err.cause.type)) {
    return ApplicationFailure.create({ message: err.cause.message, type: err.cause.type, nonRetryable: true });
  }
  if (err instanceof DomainError) return reject(err.code, err.detail);
  return err;
}

/** An idle run continues as new after this long unless LINK_IDLE_CONTINUE_AS_NEW_AFTER says otherwise. */
const DEFAULT_IDLE_CONTINUE_AS_NEW = 'P30D';

/** How long a timer step that failed for good waits before it is tried again. */
const FAILED_STEP_RETRY = '1 hour';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function reject(code: ErrorCode, detail: string): ApplicationFailure {
  return ApplicationFailure.create({ message: detail, type: code, nonRetryable: true });
}

/**
 * One durable workflow per link: creation, certificate, token generations, installation, reminder
 * timers, expiry, replacement and deletion. Deterministic: time is the workflow clock, durations
 * come from the input, every side effect is an activity (the timer steps' local ones).
 */
export async function linkWorkflow(input: LinkWorkflowInput): Promise<LinkLifecycle> {
  const { linkId, orgId } = input;
  /**
   * The durations of the current token generation. A token request carries the API's current
   * configuration, so a changed validity or reminder list reaches a running lifecycle at its next
   * token (older requests carry none: the input's apply).
   */
  let durations: LifecycleDurations = input.durations;
  // Older runs carried a lifecycle without the newer fields; they start with their defaults.
  const life: LinkLifecycle = { ...initialLifecycle(), ...input.carried };
  // A run carried past a deletion (a delete that raced continue-as-new in older code) ends at once.
  let deleted = life.linkState === 'DELETED';
  let newGeneration = false;
  /** Bumped on every change, so the timer wait wakes up and replans. */
  let version = 0;

  // One patch marker for every patch below: a run started on this code takes them all without
  // recording each. Core writes the TemporalChangeVersion search attribute (a visibility write) with
  // each patch's first marker in a run: five on a create, three more at a run's first reminder, ~3 ms
  // each on the dev server. Runs recorded before this marker replay each patch as they were recorded.
  const allPatches = patched('link-patches-2026-11');
  const has = (patchId: string): boolean => allPatches || patched(patchId);

  // Handlers take turns: two updates never interleave their activities.
  const serialized = takeTurns();
  const op = () => ({ operationId: uuid4(), linkId, orgId });

  /** The search attributes this run last wrote, to leave out a write that would change nothing. */
  let publishedAttributes: string | undefined;
  let upsertChangedOnly: boolean | undefined;
  function publish(): void {
    version++;
    const attributes = linkSearchAttributePairs(orgId, life);
    const written = JSON.stringify(attributes);
    // A step that changes nothing searchable (every reminder) writes no visibility record: in a timer
    // storm those writes were a share of the server's work for nothing. Older histories wrote it.
    // Decided at the run's first publish, whose write happens anyway: a patch's first marker in a run
    // writes the TemporalChangeVersion search attribute too, which a reminder's task should not.
    upsertChangedOnly ??= has('upsert-changed-attributes-only');
    if (written !== publishedAttributes || !upsertChangedOnly) upsertSearchAttributes(attributes);
    publishedAttributes = written;
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

  // Messages that reach a new run before its first task (a revocation sent while the previous run
  // continued as new, then a rename) are handed to the handlers as each is registered. Signals are
  // registered first so they take their turn before later updates, as in a running workflow;
  // registered after the updates, a revocation would run behind an update sent after it.
  const signalsFirst = has('signals-before-updates');
  if (signalsFirst) registerSignalHandlers();

  // ---- synchronous validators: the checks that need no I/O refuse an update before it enters history ----
  function validateLive(): void {
    if (deleted || life.rejected) throw reject('LINK_NOT_FOUND', 'The device management service does not exist.');
  }
  function validateExternal(): void {
    if (life.created && life.serverType === 'BUILT_IN') {
      throw reject('BUILT_IN_HAS_NO_TOKEN', 'A built-in device management service takes no public key certificate or service token.');
    }
  }
  function validateName(serverName: unknown): void {
    try {
      normalizeServerName(serverName);
    } catch (err) {
      throw domainFailure(err);
    }
  }
  function validateId(id: unknown, what: string): void {
    if (typeof id !== 'string' || !UUID.test(id)) throw reject('VALIDATION_FAILED', `The ${what} id must be a UUID.`);
  }
  function validateDurations(d: LifecycleDurations): void {
    const all = [d.tokenValidity, d.installReminderAfter, ...d.reminderOffsets, ...(d.idleContinueAsNewAfter ? [d.idleContinueAsNewAfter] : [])];
    if (!all.every((v) => typeof v === 'string' && isValidIsoDuration(v))) throw reject('VALIDATION_FAILED', 'The lifecycle durations must be ISO 8601 durations.');
  }
  function tokenSuperseded(tokenId: string): boolean {
    return life.supersededTokenIds.includes(tokenId) || (life.token?.tokenId === tokenId && life.token.ended);
  }
  function supersededToken(): ApplicationFailure {
    return reject('SUPERSEDED', 'This service token was superseded, revoked or has expired; it is never issued again. Request a new token.');
  }
  function supersededCertificate(): ApplicationFailure {
    return reject('SUPERSEDED', 'This public key certificate was replaced by a newer upload; it is never made current again. Upload the certificate anew.');
  }

  setHandler(
    createLinkUpdate,
    (request) =>
      serialized(async () => {
        if (life.created) return { linkId }; // a repeated create (same Idempotency-Key) answers the same
        if (life.rejected) throw reject('NAME_TAKEN', 'The device management service could not be created.');
        // The link and a certificate sent with it are recorded together or not at all, so a refused
        // certificate leaves no link behind and the same request may simply be sent again.
        const atomic = request.certificate !== undefined && has('atomic-create');
        try {
          const { serverName } = await commandPath().createLinkRecord({
            ...op(),
            serverName: request.serverName,
            serverType: request.serverType,
            allowReleaseDevices: request.allowReleaseDevices,
            actorUserId: request.actorUserId,
            ...(atomic && request.certificate ? { certificate: { ...request.certificate, operationId: uuid4() } } : {}),
          });
          life.serverName = serverName;
        } catch (err) {
          life.rejected = true;
          throw domainFailure(err);
        }
        life.created = true;
        life.serverType = request.serverType;
        life.linkState = request.serverType === 'BUILT_IN' ? 'ACTIVE' : 'PENDING_CERTIFICATE';
        if (atomic && request.certificate) {
          life.certificateId = request.certificate.certificateId;
          life.linkState = 'READY_FOR_TOKEN';
        } else if (request.certificate) {
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
        validateName(request.serverName);
        if (request.certificate) validateId(request.certificate.certificateId, 'certificate');
      },
    },
  );

  async function ingest(certificateId: string, derBase64: string, actorUserId: string): Promise<void> {
    const tokenLive = life.token !== null && !life.token.ended;
    const nextState: LinkState = tokenLive ? 'REPLACEMENT_REQUIRED' : life.token ? life.linkState : 'READY_FOR_TOKEN';
    const replacementReason = tokenLive ? 'NEW_PUBLIC_KEY' : life.replacementReason;
    await commandPath().ingestCertificate({ ...op(), certificateId, derBase64, actorUserId, nextState, replacementReason });
    if (life.certificateId) remember(life.supersededCertificateIds, life.certificateId);
    life.certificateId = certificateId;
    const changedToReplacement = nextState === 'REPLACEMENT_REQUIRED' && life.linkState !== 'REPLACEMENT_REQUIRED';
    life.linkState = nextState;
    life.replacementReason = replacementReason;
    if (changedToReplacement) await notifyReplacement();
  }

  /**
   * Records a notification, then delivers it (webhooks, email) in a child workflow of its own.
   * `via` is the timer path's activities when fire() sends it, the command path's otherwise.
   */
  async function notify(input: Omit<NotifyInput, 'operationId' | 'linkId' | 'orgId'>, via: Pick<LinkActivities, 'notify'> = commandPath()): Promise<void> {
    const recorded: { notificationId?: string; deliver?: boolean } | null | undefined = await via.notify({ ...op(), ...input });
    // Histories recorded before webhook delivery start no child here (and their notify returned nothing).
    if (!recorded?.notificationId || !has('webhook-delivery')) return;
    // A notification with no receiver (no webhook endpoint for its kind, no email) starts no delivery
    // child: that child and its planning activity were half of a timer storm's Temporal work, for
    // nothing. Histories recorded before notify answered `deliver` start the child as they did.
    if (recorded.deliver === false && has('deliver-only-to-receivers')) return;
    await startDelivery(recorded.notificationId, input.kind);
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
        if (life.supersededCertificateIds.includes(request.certificateId)) throw supersededCertificate();
        // The certificate the link holds, sent again (a replay after continue-as-new): nothing changes.
        if (request.certificateId === life.certificateId && has('refuse-superseded-ids')) return { linkState: life.linkState };
        try {
          await ingest(request.certificateId, request.derBase64, request.actorUserId);
        } catch (err) {
          throw domainFailure(err);
        }
        publish();
        return { linkState: life.linkState };
      }),
    {
      validator: (request: UploadCertificateRequest) => {
        validateLive();
        validateExternal();
        validateId(request.certificateId, 'certificate');
        if (typeof request.derBase64 !== 'string' || request.derBase64.length === 0) throw reject('CERTIFICATE_UNREADABLE', 'The certificate is empty.');
        if (life.supersededCertificateIds.includes(request.certificateId)) throw supersededCertificate();
      },
    },
  );

  setHandler(
    issueTokenUpdate,
    (request) =>
      serialized(async () => {
        requireLive();
        requireExternal();
        if (tokenSuperseded(request.tokenId)) throw supersededToken();
        // The current token asked for again (a replay after continue-as-new): it is answered, not re-armed.
        const current = life.token;
        if (current && current.tokenId === request.tokenId && has('refuse-superseded-ids')) {
          return { tokenId: current.tokenId, issuedAtMs: current.issuedAtMs, expiresAtMs: current.expiresAtMs };
        }
        if (!life.certificateId) {
          throw reject('CERTIFICATE_REQUIRED', 'Upload the public key certificate of the device management service before downloading a service token.');
        }
        if (request.durations) durations = request.durations;
        let issued: { issuedAtMs: number; expiresAtMs: number };
        try {
          issued = await commandPath().issueServiceToken({
            ...op(),
            tokenId: request.tokenId,
            certificateId: life.certificateId,
            actorUserId: request.actorUserId,
            tokenValidity: durations.tokenValidity,
          });
        } catch (err) {
          throw domainFailure(err);
        }
        if (life.token) remember(life.supersededTokenIds, life.token.tokenId);
        life.token = newTokenGeneration(request.tokenId, issued.issuedAtMs, issued.expiresAtMs);
        life.linkState = 'AWAITING_INSTALLATION';
        life.replacementReason = null;
        newGeneration = true;
        publish();
        return { tokenId: request.tokenId, ...issued };
      }),
    {
      validator: (request) => {
        validateLive();
        validateExternal();
        validateId(request.tokenId, 'service token');
        if (request.durations) validateDurations(request.durations);
        if (tokenSuperseded(request.tokenId)) throw supersededToken();
      },
    },
  );

  function newTokenGeneration(tokenId: string, issuedAtMs: number, expiresAtMs: number): TokenGeneration {
    // Reminders whose time had already passed at issue (a short validity) are not sent.
    const remindersDone = durations.reminderOffsets.filter((offset) => subtractDuration(expiresAtMs, offset) <= issuedAtMs);
    return { tokenId, issuedAtMs, expiresAtMs, installed: false, remindersDone, installReminderDone: false, ended: false };
  }

  setHandler(
    updateLinkUpdate,
    (request) =>
      serialized(async () => {
        requireLive();
        try {
          const { serverName } = await commandPath().updateLinkRecord({ ...op(), ...request });
          life.serverName = serverName;
        } catch (err) {
          throw domainFailure(err);
        }
        publish();
        return { serverName: life.serverName };
      }),
    {
      validator: (request) => {
        validateLive();
        if (request.serverName !== undefined) validateName(request.serverName);
      },
    },
  );

  setHandler(
    deleteLinkUpdate,
    (request) =>
      serialized(async () => {
        requireLive();
        // A delete ends the run. Answered by a local activity, its acceptance and the run's end share one
        // workflow task, and when the server refuses that task's completion because a message arrived
        // meanwhile (an unhandled command), the update is failed with it. A regular activity has the
        // update accepted in one task and the run end in a later one. Outside allPatches: histories
        // recorded under it ran this as a local activity.
        const via = patched('delete-accepted-before-end') ? activities : commandPath();
        await via.deleteLinkRecord({ ...op(), actorUserId: request.actorUserId });
        deleted = true;
        life.linkState = 'DELETED';
        if (life.token) life.token.ended = true;
        publish();
      }),
    {
      validator: (request) => {
        validateLive();
        if (typeof request.actorUserId !== 'string') throw reject('VALIDATION_FAILED', 'actorUserId is required.');
      },
    },
  );

  /**
   * A signal's work takes its turn like an update's, but nobody waits for its answer: a failure
   * (a non-retryable activity failure, i.e. a bug) is logged and the lifecycle goes on, instead of
   * failing the whole workflow or holding every later message behind it.
   */
  function survive(what: string, work: () => Promise<void>): Promise<void> {
    return serialized(work).catch((err: unknown) => {
      log.error(`link ${linkId}: the ${what} could not be recorded`, { error: err instanceof Error ? err.message : String(err) });
    });
  }

  /**
   * Signal handlers return their work, so allHandlersFinished (before continue-as-new) waits for it:
   * a revocation queued behind an installation must not be dropped by the new run.
   */
  function registerSignalHandlers(): void {
    setHandler(tokenInstalledSignal, ({ tokenId }) =>
      survive('installation', async () => {
        const token = life.token;
        // Only the current, still-working token can be installed; a repeated signal is a no-op.
        if (deleted || !token || token.tokenId !== tokenId || token.installed || token.ended) return;
        const nextState: LinkState = life.linkState === 'AWAITING_INSTALLATION' ? 'ACTIVE' : life.linkState;
        await commandPath().recordInstallation({ ...op(), tokenId, nextState, replacementReason: life.replacementReason });
        token.installed = true;
        life.linkState = nextState;
        await notify({ tokenId, kind: 'TOKEN_INSTALLED', detail: {} });
        publish();
      }),
    );

    setHandler(tokenRevokedSignal, ({ tokenId, reason }) =>
      survive('revocation', async () => {
        const token = life.token;
        if (deleted || !token || token.tokenId !== tokenId || token.ended) return;
        await commandPath().requireReplacement({ ...op(), tokenId, reason, nextState: 'REPLACEMENT_REQUIRED', replacementReason: reason });
        token.ended = true;
        life.linkState = 'REPLACEMENT_REQUIRED';
        life.replacementReason = reason;
        await notifyReplacement();
        publish();
      }),
    );
  }

  // Runs started before the 'signals-before-updates' patch registered them here, after the updates'.
  if (!signalsFirst) registerSignalHandlers();

  // ---- main: wait for creation, then drive the timers of the current token generation ----
  if (!life.created) {
    await condition(() => life.created || life.rejected);
    if (life.rejected) {
      await condition(allHandlersFinished);
      // A refused create ends the run as failed, so the same link id (the same Idempotency-Key) may
      // try again (reuse policy ALLOW_DUPLICATE_FAILED_ONLY), while a deleted link's completed run
      // can never be started again.
      if (has('refused-create-fails-run')) {
        throw ApplicationFailure.create({ message: 'The device management service was not created.', type: 'CREATE_REFUSED', nonRetryable: true });
      }
      return life;
    }
  } else {
    publish();
  }

  // A new run right after a token download would hold the next workflow task back (the server
  // spaces continue-as-new runs ~1 s apart), delaying a quick installation. So the run continues as
  // new once the new token's first event has happened: installed, ended, or its install reminder.
  const lazyContinueAsNew = has('lazy-continue-as-new');
  const generationSettled = () => {
    const token = life.token;
    return !token || token.installed || token.ended || token.installReminderDone;
  };
  // An idle link (a token waiting months for its next reminder) also continues as new after a while,
  // so every running lifecycle picks up new workflow code and old patches can be retired.
  const idleContinueAsNew = has('idle-continue-as-new');
  const runStartedMs = Date.now();
  const idleAtMs = () => (idleContinueAsNew ? runStartedMs + addDuration(0, durations.idleContinueAsNewAfter ?? DEFAULT_IDLE_CONTINUE_AS_NEW) : Infinity);
  for (;;) {
    if (deleted) break;
    const idle = Date.now() >= idleAtMs();
    if (workflowInfo().continueAsNewSuggested || idle || (newGeneration && (!lazyContinueAsNew || generationSettled()))) {
      await condition(allHandlersFinished);
      // A delete handled while waiting ends the lifecycle here; a new run would live on as a zombie.
      if (deleted && has('no-continue-as-new-after-delete')) break;
      life.generation++;
      await continueAsNew<typeof linkWorkflow>({ linkId, orgId, durations, carried: life });
    }
    const due = nextDueEvent(life.token, durations);
    const wakeAtMs = Math.min(due?.atMs ?? Infinity, idleAtMs());
    const seen = version;
    const woke = Number.isFinite(wakeAtMs)
      ? await condition(() => version !== seen || deleted, Math.max(1, wakeAtMs - Date.now()))
      : await condition(() => version !== seen || deleted);
    // Woken by a message, or by the idle timer (the loop's top continues as new): nothing is due.
    if (woke || !due || due.atMs > wakeAtMs) continue;
    try {
      await serialized(() => fire(due));
    } catch (err) {
      // A timer step that failed for good (a bug, not an outage: those retry inside the activity)
      // is tried again later; meanwhile messages are handled and the workflow keeps running.
      log.error(`link ${linkId}: ${due.kind} failed; retrying in ${FAILED_STEP_RETRY}`, { error: err instanceof Error ? err.message : String(err) });
      const failedAt = version;
      await condition(() => version !== failedAt || deleted, FAILED_STEP_RETRY);
    }
  }
  await condition(allHandlersFinished);
  return life;

  /**
   * Where a timer step's activities run: locally in runs that reach it with the patch (see
   * localActivities); histories recorded before scheduled regular activities here and replay so.
   * Asked only where a step runs an activity, so the patch marker sits where the commands differ.
   */
  function timerPath(): Pick<LinkActivities, 'notify' | 'expireServiceToken'> {
    return has('local-timer-activities') ? localActivities : activities;
  }

  /**
   * Where a command's or signal's activities run: locally in runs that reach it with the patch (see
   * localActivities); histories recorded before scheduled regular activities here and replay so.
   * Asked at each activity call, so the patch marker sits where the commands differ.
   */
  function commandPath(): LinkActivities {
    return has('local-command-activities') ? localActivities : activities;
  }

  async function fire(due: DueEvent): Promise<void> {
    const token = life.token;
    if (!token || token.tokenId !== due.tokenId || token.ended || deleted) return;
    if (due.kind === 'INSTALL_REMINDER') {
      if (!token.installed) {
        await notify({ tokenId: token.tokenId, kind: 'INSTALL_REMINDER', detail: { after: durations.installReminderAfter } }, timerPath());
      }
      token.installReminderDone = true;
    } else if (due.kind === 'RENEWAL_REMINDER') {
      await notify(
        {
          tokenId: token.tokenId,
          kind: 'RENEWAL_REMINDER',
          detail: { offset: due.offset, expiresDateTime: new Date(token.expiresAtMs).toISOString() },
        },
        timerPath(),
      );
      token.remindersDone.push(due.offset);
    } else {
      const nextState: LinkState = 'EXPIRED';
      const via = timerPath();
      await via.expireServiceToken({ ...op(), tokenId: token.tokenId, nextState, replacementReason: null });
      await notify({ tokenId: token.tokenId, kind: 'TOKEN_EXPIRED', detail: { expiresDateTime: new Date(token.expiresAtMs).toISOString() } }, via);
      token.ended = true;
      life.linkState = nextState;
      life.replacementReason = null;
    }
    publish();
  }
}
