import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { StudyFailureType, type ApplicationState } from '../../domain/applications';
import { FailureType } from '../../domain/failures';
import type { Actor } from '../../domain/journey';
import type { Session } from '../../lib/sessions';
import { enrolmentDecisionUpdate, outcomeUpdate } from '../../workflows/learner-journey-application';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';

/** An application to one of the provider's offers, as the provider's list shows it. */
export interface ProviderApplicationView {
  id: string; caseId: string; serviceCaseId: string; state: ApplicationState; learnerName: string;
  offerId: string; offerTitle: { lv: string; en: string }; groupId: string; place: string; startsOn: string; endsOn: string;
  capacity: number; enrolled: number; freePlaces: number; appliedAt: string; groupFormationDeadline: string;
  enrolledAt: string | null; endedAt: string | null; reason: string | null;
}

/** What the provider's list can be narrowed to. */
export interface ProviderApplicationFilter { states?: readonly ApplicationState[]; offerId?: string; groupId?: string; page: number; pageSize?: number }

/** Applications per page of the provider's list. */
export const PROVIDER_PAGE_SIZE = 50;

/** The provider a session acts for; a provider user not linked to a provider may see nothing. */
export function providerOf(session: Session): string {
  if (!session.providerId) throw new HttpError(403, 'no_provider', 'Your user is not linked to an education provider');
  return session.providerId;
}

interface Row {
  id: string; caseId: string; serviceCaseId: string; workflowId: string; state: ApplicationState;
  firstName: string | null; lastName: string | null; offerId: string; titleLv: string; titleEn: string;
  groupId: string; place: string; startsOn: string | Date; endsOn: string | Date; capacity: number; enrolled: number;
  createdAt: Date; groupFormationDeadline: Date; enrolledAt: Date | null; endedAt: Date | null; reason: string | null;
}

/**
 * Applications of the provider's OWN offers. The object-level check is the join itself: an application of another
 * provider's offer is simply not in the result, so callers answer it like one that does not exist.
 */
function ownApplications(db: Knex, providerId: string) {
  return db('applications')
    .join('offers', (j) => { j.on('offers.id', 'applications.offerId').andOnVal('offers.providerId', providerId); })
    .join('offerGroups', 'offerGroups.id', 'applications.groupId')
    .join('cases', 'cases.id', 'applications.caseId')
    .join('learners', 'learners.id', 'cases.learnerId')
    .select(
      'applications.id', 'applications.caseId', 'applications.state', 'applications.offerId', 'applications.groupId',
      'applications.createdAt', 'applications.enrolledAt', 'applications.endedAt', 'applications.reason',
      'cases.serviceCaseId', 'cases.workflowId', 'learners.firstName', 'learners.lastName',
      'offers.titleLv', 'offers.titleEn', 'offers.groupFormationDeadline',
      'offerGroups.place', 'offerGroups.startsOn', 'offerGroups.endsOn', 'offerGroups.capacity', 'offerGroups.enrolled',
    );
}

/** One page of the provider's applications, newest first, with the total for paging. */
export async function listProviderApplications(deps: ApiDeps, session: Session, filter: ProviderApplicationFilter) {
  const pageSize = filter.pageSize ?? PROVIDER_PAGE_SIZE;
  const query = ownApplications(deps.db, providerOf(session));
  if (filter.states) query.whereIn('applications.state', filter.states as ApplicationState[]);
  if (filter.offerId) query.where('applications.offerId', filter.offerId);
  if (filter.groupId) query.where('applications.groupId', filter.groupId);
  const [{ count }] = await query.clone().clearSelect().count<{ count: string }[]>('* as count');
  const rows = await query.orderBy([{ column: 'applications.createdAt', order: 'desc' }, { column: 'applications.id', order: 'asc' }])
    .limit(pageSize).offset((filter.page - 1) * pageSize) as Row[];
  return { applications: rows.map(toView), total: Number(count), page: filter.page, pageSize };
}

/** The groups of the provider's offers with their free places, for choosing another group when enrolling. */
export async function groupsOfOffers(deps: ApiDeps, session: Session, offerIds: string[]) {
  if (offerIds.length === 0) return [];
  const rows = await deps.db('offerGroups').join('offers', 'offers.id', 'offerGroups.offerId')
    .where('offers.providerId', providerOf(session)).whereIn('offerGroups.offerId', offerIds)
    .select('offerGroups.id', 'offerGroups.offerId', 'offerGroups.place', 'offerGroups.startsOn', 'offerGroups.capacity', 'offerGroups.enrolled')
    .orderBy([{ column: 'offerGroups.startsOn' }, { column: 'offerGroups.place' }]) as
    { id: string; offerId: string; place: string; startsOn: string | Date; capacity: number; enrolled: number }[];
  return rows.map((g) => ({ id: g.id, offerId: g.offerId, place: g.place, startsOn: day(g.startsOn), freePlaces: g.capacity - g.enrolled }));
}

async function ownApplication(deps: ApiDeps, session: Session, applicationId: string): Promise<Row> {
  const row = await ownApplications(deps.db, providerOf(session)).where('applications.id', applicationId).first() as Row | undefined;
  // Another provider's application is answered exactly like a missing one, so ids do not leak.
  if (!row) throw new HttpError(404, 'application_not_found', 'None of your offers has an application with this id');
  return row;
}

