import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { mapConcurrent } from '../lib/concurrency';
import type { Logger } from '../lib/logger';
import { decodeDescribed } from '../lib/payload-decoding';
import { RESOLVED_KEPT_MS, recordFailure, type StuckKey, type StuckResolution } from '../lib/stuck-index';
import {
  STUCK_ATTEMPTS, causeOf, failingActivities, failingWorkflowTaskAttempt, isRunning, lastWorkflowTaskFailure, workflowTaskCause,
} from '../lib/workflow-failures';
import { parseLearnerJourneyId } from '../workflows/ids';

/**
 * The stuck index's reconciliation (lib/stuck-index.ts), a bounded sweep run by the worker every SWEEP_INTERVAL_MS (one worker at a time):
 * 1. the open rows least recently checked (at most `rows`) are compared with Temporal's describe answer: a row whose
 *    run has ended (terminated or reset outside the console, completed after the workflow gave the activity up),
 *    whose activity is no longer pending, or whose workflow task no longer fails, is resolved;
 * 2. failing workflow tasks are found: the interceptor sees activities only, and a workflow task fails inside the
 *    SDK's sandbox, out of reach of anything that may write to PostgreSQL. So the sweep describes the `newest` most
 *    recently started running workflows (visibility lists newest first; new code meets new workflows first) and
 *    every workflow it describes for step 1, and records those whose workflow task keeps failing;
 * 3. in the same answers, activities Temporal shows failing by the stuck view's rule that the interceptor could not
 *    see (an attempt that timed out, a worker that died mid-attempt) are indexed too.
 * Its cost is a describe per open row checked plus `newest` describes: it grows with the stuck workflows, never with
 * the number running. Resolved rows older than RESOLVED_KEPT_MS are purged.
 */

/** How often a worker sweeps. */
export const SWEEP_INTERVAL_MS = 60_000;
const DESCRIBE_CONCURRENCY = 8;
// Any fixed number, the same in every worker: only one of them sweeps at a time.
const SWEEP_LOCK = 1_717_017;

/** What a sweep needs: the database, a Temporal client (with the payload codec) and the task queue it covers. */
export interface SweepDeps { db: Knex; temporal: Client; taskQueue: string; logger: Logger }

/** What one sweep did. */
export interface SweepResult { checked: number; resolved: number; workflowTasks: number; activities: number; purged: number }

type Described = temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse;

interface OpenRow extends StuckKey { workflowType: string; attempt: number }

/** One sweep (see above). `rows` and `newest` bound its cost. */
export async function sweepStuckIndex(deps: SweepDeps, opts: { rows?: number; newest?: number } = {}): Promise<SweepResult> {
  const { db } = deps;
  const purged = await db('stuckIndex').whereNotNull('resolvedAt').where('resolvedAt', '<', new Date(Date.now() - RESOLVED_KEPT_MS)).delete();
  const open = await db('stuckIndex').whereNull('resolvedAt').where('taskQueue', deps.taskQueue)
    .orderByRaw('checked_at NULLS FIRST').limit(opts.rows ?? 500)
    .select('workflowId', 'runId', 'kind', 'activityId', 'workflowType', 'attempt') as OpenRow[];
  const newest = await newestRunning(deps, opts.newest ?? 100);
  const ids = [...new Set([...open.map((r) => r.workflowId), ...newest.map((w) => w.workflowId)])];
  const described = new Map<string, Described | null>();
  await mapConcurrent(ids, DESCRIBE_CONCURRENCY, async (id) => { described.set(id, await describe(deps, id)); });

  let resolved = 0;
  for (const row of open) {
    const verdict = verdictOf(row, described.get(row.workflowId) ?? null);
    const now = new Date();
    const changed = await db('stuckIndex').where(keyOf(row)).whereNull('resolvedAt')
      .update(verdict ? { resolvedAt: now, resolution: verdict, checkedAt: now } : { checkedAt: now });
    if (verdict) resolved += changed;
  }

  let workflowTasks = 0;
  const types = new Map([...open.map((r) => [r.workflowId, r.workflowType] as const), ...newest.map((w) => [w.workflowId, w.type] as const)]);
  for (const [workflowId, answer] of described) {
    const attempt = answer ? failingWorkflowTaskAttempt(answer) : null;
    if (!answer || attempt === null) continue;
    const message = await lastWorkflowTaskFailure(deps.temporal, workflowId);
    const type = answer.workflowExecutionInfo?.type?.name ?? types.get(workflowId) ?? '';
    await recordFailure(db, deps.temporal.options.loadedDataConverter.payloadCodecs, {
      workflowId, runId: answer.workflowExecutionInfo?.execution?.runId ?? '', kind: 'workflow_task', activityId: '',
      taskQueue: deps.taskQueue, workflowType: type, caseId: parseLearnerJourneyId(workflowId), activityType: null, attempt,
      cause: workflowTaskCause(type, message), message, nextRetryAt: null,
    });
    workflowTasks += 1;
  }

  // Attempts that failed without the interceptor seeing them (a timeout, a worker that crashed) are indexed from what
  // Temporal shows for the same workflows; an attempt the interceptor recorded already changes nothing.
  let activities = 0;
  const waiting = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED;
  for (const [workflowId, answer] of described) {
    if (!answer) continue;
    const states = new Map((answer.pendingActivities ?? []).map((a) => [a.activityId ?? '', a.state]));
    for (const activity of failingActivities(answer, STUCK_ATTEMPTS)) {
      if (states.get(activity.activityId ?? '') !== waiting) continue;
      const next = activity.nextAttemptScheduleTime?.seconds;
      await recordFailure(db, deps.temporal.options.loadedDataConverter.payloadCodecs, {
        workflowId, runId: answer.workflowExecutionInfo?.execution?.runId ?? '', kind: 'activity', activityId: activity.activityId ?? '',
        taskQueue: deps.taskQueue, workflowType: answer.workflowExecutionInfo?.type?.name ?? types.get(workflowId) ?? '',
        caseId: parseLearnerJourneyId(workflowId), activityType: activity.activityType, attempt: activity.attempt - 1,
        cause: causeOf(activity.activityType, activity.lastFailure), message: activity.lastFailure,
        nextRetryAt: next !== null && next !== undefined ? new Date(Number(next) * 1000) : null,
      });
      activities += 1;
    }
  }
  const result = { checked: open.length, resolved, workflowTasks, activities, purged };
  if (resolved + workflowTasks + purged > 0) deps.logger.info('stuck index swept', { ...result });
  return result;
}

