import { WorkflowNotFoundError } from '@temporalio/client';
import { learnerJourneyId } from '../../workflows/ids';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';

/**
 * The one-open-application rule: a person has at most one open journey per programme. The API reserves
 * (person, programme) for a case id with one INSERT before it starts the journey (the primary key decides between
 * simultaneous registrations), and the transaction that closes the case releases it (activities/cases.ts).
 */

/**
 * A reservation younger than this may belong to a start still in flight (a start answers within 5 s, whatever
 * Temporal does), so it is never taken over, even when its journey cannot be found. It is shorter than the
 * Retry-After of the 503 a failed start answers, so a person who tries again when told to is not refused.
 */
export const RESERVATION_SETTLES_MS = 8_000;

interface Reservation { personCode: string; programme: string; caseId: string; createdAt: Date }

/**
 * Reserves the programme for this case id, or throws 409 journey_already_open naming the case that holds it. The
 * same case id (a repeated submit with the form's request id) finds its own reservation and goes on.
 */
export async function reserveJourney(deps: ApiDeps, who: { personCode: string; programme: string; caseId: string; own: boolean }): Promise<void> {
  const key = { personCode: who.personCode, programme: who.programme };
  for (let attempt = 0; attempt < 3; attempt++) {
    const inserted = await deps.db('journeyReservations').insert({ ...key, caseId: who.caseId }).onConflict(['personCode', 'programme']).ignore().returning('caseId');
    if (inserted.length > 0) return;
    const held = await deps.db('journeyReservations').where(key).first<Reservation | undefined>();
    // Released between the two statements: try again.
    if (!held) continue;
    if (held.caseId === who.caseId) return;
    if (!(await abandoned(deps, held))) throw alreadyOpen(held.caseId, who.own);
    // Taken over only if nobody else took it over first (the UPDATE's condition).
    const took = await deps.db('journeyReservations').where({ ...key, caseId: held.caseId })
      .update({ caseId: who.caseId, createdAt: new Date() });
    if (took > 0) {
      deps.logger.warn('journey reservation taken over', { abandonedCaseId: held.caseId, caseId: who.caseId });
      return;
    }
  }
  const held = await deps.db('journeyReservations').where(key).first<Reservation | undefined>();
  throw alreadyOpen(held?.caseId ?? who.caseId, who.own);
}

/**
 * Whether this person's journey `caseId` is reserved but its case not yet written: its start was taken (perhaps
 * answered 202) and the worker has not opened the case yet, e.g. while Temporal or the worker is down.
 */
export async function isBeingOpened(deps: ApiDeps, personCode: string, caseId: string): Promise<boolean> {
  const held = await deps.db('journeyReservations').where({ personCode, caseId }).first('caseId');
  return held !== undefined;
}

/** Gives the reservation back when its journey surely did not start (or is already closed). */
export async function releaseReservation(deps: ApiDeps, caseId: string): Promise<void> {
  await deps.db('journeyReservations').where({ caseId }).delete();
}

/**
 * Whether a reservation holds nothing: its case is closed (a close that missed the release), or, once it is old
 * enough that no start can still be in flight, its journey never started or ended before opening the case.
 */
async function abandoned(deps: ApiDeps, held: Reservation): Promise<boolean> {
  const row = await deps.db('cases').where({ id: held.caseId }).first<{ closedAt: Date | null } | undefined>('closedAt');
  if (row) return row.closedAt !== null;
  if (Date.now() - new Date(held.createdAt).getTime() < RESERVATION_SETTLES_MS) return false;
  try {
    const described = await deps.temporal.workflow.getHandle(learnerJourneyId(held.caseId)).describe();
    return described.status.name !== 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return true;
    throw err;
  }
}

function alreadyOpen(caseId: string, own: boolean): HttpError {
  return new HttpError(409, 'journey_already_open',
    own ? 'You already have an open application in this programme' : 'This person already has an open application in this programme',
    [{ caseId }]);
}
