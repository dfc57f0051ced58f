import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { CaseEvent, Task } from '../../lib/db';
import type { Session } from '../../lib/sessions';
import { FailureType } from '../../domain/failures';
import { decideApprovalUpdate } from '../../workflows/learner-journey';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';

/** A task as the inbox shows it. */
export interface TaskView {
  id: string; caseId: string | null; serviceCaseId: string; type: string; state: string; learnerName: string;
  dueAt: string; escalatedAt: string | null; createdAt: string; decision: string | null; decidedByName: string | null;
  comment: string | null; facts: Record<string, unknown>;
}

/** Tasks per inbox page. */
export const PAGE_SIZE = 50;

/** One page of the inbox, overdue and soonest due first, with the total count for paging. */
export async function listTasks(deps: ApiDeps, filter: { state: 'open' | 'decided' | 'all'; page: number }) {
  const query = tasksQuery(deps);
  if (filter.state !== 'all') query.where('tasks.state', filter.state);
  const [{ count }] = await query.clone().clearSelect().count<{ count: string }[]>('* as count');
  const rows = await query.orderBy([{ column: 'tasks.dueAt', order: 'asc' }, { column: 'tasks.createdAt', order: 'asc' }])
    .limit(PAGE_SIZE).offset((filter.page - 1) * PAGE_SIZE);
  return { tasks: rows.map(toView), total: Number(count), page: filter.page, pageSize: PAGE_SIZE };
}

/** One task with its case history, or null. */
export async function getTask(deps: ApiDeps, taskId: string) {
  const row = await tasksQuery(deps).where('tasks.id', taskId).first();
  if (!row) return null;
  const events = await CaseEvent.query(deps.db).where('caseId', row.caseId).orderBy('id');
  return { task: toView(row), events };
}

/**
 * Delivers a staff decision to the waiting workflow with an Update. The workflow's validator is the judge of
 * "still open": of two staff deciding at once exactly one wins, the other is told who decided.
 */
export async function decideTask(deps: ApiDeps, staff: Session, taskId: string, input: { decision: 'approve' | 'reject'; comment: string }) {
  const task = await Task.query(deps.db).findById(taskId);
  if (!task) throw new HttpError(404, 'task_not_found', 'There is no such task');
  if (task.state !== 'open') throw alreadyDecided(task.decidedByName, task.decision);
  const handle = deps.temporal.workflow.getHandle(task.workflowId);
  try {
    const result = await handle.executeUpdate(decideApprovalUpdate, {
      args: [{ taskId, decision: input.decision, comment: input.comment, decidedBy: { role: 'staff', id: staff.subject, name: staff.name, channel: 'staff' } }],
      // The same person submitting twice (a double click) is one Update, answered once.
      updateId: `decide:${taskId}:${staff.subject}`,
    });
    deps.logger.info('task decided', { taskId, caseId: task.caseId, workflowId: task.workflowId, decision: input.decision });
    return result;
  } catch (err) {
    const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === FailureType.AlreadyDecided) {
      const detail = cause.details?.[0] as { decidedBy?: string; decision?: string } | undefined;
      throw alreadyDecided(detail?.decidedBy ?? null, detail?.decision ?? null);
    }
    if (cause instanceof ApplicationFailure && cause.type === FailureType.StaleDecision) {
      throw new HttpError(409, 'task_not_open', 'This task is no longer open for a decision');
    }
    if (err instanceof WorkflowNotFoundError) throw new HttpError(409, 'task_not_open', 'This case is no longer waiting for a decision');
    throw err;
  }
}

function alreadyDecided(by: string | null, decision: string | null): HttpError {
  return new HttpError(409, 'already_decided', `Already decided${decision ? ` (${decision})` : ''} by ${by ?? 'a colleague'}`, [{ decidedBy: by, decision }]);
}

function tasksQuery(deps: ApiDeps) {
  return deps.db('tasks').join('cases', 'cases.id', 'tasks.caseId').join('learners', 'learners.id', 'cases.learnerId')
    .select('tasks.*', 'cases.serviceCaseId', 'learners.firstName', 'learners.lastName');
}

function toView(row: Task & { serviceCaseId: string; firstName: string | null; lastName: string | null }): TaskView {
  return {
    id: row.id, caseId: row.caseId, serviceCaseId: row.serviceCaseId, type: row.type, state: row.state,
    learnerName: [row.firstName, row.lastName].filter(Boolean).join(' '), dueAt: new Date(row.dueAt).toISOString(),
    escalatedAt: row.escalatedAt ? new Date(row.escalatedAt).toISOString() : null, createdAt: new Date(row.createdAt).toISOString(),
    decision: row.decision, decidedByName: row.decidedByName, comment: row.comment, facts: row.facts,
  };
}
