import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { batchCounts, batchCountsOf, type ConsoleBatchAction, type ConsoleBatchCounts } from '../../lib/console-batches';
import type { Session } from '../../lib/sessions';
import { consoleBatch, type ConsoleBatchInput } from '../../workflows/console-batch';
import { consoleBatchId } from '../../workflows/ids';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { text } from '../text-input';
import { auditUserAction } from './audit';
import { FILTER_SELECT_LIMIT, allWorkflowIds, countWorkflows, type WorkflowFilter } from './workflow-console';
import { stuckOfCause } from './stuck-view';
import { personCode } from '../schemas';

/**
 * Batch retry or terminate over a filtered set of workflows: the preview (how many, which), the start (the set
 * recomputed, rows and the batch workflow, workflows/console-batch.ts), and the batch's progress and results.
 */

/** The filters a terminate may select running workflows by (the console's list filters, status fixed to running). */
export const batchFilterSchema = z.object({
  type: text().trim().min(1).max(100).optional(),
  programme: text().trim().min(1).max(50).optional(),
  stage: text().trim().min(1).max(100).optional(),
  caseId: z.uuid().optional(),
  serviceCaseId: text().trim().min(1).max(100).optional(),
  personCode: personCode().optional(),
  workflowId: text().trim().min(1).max(300).optional(),
}).strict();

const selection = {
  action: z.enum(['retry', 'terminate', 'cancel']),
  /** A cause from the stuck view: every workflow stuck on it. */
  cause: text().trim().min(1).max(300).optional(),
  /** Narrows the stuck workflows of a cause, or (terminate, no cause) selects running workflows. */
  filter: batchFilterSchema.optional(),
};

// A retry needs a cause (only stuck workflows have something to retry); a terminate needs a cause or at least
// one filter, so an empty form never selects every running workflow.
function requireTarget(value: { action: string; cause?: string; filter?: Record<string, unknown> }, ctx: z.RefinementCtx) {
  const filtered = Object.values(value.filter ?? {}).some((v) => v !== undefined);
  if (value.action === 'retry' && !value.cause) {
    ctx.addIssue({ code: 'custom', path: ['cause'], message: 'A retry needs the cause whose stuck workflows to retry' });
  }
  if (value.action !== 'retry' && !value.cause && !filtered) {
    ctx.addIssue({ code: 'custom', path: ['filter'], message: `A ${value.action} needs a cause or at least one filter` });
  }
}

/** The body of a preview. */
export const batchPreviewSchema = z.object(selection).strict().superRefine(requireTarget);

/** The body of a batch start: the same selection, a reason and the count the administrator saw. */
export const batchStartSchema = z.object({
  ...selection,
  reason: text().trim().min(5, 'Give a reason of at least 5 characters').max(1000),
  expectedCount: z.number().int().min(0),
  // Made when the preview is shown: a second submission of the same confirmation (a double click, a resubmitted
  // form, a retried request) finds the batch it started instead of starting another.
  batchId: z.uuid({ message: 'must be a UUID' }).optional(),
}).strict().superRefine(requireTarget);

/** A preview request. */
export type BatchPreviewRequest = z.output<typeof batchPreviewSchema>;
/** A start request. */
export type BatchStartRequest = z.output<typeof batchStartSchema>;

/** One workflow a batch would touch. */
export interface BatchTarget {
  workflowId: string; type: string; caseId: string | null;
  /** What holds it up (stuck view), or null for a running workflow selected by filter. */
  activityType: string | null; attempt: number | null; lastFailure: string | null;
}

/** How many workflows of the preview's list the answer carries at most. */
export const PREVIEW_SHOWN = 50;

/** The workflows a selection touches now, and how many more the selection matched beyond what it may take. */
export interface Selection { targets: BatchTarget[]; leftOut: number }

/**
 * The workflows a selection touches now: the stuck ones of a cause (from the stuck index, every one of them), or
 * (terminate) the running ones of a filter, from visibility, at most FILTER_SELECT_LIMIT, with how many it left out.
 */
