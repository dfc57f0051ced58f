import { log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { rigaDate, rigaTime } from '../domain/dates';
import { db } from './activity-presets';

/** What one purge run is asked to do; the schedule passes the same input every time. */
export interface AuditPurgeInput {
  /** Rows deleted per statement (default 1,000). */
  batchSize?: number;
  /** Days of registry call counts kept (default 90; the health panel shows the last hour). */
  registryStatsDays?: number;
  /** The Riga day the run counts as today (YYYY-MM-DD); default: the day it starts. Tests and operators set it. */
  today?: string;
}

/** What a purge run removed. */
export interface AuditPurgeResult {
  /** Audit rows with keep_until before this day were removed. */
  expiredBefore: string;
  auditRemoved: number;
  registryStatsRemoved: number;
}

/** Default rows per delete statement, and days of registry call counts kept. */
export const PURGE_DEFAULTS = { batchSize: 1_000, registryStatsDays: 90 } as const;

// Deleting may take long on a backlog: the activity heartbeats per batch, so a crash is noticed within a minute
// and the retry carries on from the heartbeated count; the database may be away for a while.
const purge = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumInterval: '5 minutes' },
});

/**
 * Deletes what is kept no longer: audit rows past keep_until (a row is kept through its keep_until day, Riga)
 * and registry call counts older than registryStatsDays; then records the run (purge_runs) for the
 * administrators' audit page. Started daily by a Temporal Schedule (worker/schedules.ts), or by hand.
 */
export async function auditPurge(input: AuditPurgeInput = {}): Promise<AuditPurgeResult> {
  const startedAt = new Date().toISOString();
  const today = input.today ?? rigaDate(new Date());
  const batchSize = input.batchSize ?? PURGE_DEFAULTS.batchSize;
  const statsBefore = rigaTime(daysBefore(today, input.registryStatsDays ?? PURGE_DEFAULTS.registryStatsDays), '00:00').toISOString();

  const audit = await purge.purgeExpiredAudit({ expiredBefore: today, batchSize });
  const stats = await purge.purgeRegistryStats({ before: statsBefore, batchSize });
  const { workflowId, runId } = workflowInfo();
  await db.recordPurgeRun({
    runKey: `${workflowId}:${runId}`, startedAt, expiredBefore: today, auditRemoved: audit.removed, registryStatsRemoved: stats.removed,
  });
  log.info('audit purge finished', { expiredBefore: today, auditRemoved: audit.removed, registryStatsRemoved: stats.removed });
  return { expiredBefore: today, auditRemoved: audit.removed, registryStatsRemoved: stats.removed };
}

// The calendar day n days before a YYYY-MM-DD day.
function daysBefore(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d - days)).toISOString().slice(0, 10);
}
