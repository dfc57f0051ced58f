import { randomUUID } from 'node:crypto';
import { within } from '../../lib/concurrency';
import { Case, CaseEvent } from '../../lib/db';
import type { Actor } from '../../domain/journey';
import type { Session } from '../../lib/sessions';
import { learnerJourney } from '../../workflows/learner-journey';
import { learnerJourneyId, searchAttributes } from '../../workflows/ids';
import type { ApiDeps } from '../deps';
import { refuseIfLearnerHeld } from './account-access';
import { HttpError } from '../errors';
import { releaseReservation, reserveJourney } from './journey-reservations';
import { assertCurrentTermsVersion, recordAcceptance } from './terms';
import { startFailed, startWorkflow } from './workflow-start';
import type { Registration } from '../schemas';
import { INBOX_EVENT_KINDS } from '../../domain/journey';

/** A journey with its timeline, as the learner sees it. */
export interface JourneyView {
  caseId: string; serviceCaseId: string; programme: string; stage: string; outcomeReason: string | null;
  balanceCents: number; createdAt: string; closedAt: string | null;
  events: { step: string; kind: string; stage: string; actorRole: string; actorName: string | null; channel: string; occurredAt: string; details: Record<string, unknown> }[];
}

/** A programme a learner can apply for. */
export interface ProgrammeChoice { code: string; nameLv: string; nameEn: string }

/** The programmes the agency runs, for the registration form. */
export function listProgrammes(deps: ApiDeps): Promise<ProgrammeChoice[]> {
  return deps.db('programmes').select('code', 'nameLv', 'nameEn').orderBy('code');
}

/**
 * Starts a learner's journey in a programme. The case id comes from the form's request id, so a double-clicked
 * submit reaches the same workflow instead of starting a second one; the programme is reserved for the case first
 * (journey-reservations.ts), so two registrations at once start one journey.
 */
export async function startJourney(deps: ApiDeps, learner: Session, input: Registration): Promise<{ caseId: string; opened: boolean }> {
  return startJourneyFor(deps, { personCode: learner.subject, actor: { role: 'learner', id: learner.subject, name: learner.name, channel: 'e-service' } }, input);
}

/**
 * Starts the journey of the person with this code, recorded as done by the actor: the learner themselves, or a
 * coordinator on their behalf (channel 'assisted').
 */
export async function startJourneyFor(
  deps: ApiDeps, who: { personCode: string; actor: Actor }, input: Registration,
): Promise<{ caseId: string; opened: boolean }> {
  const own = who.actor.id === who.personCode;
  const programme = await deps.db('programmes').where({ code: input.programme }).first<{ funding: string } | undefined>('funding');
  if (!programme) {
    throw new HttpError(400, 'invalid_request', `Invalid body: programme: there is no programme ${input.programme}`,
      [{ field: 'programme', rule: 'exists', message: `there is no programme ${input.programme}` }]);
  }
  await assertCurrentTermsVersion(deps.db, input.termsVersion);
  // A programme for the employed (co-payment) is decided by staff: the learner's employment declaration is kept for
  // the officer's task. Optional for now (clients that do not send it yet still register); the task says when absent.
  const employed = programme.funding === 'copay' && input.employerName !== null;
  // A deactivated account (e.g. the register re-check found the person deceased) starts nothing new.
  const learner = await deps.db('learners').where({ personCode: who.personCode }).first<{ active: boolean } | undefined>('active');
  if (learner && !learner.active) {
    throw new HttpError(403, 'account_deactivated', own
      ? 'Your account is deactivated; please contact the agency'
      : 'This person\'s account is deactivated; please contact the agency');
  }
  // A blocked person starts nothing new until reinstated (their open journeys wait).
  await refuseIfLearnerHeld(deps.db, who.personCode, own ? 'own' : 'person');
  const began = Date.now();
  // The registration's acceptance is one acceptance of the version like any other (the person ticked it, or a
  // coordinator saw them accept it), recorded whether or not the journey then starts.
  await recordAcceptance(deps.db, { personCode: who.personCode, userId: null, role: 'learner' }, input.termsVersion, own ? 'registration' : 'assisted_registration');
  const caseId = input.requestId ?? randomUUID();
  await reserveJourney(deps, { personCode: who.personCode, programme: input.programme, caseId, own });
  if (employed) {
    await deps.db('employmentDeclarations').insert({
      caseId, personCode: who.personCode, employerName: input.employerName, employerRegistrationNumber: input.employerRegistrationNumber ?? null,
    }).onConflict('caseId').merge(['employerName', 'employerRegistrationNumber', 'declaredAt']);
  }
  const workflowId = learnerJourneyId(caseId);
  const start = () => deps.temporal.workflow.start(learnerJourney, {
    workflowId,
    taskQueue: deps.taskQueue,
    // A repeated submit joins the running journey; a finished journey's id is never reused for a new one.
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: searchAttributes.caseId, value: caseId },
      { key: searchAttributes.programme, value: input.programme },
      { key: searchAttributes.journeyStage, value: 'registered' },
    ],
    args: [{
      caseId, personCode: who.personCode, programme: input.programme,
      registration: {
        email: input.email, phone: input.phone, language: input.language, termsVersion: input.termsVersion,
        termsAcceptedAt: new Date().toISOString(),
      },
      actor: who.actor,
      timing: { approvalDue: deps.approvalDueMs },
    }],
  });
  const started = await startWorkflow(deps, start, { confirmedBy: (until) => waitForCase(deps, caseId, until) });
  // The request id of a journey that has finished: answer with it, and hold no place for it.
  if (started.outcome === 'finished_before') await releaseReservation(deps, caseId);
  if (started.outcome === 'not_started') {
    // Nothing was started: the place is free again, and the caller hears 503.
    await releaseReservation(deps, caseId).catch(() => undefined);
    throw startFailed(started, 'the journey');
  }
  // The start may or may not have happened, and nobody can tell now. The reservation stays (a journey may run with
  // this case id); it is taken over once the journey turns out never to have started.
  if (started.outcome === 'unknown') throw startFailed(started, 'the journey');
  deps.logger.info('journey started', { caseId, workflowId });
  // From here on the journey exists: whatever happens (even the database going away), the answer is its case id.
  return { caseId, opened: await waitForCase(deps, caseId, began + START_ANSWER_WITHIN_MS) };
}

