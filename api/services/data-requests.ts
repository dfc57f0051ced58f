import { randomUUID } from 'node:crypto';
import { WorkflowIdConflictPolicy } from '@temporalio/client';
import type { Knex } from 'knex';
import {
  checkDataRequest, checkDataRequestDecision, DATA_REQUEST_WORKING_DAYS, type DataRequestProblem,
} from '../../domain/data-requests';
import { rigaDate } from '../../domain/dates';
import { shift } from '../../domain/holidays';
import { workingDaysDeadline } from '../../domain/working-days';
import { holidaysBetween } from '../../lib/holidays';
import type { Session } from '../../lib/sessions';
import { dataSubjectRequestId } from '../../workflows/ids';
import { dataSubjectRequest, decideDataSubjectRequestUpdate } from '../../workflows/data-subject-request';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { startFailed, startWorkflow } from './workflow-start';
import { auditUserAction } from './audit';
import { alreadyDecided, refusedDecision, staffMember } from './tasks';

/** A request as the learner and staff see it. */
export interface DataRequestView {
  id: string; kind: 'erasure' | 'correction'; text: string; field: string | null; correctValue: string | null;
  state: 'open' | 'decided' | 'cancelled'; outcome: 'done' | 'partly' | 'refused' | null; outcomeReason: string | null;
  decidedByName: string | null; decidedAt: string | null; dueAt: string; createdAt: string;
}

const COLUMNS = ['id', 'kind', 'text', 'field', 'correctValue', 'state', 'outcome', 'outcomeReason', 'decidedByName', 'decidedAt', 'dueAt', 'createdAt'];

function toView(row: Record<string, unknown>): DataRequestView {
  const iso = (v: unknown) => (v ? new Date(v as Date).toISOString() : null);
  return { ...(row as unknown as DataRequestView), decidedAt: iso(row.decidedAt), dueAt: iso(row.dueAt)!, createdAt: iso(row.createdAt)! };
}

/** A 400 naming each field, with the words of both page languages. */
export function invalidRequest(problems: DataRequestProblem[]): HttpError {
  const worded: WordedProblem[] = problems.map((p) => ({ field: p.field, rule: p.rule, message: p.words.en, words: p.words }));
  return new HttpError(400, 'invalid_request', `Invalid body: ${worded.map((p) => `${p.field}: ${p.message}`).join('; ')}`, worded);
}

/** The end of the fifth working day from now (Riga calendar; public holidays from the table administrators extend). */
export async function dataRequestDueAt(db: Knex, now = new Date()): Promise<Date> {
  const today = rigaDate(now);
  return workingDaysDeadline(now, DATA_REQUEST_WORKING_DAYS, await holidaysBetween(db, today, shift(today, DATA_REQUEST_WORKING_DAYS * 7 + 31)));
}

/** The signed-in person's requests, newest first. */
export async function listMyDataRequests(db: Knex, personCode: string): Promise<DataRequestView[]> {
  const rows = await db('dataSubjectRequests').where({ personCode }).orderBy('createdAt', 'desc').select(COLUMNS);
  return rows.map(toView);
}

/**
 * Files a request and starts its workflow, which opens the inbox task. The form's requestId makes a double submit
 * one request: the second finds the row and joins the same workflow. Returns the request and whether it is new.
 */
