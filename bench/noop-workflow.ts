/**
 * The benchmark's ceiling: a workflow with the same Temporal steps as workflows/link.ts for one
 * onboarding — update-with-start (1 activity), certificate update (1 activity), token update
 * (1 activity) then continue-as-new, installation signal (2 activities), search attributes and
 * current details on every transition, then a timer wait — whose activities do nothing.
 * Deterministic workflow code: bundled by the bench worker from this file only.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  uuid4,
} from '@temporalio/workflow';
import { linkSearchAttributePairs } from '../workflows/search-attributes';
import { takeTurns } from '../workflows/take-turns';

export interface NoopLinkInput {
  linkId: string;
  orgId: string;
  validityMs: number;
  carried?: NoopLinkState;
}

export interface NoopLinkState {
  created: boolean;
  serverName: string;
  linkState: string;
  certificateId: string | null;
  token: { tokenId: string; issuedAtMs: number; expiresAtMs: number; installed: boolean } | null;
}

/** One call per activity of the real workflow; each only records the state the real one writes to Postgres. */
export interface NoopActivities {
  createLinkRecord(input: { operationId: string; linkId: string; serverName: string }): Promise<{ serverName: string }>;
  ingestCertificate(input: { operationId: string; linkId: string; certificateId: string; derBase64: string }): Promise<void>;
  issueServiceToken(input: { operationId: string; linkId: string; tokenId: string; validityMs: number }): Promise<{ issuedAtMs: number; expiresAtMs: number }>;
  recordInstallation(input: { operationId: string; linkId: string; tokenId: string }): Promise<void>;
  notify(input: { operationId: string; linkId: string; tokenId: string; kind: string }): Promise<void>;
}

export const noopCreateUpdate = defineUpdate<{ linkId: string }, [{ serverName: string }]>('createLink');
export const noopUploadUpdate = defineUpdate<{ linkState: string }, [{ certificateId: string; derBase64: string }]>('uploadCertificate');
export const noopIssueUpdate = defineUpdate<{ tokenId: string; issuedAtMs: number; expiresAtMs: number }, [{ tokenId: string }]>('issueToken');
export const noopInstalledSignal = defineSignal<[{ tokenId: string }]>('tokenInstalled');

const activities = proxyActivities<NoopActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export async function noopLinkWorkflow(input: NoopLinkInput): Promise<void> {
  const { linkId, orgId } = input;
  const life: NoopLinkState = input.carried ?? { created: false, serverName: '', linkState: 'PENDING_CERTIFICATE', certificateId: null, token: null };
  let newGeneration = false;
  let version = 0;
  const serialized = takeTurns();

  function publish(): void {
    version++;
    upsertSearchAttributes(linkSearchAttributePairs(orgId, life));
    setCurrentDetails(`**${life.serverName}**\n\nState: \`${life.linkState}\``);
  }

  setHandler(noopCreateUpdate, (request) =>
    serialized(async () => {
      if (life.created) return { linkId };
      const { serverName } = await activities.createLinkRecord({ operationId: uuid4(), linkId, serverName: request.serverName });
      life.serverName = serverName;
      life.created = true;
      publish();
      return { linkId };
    }),
  );

  setHandler(noopUploadUpdate, (request) =>
    serialized(async () => {
      await activities.ingestCertificate({ operationId: uuid4(), linkId, certificateId: request.certificateId, derBase64: request.derBase64 });
      life.certificateId = request.certificateId;
      life.linkState = 'READY_FOR_TOKEN';
      publish();
      return { linkState: life.linkState };
    }),
  );

  setHandler(noopIssueUpdate, (request) =>
    serialized(async () => {
      const issued = await activities.issueServiceToken({ operationId: uuid4(), linkId, tokenId: request.tokenId, validityMs: input.validityMs });
      life.token = { tokenId: request.tokenId, ...issued, installed: false };
      life.linkState = 'AWAITING_INSTALLATION';
      newGeneration = true;
      publish();
      return { tokenId: request.tokenId, ...issued };
    }),
  );

  setHandler(noopInstalledSignal, ({ tokenId }) => {
    void serialized(async () => {
      const token = life.token;
      if (!token || token.tokenId !== tokenId || token.installed) return;
      await activities.recordInstallation({ operationId: uuid4(), linkId, tokenId });
      token.installed = true;
      life.linkState = 'ACTIVE';
      await activities.notify({ operationId: uuid4(), linkId, tokenId, kind: 'TOKEN_INSTALLED' });
      publish();
    });
  });

  if (!life.created) await condition(() => life.created);
  else publish();

  // Bounded: the bench ends its workflows by terminating them with the dev server.
  for (let i = 0; i < 1000; i++) {
    if (newGeneration) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof noopLinkWorkflow>({ linkId, orgId, validityMs: input.validityMs, carried: life });
    }
    const seen = version;
    const due = life.token ? life.token.expiresAtMs - Date.now() : undefined;
    if (due !== undefined) await condition(() => version !== seen || newGeneration, Math.max(1, due));
    else await condition(() => version !== seen || newGeneration);
  }
}
