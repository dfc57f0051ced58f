import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { CaseEvent, Offer, Provider, ProviderEvent, StoredDocument, Task } from '../../lib/db';
import type { Session } from '../../lib/sessions';
import { FailureType } from '../../domain/failures';
import { decideApprovalUpdate, type ApprovalDecisionInput } from '../../workflows/task-decision';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { REASONED_TASK_TYPES, decisionProblems, type DecisionInput } from '../schemas';

/** A task as the inbox shows it: a learner's case, a provider's registration, or a provider's offer. */
export interface TaskView {
  id: string; caseId: string | null; serviceCaseId: string | null; providerId: string | null; offerId: string | null;
  type: string; state: string; learnerName: string | null; providerName: string | null; providerRegistrationNumber: string | null;
  offerTitle: { lv: string; en: string } | null;
  /** Who or what the task is about, in words: the learner, or the provider (and the offer's title). */
  subject: string;
  dueAt: string; escalatedAt: string | null; overdue: boolean; createdAt: string; decision: string | null;
  decidedByName: string | null; comment: string | null; facts: Record<string, unknown>;
}

/** One step of the history shown with a task: the learner's case events, or the provider's or offer's events. */
export interface TaskEvent {
  kind: string; stage: string; actorRole: string; actorName: string | null; occurredAt: string; details: Record<string, unknown>;
}

/** A provider's uploaded document as a task shows it (the bytes are downloaded separately). */
export interface TaskDocument {
  id: string; kind: string; filename: string; contentType: string; sizeBytes: number; sha256: string; uploadedAt: string;
  offerId: string | null; downloadPath: string;
}

/** Tasks per inbox page. */
export const PAGE_SIZE = 50;

/** One page of the inbox, soonest due first (overdue ones are due earliest), with the total count for paging. */
export async function listTasks(deps: ApiDeps, filter: { state: 'open' | 'decided' | 'all'; type?: string; page: number }) {
  const query = tasksQuery(deps);
  if (filter.state !== 'all') query.where('tasks.state', filter.state);
  if (filter.type) query.where('tasks.type', filter.type);
  const [{ count }] = await query.clone().clearSelect().count<{ count: string }[]>('* as count');
  const rows = await query.orderBy([{ column: 'tasks.dueAt', order: 'asc' }, { column: 'tasks.createdAt', order: 'asc' }, { column: 'tasks.id', order: 'asc' }])
    .limit(PAGE_SIZE).offset((filter.page - 1) * PAGE_SIZE);
  const now = Date.now();
  return { tasks: rows.map((row: TaskRow) => toView(row, now)), total: Number(count), page: filter.page, pageSize: PAGE_SIZE };
}

/**
 * One task with its history and, for provider and offer tasks, the subject's details: the provider (with its
 * declaration), or the offer (with its provider and annexes). Null when there is no such task.
 */
export async function getTask(deps: ApiDeps, taskId: string) {
  const row: TaskRow | undefined = await tasksQuery(deps).where('tasks.id', taskId).first();
  if (!row) return null;
  const task = toView(row, Date.now());
  const providerId = task.providerId;
  const [events, provider, offer, documents] = await Promise.all([
    taskEvents(deps, task),
    providerId ? Provider.query(deps.db).findById(providerId)
      .select('id', 'name', 'registrationNumber', 'educationRegistrationNumber', 'email', 'status') : Promise.resolve(undefined),
    task.offerId ? offerDetails(deps, task.offerId) : Promise.resolve(null),
    providerId ? taskDocuments(deps, providerId, task.offerId) : Promise.resolve([]),
  ]);
  return { task, events, provider: provider ? { ...provider } : null, offer, documents };
}

/** A stored document's bytes and how to serve them, or null. */
export async function getDocument(deps: ApiDeps, documentId: string) {
  return StoredDocument.query(deps.db).findById(documentId)
    .select('id', 'providerId', 'offerId', 'kind', 'filename', 'contentType', 'sizeBytes', 'sha256', 'content');
}

/**
 * Delivers a staff decision to the waiting workflow with an Update. What a decision needs depends on the task's type
 * (`decisionProblems`) and is checked before anything is sent; an unknown task gets the general rule first, so a
 * malformed request is a 400 whether or not the task exists. The workflow's validator is the judge of "still
 * open": of two staff deciding at once exactly one wins, the other is told who decided.
 */
