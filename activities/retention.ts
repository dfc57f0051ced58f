import type { Knex } from 'knex';
import { pseudonymOf } from '../lib/pseudonyms';

import { RETENTION_RULES, type RetentionRuleCode } from '../domain/retention';

/** A rule as the retention workflow reads it at the start of a run. */
export interface RetentionRule { code: RetentionRuleCode; periodMonths: number; mode: 'dry_run' | 'apply' }

/** Which rows of a rule are due: those past `cutoff` (ISO time: now minus the rule's period). */
export interface RetentionDueInput { code: RetentionRuleCode; cutoff: string }

/** Input of applyRetentionBatch: the due rows to change at most, in one transaction. */
export interface RetentionBatchInput extends RetentionDueInput { limit: number }

/** Input of recordRetentionRun: what a run of one rule counted (dry run) or changed (apply). */
export interface RetentionRunRecord { workflowId: string; code: RetentionRuleCode; mode: 'dry_run' | 'apply'; count: number; cutoff: string }

// A learner is due for pseudonymisation once every case of theirs is closed and the last one closed before the
// cutoff; one not yet pseudonymised. A learner without a case (registration never finished) is left to the
// other rules: nothing of a case to keep for statistics.
function dueLearners(db: Knex, cutoff: string) {
  return db('learners').whereNull('learners.pseudonymisedAt')
    .whereExists(db('cases').whereRaw('cases.learner_id = learners.id'))
    .whereNotExists(db('cases').whereRaw('cases.learner_id = learners.id').where((w) => { void w.whereNull('closedAt').orWhere('closedAt', '>=', cutoff); }));
}

// A document is due once uploaded before the cutoff; a tombstone is not due again.
function dueDocuments(db: Knex, cutoff: string) {
  return db('documents').whereNull('deletedAt').where('uploadedAt', '<', cutoff);
}

// Free text and facts that may name the person are replaced when they contain any of the person's identifiers.
const SCRUBBED = JSON.stringify({ pseudonymised: true });

/**
 * Activities of the retention workflow (workflows/retention.ts). Counting and applying use the same "due" query,
 * so a dry run counts exactly what an apply would change; applying marks what it changed (learners.pseudonymised_at,
 * documents.deleted_at), so a retried batch or a second run changes nothing again.
 */