/** One application of the provider's own offers as the list shows it, with its money (for the confirmation pages). */
export async function providerApplication(deps: ApiDeps, session: Session, applicationId: string) {
  const row = await ownApplication(deps, session, applicationId);
  const money = await deps.db('applications').where({ id: applicationId }).first<{ costCents: number; earmarkedCents: number }>('costCents', 'earmarkedCents');
  return { ...toView(row), costCents: money.costCents, earmarkedCents: money.earmarkedCents };
}

function actorOf(session: Session): Actor {
  return { role: 'provider', id: session.subject, name: session.name, channel: 'e-service' };
}

/** Who made the decision that ended an application's wait (or its study), from the case history. */
async function decidedBy(deps: ApiDeps, row: Row, kinds: string[]) {
  const event = await deps.db('caseEvents').where({ caseId: row.caseId }).whereIn('kind', kinds)
    .whereRaw("details->>'applicationId' = ?", [row.id]).orderBy('id', 'desc')
    .first<{ kind: string; actorRole: string; actorId: string | null; actorName: string | null } | undefined>();
  return event ?? null;
}

const DECISION_KINDS = ['enrolled', 'enrolment_declined', 'enrolment_timed_out', 'application_withdrawn'];
const OUTCOME_KINDS = ['completed', 'dropped_out'];

function whoWords(event: { actorRole: string; actorName: string | null } | null): string {
  if (!event) return 'a colleague';
  if (event.actorName) return event.actorName;
  return event.actorRole === 'system' ? 'the system (deadline passed)' : event.actorRole === 'learner' ? 'the learner' : `the ${event.actorRole}`;
}

function alreadyDecided(state: string, event: { actorRole: string; actorName: string | null } | null): HttpError {
  return new HttpError(409, 'already_decided', `This application was already decided (${state}) by ${whoWords(event)}`,
    [{ state, decidedBy: event?.actorName ?? null, decidedByRole: event?.actorRole ?? null }]);
}

/** What the provider gets back after a decision or an outcome. */
export interface ProviderActionResult { applicationId: string; applicationState: ApplicationState; stage: string }

/**
 * Sends the provider's enrolment decision to the learner's journey as an Update. The journey's validator is the
 * judge of "still waiting"; the API checks the row first to answer quickly and to name who decided. The Update id
 * makes one person's double click one Update.
 */
export async function decideEnrolment(
  deps: ApiDeps, session: Session, applicationId: string,
  input: { decision: 'enrol' | 'decline'; reason: string; groupId?: string },
): Promise<ProviderActionResult> {
  const row = await ownApplication(deps, session, applicationId);
  const groupId = input.decision === 'enrol' ? (input.groupId ?? row.groupId) : undefined;
  if (row.state !== 'applied') {
    const event = await decidedBy(deps, row, DECISION_KINDS);
    const sameKind = input.decision === 'enrol' ? row.state === 'enrolled' && row.groupId === groupId : row.state === 'declined';
    // The same person repeating the same decision (a double click after the first answer) gets the same answer.
    if (sameKind && event?.actorRole === 'provider' && event.actorId === session.subject) return answerFromRows(deps, row);
    throw alreadyDecided(row.state, event);
  }
  if (groupId && groupId !== row.groupId) {
    const group = await deps.db('offerGroups').where({ id: groupId, offerId: row.offerId }).first();
    if (!group) {
      throw new HttpError(400, 'invalid_request', 'Invalid body: groupId: must be a group of the offer this application is for',
        [{ field: 'groupId', rule: 'custom', message: 'must be a group of the offer this application is for' }]);
    }
  }
  const handle = deps.temporal.workflow.getHandle(row.workflowId);
  try {
    const result = await handle.executeUpdate(enrolmentDecisionUpdate, {
      args: [{
        applicationId, decision: input.decision, reason: input.decision === 'decline' ? input.reason : (input.reason || null),
        ...(groupId ? { groupId } : {}), actor: actorOf(session),
      }],
      updateId: input.decision === 'enrol' ? `enrol:${applicationId}:${session.subject}:${groupId}` : `decline:${applicationId}:${session.subject}`,
    });
    deps.logger.info('enrolment decided', { applicationId, caseId: row.caseId, decision: input.decision });
    return { applicationId, applicationState: result.applicationState, stage: result.stage };
  } catch (err) {
    const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === StudyFailureType.GroupFull) {
      const group = await deps.db('offerGroups').where({ id: groupId }).first<{ place: string; capacity: number } | undefined>();
      throw new HttpError(409, 'group_full',
        `The group is full${group ? ` (${group.place}, ${group.capacity} places)` : ''}: enrol the learner into another group of this offer, or decline with a reason`,
        [{ field: 'groupId', groupId, capacity: group?.capacity ?? null }]);
    }
    if (cause instanceof ApplicationFailure && cause.type === FailureType.AlreadyDecided) {
      const fresh = await ownApplication(deps, session, applicationId);
      throw alreadyDecided(fresh.state, await decidedBy(deps, fresh, DECISION_KINDS));
    }
    throw mapUpdateError(err, cause, 'This application is no longer waiting for an enrolment decision');
  }
}