export async function decideTask(deps: ApiDeps, staff: Session, taskId: string, input: DecisionInput) {
  const task = await Task.query(deps.db).findById(taskId);
  const checklistCodes = task ? checklistOf(task.facts).map((item) => item.code) : null;
  const problems = decisionProblems(task?.type ?? null, input, checklistCodes && checklistCodes.length > 0 ? checklistCodes : null);
  if (problems.length > 0) {
    throw new HttpError(400, 'invalid_request', `Invalid body: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
  }
  if (!task) throw new HttpError(404, 'task_not_found', 'There is no such task');
  if (task.state !== 'open') throw alreadyDecided(task.decidedByName, task.decision);
  const decision: ApprovalDecisionInput = {
    taskId, decision: input.decision, comment: input.comment,
    decidedBy: { role: 'staff', id: staff.subject, name: staff.name, channel: 'staff' },
  };
  if ((REASONED_TASK_TYPES as readonly string[]).includes(task.type)) {
    // Every item of the task's checklist is answered: an item left out was not ticked.
    decision.checklist = { ...Object.fromEntries((checklistCodes ?? []).map((code) => [code, false])), ...input.checklist };
    decision.reasons = input.decision === 'reject' ? input.reasons ?? [] : [];
  }
  const handle = deps.temporal.workflow.getHandle(task.workflowId);
  try {
    const result = await handle.executeUpdate(decideApprovalUpdate, {
      args: [decision],
      // The same person submitting twice (a double click) is one Update, answered once.
      updateId: `decide:${taskId}:${staff.subject}`,
    });
    deps.logger.info('task decided', { taskId, type: task.type, caseId: task.caseId, providerId: task.providerId, offerId: task.offerId, workflowId: task.workflowId, decision: input.decision });
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

/**
 * The checklist items an offer-evaluation task asks about, from its facts: a list of item codes (or of objects
 * with a `code` and optional `label`). Empty for other tasks.
 */
export function checklistOf(facts: Record<string, unknown>): { code: string; label: string | null }[] {
  const list = facts.checklist;
  if (!Array.isArray(list)) return [];
  return list.flatMap((item): { code: string; label: string | null }[] => {
    if (typeof item === 'string') return [{ code: item, label: null }];
    if (item && typeof item === 'object' && typeof (item as { code?: unknown }).code === 'string') {
      const label = (item as { label?: unknown }).label;
      return [{ code: (item as { code: string }).code, label: typeof label === 'string' ? label : null }];
    }
    return [];
  });
}

function alreadyDecided(by: string | null, decision: string | null): HttpError {
  return new HttpError(409, 'already_decided', `Already decided${decision ? ` (${decision})` : ''} by ${by ?? 'a colleague'}`, [{ decidedBy: by, decision }]);
}

interface TaskRow extends Task {
  serviceCaseId: string | null; firstName: string | null; lastName: string | null; subjectProviderId: string | null;
  providerName: string | null; providerRegistrationNumber: string | null; offerTitleLv: string | null; offerTitleEn: string | null;
}

// Every task with its subject: a learner's case (and the learner), or a provider, or an offer and its provider
// (an offer task names the provider through the offer when the task row itself does not).
function tasksQuery(deps: ApiDeps) {
  return deps.db('tasks')
    .leftJoin('cases', 'cases.id', 'tasks.caseId')
    .leftJoin('learners', 'learners.id', 'cases.learnerId')
    .leftJoin('offers', 'offers.id', 'tasks.offerId')
    .leftJoin('providers', 'providers.id', deps.db.raw('coalesce(tasks.provider_id, offers.provider_id)'))
    .select('tasks.*', 'cases.serviceCaseId', 'learners.firstName', 'learners.lastName', 'providers.id as subjectProviderId',
      'providers.name as providerName', 'providers.registrationNumber as providerRegistrationNumber',
      'offers.titleLv as offerTitleLv', 'offers.titleEn as offerTitleEn');
}

function toView(row: TaskRow, now: number): TaskView {
  const learnerName = row.caseId ? [row.firstName, row.lastName].filter(Boolean).join(' ') : null;
  const offerTitle = row.offerId && row.offerTitleLv !== null ? { lv: row.offerTitleLv, en: row.offerTitleEn ?? row.offerTitleLv } : null;
  const subject = learnerName ?? [row.providerName, offerTitle?.lv].filter(Boolean).join(' — ');
  const escalatedAt = row.escalatedAt ? new Date(row.escalatedAt).toISOString() : null;
  const dueAt = new Date(row.dueAt).toISOString();
  return {
    id: row.id, caseId: row.caseId, serviceCaseId: row.serviceCaseId ?? null, providerId: row.subjectProviderId ?? row.providerId ?? null,
    offerId: row.offerId ?? null, type: row.type, state: row.state, learnerName, providerName: row.providerName ?? null,
    providerRegistrationNumber: row.providerRegistrationNumber ?? null, offerTitle, subject,
    dueAt, escalatedAt, overdue: row.state === 'open' && (escalatedAt !== null || Date.parse(dueAt) < now),
    createdAt: new Date(row.createdAt).toISOString(), decision: row.decision, decidedByName: row.decidedByName,
    comment: row.comment, facts: row.facts ?? {},
  };
}

// A learner's task shows the case's history; a provider's task the registration's (events with no offer); an
// offer's task that offer's history.
async function taskEvents(deps: ApiDeps, task: TaskView): Promise<TaskEvent[]> {
  if (task.caseId) {
    const rows = await CaseEvent.query(deps.db).where('caseId', task.caseId).orderBy('id');
    return rows.map((e) => ({ kind: e.kind, stage: e.stage, actorRole: e.actorRole, actorName: e.actorName, occurredAt: new Date(e.occurredAt).toISOString(), details: e.details }));
  }
  const query = ProviderEvent.query(deps.db).orderBy('id');
  // Both columns, so the (provider_id, offer_id) index serves the offer's history too.
  if (task.offerId && task.providerId) query.where('providerId', task.providerId).where('offerId', task.offerId);
  else if (task.offerId) query.where('offerId', task.offerId);
  else if (task.providerId) query.where('providerId', task.providerId).whereNull('offerId');
  else return [];
  const rows = await query;
  return rows.map((e) => ({ kind: e.kind, stage: e.state, actorRole: e.actorRole, actorName: e.actorName, occurredAt: new Date(e.occurredAt).toISOString(), details: e.details }));
}

async function offerDetails(deps: ApiDeps, offerId: string) {
  const offer = await Offer.query(deps.db).findById(offerId);
  if (!offer) return null;
  const [coefficient, call] = await Promise.all([
    offer.coefficientCode ? deps.db('costCoefficients').where('code', offer.coefficientCode).first<{ code: string; nameLv: string; nameEn: string; coefficientThousandths: number } | undefined>() : undefined,
    offer.callId ? deps.db('calls').where('id', offer.callId).first<{ code: string; titleLv: string; titleEn: string } | undefined>('code', 'titleLv', 'titleEn') : undefined,
  ]);
  return {
    id: offer.id, state: offer.state, programme: offer.programme, title: { lv: offer.titleLv, en: offer.titleEn },
    call: call ?? null, competence: offer.competence, language: offer.language,
    description: { lv: offer.descriptionLv, en: offer.descriptionEn }, prerequisites: { lv: offer.prerequisitesLv, en: offer.prerequisitesEn },
    digcompLevel: offer.digcompLevel, digitalSharePercent: offer.digitalSharePercent,
    hoursTheory: offer.hoursTheory, hoursPractice: offer.hoursPractice, licenceNumber: offer.licenceNumber,
    coefficient: coefficient ? { code: coefficient.code, name: { lv: coefficient.nameLv, en: coefficient.nameEn }, value: coefficient.coefficientThousandths / 1000 } : null,
    costCents: offer.costCents, statedCostCents: offer.statedCostCents,
    costMatches: offer.statedCostCents === null || offer.statedCostCents === offer.costCents,
    places: (offer.places ?? []).map((p) => p.address), submittedAt: offer.submittedAt ? new Date(offer.submittedAt).toISOString() : null,
  };
}

// The provider's own documents (the declaration) and, for an offer task, that offer's annexes; never the bytes.
async function taskDocuments(deps: ApiDeps, providerId: string, offerId: string | null): Promise<TaskDocument[]> {
  const rows = await StoredDocument.query(deps.db).where('providerId', providerId)
    .where((w) => { void (offerId ? w.whereNull('offerId').orWhere('offerId', offerId) : w.whereNull('offerId')); })
    .select('id', 'kind', 'filename', 'contentType', 'sizeBytes', 'sha256', 'uploadedAt', 'offerId').orderBy([{ column: 'offerId', order: 'desc' }, 'kind']);
  return rows.map((d) => ({
    id: d.id, kind: d.kind, filename: d.filename, contentType: d.contentType, sizeBytes: d.sizeBytes, sha256: d.sha256,
    uploadedAt: new Date(d.uploadedAt).toISOString(), offerId: d.offerId, downloadPath: `/staff/documents/${d.id}`,
  }));
}
