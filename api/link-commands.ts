import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { DomainError } from '../domain/errors';
import {
  DEFAULT_DEVICE_ACTIVITY_OPTIONS,
  startDeviceActivityWorkflow,
  startNotificationDeliveryWorkflow,
  type DeviceActivityOptions,
  type DeviceActivityStart,
} from './device-activity-commands';
import { DEFAULT_DEVICE_IMPORT_OPTIONS, startDeviceImportWorkflow, type DeviceImportOptions, type DeviceImportStart } from './device-import-commands';
import { DEFAULT_ACCOUNT_EVENT_PAGING, startAccountEventWorkflow, type AccountEventPaging, type AccountEventStart } from './account-event-commands';
import {
  createLinkUpdate,
  deleteLinkUpdate,
  issueTokenUpdate,
  linkWorkflow,
  tokenInstalledSignal,
  tokenRevokedSignal,
  updateLinkUpdate,
  uploadCertificateUpdate,
} from '../workflows/link';
import type {
  CreateLinkRequest,
  DeleteLinkRequest,
  IssueTokenRequest,
  IssueTokenResult,
  LifecycleDurations,
  TokenRevokedSignal,
  UpdateLinkRequest,
  UploadCertificateRequest,
} from '../workflows/link-types';
import { linkWorkflowId } from '../workflows/link-types';
import { LinkStateAttribute, OrganizationIdAttribute, ServerNameAttribute } from '../workflows/search-attributes';

/** What the API asks of link workflows; the router depends on this, tests can stub it. */
export interface LinkCommands {
  create(orgId: string, linkId: string, request: CreateLinkRequest): Promise<void>;
  uploadCertificate(linkId: string, request: UploadCertificateRequest): Promise<void>;
  issueToken(linkId: string, request: IssueTokenRequest): Promise<IssueTokenResult>;
  update(linkId: string, request: UpdateLinkRequest): Promise<void>;
  delete(linkId: string, request: DeleteLinkRequest): Promise<void>;
  tokenInstalled(linkId: string, tokenId: string): Promise<void>;
  tokenRevoked(linkId: string, signal: TokenRevokedSignal): Promise<void>;
  /** Starts the fan-out of a password change or departure to the user's links (api/account-event-commands.ts). */
  startAccountEvent(event: AccountEventStart): Promise<void>;
  /** Starts the workflow of a device activity (api/device-activity-commands.ts). */
  startDeviceActivity(start: DeviceActivityStart): Promise<void>;
  /** Starts the workflow of a device import (api/device-import-commands.ts). */
  startDeviceImport(start: DeviceImportStart): Promise<void>;
  /** Delivers a notification recorded by the API (webhooks, email) through its own workflow. */
  deliverNotification(notificationId: string, summary: string): Promise<void>;
}

export interface LinkCommandsOptions {
  client: Client;
  taskQueue: string;
  durations: LifecycleDurations;
  /** How long an API request waits for the workflow's verdict before answering 503. */
  updateTimeoutMs: number;
  accountEventPaging?: AccountEventPaging;
  deviceActivity?: Partial<DeviceActivityOptions>;
  deviceImport?: Partial<DeviceImportOptions>;
}

export function createLinkCommands(options: LinkCommandsOptions): LinkCommands {
  const { client, taskQueue, durations } = options;
  const bounded = <T>(fn: () => Promise<T>) => client.withDeadline(Date.now() + options.updateTimeoutMs, fn);
  const handle = (linkId: string) => client.workflow.getHandle<typeof linkWorkflow>(linkWorkflowId(linkId));

  return {
    async create(orgId, linkId, request) {
      const startWorkflowOperation = new WithStartWorkflowOperation(linkWorkflow, {
        workflowId: linkWorkflowId(linkId),
        taskQueue,
        args: [{ linkId, orgId, durations }],
        // The same link id (same Idempotency-Key) reaches the running workflow instead of a second one.
        workflowIdConflictPolicy: 'USE_EXISTING',
        // A refused create's run failed, so its link id may try again; a deleted link's run completed
        // and is never started again (a replayed create must not resurrect it).
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        typedSearchAttributes: [
          { key: OrganizationIdAttribute, value: orgId },
          { key: ServerNameAttribute, value: request.serverName },
          { key: LinkStateAttribute, value: 'PENDING_CERTIFICATE' },
        ],
        // The Temporal UI lists workflows by this: the service's name (as created; a rename shows in the
        // current details and DmsServerName). Never a secret: it is stored in clear.
        staticSummary: request.serverName,
        staticDetails: `Lifecycle of one linked ${request.serverType === 'BUILT_IN' ? 'built-in' : 'external'} device management service: certificate, service tokens, installation, reminders, expiry, replacement.`,
      });
      try {
        await bounded(() =>
          client.workflow.executeUpdateWithStart(createLinkUpdate, { args: [request], updateId: 'create', startWorkflowOperation }),
        );
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          throw new DomainError('LINK_DELETED', `The device management service ${linkId} was deleted; it cannot be created again. Send a new Idempotency-Key to create another.`);
        }
        throw err;
      }
    },
    async uploadCertificate(linkId, request) {
      await bounded(() => handle(linkId).executeUpdate(uploadCertificateUpdate, { args: [request], updateId: `certificate-${request.certificateId}` }));
    },
    issueToken(linkId, request) {
      // The configuration in effect now travels with the request: a running lifecycle's next token follows it.
      const args: [IssueTokenRequest] = [{ ...request, durations: request.durations ?? durations }];
      return bounded(() => handle(linkId).executeUpdate(issueTokenUpdate, { args, updateId: `token-${request.tokenId}` }));
    },
    async update(linkId, request) {
      await bounded(() => handle(linkId).executeUpdate(updateLinkUpdate, { args: [request] }));
    },
    async delete(linkId, request) {
      await bounded(() => handle(linkId).executeUpdate(deleteLinkUpdate, { args: [request], updateId: 'delete' }));
    },
    async tokenInstalled(linkId, tokenId) {
      await handle(linkId).signal(tokenInstalledSignal, { tokenId });
    },
    async tokenRevoked(linkId, signal) {
      await handle(linkId).signal(tokenRevokedSignal, signal);
    },
    async startAccountEvent(event) {
      const paging = options.accountEventPaging ?? DEFAULT_ACCOUNT_EVENT_PAGING;
      await bounded(() => startAccountEventWorkflow(client, { taskQueue, paging }, event));
    },
    async startDeviceActivity(start) {
      const deviceOptions = { ...DEFAULT_DEVICE_ACTIVITY_OPTIONS, ...options.deviceActivity, taskQueue };
      await bounded(() => startDeviceActivityWorkflow(client, deviceOptions, start));
    },
    async startDeviceImport(start) {
      const importOptions = { ...DEFAULT_DEVICE_IMPORT_OPTIONS, ...options.deviceImport, taskQueue };
      await bounded(() => startDeviceImportWorkflow(client, importOptions, start));
    },
    async deliverNotification(notificationId, summary) {
      await bounded(() => startNotificationDeliveryWorkflow(client, taskQueue, notificationId, summary));
    },
  };
}
