import type { Knex } from 'knex';
import { defaultPayloadConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { decode, encode } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { FAILING_WORKFLOW_TASK_ATTEMPTS, STUCK_ATTEMPTS } from './workflow-failures';

/**
 * The stuck index (table stuck_index, migrations/20261210010000_stuck_index.ts): which workflow runs have a failing
 * activity or workflow task right now, written as the failures happen (worker/stuck-interceptor.ts) and corrected by a
 * bounded sweep (lib/stuck-sweep.ts). The console's stuck view and batches read it, so their cost grows with the
 * number of stuck workflows, not with the number running.
 */

/** What identifies one failing thing: a workflow run's activity, or its workflow task (activityId ''). */
export interface StuckKey { workflowId: string; runId: string; kind: 'activity' | 'workflow_task'; activityId: string }

/** One failed attempt as recorded. */
export interface StuckFailure extends StuckKey {
  taskQueue: string; workflowType: string; caseId: string | null; activityType: string | null;
  /** The attempt that failed (an activity's), or the workflow task's attempt. */
  attempt: number;
  cause: string; message: string; nextRetryAt: Date | null;
}

/** Why an open row was resolved. */
export type StuckResolution = 'succeeded' | 'failed_for_good' | 'cancelled' | 'workflow_closed' | 'retried' | 'not_failing';

/** Resolved rows are kept this long (what recovered lately), then purged by the sweep. */
export const RESOLVED_KEPT_MS = 24 * 3_600_000;

/**
 * The rows the stuck view shows: an activity whose pending attempt (the failed one + 1) reached STUCK_ATTEMPTS, the
 * rule lib/workflow-failures.ts applies to Temporal's describe answer, or a workflow task failing as often.
 */
export function whereShown(q: Knex.QueryBuilder, table = 'stuck_index'): Knex.QueryBuilder {
  return q.whereNull(`${table}.resolvedAt`).andWhere((w) => w
    .where((a) => a.where(`${table}.kind`, 'activity').andWhere(`${table}.attempt`, '>=', STUCK_ATTEMPTS - 1))
    .orWhere((a) => a.where(`${table}.kind`, 'workflow_task').andWhere(`${table}.attempt`, '>=', FAILING_WORKFLOW_TASK_ATTEMPTS)));
}

/** The failure message sealed with the payload codecs (encrypted, as Temporal holds it), as stored bytes. */
export async function sealMessage(codecs: readonly PayloadCodec[], message: string): Promise<Buffer> {
  const [payload] = await encode(codecs as PayloadCodec[], [defaultPayloadConverter.toPayload(message)]);
  return Buffer.from(temporal.api.common.v1.Payload.encode(payload as Payload).finish());
}

/**
 * The stored message readable again; "Encoded failure" when it cannot be decrypted (its key taken out of
 * PAYLOAD_KEYS), as lib/payload-decoding.ts shows such a failure, rather than one row taking the view down.
 */
export async function openMessage(codecs: readonly PayloadCodec[], bytes: Buffer | Uint8Array): Promise<string> {
  try {
    const payload = temporal.api.common.v1.Payload.decode(bytes);
    const [decoded] = await decode(codecs as PayloadCodec[], [payload as Payload]);
    const message = defaultPayloadConverter.fromPayload<unknown>(decoded as Payload);
    return typeof message === 'string' ? message : 'Encoded failure';
  } catch {
    return 'Encoded failure';
  }
}

/**
 * Records a failed attempt: opens the row, or moves it to this attempt. A report of an attempt no newer than the
 * row's (a retried write, or an old attempt reporting late) changes nothing, so the write is idempotent.
 */
export async function recordFailure(db: Knex, codecs: readonly PayloadCodec[], failure: StuckFailure): Promise<void> {
  const now = new Date();
  await db.raw(`
    INSERT INTO stuck_index (workflow_id, run_id, kind, activity_id, task_queue, workflow_type, case_id, activity_type,
      attempt, cause, message, next_retry_at, first_failed_at, last_failed_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (workflow_id, run_id, kind, activity_id) DO UPDATE SET
      attempt = excluded.attempt, cause = excluded.cause, message = excluded.message, next_retry_at = excluded.next_retry_at,
      last_failed_at = excluded.last_failed_at, activity_type = excluded.activity_type, resolved_at = NULL, resolution = NULL,
      first_failed_at = CASE WHEN stuck_index.resolved_at IS NULL THEN stuck_index.first_failed_at ELSE excluded.first_failed_at END
    WHERE stuck_index.attempt < excluded.attempt
      OR (stuck_index.kind = 'workflow_task' AND stuck_index.resolved_at IS NOT NULL)`, [
    failure.workflowId, failure.runId, failure.kind, failure.activityId, failure.taskQueue, failure.workflowType,
    failure.caseId, failure.activityType, failure.attempt, failure.cause, await sealMessage(codecs, failure.message),
    failure.nextRetryAt, now, now,
  ]);
}

/**
 * Resolves one open row: its activity succeeded or failed for good on `attempt` (which becomes the row's, so an older
 * attempt reporting later cannot reopen it). Does nothing when there is no open row: most attempts never failed.
 */
export async function resolveFailure(db: Knex, key: StuckKey, resolution: StuckResolution, attempt: number): Promise<void> {
  await db('stuckIndex').where(key).whereNull('resolvedAt')
    .update({ resolvedAt: new Date(), resolution, attempt: db.raw('greatest(attempt, ?)', [attempt]) });
}

/**
 * Resolves every open row of a workflow (all its runs): it was stopped, or it closed. Called by the stop cleanup
 * (activities/workflow-stop.ts) inside its transaction.
 */
export async function resolveWorkflow(db: Knex, workflowId: string, resolution: StuckResolution = 'workflow_closed'): Promise<number> {
  return db('stuckIndex').where({ workflowId }).whereNull('resolvedAt').update({ resolvedAt: new Date(), resolution });
}

/**
 * Forgets the rows of activities the console restarted (a retry resets the attempt count to 1, so the next failure
 * must open a fresh row, and a success on attempt 1 must find nothing left open).
 */
export async function forgetActivities(db: Knex, workflowId: string, activityIds: readonly string[]): Promise<void> {
  if (activityIds.length === 0) return;
  await db('stuckIndex').where({ workflowId, kind: 'activity' }).whereIn('activityId', activityIds).delete();
}

/** A row as the stuck view and the sweep read it. */
export interface StuckRow extends StuckKey {
  taskQueue: string; workflowType: string; caseId: string | null; activityType: string | null; attempt: number;
  cause: string; message: Buffer; nextRetryAt: Date | null; firstFailedAt: Date; lastFailedAt: Date;
}
