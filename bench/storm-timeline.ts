/**
 * Where a timer storm's time goes, read from the histories Temporal recorded (a sample of the
 * storm's workflows): how late the timer fired after the due second, how long the workflow task
 * waited in its queue and ran, and how long the delivery child took to start. Reminders now run
 * notify as a local activity inside that workflow task (its time is in the task's run time, the
 * activity figures stay empty); histories of regular activities (older code) fill them. Diagnostic
 * only (the figure is the drain rate); it tells the server's share from the worker's.
 */
import type { Client } from '@temporalio/client';
import proto, { type temporal } from '@temporalio/proto';
import { linkWorkflowId } from '../workflows/link-types';
import { distribution, type Distribution } from './util';

// CommonJS: under Node's ESM loader only the default export is reliable (runtime/search-attributes.ts).
const E = proto.temporal.api.enums.v1.EventType;

export interface StormTimeline {
  sampled: number;
  /** Timer fired, from the due second (server: timer queue). */
  timerFiredLagMs: Distribution;
  /** Workflow task after the timer: scheduled → started (task queue wait) and started → completed (worker). */
  wftQueueMs: Distribution;
  wftRunMs: Distribution;
  /** A regular notify activity (code before local timer activities): scheduled → started (task queue wait) and started → completed. */
  activityQueueMs: Distribution;
  activityRunMs: Distribution;
  /** The delivery child: initiated → started. */
  childStartMs: Distribution;
  /** From the due second to notify's result in history (the local activity's marker, or the activity's completion). */
  recordedAfterDueMs: Distribution;
}

const ms = (t: { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined): number => {
  if (!t) return NaN;
  const s = typeof t.seconds === 'number' ? t.seconds : (t.seconds?.toNumber() ?? 0);
  return s * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
};

export async function stormTimeline(client: Client, linkIds: string[], dueAtMs: number, sample = 60): Promise<StormTimeline> {
  const step = Math.max(1, Math.floor(linkIds.length / sample));
  const picked = linkIds.filter((_, i) => i % step === 0).slice(0, sample);
  const acc = { fired: [] as number[], wftQ: [] as number[], wftRun: [] as number[], actQ: [] as number[], actRun: [] as number[], child: [] as number[], recorded: [] as number[] };
  for (const linkId of picked) {
    let events: temporal.api.history.v1.IHistoryEvent[];
    try {
      events = (await client.workflow.getHandle(linkWorkflowId(linkId)).fetchHistory()).events ?? [];
    } catch {
      continue; // continued as new meanwhile, or gone: the sample is smaller
    }
    const at = (i: number) => ms(events[i]?.eventTime);
    const find = (type: number, from: number) => events.findIndex((e, i) => i >= from && e.eventType === type);
    const fired = find(E.EVENT_TYPE_TIMER_FIRED, 0);
    if (fired < 0) continue;
    acc.fired.push(at(fired) - dueAtMs);
    const wftScheduled = find(E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, fired);
    const wftStarted = find(E.EVENT_TYPE_WORKFLOW_TASK_STARTED, fired);
    const wftCompleted = find(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, fired);
    if (wftScheduled >= 0 && wftStarted >= 0) acc.wftQ.push(at(wftStarted) - at(wftScheduled));
    if (wftStarted >= 0 && wftCompleted >= 0) acc.wftRun.push(at(wftCompleted) - at(wftStarted));
    const actScheduled = find(E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, fired);
    const actStarted = find(E.EVENT_TYPE_ACTIVITY_TASK_STARTED, fired);
    const actCompleted = find(E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, fired);
    if (actScheduled >= 0 && actStarted >= 0) acc.actQ.push(at(actStarted) - at(actScheduled));
    if (actStarted >= 0 && actCompleted >= 0) acc.actRun.push(at(actCompleted) - at(actStarted));
    const marker = events.findIndex((e, i) => i >= fired && e.eventType === E.EVENT_TYPE_MARKER_RECORDED && e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    const recorded = marker >= 0 ? marker : actCompleted;
    if (recorded >= 0) acc.recorded.push(at(recorded) - dueAtMs);
    const initiated = find(E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, fired);
    const childStarted = find(E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, fired);
    if (initiated >= 0 && childStarted >= 0) acc.child.push(at(childStarted) - at(initiated));
  }
  return {
    sampled: acc.fired.length,
    timerFiredLagMs: distribution(acc.fired),
    wftQueueMs: distribution(acc.wftQ),
    wftRunMs: distribution(acc.wftRun),
    activityQueueMs: distribution(acc.actQ),
    activityRunMs: distribution(acc.actRun),
    childStartMs: distribution(acc.child),
    recordedAfterDueMs: distribution(acc.recorded),
  };
}

export function describeTimeline(t: StormTimeline): string {
  const d = (x: Distribution) => `${x.p50}/${x.max}`;
  return (
    `${t.sampled} sampled, ms p50/max: timer fired +${d(t.timerFiredLagMs)}, workflow task queued ${d(t.wftQueueMs)} ran ${d(t.wftRunMs)}, ` +
    `notify queued ${d(t.activityQueueMs)} ran ${d(t.activityRunMs)}, child started after ${d(t.childStartMs)}; recorded +${d(t.recordedAfterDueMs)}`
  );
}