/** A start answers within this time of its arrival (DESIGN.md habit 15: 5 s at most, even when a dependency is down). */
const START_ANSWER_WITHIN_MS = 4_500;

// The case row is written by the workflow's first activity; wait briefly so the learner lands on a filled page.
// A database that fails meanwhile only means the page is not filled yet.
async function waitForCase(deps: ApiDeps, caseId: string, until: number): Promise<boolean> {
  while (Date.now() < until) {
    if (await within(Case.query(deps.db).findById(caseId).select('id').catch(() => undefined), until - Date.now())) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** The learner's own journeys, newest first, each with its timeline. */
export async function listJourneys(deps: ApiDeps, learner: Session): Promise<JourneyView[]> {
  return journeysOfPerson(deps, learner.subject);
}

/** A person's journeys, newest first, each with its timeline (callers check first that the viewer may see them). */
export async function journeysOfPerson(deps: ApiDeps, personCode: string): Promise<JourneyView[]> {
  const cases = await ownCases(deps, personCode).orderBy('cases.createdAt', 'desc');
  return Promise.all(cases.map((c) => withEvents(deps, c)));
}

/** One of the learner's own journeys; someone else's case is reported as not found. */
export async function getJourney(deps: ApiDeps, learner: Session, caseId: string): Promise<JourneyView | null> {
  const found = await ownCases(deps, learner.subject).where('cases.id', caseId).first();
  return found ? withEvents(deps, found) : null;
}

// The object-level check lives in the query: only cases of the logged-in person are ever read.
function ownCases(deps: ApiDeps, personCode: string) {
  return Case.query(deps.db).select('cases.*').join('learners', 'learners.id', 'cases.learnerId')
    .where('learners.personCode', personCode);
}

async function withEvents(deps: ApiDeps, c: Case): Promise<JourneyView> {
  const events = await CaseEvent.query(deps.db).where('caseId', c.id).whereNotIn('kind', INBOX_EVENT_KINDS).orderBy('id');
  return {
    caseId: c.id, serviceCaseId: c.serviceCaseId, programme: c.programme, stage: c.stage, outcomeReason: c.outcomeReason,
    balanceCents: c.balanceCents, createdAt: c.createdAt.toISOString(), closedAt: c.closedAt?.toISOString() ?? null,
    events: events.map((e) => ({
      step: e.step, kind: e.kind, stage: e.stage, actorRole: e.actorRole, actorName: e.actorName, channel: e.channel,
      occurredAt: e.occurredAt.toISOString(), details: e.details,
    })),
  };
}
