import type { ApiDeps } from '../deps';
import { getTask, subjectTasks, taskDocuments, type TaskDocument, type TaskEvent, type TaskView } from './tasks';

/** The learner and case a case file is about (learner tasks only). */
export interface CaseFileCase {
  serviceCaseId: string; programme: string; stage: string; outcomeReason: string | null; createdAt: string; closedAt: string | null;
  learnerName: string; personCode: string;
}

/** A letter the case sent (an e-mail of its outbox): what, to whom, when, whether it went. */
export interface CaseFileLetter { template: string; subject: string; recipient: string; status: string; createdAt: string; sentAt: string | null }

/**
 * Everything a printed case file shows, from one of the subject's tasks: the learner's case (or the provider's
 * registration, or the offer), every decision taken on it with its facts, the history, and the documents: a
 * provider's or offer's stored files, or a learner's employment declaration and the letters the case sent.
 */
export interface CaseFile {
  task: TaskView;
  case: CaseFileCase | null;
  provider: { name: string; registrationNumber: string } | null;
  offerTitle: { lv: string; en: string } | null;
  decisions: TaskView[];
  events: TaskEvent[];
  documents: TaskDocument[];
  employment: { employerName: string; employerRegistrationNumber: string | null; declaredAt: string } | null;
  letters: CaseFileLetter[];
}

/** The case file of a task's subject; null when there is no such task, or it is a request's (no case to file). */
export async function caseFile(deps: ApiDeps, taskId: string): Promise<CaseFile | null> {
  const found = await getTask(deps, taskId);
  if (!found || (!found.task.caseId && !found.task.providerId)) return null;
  const { task } = found;
  const [decisions, caseRow, letters, documents] = await Promise.all([
    subjectTasks(deps, task),
    task.caseId ? deps.db('cases').join('learners', 'learners.id', 'cases.learnerId').where('cases.id', task.caseId)
      .first<{ serviceCaseId: string; programme: string; stage: string; outcomeReason: string | null; createdAt: Date; closedAt: Date | null; firstName: string; lastName: string; personCode: string }>(
        'cases.serviceCaseId', 'cases.programme', 'cases.stage', 'cases.outcomeReason', 'cases.createdAt', 'cases.closedAt',
        'learners.firstName', 'learners.lastName', 'learners.personCode')
      : Promise.resolve(undefined),
    task.caseId ? deps.db('emailOutbox').where('caseId', task.caseId).orderBy('id')
      .select<{ template: string; subject: string; recipient: string; status: string; createdAt: Date; sentAt: Date | null }[]>('template', 'subject', 'recipient', 'status', 'createdAt', 'sentAt')
      : Promise.resolve([]),
    // The task page shows an offer's task the provider's own documents too; the file does the same for a provider.
    task.providerId ? taskDocuments(deps, task.providerId, task.offerId) : Promise.resolve([]),
  ]);
  return {
    task,
    case: caseRow ? {
      serviceCaseId: caseRow.serviceCaseId, programme: caseRow.programme, stage: caseRow.stage, outcomeReason: caseRow.outcomeReason,
      createdAt: new Date(caseRow.createdAt).toISOString(), closedAt: caseRow.closedAt ? new Date(caseRow.closedAt).toISOString() : null,
      learnerName: `${caseRow.firstName} ${caseRow.lastName}`, personCode: caseRow.personCode,
    } : null,
    provider: found.provider ? { name: found.provider.name, registrationNumber: found.provider.registrationNumber } : null,
    offerTitle: task.offerTitle,
    decisions,
    events: found.events,
    documents,
    employment: found.employment,
    letters: letters.map((l) => ({ ...l, createdAt: new Date(l.createdAt).toISOString(), sentAt: l.sentAt ? new Date(l.sentAt).toISOString() : null })),
  };
}