export async function fileDataRequest(deps: ApiDeps, session: Session, body: Record<string, unknown>): Promise<{ request: DataRequestView; created: boolean }> {
  const { problems, input } = checkDataRequest(body);
  if (!input) throw invalidRequest(problems);
  const existing = await deps.db('dataSubjectRequests').where({ requestId: input.requestId }).first<{ id: string; personCode: string } | undefined>('id', 'personCode');
  if (existing && existing.personCode !== session.subject) {
    throw invalidRequest([{ field: 'requestId', rule: 'invalid_format', words: { lv: 'Atveriet veidlapu vēlreiz.', en: 'Open the form again.' } }]);
  }
  const id = existing?.id ?? randomUUID();
  if (!existing) {
    const dueAt = await dataRequestDueAt(deps.db);
    const inserted = await deps.db('dataSubjectRequests').insert({
      id, personCode: session.subject, requestId: input.requestId, kind: input.kind, text: input.text, field: input.field,
      correctValue: input.correctValue, dueAt, workflowId: dataSubjectRequestId(id),
    }).onConflict('requestId').ignore().returning('id');
    // Two submits at the same moment: the other one inserted the row; join it.
    if (inserted.length === 0) return fileDataRequest(deps, session, body);
  }
  const row = await deps.db('dataSubjectRequests').where({ id }).first();
  const workflowId = dataSubjectRequestId(id);
  const started = await startWorkflow(deps, () => deps.temporal.workflow.start(dataSubjectRequest, {
    workflowId, taskQueue: deps.taskQueue, workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    // The task's id is the request's, so a repeated start opens the same task.
    args: [{ requestId: id, taskId: id, dueAt: new Date(row.dueAt).toISOString() }],
  }));
  if (started.outcome === 'not_started') {
    // Nothing waits for the row: remove it, so the same form sent again starts over.
    if (!existing) await deps.db('dataSubjectRequests').where({ id }).delete();
    throw startFailed(started, 'The request');
  }
  if (started.outcome === 'unknown') throw startFailed(started, 'The request');
  return { request: toView(pick(row)), created: !existing };
}

function pick(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(COLUMNS.map((c) => [c, row[c]]));
}

/** One request with the person it is about, as a member of staff opens it (audited: it shows personal data). */
export async function viewDataRequest(db: Knex, staff: Session, requestId: string) {
  const found = await getDataRequest(db, requestId);
  if (!found) throw new HttpError(404, 'not_found', 'There is no such request');
  await auditUserAction(db, staff, {
    action: 'data_request.view', subjectPersonCode: found.personCode, purpose: 'Deciding a data-subject request', result: { requestId },
  });
  return found;
}

/** One request with the person it is about; null when there is none. */
export async function getDataRequest(db: Knex, requestId: string) {
  const row = await db('dataSubjectRequests').where({ id: requestId }).first();
  if (!row) return null;
  const learner = await db('learners').where({ personCode: row.personCode }).first<Record<string, unknown> | undefined>('firstName', 'lastName', 'email', 'phone', 'language');
  const task = await db('tasks').where({ workflowId: row.workflowId }).first<{ id: string; assigneeId: string | null; escalatedAt: Date | null } | undefined>('id', 'assigneeId', 'escalatedAt');
  return { request: toView(pick(row)), personCode: row.personCode as string, learner: learner ?? null, taskId: task?.id ?? null, workflowId: row.workflowId as string };
}

/**
 * A staff decision on a request, delivered to its workflow with an Update: the workflow records the outcome, closes
 * the task and e-mails the person before answering. Of two staff deciding at once, one wins; the other is told who.
 */
export async function decideDataRequest(deps: ApiDeps, staff: Session, requestId: string, body: Record<string, unknown>): Promise<DataRequestView> {
  const { problems, decision } = checkDataRequestDecision(body);
  if (!decision) throw invalidRequest(problems);
  const found = await getDataRequest(deps.db, requestId);
  if (!found) throw new HttpError(404, 'not_found', 'There is no such request');
  if (found.request.state === 'decided') throw alreadyDecided(found.request.decidedByName, found.request.outcome);
  const me = await staffMember(deps, staff);
  if (!found.taskId) throw new HttpError(409, 'task_not_open', 'The request\'s task is not open yet: try again in a moment');
  const task = await deps.db('tasks').where({ id: found.taskId }).first<{ assigneeId: string | null }>('assigneeId');
  if (task.assigneeId && task.assigneeId !== me.id) throw new HttpError(409, 'claimed_by_other', 'A colleague has claimed this task', [{ assigneeId: task.assigneeId }]);
  try {
    await deps.temporal.workflow.getHandle(found.workflowId).executeUpdate(decideDataSubjectRequestUpdate, {
      args: [{ taskId: found.taskId, outcome: decision.outcome, reason: decision.reason, decidedBy: { role: 'staff', id: me.id, name: me.displayName, channel: 'staff' } }],
      // The same person submitting twice (a double click) is one Update, answered once.
      updateId: `decide:${found.taskId}:${me.id}`,
    });
  } catch (err) {
    throw refusedDecision(err, 'request');
  }
  return (await getDataRequest(deps.db, requestId))!.request;
}

