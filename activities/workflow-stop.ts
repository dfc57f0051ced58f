import type { Knex } from 'knex';
import { resolveWorkflow } from '../lib/stuck-index';
import type { Actor } from '../domain/journey';
import { stopRequestOf } from '../lib/workflow-stops';
import { parseLearnerJourneyId, parseProviderWorkflowId } from '../workflows/ids';
import { releaseHolds } from './applications';
import { releaseJourneyReservation } from './journey-reservations';
import { writeProviderEvent } from './providers';

/** What closing a stopped workflow's read model closed. */
export interface CloseStoppedResult { closed: 'case' | 'provider_registration' | 'offer' | 'nothing' }

/** The reason a case stopped from the console closes with (the same the console's close signal uses). */
export const STOPPED_CASE_REASON = 'closed_by_agency';

/** Provider registrations in these states are still under way (their workflow runs); the others are over. */
export const PROVIDER_OPEN_STATES = ['awaiting_email', 'awaiting_approval'];
/** Offers in these states are over (their workflow has ended); a stop leaves them as they are. */
export const OFFER_OVER_STATES = ['not_submitted', 'rejected', 'closed'];

/**
 * Closes the read model of a workflow the console stopped: the one cleanup, run by the workflow itself when it
 * is cancelled (workflows/stop.ts) and from outside after a terminate (workflows/workflow-cleanup.ts, the batch's
 * cleanup). Every step is conditional on the row still being open, so running it twice, or after the workflow
 * closed its case itself, changes nothing. No e-mail is sent: the agency tells people itself if it should.
 */
export async function closeStoppedWorkflow(db: Knex, workflowId: string): Promise<CloseStoppedResult> {
  const request = await stopRequestOf(db, workflowId);
  const actor: Actor = request
    ? { role: 'staff', id: request.actor.id, name: request.actor.name, channel: 'staff' }
    : { role: 'system', id: null, name: null, channel: 'system' };
  const details = { action: request?.action ?? 'cancel', reason: request?.reason ?? 'stopped outside the console' };
  const closed = await db.transaction((trx) => closeReadModel(trx, workflowId, actor, details));
  await db('workflowStopRequests').where({ workflowId }).whereNull('cleanedAt').update({ cleanedAt: new Date() });
  return { closed };
}

/**
 * The cleanup's work inside the caller's transaction, in the name of `actor`: the open task withdrawn, then the case
 * (its open application's earmark and places given back), the registration or the offer closed. Also used by the
 * consistency check's repair of a read model whose workflow ended without closing it (api/services/consistency.ts).
 */
export async function closeReadModel(
  trx: Knex.Transaction, workflowId: string, actor: Actor, details: Record<string, unknown>,
): Promise<CloseStoppedResult['closed']> {
  const caseId = parseLearnerJourneyId(workflowId);
  const provider = parseProviderWorkflowId(workflowId);
  // Whatever the workflow is about, its open inbox task can no longer be decided.
  await trx('tasks').where({ workflowId, state: 'open' }).update({ state: 'cancelled' });
  // Nor is it stuck any more: its open stuck-index rows are resolved (issue 17).
  await resolveWorkflow(trx, workflowId);
  // A role or data-subject request stopped undecided ends, so the person sees it closed and may ask again.
  const ended = { state: 'cancelled', decidedAt: new Date() };
  await trx('roleRequests').where({ workflowId, state: 'open' }).update(ended);
  await trx('dataSubjectRequests').where({ workflowId, state: 'open' }).update(ended);
  if (caseId) return (await closeCase(trx, caseId, actor, details)) ? 'case' : 'nothing';
  if (provider?.kind === 'registration') return (await closeRegistration(trx, provider.id, workflowId, actor, details)) ? 'provider_registration' : 'nothing';
  if (provider?.kind === 'offer') return (await closeOffer(trx, provider.id, workflowId, actor, details)) ? 'offer' : 'nothing';
  return 'nothing';
}

/**
 * Whether a workflow's read model is closed: its case closed and nothing held, the registration or offer over, no
 * open task. The batch verification asks this of every cancelled or terminated item.
 */
