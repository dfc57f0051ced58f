import type { Knex } from 'knex';
import { openMessage, whereShown, type StuckRow } from '../../lib/stuck-index';
import type { ApiDeps } from '../deps';
import type { StuckGroup, StuckWorkflow, WorkflowFilter } from './workflow-console';

/**
 * The stuck view read from the stuck index (lib/stuck-index.ts) rather than from Temporal: a few indexed queries
 * over the open rows, so the answer costs the same with 1,000 or 100,000 running workflows. Every cause is counted
 * in full; each group lists at most GROUP_LISTED of its workflows and says how many it left out, so nothing is cut
 * off silently. The batches read the whole group (stuckOfCause), without that limit.
 */

/** How many workflows each cause's group lists at most (the count is always complete). */
export const GROUP_LISTED = 500;

type ViewDeps = Pick<ApiDeps, 'db' | 'temporal' | 'taskQueue'>;

// The open rows shown by the stuck view, narrowed by the console's filters (search attributes come from the read
// model: the case's programme, stage and service case id, the learner's person code).
function shownRows(deps: ViewDeps, filter: WorkflowFilter): Knex.QueryBuilder {
  const q = deps.db('stuckIndex as s');
  whereShown(q, 's');
  if (deps.taskQueue) void q.where('s.taskQueue', deps.taskQueue);
  if (filter.type) void q.where('s.workflowType', filter.type);
  if (filter.workflowId) void q.where('s.workflowId', filter.workflowId);
  if (filter.caseId) void q.where('s.caseId', filter.caseId);
  if (filter.serviceCaseId || filter.programme || filter.stage) {
    void q.join('cases as c', 'c.id', 's.caseId');
    if (filter.serviceCaseId) void q.where('c.serviceCaseId', filter.serviceCaseId);
    if (filter.programme) void q.where('c.programme', filter.programme);
    if (filter.stage) void q.where('c.stage', filter.stage);
  }
  if (filter.personCode) {
    void q.whereIn('s.caseId', deps.db('cases').join('learners', 'learners.id', 'cases.learnerId')
      .where('learners.personCode', filter.personCode).select('cases.id'));
  }
  return q;
}

const COLUMNS = ['s.workflowId', 's.runId', 's.kind', 's.activityId', 's.workflowType', 's.caseId', 's.activityType', 's.attempt',
  's.cause', 's.message', 's.nextRetryAt', 's.firstFailedAt'];

// A row as the console shows it. An activity's attempt is the pending one (the failed attempt + 1), as Temporal's
// describe answer counts it and the workflow's own page shows it.
async function toStuck(deps: ViewDeps, row: StuckRow): Promise<StuckWorkflow> {
  return {
    workflowId: row.workflowId, runId: row.runId, type: row.workflowType, caseId: row.caseId, kind: row.kind,
    activityId: row.kind === 'activity' ? row.activityId : null, activityType: row.activityType,
    attempt: row.kind === 'activity' ? row.attempt + 1 : row.attempt,
    lastFailure: await openMessage(deps.temporal.options.loadedDataConverter.payloadCodecs, row.message),
    nextRetryAt: row.nextRetryAt ? new Date(row.nextRetryAt).toISOString() : null, cause: row.cause,
  };
}

/** The groups by cause (largest first), each with its full count and up to `listed` of its workflows. */
export async function stuckGroups(deps: ViewDeps, filter: WorkflowFilter = {}, listed = GROUP_LISTED): Promise<{ groups: (StuckGroup & { leftOut: number })[]; total: number; leftOut: number }> {
  const counts = await shownRows(deps, filter).groupBy('s.cause').select('s.cause').count({ n: '*' }) as { cause: string; n: string }[];
  const ranked = deps.db.queryBuilder().from(shownRows(deps, filter)
    .select(...COLUMNS, deps.db.raw('row_number() OVER (PARTITION BY s.cause ORDER BY s.first_failed_at, s.workflow_id, s.activity_id) AS rank'))
    .as('ranked')).where('rank', '<=', listed).orderBy(['cause', 'rank']);
  const rows = await ranked as StuckRow[];
  const byCause = new Map<string, StuckWorkflow[]>();
  for (const row of rows) byCause.set(row.cause, [...(byCause.get(row.cause) ?? []), await toStuck(deps, row)]);
  const groups = counts.map(({ cause, n }) => {
    const workflows = byCause.get(cause) ?? [];
    return { cause, count: Number(n), workflows, leftOut: Number(n) - workflows.length };
  }).sort((a, b) => b.count - a.count || a.cause.localeCompare(b.cause));
  return {
    groups, total: groups.reduce((sum, g) => sum + g.count, 0), leftOut: groups.reduce((sum, g) => sum + g.leftOut, 0),
  };
}

/** Every stuck workflow of one cause (the batches' selection), narrowed by the filter. */
export async function stuckOfCause(deps: ViewDeps, cause: string, filter: WorkflowFilter = {}): Promise<StuckWorkflow[]> {
  const rows = await shownRows(deps, filter).where('s.cause', cause).orderBy(['s.workflowId', 's.activityId']).select(...COLUMNS) as StuckRow[];
  const out: StuckWorkflow[] = [];
  for (const row of rows) out.push(await toStuck(deps, row));
  return out;
}
