import type { Knex } from 'knex';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { writeAudit } from '../lib/audit';
import { batchCounts, type ConsoleBatchAction, type ConsoleBatchCounts } from '../lib/console-batches';
import { recordStopRequest, stopRequestOf } from '../lib/workflow-stops';
import { closeStoppedWorkflow, readModelClosed } from './workflow-stop';
import type { Logger } from '../lib/logger';
import { causeOf, failingActivities, failingWorkflowTaskAttempt, isFailing, isRunning, type DescribedWorkflow } from '../lib/workflow-failures';
import { mapConcurrent } from '../lib/concurrency';
import { decodeDescribed } from '../lib/payload-decoding';
import { forgetActivities } from '../lib/stuck-index';

export type { ConsoleBatchAction, ConsoleBatchCounts };

/** The administrator who started a batch, as audited and named in a termination reason. */
export interface ConsoleAdmin { id: string; name: string }

/** Input of applyConsoleAction: one chunk of a batch. */
export interface ApplyConsoleActionInput {
  batchId: string;
  action: ConsoleBatchAction;
  reason: string;
  admin: ConsoleAdmin;
  /** The chunk's number in the batch (0, 1, ...): part of the audit row's idempotency key. */
  chunk: number;
  workflowIds: string[];
}

/** Input of verifyConsoleItems: one page of a batch's items, by workflow id. */
export interface VerifyConsoleItemsInput {
  batchId: string;
  action: ConsoleBatchAction;
  /** Items after this workflow id (null: from the first). */
  after: string | null;
  limit: number;
}

type ItemStatus = 'sent' | 'failed';
type Verified = 'cleared' | 'still_failing' | 'not_found';

const GRPC_NOT_FOUND = 5;
// After a reset every failure is a new one (the reset restarts the attempts and clears the last failure).
const VERIFY_MIN_ATTEMPTS = 1;
// The detail of a retried item names the restarted activity types after this prefix (read back by the verification).
const RESTARTED = 'activity restarted: ';
const CONCURRENCY = 10;

/**
 * The administrators' batch operations (workflows/console-batch.ts): apply a retry or terminate to each workflow
 * of a chunk, through the Temporal client, then verify whether each workflow's failure actually cleared. Every
 * item's row moves once from pending to sent or failed, so a retried activity skips what it already did.
 */
