import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { mapConcurrent } from '../../lib/concurrency';
import { failingActivities, failingWorkflowTaskAttempt, isRunning, STUCK_ATTEMPTS } from '../../lib/workflow-failures';
import { STATUS_NAMES } from './workflow-console';

/**
 * The stuck index's part of the consistency check (api/services/consistency.ts). What it proves:
 * - every open index row (all of them, up to ROWS_CHECKED; the report counts any left out) names a running workflow
 *   run whose activity is still pending, or whose workflow task still fails: nothing in the stuck view is stale;
 * - for a sample of running workflows (the SAMPLE most recently started that visibility lists), every one that Temporal
 *   shows as stuck by the view's rule (an activity waiting for its retry after STUCK_ATTEMPTS − 1 failures, a workflow
 *   task failing since before the settle time) has its open row: the index misses none of them.
 * The second half is a sample, not a proof over every running workflow: proving that would mean describing all of
 * them, which is exactly the scan the index exists to avoid. The sample is where new failures appear first.
 */

/** How many open rows one check compares with Temporal at most. */
export const ROWS_CHECKED = 2_000;
/** How many running workflows one check describes to look for failures missing from the index. */
export const SAMPLE = 200;
const DESCRIBE_CONCURRENCY = 16;

/** A disagreement found, in the terms consistency.ts turns into a violation. */
export interface StuckDisagreement {
  rule: 'stuck_index_disagrees' | 'stuck_not_indexed';
  workflowId: string; runId: string; kind: 'activity' | 'workflow_task'; activityId: string;
  details: Record<string, string | number | null>;
}

type Described = temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse;

interface OpenRow { workflowId: string; runId: string; kind: 'activity' | 'workflow_task'; activityId: string; activityType: string | null; cause: string; lastFailedAt: Date }

/**
 * Compares the index with Temporal (see above). `running` is the check's list of running workflow ids, newest first;
 * rows and failures younger than `settled` may be mid-transition and are not judged.
 */
export async function checkStuckIndex(
  deps: { db: Knex; temporal: Client; taskQueue: string | null }, running: readonly string[], settled: Date,
): Promise<{ disagreements: StuckDisagreement[]; rows: number; rowsLeftOut: number; sampled: number }> {
  const scoped = (q: Knex.QueryBuilder) => (deps.taskQueue ? q.where('taskQueue', deps.taskQueue) : q);
  const [{ n }] = await scoped(deps.db('stuckIndex').whereNull('resolvedAt')).count({ n: '*' }) as { n: string }[];
  const rows = await scoped(deps.db('stuckIndex').whereNull('resolvedAt')).where('lastFailedAt', '<', settled)
    .orderBy('lastFailedAt').limit(ROWS_CHECKED)
    .select('workflowId', 'runId', 'kind', 'activityId', 'activityType', 'cause', 'lastFailedAt') as OpenRow[];
  const sample = running.slice(0, SAMPLE);
  const described = new Map<string, Described | null>();
  const ids = [...new Set([...rows.map((r) => r.workflowId), ...sample])];
  await mapConcurrent(ids, DESCRIBE_CONCURRENCY, async (id) => { described.set(id, await describe(deps.temporal, id)); });

  const disagreements: StuckDisagreement[] = [];
  for (const row of rows) {
    const answer = described.get(row.workflowId) ?? null;
    const status = answer ? STATUS_NAMES[answer.workflowExecutionInfo?.status ?? 0] ?? 'running' : 'not_found';
    const sameRun = answer?.workflowExecutionInfo?.execution?.runId === row.runId;
    const holds = answer !== null && isRunning(answer) && sameRun && (row.kind === 'activity'
      ? (answer.pendingActivities ?? []).some((a) => a.activityId === row.activityId)
      : failingWorkflowTaskAttempt(answer) !== null);
    if (holds) continue;
    disagreements.push({
      rule: 'stuck_index_disagrees', workflowId: row.workflowId, runId: row.runId, kind: row.kind, activityId: row.activityId,
      details: {
        status: sameRun || status !== 'running' ? status : 'other_run', step: row.activityType ?? 'workflow_task', cause: row.cause,
        runId: row.runId, kind: row.kind, activityId: row.activityId,
      },
    });
  }

  const open = new Set((await scoped(deps.db('stuckIndex').whereNull('resolvedAt')).whereIn('workflowId', sample)
    .select('workflowId', 'runId', 'kind', 'activityId') as OpenRow[]).map(keyText));
  const waiting = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED;
  for (const workflowId of sample) {
    const answer = described.get(workflowId);
    if (!answer || !isRunning(answer)) continue;
    const runId = answer.workflowExecutionInfo?.execution?.runId ?? '';
    // Waiting for its next attempt: the attempt in hand may be the one that succeeds (and resolves the row first).
    const pendingState = new Map((answer.pendingActivities ?? []).map((a) => [a.activityId ?? '', a.state]));
    for (const activity of failingActivities(answer, STUCK_ATTEMPTS)) {
      const activityId = activity.activityId ?? '';
      if (pendingState.get(activityId) !== waiting || open.has(keyText({ workflowId, runId, kind: 'activity', activityId }))) continue;
      disagreements.push({
        rule: 'stuck_not_indexed', workflowId, runId, kind: 'activity', activityId,
        details: { step: activity.activityType, attempt: activity.attempt, runId, kind: 'activity', activityId },
      });
    }
    const taskAttempt = failingWorkflowTaskAttempt(answer);
    const since = answer.pendingWorkflowTask?.originalScheduledTime?.seconds;
    if (taskAttempt !== null && since !== null && since !== undefined && Number(since) * 1000 < settled.getTime()
      && !open.has(keyText({ workflowId, runId, kind: 'workflow_task', activityId: '' }))) {
      disagreements.push({
        rule: 'stuck_not_indexed', workflowId, runId, kind: 'workflow_task', activityId: '',
        details: { step: 'workflow_task', attempt: taskAttempt, runId, kind: 'workflow_task', activityId: '' },
      });
    }
  }
  return { disagreements, rows: Number(n), rowsLeftOut: Math.max(0, Number(n) - rows.length), sampled: sample.length };
}

function keyText(k: Pick<OpenRow, 'workflowId' | 'runId' | 'kind' | 'activityId'>): string {
  return `${k.workflowId}\u0000${k.runId}\u0000${k.kind}\u0000${k.activityId}`;
}

async function describe(client: Client, workflowId: string): Promise<Described | null> {
  try {
    return await client.workflowService.describeWorkflowExecution({ namespace: client.options.namespace, execution: { workflowId } });
  } catch (err) {
    if ((err as { code?: number }).code === 5) return null; // NOT_FOUND
    throw err;
  }
}

/** The subject id of a disagreement: the row's key, readable (a workflow id holds no "#"). */
export function stuckSubject(d: Pick<StuckDisagreement, 'workflowId' | 'runId' | 'activityId' | 'kind'>): string {
  return `${d.workflowId}#${d.runId}#${d.kind === 'activity' ? d.activityId : 'workflow-task'}`;
}