export async function selectTargets(deps: ApiDeps, request: BatchPreviewRequest): Promise<Selection> {
  const filter: WorkflowFilter = { ...request.filter };
  if (request.cause) {
    const seen = new Map<string, BatchTarget>();
    for (const w of await stuckOfCause(deps, request.cause, filter)) {
      // A workflow with two activities failing for the same cause is one target.
      if (!seen.has(w.workflowId)) {
        seen.set(w.workflowId, {
          workflowId: w.workflowId, type: w.type, caseId: w.caseId, activityType: w.activityType, attempt: w.attempt, lastFailure: w.lastFailure,
        });
      }
    }
    return { targets: [...seen.values()].sort((a, b) => a.workflowId.localeCompare(b.workflowId)), leftOut: 0 };
  }
  const query = { ...filter, status: 'running' as const };
  const [running, matched] = await Promise.all([allWorkflowIds(deps, query, FILTER_SELECT_LIMIT), countWorkflows(deps, query)]);
  // A batch never terminates a running batch unless batches are what the administrator asked for.
  const targets = running.filter((r) => r.type !== 'consoleBatch' || filter.type === 'consoleBatch')
    .map((r) => ({ workflowId: r.workflowId, type: r.type, caseId: r.caseId, activityType: null, attempt: null, lastFailure: null }))
    .sort((a, b) => a.workflowId.localeCompare(b.workflowId));
  return { targets, leftOut: Math.max(0, matched - running.length) };
}

/** The preview: how many workflows the batch would touch, the first PREVIEW_SHOWN of them, and how many it leaves out. */
export async function previewBatch(deps: ApiDeps, request: BatchPreviewRequest) {
  const { targets, leftOut } = await selectTargets(deps, request);
  return {
    action: request.action, cause: request.cause ?? null, filter: request.filter ?? {},
    count: targets.length, leftOut, selectLimit: FILTER_SELECT_LIMIT, workflows: targets.slice(0, PREVIEW_SHOWN),
  };
}

/**
 * Starts a batch: the set is recomputed (workflows move on between preview and confirmation). A retry goes ahead
 * with the set as it is now and records both counts; a terminate is refused (409 count_changed) when the set grew
 * beyond what the administrator confirmed, because a termination cannot be undone. The batch row and its items
 * are written in one transaction with the audit row of the start; then the batch workflow runs.
 */
export async function startBatch(deps: ApiDeps, admin: Session, request: BatchStartRequest, opts: { verifyAfterMs?: number } = {}) {
  const already = request.batchId ? await startedBefore(deps, request.batchId) : null;
  if (already) return already;
  const { targets } = await selectTargets(deps, request);
  if (targets.length === 0) throw new HttpError(409, 'nothing_to_do', 'No workflow matches any more; nothing was started');
  if (request.action !== 'retry' && targets.length > request.expectedCount) {
    throw new HttpError(409, 'count_changed',
      `The set has grown from ${request.expectedCount} to ${targets.length} workflows since the preview; look at the preview again`,
      [{ field: 'expectedCount', expected: request.expectedCount, actual: targets.length }]);
  }
  const batchId = request.batchId ?? randomUUID();
  const workflowIds = targets.map((t) => t.workflowId);
  const selectionRecord = { cause: request.cause ?? null, filter: request.filter ?? {}, expectedCount: request.expectedCount, count: targets.length };
  const inserted = await deps.db.transaction(async (trx) => {
    const rows = await trx('consoleBatches').insert({
      id: batchId, action: request.action, reason: request.reason, filter: selectionRecord, total: targets.length,
      startedById: admin.subject, startedByName: admin.name, state: 'running',
    }).onConflict('id').ignore().returning('id');
    // The same confirmation arriving twice at once: the second finds the first's row and starts nothing.
    if (rows.length === 0) return false;
    for (let i = 0; i < workflowIds.length; i += 1_000) {
      await trx('consoleBatchItems').insert(workflowIds.slice(i, i + 1_000).map((workflowId) => ({ batchId, workflowId, status: 'pending' })));
    }
    await auditUserAction(trx, admin, {
      action: `console.batch.${request.action}.start`, purpose: request.reason,
      result: { batchId, ...selectionRecord, workflowIds }, idempotencyKey: `console-batch:${batchId}:start`,
    });
    return true;
  });
  if (!inserted) return (await startedBefore(deps, batchId))!;
  const input: ConsoleBatchInput = {
    batchId, action: request.action, reason: request.reason, workflowIds, admin: { id: admin.subject, name: admin.name },
    ...(opts.verifyAfterMs !== undefined ? { verifyAfterMs: opts.verifyAfterMs } : {}),
  };
  try {
    await deps.temporal.workflow.start(consoleBatch, { workflowId: consoleBatchId(batchId), taskQueue: deps.taskQueue, args: [input] });
  } catch (err) {
    // Nothing ran: the rows go, so no batch shows as running forever (the audit row of the attempt stays).
    await deps.db.transaction(async (trx) => {
      await trx('consoleBatchItems').where({ batchId }).delete();
      await trx('consoleBatches').where({ id: batchId }).delete();
    });
    throw err;
  }
  deps.logger.info('console batch started', { batchId, action: request.action, count: targets.length, expectedCount: request.expectedCount });
  return { batchId, count: targets.length, expectedCount: request.expectedCount };
}

