import type { Knex } from 'knex';
import type { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure, type PayloadCodec, type RetryPolicy } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { within } from '../lib/concurrency';
import type { Logger } from '../lib/logger';
import { recordFailure, resolveFailure, type StuckKey } from '../lib/stuck-index';
import { causeOf } from '../lib/workflow-failures';
import { parseLearnerJourneyId } from '../workflows/ids';

/**
 * The activity interceptor that keeps the stuck index (lib/stuck-index.ts): every failed attempt of a workflow's
 * activity is recorded (cause, attempt, next retry), and the row is resolved when a later attempt succeeds or the
 * activity fails for good. The index is a view for administrators, never part of the activity's outcome: a write
 * that fails or takes longer than WRITE_DEADLINE_MS is logged and the activity's own result or error goes on
 * unchanged (PostgreSQL down must not turn a registry outage into a database outage, or a success into a failure).
 */

/** How long an attempt's result may wait for its index write. */
export const WRITE_DEADLINE_MS = 1_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The interceptor factory for Worker.create's `interceptors.activity`. */
export function stuckIndexInterceptor(deps: { db: Knex; codecs: readonly PayloadCodec[]; logger: Logger }): ActivityInterceptorsFactory {
  return (ctx: ActivityContext) => ({
    inbound: {
      async execute(input, next) {
        const info = ctx.info;
        const workflowId = info.workflowExecution?.workflowId;
        // Activities run outside a workflow (none here today) have no workflow to be stuck.
        if (!workflowId) return next(input);
        const key: StuckKey = { workflowId, runId: info.workflowExecution!.runId, kind: 'activity', activityId: info.activityId };
        let result: unknown;
        try {
          result = await next(input);
        } catch (err) {
          await guarded(deps.logger, key, async () => {
            if (err instanceof CancelledFailure) return resolveFailure(deps.db, key, 'cancelled', info.attempt);
            if (isFinal(err, info.attempt, info.retryPolicy)) return resolveFailure(deps.db, key, 'failed_for_good', info.attempt);
            const message = err instanceof Error ? err.message : String(err);
            return recordFailure(deps.db, deps.codecs, {
              ...key, taskQueue: info.taskQueue, workflowType: info.workflowType ?? '',
              caseId: parseLearnerJourneyId(workflowId) ?? caseIdOf(input.args[0]), activityType: info.activityType,
              attempt: info.attempt, cause: causeOf(info.activityType, message), message,
              nextRetryAt: nextRetryAt(err, info.attempt, info.retryPolicy),
            });
          });
          throw err;
        }
        // A first attempt has no failure behind it (a console retry forgets the rows it restarts): no write at all.
        if (info.attempt > 1) await guarded(deps.logger, key, () => resolveFailure(deps.db, key, 'succeeded', info.attempt));
        return result;
      },
    },
  });
}

// Runs an index write within its deadline; a failure or a late answer is logged, never thrown.
async function guarded(logger: Logger, key: StuckKey, write: () => Promise<unknown>): Promise<void> {
  try {
    const done = await within(write().then(() => true), WRITE_DEADLINE_MS);
    if (!done) logger.warn('stuck index write is late; the activity goes on', { workflowId: key.workflowId, activityId: key.activityId });
  } catch (err) {
    logger.warn('stuck index write failed; the activity goes on', { workflowId: key.workflowId, activityId: key.activityId, error: String(err) });
  }
}

// The case an activity's input names (inputs are one object, DESIGN.md habit 4), for workflows whose id does not.
function caseIdOf(input: unknown): string | null {
  const caseId = (input as { caseId?: unknown } | null | undefined)?.caseId;
  return typeof caseId === 'string' && UUID.test(caseId) ? caseId : null;
}

/** Whether Temporal will not try this activity again: a non-retryable failure, or the last attempt allowed. */
export function isFinal(err: unknown, attempt: number, policy: RetryPolicy | undefined): boolean {
  if (err instanceof ApplicationFailure && err.nonRetryable) return true;
  const type = err instanceof ApplicationFailure ? err.type : err instanceof Error ? err.name : null;
  if (type && policy?.nonRetryableErrorTypes?.includes(type)) return true;
  return Boolean(policy?.maximumAttempts && attempt >= policy.maximumAttempts);
}

/**
 * When Temporal will try again, by the activity's retry policy (Temporal's defaults where it says nothing): the
 * failure's own next-retry delay, else initial × coefficient^(attempt−1), at most the maximum interval. Null when
 * the server sent no policy.
 */
export function nextRetryAt(err: unknown, attempt: number, policy: RetryPolicy | undefined, now = Date.now()): Date | null {
  const own = err instanceof ApplicationFailure && err.nextRetryDelay != null ? msToNumber(err.nextRetryDelay) : null;
  if (own !== null) return new Date(now + own);
  if (!policy) return null;
  const initial = policy.initialInterval !== undefined ? msToNumber(policy.initialInterval) : 1_000;
  const coefficient = policy.backoffCoefficient ?? 2;
  const maximum = policy.maximumInterval !== undefined ? msToNumber(policy.maximumInterval) : initial * 100;
  return new Date(now + Math.min(initial * coefficient ** (attempt - 1), maximum));
}