export async function readModelClosed(db: Knex, workflowId: string): Promise<boolean> {
  if (await db('tasks').where({ workflowId, state: 'open' }).first('id')) return false;
  if (await db('roleRequests').where({ workflowId, state: 'open' }).first('id')) return false;
  if (await db('dataSubjectRequests').where({ workflowId, state: 'open' }).first('id')) return false;
  const caseId = parseLearnerJourneyId(workflowId);
  if (caseId) {
    const row = await db('cases').where({ id: caseId }).first<{ closedAt: Date | null } | undefined>('closedAt');
    const holding = await db('applications').where({ caseId }).whereIn('state', ['applied', 'enrolled']).first('id');
    return (!row || row.closedAt !== null) && !holding;
  }
  const provider = parseProviderWorkflowId(workflowId);
  if (provider?.kind === 'registration') {
    const row = await db('providers').where({ id: provider.id }).first<{ status: string } | undefined>('status');
    return !row || !PROVIDER_OPEN_STATES.includes(row.status);
  }
  if (provider?.kind === 'offer') {
    const row = await db('offers').where({ id: provider.id }).first<{ state: string } | undefined>('state');
    return !row || OFFER_OVER_STATES.includes(row.state);
  }
  return true;
}

// The learner's case: an open application ends (earmark, capped place and group place given back), the case closes.
async function closeCase(trx: Knex.Transaction, caseId: string, actor: Actor, details: Record<string, unknown>): Promise<boolean> {
  const row = await trx('cases').where({ id: caseId }).forUpdate().first<{ closedAt: Date | null } | undefined>('closedAt');
  // A journey stopped before its first step wrote the case has nothing to close.
  if (!row) return false;
  const held = await trx('applications').where({ caseId }).whereIn('state', ['applied', 'enrolled']).forUpdate()
    .select<{ id: string; caseId: string; groupId: string; state: 'applied' | 'enrolled'; earmarkedCents: number; holdsPlace: boolean; windowId: string | null }[]>(
      'id', 'caseId', 'groupId', 'state', 'earmarkedCents', 'holdsPlace', 'windowId');
  for (const app of held) await releaseHolds(trx, app, { state: 'withdrawn', reason: STOPPED_CASE_REASON });
  if (row.closedAt) return held.length > 0;
  const now = new Date();
  await trx('caseEvents').insert({
    caseId, step: 'closed', kind: 'closed', stage: 'closed', actorRole: actor.role, actorId: actor.id, actorName: actor.name,
    channel: actor.channel, details: { reason: STOPPED_CASE_REASON, ...details, releasedApplications: held.map((a) => a.id) },
  }).onConflict(['caseId', 'step']).ignore();
  await trx('cases').where({ id: caseId }).whereNull('closedAt')
    .update({ stage: 'closed', outcomeReason: STOPPED_CASE_REASON, closedAt: now, updatedAt: now });
  await releaseJourneyReservation(trx, caseId);
  return true;
}

// A registration still under way is cancelled: its company and institution numbers and e-mail are free again.
async function closeRegistration(trx: Knex.Transaction, providerId: string, workflowId: string, actor: Actor, details: Record<string, unknown>): Promise<boolean> {
  const changed = await trx('providers').where({ id: providerId }).whereIn('status', PROVIDER_OPEN_STATES).update({ status: 'cancelled' });
  if (changed === 0) return false;
  await trx('users').where({ providerId }).whereIn('status', PROVIDER_OPEN_STATES).update({ active: false });
  await writeProviderEvent(trx, { providerId, workflowId, step: 'cancelled', kind: 'cancelled', state: 'cancelled', actor, details });
  return true;
}

// An offer not yet over is closed and leaves the catalogue; applications already made stay with their journeys.
async function closeOffer(trx: Knex.Transaction, offerId: string, workflowId: string, actor: Actor, details: Record<string, unknown>): Promise<boolean> {
  const offer = await trx('offers').where({ id: offerId }).forUpdate().first<{ providerId: string; state: string } | undefined>('providerId', 'state');
  if (!offer || OFFER_OVER_STATES.includes(offer.state)) return false;
  await trx('offers').where({ id: offerId }).update({ state: 'closed', published: false, updatedAt: new Date() });
  await writeProviderEvent(trx, {
    providerId: offer.providerId, offerId, workflowId, step: 'cancelled', kind: 'cancelled', state: 'closed', actor, details: { ...details, from: offer.state },
  });
  return true;
}

/** The stop cleanup as an activity, for the workflows (in their cancellation scope) and the cleanup workflow. */
export function createWorkflowStopActivities({ db }: { db: Knex }) {
  return {
    /** Closes the read model of a workflow stopped from the console (idempotent); see closeStoppedWorkflow. */
    async closeStoppedWorkflow(input: { workflowId: string }): Promise<CloseStoppedResult> {
      return closeStoppedWorkflow(db, input.workflowId);
    },
  };
}