// A batch already started with this id: the answer the first submission got.
async function startedBefore(deps: ApiDeps, batchId: string) {
  const row = await deps.db('consoleBatches').where({ id: batchId }).first<{ total: number; filter: { expectedCount?: number } } | undefined>('total', 'filter');
  return row ? { batchId, count: row.total, expectedCount: row.filter.expectedCount ?? row.total } : null;
}

/** A batch as its page and the API show it. */
export interface BatchView {
  id: string; action: ConsoleBatchAction; reason: string; state: 'running' | 'finished';
  cause: string | null; filter: Record<string, string>; expectedCount: number; total: number;
  startedById: string; startedByName: string; createdAt: string; finishedAt: string | null;
  workflowId: string; counts: ConsoleBatchCounts;
}

interface BatchRow {
  id: string; action: ConsoleBatchAction; reason: string; state: 'running' | 'finished';
  filter: { cause?: string | null; filter?: Record<string, string>; expectedCount?: number };
  total: number; startedById: string; startedByName: string; createdAt: Date; finishedAt: Date | null;
}

function toView(row: BatchRow, counts: ConsoleBatchCounts): BatchView {
  return {
    id: row.id, action: row.action, reason: row.reason, state: row.state,
    cause: row.filter.cause ?? null, filter: row.filter.filter ?? {}, expectedCount: row.filter.expectedCount ?? row.total, total: row.total,
    startedById: row.startedById, startedByName: row.startedByName,
    createdAt: new Date(row.createdAt).toISOString(), finishedAt: row.finishedAt ? new Date(row.finishedAt).toISOString() : null,
    workflowId: consoleBatchId(row.id), counts,
  };
}

/** Items per page of a batch's results. */
export const BATCH_ITEMS_PAGE = 100;

/** One batch with its counts and one page of its items (problems first), or null when there is no such batch. */
export async function getBatch(deps: ApiDeps, batchId: string, page = 1) {
  const row = await deps.db('consoleBatches').where({ id: batchId }).first<BatchRow | undefined>();
  if (!row) return null;
  const items = await deps.db('consoleBatchItems').where({ batchId })
    .orderByRaw(`CASE WHEN verified = 'still_failing' THEN 0 WHEN verified = 'not_found' THEN 1 WHEN status = 'failed' THEN 2
      WHEN status = 'pending' OR verified IS NULL THEN 3 ELSE 4 END, workflow_id`)
    .offset((page - 1) * BATCH_ITEMS_PAGE).limit(BATCH_ITEMS_PAGE)
    .select('workflowId', 'status', 'verified', 'detail', 'updatedAt') as
    { workflowId: string; status: string; verified: string | null; detail: string | null; updatedAt: Date }[];
  return {
    batch: toView(row, await batchCounts(deps.db, batchId)),
    items: items.map((i) => ({ ...i, updatedAt: new Date(i.updatedAt).toISOString() })),
    page, pageSize: BATCH_ITEMS_PAGE,
  };
}

/** The most recent batches, newest first. */
export async function listBatches(deps: ApiDeps, limit = 50): Promise<BatchView[]> {
  const rows = await deps.db('consoleBatches').orderBy('createdAt', 'desc').limit(limit).select() as BatchRow[];
  const counts = await batchCountsOf(deps.db, rows.map((r) => r.id));
  return rows.map((r) => toView(r, counts.get(r.id) ?? { pending: 0, sent: 0, failed: 0, cleared: 0, stillFailing: 0, notFound: 0, unverified: 0 }));
}
