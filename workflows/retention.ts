import { log, workflowInfo } from '@temporalio/workflow';
import { monthsBefore, type RetentionRuleCode } from '../domain/retention';
import { db } from './activity-presets';

/** What one retention run is asked to do; the schedule passes the same input every time. */
export interface RetentionInput {
  /** Rows changed per transaction when a rule applies (default 200). */
  batchSize?: number;
  /**
   * Batches one rule applies in one run at most (default 50): a large backlog is worked off over the next runs,
   * so a run's history stays small.
   */
  maxBatches?: number;
}

/** What a run did: per rule, its mode and the rows it counted (dry run) or changed (apply). */
export interface RetentionResult { rules: { code: RetentionRuleCode; mode: 'dry_run' | 'apply'; count: number; cutoff: string }[] }

/**
 * Applies the retention rules (retention_rules): a rule in dry_run only counts the rows it would change; a rule in
 * apply changes them in batches. Either way the run records its count per rule (retention_runs), which the
 * administrator's page shows. Started daily by a Temporal Schedule (worker/schedules.ts), or from that page.
 */
export async function retention(input: RetentionInput = {}): Promise<RetentionResult> {
  const { workflowId } = workflowInfo();
  const batchSize = Math.max(1, Math.floor(input.batchSize ?? 200));
  const maxBatches = Math.max(1, Math.floor(input.maxBatches ?? 50));
  const { rules } = await db.listRetentionRules();
  const result: RetentionResult = { rules: [] };
  for (const rule of rules) {
    // Workflow time is deterministic, so a replay computes the same cutoff.
    const cutoff = monthsBefore(new Date(), rule.periodMonths).toISOString();
    let count = 0;
    if (rule.mode === 'dry_run') {
      count = (await db.countRetentionDue({ code: rule.code, cutoff })).count;
    } else {
      for (let batch = 0; batch < maxBatches; batch += 1) {
        const { changed } = await db.applyRetentionBatch({ code: rule.code, cutoff, limit: batchSize });
        count += changed;
        if (changed < batchSize) break;
      }
    }
    await db.recordRetentionRun({ workflowId, code: rule.code, mode: rule.mode, count, cutoff });
    result.rules.push({ code: rule.code, mode: rule.mode, count, cutoff });
  }
  log.info('retention run finished', { rules: result.rules.map((r) => `${r.code}:${r.mode}:${r.count}`).join(', ') });
  return result;
}
