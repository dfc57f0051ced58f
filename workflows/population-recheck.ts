import {
  ApplicationFailure, continueAsNew, getExternalWorkflowHandle, log, proxyActivities, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { OpenJourney } from '../activities/learners';
import { SYSTEM_ACTOR, type CloseJourneyRequest } from '../domain/journey';
import { db, registry } from './activity-presets';
import { closeJourneySignal } from './learner-journey';

/** What one re-check run is asked to do; the schedule passes the same input every time. */
export interface PopulationRecheckInput {
  /** ISO time: learners last confirmed by the register before it are due. Default: the run's start minus intervalMs. */
  checkedBefore?: string;
  /** How old a register confirmation may get before the learner is due again, in milliseconds. */
  intervalMs: number;
  /** Learners fetched per page and checked together (so also the number of registry calls in flight). */
  batchSize: number;
  /** Pages one run handles before it continues as new, so its history stays small (default 20). */
  batchesPerRun?: number;
  /** Set by continueAsNew: the last learner id handled so far. */
  afterId?: string | null;
  /** Set by continueAsNew: the counts of the earlier runs of this re-check. */
  carried?: PopulationRecheckResult;
}

/** What a re-check did, over all its continued runs. */
export interface PopulationRecheckResult {
  /** Learners asked about in the register. */
  checked: number;
  /** Of those, reported deceased (their accounts are now deactivated). */
  deceased: number;
  /** Of those, unknown to the register (logged and audited; nothing changed). */
  notFound: number;
  /** Open journeys of deceased learners that are now closed. */
  journeysClosed: number;
}

// Registries may be down for hours: retry forever with a capped backoff, never skip a person.
// Waiting for a signalled journey to close its case: the retry policy is the poll. Bounded, because a journey
// that holds the close signal closes itself when it next waits; an hour means something else is wrong.
const settle = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '1 hour',
  retry: { initialInterval: '300 milliseconds', backoffCoefficient: 1.5, maximumInterval: '1 minute' },
});

/** The failure type the SDK gives a signal to a workflow that does not exist or has already finished. */
const EXTERNAL_WORKFLOW_NOT_FOUND = 'ExternalWorkflowExecutionNotFound';

/**
 * Re-checks every active learner who is due in the Population Register, page by page: a deceased person's
 * account is deactivated and their open journeys closed with that reason; everyone checked is marked checked.
 * Started by a Temporal Schedule (worker/schedules.ts), or directly by tests and operators.
 */
export async function populationRecheck(input: PopulationRecheckInput): Promise<PopulationRecheckResult> {
  const checkedBefore = input.checkedBefore ?? new Date(Date.now() - input.intervalMs).toISOString();
  const batchSize = Math.max(1, Math.floor(input.batchSize));
  const batchesPerRun = Math.max(1, input.batchesPerRun ?? 20);
  const totals: PopulationRecheckResult = { checked: 0, deceased: 0, notFound: 0, journeysClosed: 0, ...input.carried };
  let afterId = input.afterId ?? null;

  for (let batch = 0; ; batch += 1) {
    if (batch >= batchesPerRun || workflowInfo().continueAsNewSuggested) {
      // The cut-off stays fixed across runs, so "due" means the same thing from the first page to the last.
      return continueAsNew<typeof populationRecheck>({ ...input, checkedBefore, afterId, carried: totals });
    }
    const due = await db.listLearnersDueForRecheck({ checkedBefore, afterId, limit: batchSize });
    if (due.personCodes.length === 0) break;
    const outcomes = await Promise.all(due.personCodes.map((personCode) => recheckOne(personCode)));
    await db.markRechecked({ personCodes: due.personCodes });
    for (const outcome of outcomes) {
      totals.checked += 1;
      if (outcome.kind === 'not_found') totals.notFound += 1;
      if (outcome.kind === 'deceased') {
        totals.deceased += 1;
        totals.journeysClosed += outcome.journeysClosed;
      }
    }
    afterId = due.lastId;
    if (due.personCodes.length < batchSize) break;
  }
  log.info('population re-check finished', { checkedBefore, ...totals });
  return totals;
}

type Outcome = { kind: 'alive' | 'not_found' } | { kind: 'deceased'; journeysClosed: number };

/** Asks the register about one learner and acts on the answer. */
async function recheckOne(personCode: string): Promise<Outcome> {
  const { workflowId, runId } = workflowInfo();
  const person = await registry.recheckPerson({ personCode, auditKey: `${workflowId}:${runId}:${personCode}` });
  if (!person.found) {
    // Not evidence of death (codes can change): nothing is deactivated, but someone must look. The person code
    // stays out of the logs; the audit row of this query (result found: false) says whom.
    log.warn('learner not found in the Population Register during re-check; see audit_log', { workflowId, runId });
    return { kind: 'not_found' };
  }
  if (!person.deceased) return { kind: 'alive' };

  const request: CloseJourneyRequest = {
    reason: 'deceased', detail: `Population Register: deceased ${person.deceasedDate ?? '(date not given)'}`, actor: SYSTEM_ACTOR,
  };
  // Deactivate first: the account stops at once, even if closing a journey below takes a while.
  await db.deactivateLearner({ personCode, reason: request.reason, detail: request.detail });
  const { journeys } = await db.openJourneysOf({ personCode });
  let journeysClosed = 0;
  for (const journey of journeys) {
    if (await closeJourney(journey, request)) journeysClosed += 1;
  }
  return { kind: 'deceased', journeysClosed };
}

/**
 * Signals the journey to close; a journey that has finished cannot take the signal, so its case is closed in the
 * read model directly. Returns whether the case is known to be closed.
 */
async function closeJourney(journey: OpenJourney, request: CloseJourneyRequest): Promise<boolean> {
  let journeyRunning = true;
  try {
    await getExternalWorkflowHandle(journey.workflowId).signal(closeJourneySignal, request);
  } catch (err) {
    if (!(err instanceof ApplicationFailure && err.type === EXTERNAL_WORKFLOW_NOT_FOUND)) throw err;
    journeyRunning = false;
  }
  try {
    const { closedBy } = await settle.closeCaseFromOutside({ caseId: journey.caseId, ...request, journeyRunning });
    log.info('journey closed by population re-check', { caseId: journey.caseId, closedBy, reason: request.reason });
    return true;
  } catch (err) {
    // The journey holds the close signal and closes itself when it next waits; log loudly, keep checking others.
    log.error('journey did not close after the close signal', { caseId: journey.caseId, error: String(err) });
    return false;
  }
}
