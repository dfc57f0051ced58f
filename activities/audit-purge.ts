import type { Knex } from 'knex';
import { Context } from '@temporalio/activity';
import type { Logger } from '../lib/logger';

/** Input of purgeExpiredAudit: rows kept until a day before `expiredBefore` (YYYY-MM-DD, Riga) go. */
export interface PurgeExpiredAuditInput { expiredBefore: string; batchSize: number }

/** Input of purgeRegistryStats: counts of minutes before `before` (an ISO instant) go. */
export interface PurgeRegistryStatsInput { before: string; batchSize: number }

/** How many rows a purge removed. */
export interface PurgeResult { removed: number }

/** The record of one purge run (purge_runs), shown on the administrators' audit page. */
export interface RecordPurgeRunInput {
  /** Unique per workflow run, so a retried activity records the run once. */
  runKey: string;
  startedAt: string;
  expiredBefore: string;
  auditRemoved: number;
  registryStatsRemoved: number;
}

/**
 * The audit purge's side effects (workflows/audit-purge.ts): delete expired audit_log rows and old
 * registry_call_stats rows in batches, then record the run. Deleting what is expired is idempotent by nature:
 * a retry deletes what is left, and a second run finds nothing.
 */
export function createAuditPurgeActivities({ db, logger }: { db: Knex; logger: Logger }) {
  return {
    /** Deletes audit rows whose keep_until is before the given day, batch by batch, heartbeating the count so far. */
    async purgeExpiredAudit(input: PurgeExpiredAuditInput): Promise<PurgeResult> {
      const removed = await deleteInBatches(input.batchSize, (limit) => db.raw(
        'DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE keep_until < ? ORDER BY id LIMIT ?)', [input.expiredBefore, limit]));
      logger.info('expired audit rows purged', { expiredBefore: input.expiredBefore, removed });
      return { removed };
    },

    /** Deletes registry call counts of minutes before the cut-off, batch by batch. */
    async purgeRegistryStats(input: PurgeRegistryStatsInput): Promise<PurgeResult> {
      const removed = await deleteInBatches(input.batchSize, (limit) => db.raw(
        `DELETE FROM registry_call_stats WHERE (registry, minute) IN
           (SELECT registry, minute FROM registry_call_stats WHERE minute < ? ORDER BY minute LIMIT ?)`, [input.before, limit]));
      logger.info('old registry call counts purged', { before: input.before, removed });
      return { removed };
    },

    /** Records one purge run; the same run key again writes nothing. */
    async recordPurgeRun(input: RecordPurgeRunInput): Promise<void> {
      await db('purgeRuns').insert({
        runKey: input.runKey, startedAt: input.startedAt, expiredBefore: input.expiredBefore,
        auditRemoved: input.auditRemoved, registryStatsRemoved: input.registryStatsRemoved,
      }).onConflict('runKey').ignore();
    },
  };
}

/**
 * Runs a batch delete until a batch removes fewer rows than the limit, so no statement holds locks on more than a
 * batch. The count so far is heartbeated: a retried attempt (after a crash) starts from it, so the total counts
 * every row this activity removed.
 */
async function deleteInBatches(batchSize: number, deleteBatch: (limit: number) => Promise<{ rowCount: number | null }>): Promise<number> {
  const context = activityContext();
  const limit = Math.max(1, Math.floor(batchSize));
  let removed = Number(context?.info.heartbeatDetails ?? 0) || 0;
  for (;;) {
    const { rowCount } = await deleteBatch(limit);
    removed += rowCount ?? 0;
    context?.heartbeat(removed);
    if (context?.cancellationSignal.aborted) throw context.cancellationSignal.reason;
    if ((rowCount ?? 0) < limit) return removed;
  }
}

// The activity's context, or undefined when the function is called directly (tests).
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
