import type { Knex } from 'knex';
import { DATA_REQUEST_TASK_TYPE, type DataRequestKind, type DataRequestOutcome } from '../domain/data-requests';
import type { Actor } from '../domain/journey';
import { writeAudit } from '../lib/audit';
import type { createEmailActivities, SendEmailResult } from './email';

/** Input of recordDataRequestOutcome: the decision the workflow accepted. */
export interface DataRequestOutcomeInput {
  requestId: string; workflowId: string; outcome: DataRequestOutcome; reason: string; decidedBy: Actor; decidedAt: string;
}

// The words of the e-mail, in the person's language (the template takes them ready-made).
const KIND_WORDS: Record<'lv' | 'en', Record<DataRequestKind, string>> = {
  lv: { erasure: 'datu dzēšanu', correction: 'datu labošanu' },
  en: { erasure: 'erasure of your data', correction: 'correction of your data' },
};
const OUTCOME_WORDS: Record<'lv' | 'en', Record<DataRequestOutcome, string>> = {
  lv: { done: 'izpildīts', partly: 'izpildīts daļēji', refused: 'atteikts' },
  en: { done: 'done', partly: 'partly done', refused: 'refused' },
};

/** Activities of the data-subject request workflow (workflows/data-subject-request.ts). */
export function createDataRequestActivities({ db, publicUrl, email }: { db: Knex; publicUrl: string; email: ReturnType<typeof createEmailActivities> }) {
  return {
    /**
     * Opens the request's inbox task with its facts (the person, the kind, their words, a correction's field and
     * value) read from the request row; a retry finds the task there and changes nothing.
     */
    async openDataRequestTask(input: { requestId: string; taskId: string; workflowId: string; dueAt: string }): Promise<void> {
      const row = await db('dataSubjectRequests').leftJoin('learners', 'learners.personCode', 'dataSubjectRequests.personCode')
        .where('dataSubjectRequests.id', input.requestId)
        .first<{ personCode: string; kind: string; text: string; field: string | null; correctValue: string | null; firstName: string | null; lastName: string | null } | undefined>(
          'dataSubjectRequests.personCode', 'dataSubjectRequests.kind', 'dataSubjectRequests.text', 'dataSubjectRequests.field',
          'dataSubjectRequests.correctValue', 'learners.firstName', 'learners.lastName');
      if (!row) throw new Error(`data-subject request ${input.requestId} not found`);
      const facts = {
        requestId: input.requestId, subject: [row.firstName, row.lastName].filter(Boolean).join(' ') || row.personCode, personCode: row.personCode,
        kind: row.kind, text: row.text, field: row.field, correctValue: row.correctValue,
      };
      await db('tasks').insert({
        id: input.taskId, caseId: null, providerId: null, offerId: null, workflowId: input.workflowId, step: 'decide',
        type: DATA_REQUEST_TASK_TYPE, facts, dueAt: new Date(input.dueAt), state: 'open',
      }).onConflict(['workflowId', 'step']).ignore();
    },

    /** Records the outcome on the request (only an open one changes) and audits it; a retry changes nothing again. */
    async recordDataRequestOutcome(input: DataRequestOutcomeInput): Promise<void> {
      const request = await db('dataSubjectRequests').where({ id: input.requestId }).first<{ personCode: string; kind: string } | undefined>('personCode', 'kind');
      if (!request) throw new Error(`data-subject request ${input.requestId} not found`);
      await db('dataSubjectRequests').where({ id: input.requestId, state: 'open' }).update({
        state: 'decided', outcome: input.outcome, outcomeReason: input.reason || null, decidedByName: input.decidedBy.name, decidedAt: new Date(input.decidedAt),
      });
      await writeAudit(db, {
        actor: { role: input.decidedBy.role, id: input.decidedBy.id, name: input.decidedBy.name }, action: 'data_request.decided',
        subjectPersonCode: request.personCode, caseId: null, purpose: `The person's ${request.kind} request was decided`,
        result: { requestId: input.requestId, outcome: input.outcome }, idempotencyKey: `${input.workflowId}:outcome`,
      });
    },

    /** E-mails the outcome to the person through the outbox, once; a person without an e-mail address on file gets none. */
    async notifyDataRequestOutcome(input: { requestId: string; workflowId: string }): Promise<SendEmailResult | { status: 'no-address' }> {
      const row = await db('dataSubjectRequests').leftJoin('learners', 'learners.personCode', 'dataSubjectRequests.personCode')
        .where('dataSubjectRequests.id', input.requestId)
        .first<{ kind: DataRequestKind; outcome: DataRequestOutcome; outcomeReason: string | null; email: string | null; language: 'lv' | 'en' | null; firstName: string | null } | undefined>(
          'dataSubjectRequests.kind', 'dataSubjectRequests.outcome', 'dataSubjectRequests.outcomeReason', 'learners.email', 'learners.language', 'learners.firstName');
      if (!row?.email) return { status: 'no-address' };
      const language = row.language ?? 'lv';
      return email.sendEmailTo({
        workflowId: input.workflowId, step: 'outcome', template: 'data-request-decided', recipient: row.email, language,
        data: {
          firstName: row.firstName ?? '', kind: KIND_WORDS[language][row.kind], outcome: OUTCOME_WORDS[language][row.outcome],
          reason: row.outcomeReason ?? '', serviceCaseId: `DSR-${input.requestId.slice(0, 8).toUpperCase()}`,
          caseUrl: `${publicUrl}/account/data-requests`,
        },
      });
    },
  };
}