// Why an open row no longer holds, or null while it does (Temporal still shows it pending or failing).
function verdictOf(row: OpenRow, described: Described | null): StuckResolution | null {
  if (!described || !isRunning(described) || described.workflowExecutionInfo?.execution?.runId !== row.runId) return 'workflow_closed';
  if (row.kind === 'workflow_task') return failingWorkflowTaskAttempt(described) === null ? 'not_failing' : null;
  return (described.pendingActivities ?? []).some((a) => a.activityId === row.activityId) ? null : 'not_failing';
}

function keyOf(row: StuckKey): StuckKey {
  return { workflowId: row.workflowId, runId: row.runId, kind: row.kind, activityId: row.activityId };
}

// The first page of running workflows on the task queue: visibility lists the most recently started first.
async function newestRunning(deps: SweepDeps, size: number): Promise<{ workflowId: string; type: string }[]> {
  if (size <= 0) return [];
  const listed = await deps.temporal.workflowService.listWorkflowExecutions({
    namespace: deps.temporal.options.namespace, pageSize: size,
    query: `TaskQueue = '${deps.taskQueue.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}' AND ExecutionStatus = 'Running'`,
  });
  return (listed.executions ?? []).slice(0, size)
    .map((e) => ({ workflowId: e.execution?.workflowId ?? '', type: e.type?.name ?? '' }));
}

// Temporal's describe answer with failures readable, or null when the workflow is unknown.
async function describe(deps: SweepDeps, workflowId: string): Promise<Described | null> {
  try {
    return await decodeDescribed(deps.temporal.options.loadedDataConverter, await deps.temporal.workflowService.describeWorkflowExecution({
      namespace: deps.temporal.options.namespace, execution: { workflowId },
    }));
  } catch (err) {
    if ((err as { code?: number }).code === 5) return null; // NOT_FOUND
    throw err;
  }
}

/**
 * Sweeps every SWEEP_INTERVAL_MS while the worker runs; a PostgreSQL advisory lock lets one worker sweep at a time.
 * A failed sweep is logged and tried again next time. Returns the function that stops it.
 */
export function startStuckSweep(deps: SweepDeps, intervalMs = SWEEP_INTERVAL_MS): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(async () => {
      try {
        await deps.db.transaction(async (trx) => {
          const { rows } = await trx.raw<{ rows: { locked: boolean }[] }>('SELECT pg_try_advisory_xact_lock(?) AS locked', [SWEEP_LOCK]);
          if (rows[0]?.locked) await sweepStuckIndex(deps);
        });
      } catch (err) {
        deps.logger.warn('stuck index sweep failed; tried again later', { error: String(err) });
      }
    });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