/** Reports completion or dropout of a learner enrolled in one of the provider's groups. */
export async function reportOutcome(
  deps: ApiDeps, session: Session, applicationId: string, input: { outcome: 'completed' | 'dropped_out'; reason?: string },
): Promise<ProviderActionResult> {
  const row = await ownApplication(deps, session, applicationId);
  if (row.state === 'completed' || row.state === 'dropped_out') {
    const event = await decidedBy(deps, row, OUTCOME_KINDS);
    if (row.state === input.outcome && event?.actorRole === 'provider' && event.actorId === session.subject) return answerFromRows(deps, row);
    throw new HttpError(409, 'already_reported', `Study already ended (${row.state}), reported by ${whoWords(event)}`,
      [{ state: row.state, reportedBy: event?.actorName ?? null, reportedByRole: event?.actorRole ?? null }]);
  }
  if (row.state !== 'enrolled') {
    throw new HttpError(409, 'not_enrolled', `Only enrolled learners' results can be reported; this application is ${row.state}`, [{ state: row.state }]);
  }
  const handle = deps.temporal.workflow.getHandle(row.workflowId);
  try {
    const result = await handle.executeUpdate(outcomeUpdate, {
      args: [{ outcome: input.outcome, reason: input.reason ?? null, actor: actorOf(session) }],
      updateId: `outcome:${applicationId}:${session.subject}:${input.outcome}`,
    });
    deps.logger.info('study outcome reported', { applicationId, caseId: row.caseId, outcome: input.outcome });
    return { applicationId, applicationState: input.outcome, stage: result.stage };
  } catch (err) {
    const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === FailureType.AlreadyDecided) {
      const fresh = await ownApplication(deps, session, applicationId);
      const event = await decidedBy(deps, fresh, OUTCOME_KINDS);
      throw new HttpError(409, 'already_reported', `Study already ended (${fresh.state}), reported by ${whoWords(event)}`,
        [{ state: fresh.state, reportedBy: event?.actorName ?? null, reportedByRole: event?.actorRole ?? null }]);
    }
    throw mapUpdateError(err, cause, 'This learner is no longer studying');
  }
}

function mapUpdateError(err: unknown, cause: Error | undefined, staleMessage: string): unknown {
  if (cause instanceof ApplicationFailure) {
    if (cause.type === FailureType.StaleDecision) return new HttpError(409, 'not_waiting', staleMessage);
    if (cause.type === StudyFailureType.Busy) return new HttpError(409, 'busy', 'Another request for this learner is being processed; try again in a moment');
    if (cause.type === StudyFailureType.NotAllowed) return new HttpError(403, 'forbidden', cause.message);
    // Reported before it could have happened (nothing was spent): the details name the rule and the first allowed day.
    if (cause.type === StudyFailureType.OutcomeTooEarly) return new HttpError(409, 'outcome_too_early', cause.message, [cause.details?.[0]]);
    if (cause.type === StudyFailureType.WrongStage) {
      const field = (cause.details?.[0] as { field?: string } | undefined)?.field;
      if (field) return new HttpError(400, 'invalid_request', `Invalid body: ${field}: ${cause.message}`, [{ field, rule: 'custom', message: cause.message }]);
      return new HttpError(409, 'not_waiting', staleMessage);
    }
  }
  if (err instanceof WorkflowNotFoundError) return new HttpError(409, 'not_waiting', staleMessage);
  return err;
}

async function answerFromRows(deps: ApiDeps, row: Row): Promise<ProviderActionResult> {
  const theCase = await deps.db('cases').where({ id: row.caseId }).first<{ stage: string }>('stage');
  return { applicationId: row.id, applicationState: row.state, stage: theCase.stage };
}

function toView(row: Row): ProviderApplicationView {
  return {
    id: row.id, caseId: row.caseId, serviceCaseId: row.serviceCaseId, state: row.state,
    learnerName: [row.firstName, row.lastName].filter(Boolean).join(' '),
    offerId: row.offerId, offerTitle: { lv: row.titleLv, en: row.titleEn }, groupId: row.groupId, place: row.place,
    startsOn: day(row.startsOn), endsOn: day(row.endsOn), capacity: row.capacity, enrolled: row.enrolled,
    freePlaces: row.capacity - row.enrolled, appliedAt: new Date(row.createdAt).toISOString(),
    groupFormationDeadline: new Date(row.groupFormationDeadline).toISOString(),
    enrolledAt: row.enrolledAt ? new Date(row.enrolledAt).toISOString() : null,
    endedAt: row.endedAt ? new Date(row.endedAt).toISOString() : null, reason: row.reason,
  };
}

// pg returns DATE columns as Date objects at local midnight; keep the calendar day.
function day(value: string | Date): string {
  if (typeof value === 'string') return value.slice(0, 10);
  return `${value.getFullYear()}-${String(value.getMonth() + 1).padStart(2, '0')}-${String(value.getDate()).padStart(2, '0')}`;
}
