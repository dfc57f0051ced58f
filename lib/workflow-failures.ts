import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { decodeHistory } from './payload-decoding';

/**
 * What counts as "failing" in a running workflow, decided from Temporal's describe answer alone. Shared by the
 * console's stuck view (api/services/workflow-console.ts) and the batch verification (activities/console.ts), so
 * "the failure cleared" after a batch means exactly "it would no longer appear in the stuck view".
 */

/** A pending activity that has failed this many times counts as stuck. */
export const STUCK_ATTEMPTS = 3;

/** A workflow task attempted this many times is the workflow code itself failing. */
export const FAILING_WORKFLOW_TASK_ATTEMPTS = 2;

/** The parts of describeWorkflowExecution's answer the rule reads. */
export type DescribedWorkflow = Pick<temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse,
  'workflowExecutionInfo' | 'pendingActivities' | 'pendingWorkflowTask'>;

/** One pending activity that is failing. */
export interface FailingActivity {
  activityId: string | null; activityType: string | null; attempt: number; lastFailure: string;
  nextAttemptScheduleTime: temporal.api.workflow.v1.IPendingActivityInfo['nextAttemptScheduleTime'];
}

/** Whether the described workflow is running. */
export function isRunning(described: DescribedWorkflow): boolean {
  return described.workflowExecutionInfo?.status === temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
}

/**
 * The pending activities whose last attempt failed, on attempt `minAttempts` or later (the stuck view: STUCK_ATTEMPTS);
 * none unless running. The batch verification passes 1: a reset restarts the attempt count and clears the last
 * failure, so after a reset any failure at all is a new one, and waiting for the third would call it "cleared".
 */
export function failingActivities(described: DescribedWorkflow, minAttempts: number = STUCK_ATTEMPTS): FailingActivity[] {
  if (!isRunning(described)) return [];
  const found: FailingActivity[] = [];
  for (const activity of described.pendingActivities ?? []) {
    const attempt = activity.attempt ?? 0;
    const message = activity.lastFailure?.message ?? '';
    if (attempt < minAttempts || !message) continue;
    found.push({
      activityId: activity.activityId ?? null, activityType: activity.activityType?.name ?? null, attempt,
      lastFailure: message, nextAttemptScheduleTime: activity.nextAttemptScheduleTime,
    });
  }
  return found;
}

/** The attempt of a workflow task that keeps failing (the workflow code throws), or null; null unless running. */
export function failingWorkflowTaskAttempt(described: DescribedWorkflow): number | null {
  if (!isRunning(described)) return null;
  const attempt = described.pendingWorkflowTask?.attempt ?? 0;
  return attempt >= FAILING_WORKFLOW_TASK_ATTEMPTS ? attempt : null;
}

/** The stuck view's rule: running, with a failing activity (from `minAttempts` on) or a failing workflow task. */
export function isFailing(described: DescribedWorkflow, minAttempts: number = STUCK_ATTEMPTS): boolean {
  return failingActivities(described, minAttempts).length > 0 || failingWorkflowTaskAttempt(described) !== null;
}

/**
 * A failure message reduced to its cause, so that 37 journeys failing on the same registry fall into one group:
 * "Population Register: connect ECONNREFUSED 127.0.0.1:4101" → "Population Register: connection refused".
 */
export function causeOf(activityType: string | null, message: string): string {
  const colon = message.indexOf(': ');
  const source = colon > 0 && colon < 40 ? message.slice(0, colon) : (activityType ?? 'workflow');
  const rest = colon > 0 && colon < 40 ? message.slice(colon + 2) : message;
  const kinds: [RegExp, string][] = [
    [/ECONNREFUSED|connection refused/i, 'connection refused'],
    [/UND_ERR_SOCKET|ECONNRESET|socket hang up|other side closed|fetch failed/i, 'connection dropped'],
    [/timeout|timed out|aborted/i, 'timed out'],
    [/HTTP 5\d\d|answered HTTP 5/i, 'server error (HTTP 5xx)'],
    [/HTTP 4\d\d|answered HTTP 4/i, 'request refused (HTTP 4xx)'],
    [/ENOTFOUND|EAI_AGAIN/i, 'host not found'],
  ];
  const kind = kinds.find(([pattern]) => pattern.test(rest))?.[1]
    ?? rest.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '…').replace(/\d+/g, 'N').slice(0, 120);
  return `${source}: ${kind}`;
}

/** The cause of a failing workflow task: the workflow type and what its code throws, grouped like activities' causes. */
export function workflowTaskCause(workflowType: string, message: string): string {
  return `${workflowType}: workflow code fails (${causeOf(null, message).replace(/^workflow: /, '')})`;
}

/** The newest WorkflowTaskFailed event's message (decrypted), read from the end of the history. */
export async function lastWorkflowTaskFailure(client: Client, workflowId: string): Promise<string> {
  const history = await client.workflowService.getWorkflowExecutionHistoryReverse({
    namespace: client.options.namespace, execution: { workflowId }, maximumPageSize: 50,
  });
  const failed = (history.history?.events ?? []).find((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
  if (!failed) return 'workflow task failing';
  await decodeHistory(client.options.loadedDataConverter, { events: [failed] });
  return failed.workflowTaskFailedEventAttributes?.failure?.message ?? 'workflow task failing';
}