export function createConsoleActivities({ db, temporal: client, logger }: { db: Knex; temporal: Client; logger: Logger }) {
  const namespace = client.options.namespace;

  async function describe(workflowId: string): Promise<temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse | null> {
    try {
      // Decoded: the verification groups what still fails by its message, which Temporal holds encrypted.
      return await decodeDescribed(client.options.loadedDataConverter, await client.workflowService.describeWorkflowExecution({ namespace, execution: { workflowId } }));
    } catch (err) {
      if ((err as { code?: number }).code === GRPC_NOT_FOUND) return null;
      throw err;
    }
  }

  /** Applies the action to one workflow; what happened, in words, with the item's new status. */
  async function applyOne(input: ApplyConsoleActionInput, workflowId: string, ownQueue: string | null): Promise<{ status: ItemStatus; detail: string }> {
    const identity = `workflow-console:batch:${input.batchId}`;
    const described = await describe(workflowId);
    if (!described) return { status: 'failed', detail: 'not found' };
    // Only the system's own workflows: the set came from the console's queries on this task queue.
    const queue = described.executionConfig?.taskQueue?.name ?? null;
    if (ownQueue && queue !== ownQueue) return { status: 'failed', detail: `not one of this system's workflows (task queue ${queue ?? '?'})` };

    if (input.action === 'terminate' || input.action === 'cancel') {
      if (!isRunning(described)) {
        // A retried activity may meet a workflow that its own first attempt stopped: that is this batch's success.
        if (input.action === 'terminate' && await terminatedBy(workflowId, identity)) return { status: 'sent', detail: 'terminated' };
        if (input.action === 'cancel' && (await stopRequestOf(db, workflowId))?.batchId === input.batchId) return { status: 'sent', detail: 'cancelled' };
        return { status: 'failed', detail: `not running (${statusName(described)})` };
      }
      // Who and why first: the cleanup (the workflow's own on cancel, the batch's after terminate) records them.
      await recordStopRequest(db, { workflowId, action: input.action, actor: input.admin, reason: input.reason, batchId: input.batchId });
      if (input.action === 'cancel') {
        await client.workflowService.requestCancelWorkflowExecution({
          namespace, workflowExecution: { workflowId }, identity, reason: input.reason, requestId: `console-batch:${input.batchId}:${workflowId}`,
        });
        return { status: 'sent', detail: 'cancellation requested' };
      }
      await client.workflowService.terminateWorkflowExecution({
        namespace, workflowExecution: { workflowId }, reason: `${input.reason} (by ${input.admin.name})`, identity,
      });
      return { status: 'sent', detail: 'terminated' };
    }

    if (!isRunning(described)) return { status: 'failed', detail: `not running (${statusName(described)})` };
    // Every pending activity with a failure behind it is restarted (attempts from 1, the next one at once), even
    // below the stuck threshold: the administrator asked for this workflow to be retried now.
    const failing = (described.pendingActivities ?? []).filter((a) => (a.lastFailure?.message ?? '') !== '');
    if (failing.length > 0) {
      for (const activity of failing) {
        await client.workflowService.resetActivity({ namespace, execution: { workflowId }, id: activity.activityId ?? '', identity });
      }
      // Attempts start again at 1: the stuck index forgets these rows, so the next failure opens a fresh one.
      await forgetActivities(db, workflowId, failing.map((a) => a.activityId ?? ''));
      return { status: 'sent', detail: `${RESTARTED}${failing.map((a) => a.activityType?.name ?? a.activityId).join(', ')}` };
    }
    if (failingWorkflowTaskAttempt(described) !== null) {
      return { status: 'failed', detail: 'the workflow code itself fails: reset it from its page once the fix is deployed' };
    }
    return { status: 'failed', detail: 'nothing to retry' };
  }

  // Whether the workflow's last event is a termination made with this batch's identity.
  async function terminatedBy(workflowId: string, identity: string): Promise<boolean> {
    const history = await client.workflowService.getWorkflowExecutionHistoryReverse({
      namespace, execution: { workflowId }, maximumPageSize: 1,
    });
    const last = history.history?.events?.[0];
    return last?.workflowExecutionTerminatedEventAttributes?.identity === identity;
  }

  return {
    /** Applies a batch's action to one chunk of workflows (items still pending only) and audits the chunk once. */
    async applyConsoleAction(input: ApplyConsoleActionInput): Promise<{ sent: number; failed: number }> {
      const ownQueue = activityTaskQueue();
      const pending = (await db('consoleBatchItems')
        .where({ batchId: input.batchId, status: 'pending' }).whereIn('workflowId', input.workflowIds)
        .select('workflowId') as { workflowId: string }[]).map((r) => r.workflowId);
      await mapConcurrent(pending, CONCURRENCY, async (workflowId) => {
        let outcome: { status: ItemStatus; detail: string };
        try {
          outcome = await applyOne(input, workflowId, ownQueue);
        } catch (err) {
          // One refusal (the server said no to this workflow) must not stop the chunk; it is that item's result.
          outcome = { status: 'failed', detail: `refused: ${(err as Error).message}` };
        }
        await db('consoleBatchItems').where({ batchId: input.batchId, workflowId, status: 'pending' })
          .update({ status: outcome.status, detail: outcome.detail, updatedAt: new Date() });
      });

      const rows = await db('consoleBatchItems').where({ batchId: input.batchId }).whereIn('workflowId', input.workflowIds)
        .orderBy('workflowId').select('workflowId', 'status', 'detail') as { workflowId: string; status: string; detail: string | null }[];
      await writeAudit(db, {
        actor: { role: 'admin', id: input.admin.id, name: input.admin.name }, action: `console.batch.${input.action}`,
        subjectPersonCode: null, caseId: null, purpose: input.reason,
        result: {
          batchId: input.batchId, chunk: input.chunk, workflowIds: rows.map((r) => r.workflowId),
          outcomes: rows.map((r) => ({ workflowId: r.workflowId, status: r.status, detail: r.detail })),
        },
        idempotencyKey: `console-batch:${input.batchId}:chunk-${input.chunk}`,
      });
      const sent = rows.filter((r) => r.status === 'sent').length;
      logger.info('console batch chunk applied', { batchId: input.batchId, chunk: input.chunk, sent, failed: rows.length - sent });
      return { sent, failed: rows.filter((r) => r.status === 'failed').length };
    },

    /**
     * Verifies one page of a batch's items that are not yet known to be cleared: a retried workflow is cleared
     * when it is no longer failing by the stuck view's rule (lib/workflow-failures.ts), counting any failure since
     * the reset rather than only a third one; a terminated one when it is no longer running. Returns where the next page starts and how many of this page are still failing.
     */
    async verifyConsoleItems(input: VerifyConsoleItemsInput): Promise<{ next: string | null; stillFailing: number }> {
      const query = db('consoleBatchItems').where({ batchId: input.batchId })
        .andWhere((q) => q.whereNull('verified').orWhere('verified', 'still_failing'))
        // A terminate that was not applied (the workflow had already ended) is not the batch's doing to verify.
        .modify((q) => { if (input.action !== 'retry') void q.where('status', 'sent'); })
        .modify((q) => { if (input.after !== null) void q.andWhere('workflowId', '>', input.after); })
        .orderBy('workflowId').limit(input.limit).select('workflowId', 'detail');
      const rows = await query as { workflowId: string; detail: string | null }[];
      const items = rows.map((r) => r.workflowId);
      const verdicts = await mapConcurrent(rows, CONCURRENCY, async ({ workflowId, detail }) => {
        const described = await describe(workflowId);
        // A stopped workflow is done with when it has ended and its read model is closed (case, task, earmark, place).
        const verified: Verified = !described ? 'not_found'
          : input.action !== 'retry' ? (!isRunning(described) && await readModelClosed(db, workflowId) ? 'cleared' : 'still_failing')
            : isFailing(described, VERIFY_MIN_ATTEMPTS) || stillRetrying(described, detail) ? 'still_failing' : 'cleared';
        if (verified === 'still_failing' && described) {
          const first = failingActivities(described, VERIFY_MIN_ATTEMPTS)[0];
          logger.info('console batch item still failing', {
            batchId: input.batchId, workflowId, cause: first ? causeOf(first.activityType, first.lastFailure) : statusName(described),
          });
        }
        await db('consoleBatchItems').where({ batchId: input.batchId, workflowId }).update({ verified, updatedAt: new Date() });
        return verified;
      });
      return {
        next: items.length === input.limit ? items[items.length - 1] : null,
        stillFailing: verdicts.filter((v) => v === 'still_failing').length,
      };
    },

    /**
     * Closes the read model of one page of a batch's terminated items (terminate runs no workflow code), with the
     * same cleanup a cancelled workflow runs itself; idempotent, so a retried page closes nothing twice.
     */
    async cleanUpConsoleItems(input: { batchId: string; after: string | null; limit: number }): Promise<{ next: string | null; closed: number }> {
      const rows = await db('consoleBatchItems').where({ batchId: input.batchId, status: 'sent' })
        .modify((q) => { if (input.after !== null) void q.andWhere('workflowId', '>', input.after); })
        .orderBy('workflowId').limit(input.limit).select('workflowId') as { workflowId: string }[];
      const ids = rows.map((r) => r.workflowId);
      const results = await mapConcurrent(ids, CONCURRENCY, (workflowId) => closeStoppedWorkflow(db, workflowId));
      return { next: ids.length === input.limit ? ids[ids.length - 1]! : null, closed: results.filter((r) => r.closed !== 'nothing').length };
    },

    /** Marks the batch finished and returns its final counts. */
    async finishConsoleBatch(input: { batchId: string }): Promise<ConsoleBatchCounts> {
      await db('consoleBatches').where({ id: input.batchId, state: 'running' }).update({ state: 'finished', finishedAt: new Date() });
      return batchCounts(db, input.batchId);
    },
  };
}

// Whether an activity this batch restarted is still pending: its new attempt has not succeeded yet (a slow registry
// may still be running it), so "cleared" cannot be said yet. Errs towards "still failing"; re-verification settles it.
function stillRetrying(described: DescribedWorkflow, detail: string | null): boolean {
  if (!isRunning(described) || !detail?.startsWith(RESTARTED)) return false;
  const restarted = new Set(detail.slice(RESTARTED.length).split(', '));
  return (described.pendingActivities ?? []).some((a) => restarted.has(a.activityType?.name ?? a.activityId ?? ''));
}

// The task queue of the running activity (the worker's, which is also the API's); null outside an activity (tests).
function activityTaskQueue(): string | null {
  try {
    return Context.current().info.taskQueue;
  } catch {
    return null;
  }
}

function statusName(described: DescribedWorkflow): string {
  const status = described.workflowExecutionInfo?.status ?? 0;
  const name = (temporal.api.enums.v1.WorkflowExecutionStatus as unknown as Record<number, string>)[status] ?? 'UNKNOWN';
  return name.replace(/^WORKFLOW_EXECUTION_STATUS_/, '').toLowerCase();
}

