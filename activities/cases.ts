import type { Knex } from 'knex';
import { Case, CaseEvent, Learner } from '../lib/db';
import { rigaDate } from '../domain/dates';
import type { Actor, JourneyStage } from '../domain/journey';
import { violatedUniqueConstraint } from '../lib/unique-violation';
import { releaseJourneyReservation } from './journey-reservations';
import { stopRequestOf } from '../lib/workflow-stops';
import { closeStoppedWorkflow } from './workflow-stop';

/** Input of openCase: the registration the learner submitted. */
export interface OpenCaseInput {
  caseId: string;
  workflowId: string;
  personCode: string;
  programme: string;
  /** The version of the programme's rules the journey read (absent in journeys from before versions). */
  programmeVersion?: number | null;
  registration: { email: string; phone: string | null; language: 'lv' | 'en'; termsVersion: string; termsAcceptedAt: string };
  actor: Actor;
}

/** What openCase did: opened (or found) this case, or found the person's other open case in the programme. */
export type OpenCaseResult = { serviceCaseId: string; openCaseId?: undefined } | { serviceCaseId: null; openCaseId: string };

/** Input of recordStep: one transition of a case, written as an event and the case's new stage. */
export interface RecordStepInput {
  caseId: string;
  /** Unique within the case; a retried activity with the same step writes nothing new. */
  step: string;
  kind: string;
  stage: JourneyStage;
  actor: Actor;
  details?: Record<string, unknown>;
  outcomeReason?: string | null;
  balanceCents?: number;
  closed?: boolean;
}

/** Activities that keep the cases read model current. */
export function createCaseActivities({ db }: { db: Knex }) {
  return {
    /**
     * Records the learner's registration and opens the case with its service-case id; idempotent per case. When the
     * person already has another open case in the programme (a journey started past the API's reservation, e.g.
     * before it existed), no case is opened: the answer names the open one, and the journey ends without retrying.
     */
    async openCase(input: OpenCaseInput): Promise<OpenCaseResult> {
      let opened: OpenCaseResult;
      try {
        opened = await insertCase(input);
      } catch (err) {
        if (violatedUniqueConstraint(err) !== 'cases_one_open_per_programme') throw err;
        const open = await db('cases').join('learners', 'learners.id', 'cases.learnerId')
          .where({ 'learners.personCode': input.personCode, 'cases.programme': input.programme }).whereNull('cases.closedAt')
          .first<{ id: string } | undefined>('cases.id');
        // Closed in the meantime: the next attempt opens this case.
        if (!open) throw new Error(`the open case of this person in ${input.programme} closed meanwhile; opening again`);
        return { serviceCaseId: null, openCaseId: open.id };
      }
      // Stopped from the console while this step was under way: the stop's cleanup may have found no case yet.
      if (await stopRequestOf(db, input.workflowId)) await closeStoppedWorkflow(db, input.workflowId);
      return opened;
    },

    /** Writes a case event and moves the case to its new stage, once per step. */
    async recordStep(input: RecordStepInput): Promise<void> {
      await db.transaction(async (trx) => {
        const inserted = await insertEvent(trx, input);
        if (!inserted) return;
        const patch: Partial<Case> = { stage: input.stage, updatedAt: new Date() };
        if (input.outcomeReason !== undefined) patch.outcomeReason = input.outcomeReason;
        if (input.balanceCents !== undefined) patch.balanceCents = input.balanceCents;
        if (input.closed) patch.closedAt = new Date();
        await Case.query(trx).patchAndFetchById(input.caseId, patch);
        if (input.closed) await releaseJourneyReservation(trx, input.caseId);
      });
    },

    /** Keeps the learner's name as the Population Register gave it, for pages and e-mails. */
    async saveLearnerName(input: { personCode: string; firstName: string; lastName: string }): Promise<void> {
      await Learner.query(db).patch({ firstName: input.firstName, lastName: input.lastName, updatedAt: new Date() } as Partial<Learner>)
        .where('personCode', input.personCode);
    },
  };

  function insertCase(input: OpenCaseInput): Promise<OpenCaseResult> {
    return db.transaction(async (trx) => {
      const { registration: r } = input;
      const [learner] = await trx('learners')
        .insert({
          personCode: input.personCode, email: r.email, phone: r.phone, language: r.language,
          termsVersion: r.termsVersion, termsAcceptedAt: new Date(r.termsAcceptedAt),
        })
        .onConflict('personCode')
        // The person's own registration updates their contact data. A coordinator never replaces it: they may only
        // add a phone the person has none of (e-mail and language always exist once the person does).
        .merge(input.actor.role === 'coordinator'
          ? { phone: trx.raw('COALESCE(learners.phone, excluded.phone)'), termsVersion: trx.raw('excluded.terms_version'), termsAcceptedAt: trx.raw('excluded.terms_accepted_at') }
          : ['email', 'phone', 'language', 'termsVersion', 'termsAcceptedAt'])
        .returning<{ id: string }[]>('id');
      const existing = await Case.query(trx).findById(input.caseId);
      if (existing) return { serviceCaseId: existing.serviceCaseId };
      const { rows } = await trx.raw<{ rows: { n: string }[] }>("SELECT nextval('service_case_number') AS n");
      const serviceCaseId = `${input.programme}-${rigaDate(new Date()).slice(0, 4)}-${rows[0].n.padStart(6, '0')}`;
      await Case.query(trx).insert({
        id: input.caseId, serviceCaseId, workflowId: input.workflowId, learnerId: learner.id,
        programme: input.programme, programmeVersion: input.programmeVersion ?? null, stage: 'registered', channel: input.actor.channel,
      } as Partial<Case>);
      await insertEvent(trx, {
        caseId: input.caseId, step: 'registered', kind: 'registered', stage: 'registered', actor: input.actor,
        details: { termsVersion: r.termsVersion, language: r.language },
      });
      return { serviceCaseId };
    });
  }
}

// Inserts the event unless this step was already recorded; returns whether a row was written.
async function insertEvent(trx: Knex.Transaction, input: RecordStepInput): Promise<boolean> {
  const rows = await CaseEvent.query(trx)
    .insert({
      caseId: input.caseId, step: input.step, kind: input.kind, stage: input.stage,
      actorRole: input.actor.role, actorId: input.actor.id, actorName: input.actor.name, channel: input.actor.channel,
      // Who acted on whose behalf: a coordinator's municipality goes with every event they cause.
      details: { ...(input.actor.municipality ? { municipality: input.actor.municipality } : {}), ...input.details },
    } as Partial<CaseEvent>)
    .onConflict(['caseId', 'step'])
    .ignore()
    .returning('id') as unknown as CaseEvent[] | CaseEvent;
  return Array.isArray(rows) ? rows.length > 0 : Boolean(rows?.id);
}
