import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Session } from '../../lib/sessions';
import { RETENTION_RULES, type RetentionRuleCode } from '../../domain/retention';
import { retentionRunId } from '../../workflows/ids';
import { retention } from '../../workflows/retention';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { auditUserAction } from './audit';

/** One run of a rule as the page shows it. */
export interface RetentionRunView { mode: 'dry_run' | 'apply'; count: number; cutoff: string; finishedAt: string }

/** A retention rule with its last dry run and last apply. */
export interface RetentionRuleView {
  code: RetentionRuleCode; periodMonths: number; mode: 'dry_run' | 'apply'; source: string; updatedAt: string; updatedByName: string | null;
  lastDryRun: RetentionRunView | null; lastApply: RetentionRunView | null;
  /** Whether the rule may be switched to apply: a dry run has counted since the rule last changed. */
  canApply: boolean;
}

/** What an administrator changes on a rule: the period, the mode, or both. */
export interface RetentionRuleChange { periodMonths?: number; mode?: 'dry_run' | 'apply' }

interface RuleRow { code: RetentionRuleCode; periodMonths: number; mode: 'dry_run' | 'apply'; source: string; updatedAt: Date; updatedByName: string | null }
interface RunRow { ruleCode: string; mode: 'dry_run' | 'apply'; count: number; cutoff: Date; finishedAt: Date }

/** Every rule with its last runs. */
export async function listRetentionRules(db: Knex): Promise<RetentionRuleView[]> {
  const rules = await db('retentionRules').whereIn('code', [...RETENTION_RULES]).orderBy('code').select<RuleRow[]>('*');
  // The last run of each rule in each mode.
  const runs = await db('retentionRuns').distinctOn('ruleCode', 'mode').orderBy([{ column: 'ruleCode' }, { column: 'mode' }, { column: 'finishedAt', order: 'desc' }, { column: 'id', order: 'desc' }])
    .select<RunRow[]>('ruleCode', 'mode', 'count', 'cutoff', 'finishedAt');
  const last = (code: string, mode: string) => {
    const run = runs.find((r) => r.ruleCode === code && r.mode === mode);
    return run ? { mode: run.mode, count: run.count, cutoff: new Date(run.cutoff).toISOString(), finishedAt: new Date(run.finishedAt).toISOString() } : null;
  };
  return rules.map((rule) => {
    const lastDryRun = last(rule.code, 'dry_run');
    return {
      code: rule.code, periodMonths: rule.periodMonths, mode: rule.mode, source: rule.source,
      updatedAt: new Date(rule.updatedAt).toISOString(), updatedByName: rule.updatedByName,
      lastDryRun, lastApply: last(rule.code, 'apply'),
      canApply: lastDryRun !== null && Date.parse(lastDryRun.finishedAt) >= new Date(rule.updatedAt).getTime(),
    };
  });
}

/**
 * Changes a rule's period and/or mode (audited). A changed period puts the rule back to dry_run: the count shown
 * must be the count of what would really happen. Switching to apply needs a dry run finished since the rule last
 * changed (409 dry_run_required otherwise).
 */
export async function changeRetentionRule(db: Knex, session: Session, code: string, change: RetentionRuleChange): Promise<RetentionRuleView> {
  const before = (await listRetentionRules(db)).find((r) => r.code === code);
  if (!before) throw new HttpError(404, 'not_found', 'There is no such retention rule');
  const periodChanged = change.periodMonths !== undefined && change.periodMonths !== before.periodMonths;
  const mode = periodChanged ? 'dry_run' : change.mode ?? before.mode;
  if (change.mode === 'apply' && (periodChanged || !before.canApply)) {
    throw new HttpError(409, 'dry_run_required', 'Run a dry run of this rule (with this period) first: the count of what it would change must be seen before it applies',
      [{ field: 'mode', rule: 'dry_run_required', message: 'a dry run must count first', words: { lv: 'Vispirms jāveic izmēģinājuma skrējiens, kas saskaita, ko noteikums mainītu.', en: 'Run a dry run first: it counts what the rule would change.' } } satisfies WordedProblem]);
  }
  if (!periodChanged && mode === before.mode) return before;
  await db('retentionRules').where({ code }).update({
    periodMonths: change.periodMonths ?? before.periodMonths, mode, updatedAt: db.fn.now(), updatedByName: session.name,
  });
  await auditUserAction(db, session, {
    action: 'retention.rule_changed', purpose: 'An administrator changed a retention rule',
    result: { code, before: { periodMonths: before.periodMonths, mode: before.mode }, after: { periodMonths: change.periodMonths ?? before.periodMonths, mode } },
  });
  return (await listRetentionRules(db)).find((r) => r.code === code)!;
}

/** Starts a retention run now (as the schedule would), e.g. for a dry-run count before switching a rule to apply; audited. */
export async function startRetentionRun(deps: ApiDeps, session: Session): Promise<{ workflowId: string }> {
  const workflowId = retentionRunId(`manual-${randomUUID()}`);
  await deps.temporal.workflow.start(retention, { workflowId, taskQueue: deps.taskQueue, args: [{}] });
  await auditUserAction(deps.db, session, { action: 'retention.run_started', purpose: 'An administrator started a retention run', result: { workflowId } });
  return { workflowId };
}

/** The answer for a document whose bytes the retention rules deleted (its row stays as a tombstone). */
export function documentDeleted(): HttpError {
  return new HttpError(410, 'document_deleted', 'The document was deleted under the retention rules', [{
    rule: 'documents_delete',
    words: { lv: 'Dokuments ir dzēsts saskaņā ar datu glabāšanas noteikumiem.', en: 'The document was deleted under the retention rules.' },
  }]);
}
