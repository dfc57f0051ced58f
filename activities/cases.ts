import type { Knex } from 'knex';
import { Learner } from '../lib/db';
import { rigaDate } from '../domain/dates';
import type { Actor, JourneyStage } from '../domain/journey';
import { violatedUniqueConstraint } from '../lib/unique-violation';
import { releaseJourneyReservation } from './journey-reservations';
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
      let opened: { serviceCaseId: string; stopRequested: boolean };
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
      if (opened.stopRequested) await closeStoppedWorkflow(db, input.workflowId);
      return { serviceCaseId: opened.serviceCaseId };
    },

    /** Writes a case event and moves the case to its new stage, once per step. */
    async recordStep(input: RecordStepInput): Promise<void> {
      // A step that closes the case also frees the person's place, in the same transaction; any other step is
      // one statement (one round trip).
      if (!input.closed) {
        await writeStep(db, input);
        return;
      }
      await db.transaction(async (trx) => {
        if (await writeStep(trx, input)) await releaseJourneyReservation(trx, input.caseId);
      });
    },

    /** Keeps the learner's name as the Population Register gave it, for pages and e-mails. */
    async saveLearnerName(input: { personCode: string; firstName: string; lastName: string }): Promise<void> {
      await Learner.query(db).patch({ firstName: input.firstName, lastName: input.lastName, updatedAt: new Date() } as Partial<Learner>)
        .where('personCode', input.personCode);
    },
  };

  /**
   * The learner (new, or their contact data updated), the case with its next service-case number and its
   * `registered` event, in one statement (one round trip, atomic); a case already there (a retried activity) is
   * left as it is and its number returned. Also says whether the console asked to stop the workflow meanwhile.
   */
  async function insertCase(input: OpenCaseInput): Promise<{ serviceCaseId: string; stopRequested: boolean }> {
    const { registration: r } = input;
    const learner = db('learners')
      .insert({
        personCode: input.personCode, email: r.email, phone: r.phone, language: r.language,
        termsVersion: r.termsVersion, termsAcceptedAt: new Date(r.termsAcceptedAt),
      })
      .onConflict('personCode')
      // The person's own registration updates their contact data. A coordinator never replaces it: they may only
      // add a phone the person has none of (e-mail and language always exist once the person does).
      .merge(input.actor.role === 'coordinator'
        ? { phone: db.raw('COALESCE(learners.phone, excluded.phone)'), termsVersion: db.raw('excluded.terms_version'), termsAcceptedAt: db.raw('excluded.terms_accepted_at') }
        : ['email', 'phone', 'language', 'termsVersion', 'termsAcceptedAt'])
      .returning('id');
    const event = caseEventRow({
      caseId: input.caseId, step: 'registered', kind: 'registered', stage: 'registered', actor: input.actor,
      details: { termsVersion: r.termsVersion, language: r.language },
    });
    // The number prefix, e.g. IMK-2026-; the sequence's value is padded to six digits (longer ones kept whole).
    const prefix = `${input.programme}-${rigaDate(new Date()).slice(0, 4)}-`;
    // A raw answer's rows keep their snake_case names (the camelCase mapping is for query builders).
    const { rows } = await db.raw<{ rows: { service_case_id: string; stop_requested: boolean }[] }>(`
      WITH learner AS (?),
      existing AS (SELECT service_case_id FROM cases WHERE id = ?),
      opened AS (
        INSERT INTO cases (id, service_case_id, workflow_id, learner_id, programme, programme_version, stage, channel)
        SELECT ?, ? || lpad(n::text, greatest(6, length(n::text)), '0'), ?, learner.id, ?, ?, 'registered', ?
        FROM learner, LATERAL (SELECT nextval('service_case_number') AS n) seq
        WHERE NOT EXISTS (SELECT 1 FROM existing)
        RETURNING service_case_id
      ),
      event AS (
        INSERT INTO case_events (case_id, step, kind, stage, actor_role, actor_id, actor_name, channel, details)
        SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb FROM opened
        ON CONFLICT (case_id, step) DO NOTHING
      )
      SELECT COALESCE((SELECT service_case_id FROM existing), (SELECT service_case_id FROM opened)) AS service_case_id,
        EXISTS (SELECT 1 FROM workflow_stop_requests WHERE workflow_id = ?) AS stop_requested`, [
      learner, input.caseId,
      input.caseId, prefix, input.workflowId, input.programme, input.programmeVersion ?? null, input.actor.channel,
      event.caseId, event.step, event.kind, event.stage, event.actorRole, event.actorId, event.actorName, event.channel, JSON.stringify(event.details),
      input.workflowId,
    ]);
    return { serviceCaseId: rows[0].service_case_id, stopRequested: rows[0].stop_requested };
  }
}

/** The case_events row of a step; a coordinator's municipality goes with every event they cause. */
function caseEventRow(input: Omit<RecordStepInput, 'closed'>) {
  return {
    caseId: input.caseId, step: input.step, kind: input.kind, stage: input.stage,
    actorRole: input.actor.role, actorId: input.actor.id ?? null, actorName: input.actor.name ?? null, channel: input.actor.channel,
    details: { ...(input.actor.municipality ? { municipality: input.actor.municipality } : {}), ...input.details },
  };
}

/**
 * One transition in one statement: the step's event unless the step was already recorded (a retried activity)
 * and, only when the event was written, the case's new stage. Returns whether it was written.
 */
async function writeStep(db: Knex | Knex.Transaction, input: RecordStepInput): Promise<boolean> {
  const patch: Record<string, unknown> = { stage: input.stage, updatedAt: db.fn.now() };
  if (input.outcomeReason !== undefined) patch.outcomeReason = input.outcomeReason;
  if (input.balanceCents !== undefined) patch.balanceCents = input.balanceCents;
  if (input.closed) patch.closedAt = db.fn.now();
  const event = db('caseEvents').insert(caseEventRow(input)).onConflict(['caseId', 'step']).ignore().returning('caseId');
  const moved = await db.with('event', event).from('cases').update(patch)
    .whereIn('id', db.select('caseId').from('event')).returning('id') as unknown as { id: string }[];
  return moved.length > 0;
}