export function createRetentionActivities({ db, pseudonymKey }: { db: Knex; pseudonymKey: string }) {
  /** Replaces one learner's identifiers everywhere by their pseudonym, keeping amounts, dates and statuses. */
  async function pseudonymiseLearner(trx: Knex.Transaction, learner: { id: string; personCode: string; firstName: string | null; lastName: string | null; email: string; phone: string | null }) {
    const pseudonym = pseudonymOf(pseudonymKey, learner.personCode);
    const identifiers = [learner.personCode, learner.email, learner.phone, learner.firstName, learner.lastName]
      .filter((v): v is string => typeof v === 'string' && v.trim().length >= 3);
    const caseIds = trx('cases').where('learnerId', learner.id).select('id');
    // JSON or text naming the person: any of their identifiers inside it (case-insensitive).
    const mentions = (column: string) => (w: Knex.QueryBuilder) => {
      for (const value of identifiers) void w.orWhereRaw(`${column}::text ILIKE ?`, [`%${value.replace(/[\\%_]/g, '\\$&')}%`]);
    };
    await trx('learners').where('id', learner.id).update({
      personCode: pseudonym, firstName: null, lastName: null, email: `${pseudonym.toLowerCase()}@pseudonymised.invalid`, phone: null,
      pseudonymisedAt: trx.fn.now(), updatedAt: trx.fn.now(),
    });
    await trx('emailOutbox').whereIn('caseId', caseIds).update({ recipient: `${pseudonym.toLowerCase()}@pseudonymised.invalid`, subject: '(pseudonymised)', smtpReply: null });
    await trx('caseEvents').whereIn('caseId', caseIds).where('actorId', learner.personCode).update({ actorId: pseudonym, actorName: null });
    if (identifiers.length > 0) await trx('caseEvents').whereIn('caseId', caseIds).where(mentions('details')).update({ details: SCRUBBED });
    if (identifiers.length > 0) await trx('tasks').whereIn('caseId', caseIds).where(mentions('facts')).update({ facts: SCRUBBED });
    if (identifiers.length > 0) await trx('tasks').whereIn('caseId', caseIds).where(mentions('comment')).update({ comment: '(pseudonymised)' });
    await trx('applications').whereIn('caseId', caseIds).where('actorId', learner.personCode).update({ actorId: pseudonym });
    await trx('surveyAnswers').whereIn('caseId', caseIds).whereNotNull('otherText').update({ otherText: null });
    if (identifiers.length > 0) await trx('auditLog').where('subjectPersonCode', learner.personCode).where(mentions('result')).update({ result: SCRUBBED });
    await trx('auditLog').where('subjectPersonCode', learner.personCode).update({ subjectPersonCode: pseudonym });
    await trx('auditLog').where('actorId', learner.personCode).update({ actorId: pseudonym, actorName: null });
    await trx('sessions').where('subject', learner.personCode).update({ subject: pseudonym, name: '(pseudonymised)', ip: null, userAgent: null });
    await trx('dataSubjectRequests').where('personCode', learner.personCode)
      .update({ personCode: pseudonym, text: '(pseudonymised)', correctValue: null });
    await trx('journeyReservations').where('personCode', learner.personCode).delete();
  }

  return {
    /** The rules with their current period and mode, read at the start of every run (administrators change them). */
    async listRetentionRules(): Promise<{ rules: RetentionRule[] }> {
      const rows = await db('retentionRules').whereIn('code', [...RETENTION_RULES]).orderBy('code')
        .select<RetentionRule[]>('code', 'periodMonths', 'mode');
      return { rules: rows };
    },

    /** How many rows a rule would change now: what a dry run records. */
    async countRetentionDue(input: RetentionDueInput): Promise<{ count: number }> {
      const query = input.code === 'closed_case_pseudonymise' ? dueLearners(db, input.cutoff) : dueDocuments(db, input.cutoff);
      const [{ count }] = await query.count<{ count: string }[]>('* as count');
      return { count: Number(count) };
    },

    /**
     * Applies a rule to at most `limit` due rows in one transaction and says how many it changed. Rows are locked
     * and skipped when another run holds them, so two runs never change one row twice.
     */
    async applyRetentionBatch(input: RetentionBatchInput): Promise<{ changed: number }> {
      return db.transaction(async (trx) => {
        if (input.code === 'documents_delete') {
          const ids = await dueDocuments(trx, input.cutoff).orderBy('id').limit(input.limit).forUpdate().skipLocked().pluck('id');
          // The tombstone keeps what the document was (kind, size, hash, when), not its bytes or its file name.
          if (ids.length > 0) await trx('documents').whereIn('id', ids).update({ content: null, filename: '(deleted)', deletedAt: trx.fn.now() });
          return { changed: ids.length };
        }
        const learners = await dueLearners(trx, input.cutoff).orderBy('id').limit(input.limit).forUpdate().skipLocked()
          .select('id', 'personCode', 'firstName', 'lastName', 'email', 'phone');
        for (const learner of learners) await pseudonymiseLearner(trx, learner);
        return { changed: learners.length };
      });
    },

    /** Records what a run of a rule did; a retried activity records nothing twice (one row per run and rule). */
    async recordRetentionRun(input: RetentionRunRecord): Promise<void> {
      await db('retentionRuns').insert({ ruleCode: input.code, workflowId: input.workflowId, mode: input.mode, count: input.count, cutoff: input.cutoff })
        .onConflict(['workflowId', 'ruleCode']).ignore();
    },
  };
}
