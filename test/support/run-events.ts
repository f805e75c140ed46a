import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

/** Every event of a workflow id, oldest run first, following continue-as-new back from the latest run. */
export async function allRunEvents(client: Client, workflowId: string): Promise<HistoryEvent[][]> {
  const runs: HistoryEvent[][] = [];
  let runId: string | undefined;
  for (;;) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    runs.unshift(events);
    const previous = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!previous) return runs;
    runId = previous;
  }
}

export interface LocalActivityMarker {
  activityType: string;
  attempt: number;
  /** A failed attempt whose next backoff exceeded the local retry threshold: retried after a durable timer. */
  backoff: boolean;
  /** The event id of the workflow task completion that recorded it. */
  workflowTaskCompletedEventId: number;
  /** What the activity answered. */
  result: unknown;
}

/** The local activities a run recorded (core's `core_local_activity` markers), in order. */
export function localActivityMarkers(events: HistoryEvent[]): LocalActivityMarker[] {
  return events
    .filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED && e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
    .map((e) => {
      const details = e.markerRecordedEventAttributes?.details ?? {};
      const [data] = details.data?.payloads ?? [];
      const [result] = details.result?.payloads ?? [];
      // Core writes the marker's data in snake case.
      const meta = data ? defaultPayloadConverter.fromPayload<{ activity_type: string; attempt: number; backoff: unknown }>(data) : { activity_type: '', attempt: 0, backoff: null };
      return {
        activityType: meta.activity_type,
        attempt: meta.attempt,
        backoff: meta.backoff !== null && meta.backoff !== undefined,
        workflowTaskCompletedEventId: Number(e.markerRecordedEventAttributes?.workflowTaskCompletedEventId ?? 0),
        result: result ? defaultPayloadConverter.fromPayload(result) : undefined,
      };
    });
}

/**
 * The local activities recorded after the last token download (`issueServiceToken`): the timer
 * path's, with the API's onboarding (create, certificate, token) set aside. All of them when there was none.
 */
export function markersAfterTokenDownload(events: HistoryEvent[]): LocalActivityMarker[] {
  const markers = localActivityMarkers(events);
  const download = markers.findLastIndex((m) => m.activityType === 'issueServiceToken');
  return markers.slice(download + 1);
}

/** The regular activities a run scheduled, by type. */
export function scheduledActivityTypes(events: HistoryEvent[]): string[] {
  return events
    .filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? '');
}

/** The patches a run recorded (`core_patch` markers). */
export function patchMarkers(events: HistoryEvent[]): string[] {
  return events
    .filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED && e.markerRecordedEventAttributes?.markerName === 'core_patch')
    .map((e) => {
      const [data] = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads ?? [];
      return data ? defaultPayloadConverter.fromPayload<{ id: string }>(data).id : '';
    });
}
