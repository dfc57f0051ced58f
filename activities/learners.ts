import type { Knex } from 'knex';
import { writeAudit } from '../lib/audit';
import type { PopulationRegisterClient } from './registries/population-register';
import { Case, CaseEvent, Learner, Task } from '../lib/db';
import { releaseJourneyReservation } from './journey-reservations';
import { FINAL_STAGES, type Actor, type CloseReason, type JourneyStage } from '../domain/journey';

/** Why the periodic check queries the register; written to every audit row it causes. */
export const RECHECK_PURPOSE = 'six-monthly Population Register re-check';

/** Input of listLearnersDueForRecheck: one page of the learners whose last register check is too old. */
export interface DueForRecheckInput {
  /** ISO time: learners last confirmed before it are due. */
  checkedBefore: string;
  /** The last learner id of the previous page (ids are the cursor), or null for the first page. */
  afterId: string | null;
  limit: number;
}

/** One page of due learners, in id order; lastId is the cursor for the next page (null when the page is empty). */
export interface DueForRecheckResult { personCodes: string[]; lastId: string | null }

/**
 * What the re-check learned about one person. Deliberately not the whole register record: names and addresses
 * need not enter workflow history, which is kept longer and seen more widely than the audit log.
 */
export interface RecheckPersonResult { found: boolean; deceased: boolean; deceasedDate: string | null }

/** One journey of a learner that is not closed in the read model. */
export interface OpenJourney { caseId: string; workflowId: string }

/** Input of closeCaseFromOutside: the case, why it closes, and whether its journey workflow is still running. */
export interface CloseCaseFromOutsideInput {
  caseId: string;
  reason: CloseReason;
  detail: string;
  actor: Actor;
  /**
   * True when the journey took the close signal: then it closes the case itself, unless it was already past its
   * waits (a decision in flight), so this waits (by failing and being retried) until the journey has settled.
   */
  journeyRunning: boolean;
}

/** Who closed the case in the end. */
export interface CloseCaseFromOutsideResult { closedBy: 'journey' | 'recheck' }

/** Activities of the periodic Population Register re-check: who is due, what the register says, deactivation. */
export function createLearnerActivities({ db, populationRegister }: { db: Knex; populationRegister: PopulationRegisterClient }) {
  return {
    /**
     * Active learners whose last register confirmation is older than `checkedBefore`. A learner never re-checked
     * counts from their registration, because the journey checked them in the register right then.
     */
    async listLearnersDueForRecheck(input: DueForRecheckInput): Promise<DueForRecheckResult> {
      const checkedBefore = new Date(input.checkedBefore);
      const rows = await Learner.query(db)
        .select('id', 'personCode')
        .where('active', true)
        .where((due) => due
          .where('registerCheckedAt', '<', checkedBefore)
          .orWhere((never) => never.whereNull('registerCheckedAt').where('createdAt', '<', checkedBefore)))
        // The nil UUID sorts before every other, so the first page needs no special case.
        .where('id', '>', input.afterId ?? '00000000-0000-0000-0000-000000000000')
        .orderBy('id')
        .limit(input.limit);
      return { personCodes: rows.map((r) => r.personCode), lastId: rows.at(-1)?.id ?? null };
    },

    /**
     * Asks the Population Register about one learner and audits the query. Transport and server errors throw
     * (the workflow retries them); a person the register does not know is an answer, not an error.
     */
    async recheckPerson(input: { personCode: string; auditKey: string }): Promise<RecheckPersonResult> {
      const person = await populationRegister.getPerson(input.personCode);
      await writeAudit(db, {
        actor: { role: 'system', id: null, name: 'population-recheck worker' }, action: 'population-register.get-person',
        subjectPersonCode: input.personCode, caseId: null, purpose: RECHECK_PURPOSE,
        result: person ? { found: true, deceased: person.deceased } : { found: false }, idempotencyKey: input.auditKey,
        municipality: person?.municipality ?? null,
      });
      if (!person) return { found: false, deceased: false, deceasedDate: null };
      return { found: true, deceased: person.deceased, deceasedDate: person.deceasedDate };
    },

    /** Deactivates a learner's account with the reason; an account already inactive keeps its first reason. */
    async deactivateLearner(input: { personCode: string; reason: CloseReason; detail: string }): Promise<{ deactivated: boolean }> {
      const now = new Date();
      const changed = await Learner.query(db)
        .patch({ active: false, deactivatedAt: now, deactivatedReason: input.reason, updatedAt: now } as Partial<Learner>)
        .where({ personCode: input.personCode, active: true });
      return { deactivated: changed > 0 };
    },

    /** The learner's journeys whose case is not closed in the read model. */
    async openJourneysOf(input: { personCode: string }): Promise<{ journeys: OpenJourney[] }> {
      const journeys = await db('cases')
        .join('learners', 'learners.id', 'cases.learnerId')
        .where('learners.personCode', input.personCode)
        .whereNull('cases.closedAt')
        .orderBy('cases.createdAt')
        .select<OpenJourney[]>('cases.id as caseId', 'cases.workflowId');
      return { journeys: journeys.map((j) => ({ caseId: j.caseId, workflowId: j.workflowId })) };
    },

    /**
     * Makes sure a case closed from outside ends up closed. If its journey is no longer running, or has moved past
     * its waits to a final stage without closing the case (an approval that was being recorded), the case is closed
     * here: open tasks withdrawn, a `closed` event, stage `closed` with the reason. If the journey is still on its
     * way, this throws so that Temporal retries it shortly, by which time the journey has closed the case itself.
     */
    async closeCaseFromOutside(input: CloseCaseFromOutsideInput): Promise<CloseCaseFromOutsideResult> {
      const row = await Case.query(db).findById(input.caseId);
      if (!row) throw new Error(`case ${input.caseId} not found`);
      // Closed already: by the journey (or, on a retry of this activity, by its first attempt).
      if (row.closedAt) return { closedBy: 'journey' };
      if (input.journeyRunning && !FINAL_STAGES.includes(row.stage as JourneyStage)) {
        // A plain error on purpose: this is "not yet", and the retry policy is the poll.
        throw new Error(`journey of case ${input.caseId} is still at stage ${row.stage}; waiting for it to close the case`);
      }
      await db.transaction(async (trx) => {
        const now = new Date();
        await Task.query(trx).patch({ state: 'cancelled' } as Partial<Task>).where({ caseId: input.caseId, state: 'open' });
        await CaseEvent.query(trx)
          .insert({
            caseId: input.caseId, step: 'closed', kind: 'closed', stage: 'closed', actorRole: input.actor.role,
            actorId: input.actor.id, actorName: input.actor.name, channel: input.actor.channel,
            details: { reason: input.reason, detail: input.detail },
          } as Partial<CaseEvent>)
          .onConflict(['caseId', 'step'])
          .ignore();
        await Case.query(trx)
          .patch({ stage: 'closed', outcomeReason: input.reason, closedAt: now, updatedAt: now } as Partial<Case>)
          .where('id', input.caseId)
          .whereNull('closedAt');
        await releaseJourneyReservation(trx, input.caseId);
      });
      return { closedBy: 'recheck' };
    },

    /** Records that the register confirmed these learners now. */
    async markRechecked(input: { personCodes: string[] }): Promise<void> {
      if (input.personCodes.length === 0) return;
      await Learner.query(db).patch({ registerCheckedAt: new Date() } as Partial<Learner>).whereIn('personCode', input.personCodes);
    },
  };
}
