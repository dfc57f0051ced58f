import {
  ActivityFailure, ApplicationFailure, allHandlersFinished, condition, continueAsNew, defineQuery, defineSignal, defineUpdate,
  isCancellation, patched, setHandler, sleep, uuid4, workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { FailureType } from '../domain/failures';
import type { Actor } from '../domain/journey';
import { EDITABLE_OFFER_STATES, type OfferProblem, type OfferState } from '../domain/offers';
import { db, email, interactive } from './activity-presets';
import { awaitDecision, validateDecision, type DecisionSlot } from './provider-tasks';
import { decideApprovalUpdate } from './task-decision';
import { cleanUpOnCancel, refuseIfStopped, stoppedRefusal } from './stop';

/** What the API passes when a provider starts a draft offer in a call (the draft row is already stored). */
export interface ProviderOfferInput {
  offerId: string;
  providerId: string;
  callId: string;
  /** Durations from configuration; optional so the API need not send them. */
  timing?: {
    /** After teaching ends, how often to look again while learners' outcomes are still missing (default 1 day). */
    closeCheckInterval?: Duration;
    /** Looks of that loop in one run before it continues as new (default 60), so its history stays small. */
    closeChecksPerRun?: number;
  };
  /** Set by the run that continued as new in the closing loop: the new run goes straight back to it. */
  resumeAt?: 'closing';
}

// Version marker (see docs/decisions.md, "Versioning"): the closing loop continues as new after a number of looks.
const PATCH_CLOSING_CONTINUES_AS_NEW = 'closing-continues-as-new';
const CLOSE_CHECKS_PER_RUN = 60;
// Version marker: the call's deadlines may be extended while the offer waits for them (calls-deadline-extension).
const PATCH_CALL_DEADLINE_EXTENSION = 'calls-deadline-extension';

/** How the offer's workflow ended. */
export interface ProviderOfferResult { state: OfferState }

/** The offer's state, as its Query returns it. */
export interface ProviderOfferStatus {
  offerId: string;
  state: OfferState;
  openTaskId: string | null;
  /** The problems found by the last refused submission. */
  problems: OfferProblem[];
}

/** A provider's request to submit or withdraw the offer. */
export interface OfferActionInput { actor: Actor }

/** The answer to a submission: accepted (state 'submitted') or refused with the problems found. */
export interface SubmitOfferResult { state: OfferState; problems: OfferProblem[] }

/** Submits the offer (frozen afterwards); refused before anything is stored if the checks find problems. */
export const submitOfferUpdate = defineUpdate<SubmitOfferResult, [OfferActionInput]>('submitOffer');

/** Withdraws a submitted offer so it can be edited and submitted again, until the submission deadline. */
export const withdrawOfferUpdate = defineUpdate<{ state: OfferState }, [OfferActionInput]>('withdrawOffer');

/** The call's deadlines the offer's workflow waits for (ISO instants). */
export interface CallDeadlines { submissionClosesAt: string; evaluationEndsAt: string; publicationAt: string; teachingEndsAt: string }

/**
 * An administrator extended the call's deadlines (the API sends it to every running offer of the call). Only a later
 * instant counts: signals of two quick extensions may arrive in either order.
 */
export const callDeadlinesExtendedSignal = defineSignal<[CallDeadlines]>('callDeadlinesExtended');

/** The offer's current state. */
export const providerOfferStatusQuery = defineQuery<ProviderOfferStatus>('providerOfferStatus');

export { decideApprovalUpdate, type ApprovalDecisionInput, type ApprovalDecisionResult } from './task-decision';

const PROVIDER_ROLES = ['provider'];

function refuse(type: string, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ type, nonRetryable: true, message, details: details ? [details] : undefined });
}

/** Waits until an instant given as ISO text; an instant already past is reached at once. */
async function until(iso: string): Promise<void> {
  const ms = Date.parse(iso) - Date.now();
  if (ms > 0) await sleep(ms);
}

const DEADLINE_KEYS = ['submissionClosesAt', 'evaluationEndsAt', 'publicationAt', 'teachingEndsAt'] as const;

/**
 * An offer in a call for offers, from draft to closed: the provider submits (automated checks, then frozen) and may
 * withdraw and submit again until the call's deadline; at the deadline submission closes (a timer from the call's
 * data, not a cron) and the agency evaluates it on a task with a checklist; an approved offer is published on the
 * call's publication date; after teaching ends it closes once every learner's application has ended.
 */
export async function providerOffer(input: ProviderOfferInput): Promise<ProviderOfferResult> {
  const workflowId = workflowInfo().workflowId;
  const status: ProviderOfferStatus = { offerId: input.offerId, state: 'draft', openTaskId: null, problems: [] };
  const slot: DecisionSlot = { openTaskId: null, decision: null };
  let closesAt: number | null = null;
  // One provider action at a time, so a validator judges a state no handler is changing.
  let busy = false;
  let attempts = 0;
  let decisionRecorded = false;

  /**
   * The rules every provider action shares: a provider, nothing else in flight, before the call's deadline. Until
   * the call is loaded (the first moments of the workflow) the deadline is judged by the handler once it is.
   */
  const checkAction = (request: OfferActionInput) => {
    if (!request?.actor || !PROVIDER_ROLES.includes(request.actor.role)) throw refuse(FailureType.NotAllowed, 'Only the provider may submit or withdraw its offer');
    if (busy) throw refuse(FailureType.Busy, 'Another request on this offer is being processed; try again in a moment');
    if (closesAt !== null && Date.now() >= closesAt) throw refuse(FailureType.SubmissionClosed, 'The call\'s submission deadline has passed');
  };
  const checkSubmit = () => {
    if (!EDITABLE_OFFER_STATES.includes(status.state)) throw refuse(FailureType.OfferNotEditable, `The offer is ${status.state}; withdraw it to change and submit it again`);
  };
  const checkWithdraw = () => {
    if (status.state !== 'submitted') throw refuse(FailureType.OfferNotSubmitted, `Only a submitted offer can be withdrawn (the offer is ${status.state})`);
  };
  /** Claims the offer for one action, once the call is known, and judges the request again against it. */
  const begin = async (check: () => void) => {
    busy = true;
    await condition(() => closesAt !== null);
    if (Date.now() >= closesAt!) throw refuse(FailureType.SubmissionClosed, 'The call\'s submission deadline has passed');
    check();
    attempts += 1;
  };

  setHandler(providerOfferStatusQuery, () => status);
  setHandler(submitOfferUpdate, async (request) => {
    try {
      await begin(checkSubmit);
      const result = await interactive.submitOffer({ offerId: input.offerId, workflowId, step: `submit-${attempts}`, actor: request.actor });
      status.state = result.state;
      status.problems = result.problems;
      return { state: result.state, problems: result.problems };
    } catch (err) {
      if (isCancellation(err)) throw stoppedRefusal();
      if (err instanceof ActivityFailure) throw refuse(FailureType.RegistryUnavailable, 'The automated checks could not be run now (a registry or the database did not answer); try again later');
      throw err;
    } finally {
      busy = false;
    }
  }, {
    validator: (request) => {
      checkAction(request);
      checkSubmit();
    },
  });
  setHandler(withdrawOfferUpdate, (request) => refuseIfStopped(async () => {
    try {
      await begin(checkWithdraw);
      const result = await db.withdrawOffer({ offerId: input.offerId, workflowId, step: `withdraw-${attempts}`, actor: request.actor });
      status.state = result.state;
      status.problems = [];
      return { state: result.state };
    } finally {
      busy = false;
    }
  }), {
    validator: (request) => {
      checkAction(request);
      checkWithdraw();
    },
  });
  setHandler(decideApprovalUpdate, (decision) => refuseIfStopped(async () => {
    slot.decision = decision;
    await condition(() => decisionRecorded);
    return { stage: status.state };
  }), {
    validator: (decision) => validateDecision(slot, decision, (d) => {
      // The provider reads the reasons; a rejection without one would leave them guessing.
      if (d.decision === 'reject' && !(d.reasons ?? []).some((r) => typeof r === 'string' && r.trim() !== '')) {
        throw refuse(FailureType.ReasonRequired, 'A rejection needs at least one reason', { field: 'reasons' });
      }
    }),
  });

  // The call's phases are data: every timer below comes from them.
  const context = await db.loadOfferContext({ offerId: input.offerId });
  status.state = context.state;
  closesAt = Date.parse(context.call.submissionClosesAt);

  /** Takes the later of each deadline we know and the one given (an administrator only ever extends them). */
  const extend = (deadlines: Partial<CallDeadlines>) => {
    for (const key of DEADLINE_KEYS) {
      const later = deadlines[key];
      if (later && Date.parse(later) > Date.parse(context.call[key])) context.call[key] = later;
    }
    closesAt = Date.parse(context.call.submissionClosesAt);
  };
  // Registered once the call is known; a signal sent before that waits for the handler.
  setHandler(callDeadlinesExtendedSignal, extend);

  /**
   * Waits for one of the call's deadlines, which an extension may move later while we wait: the signal wakes the
   * wait, and at the deadline the call's row is read again, so an extension whose signal was lost still counts.
   * Runs recorded before extensions existed slept on one timer; replayed, they do so again (patched() is false).
   */
  async function untilDeadline(key: (typeof DEADLINE_KEYS)[number]): Promise<void> {
    if (!patched(PATCH_CALL_DEADLINE_EXTENSION)) await until(context.call[key]);
    while (patched(PATCH_CALL_DEADLINE_EXTENSION)) {
      if (Date.now() >= Date.parse(context.call[key])) {
        extend((await db.loadOfferContext({ offerId: input.offerId })).call);
        if (Date.now() >= Date.parse(context.call[key])) return;
      }
      const seen = context.call[key];
      await condition(() => context.call[key] !== seen, Date.parse(seen) - Date.now());
    }
  }

  /** The submission window: the handlers above do the work; at the deadline submission closes. */
  async function closeSubmission(): Promise<{ facts: Record<string, unknown>; subject: string } | null> {
    await untilDeadline('submissionClosesAt');
    // A submission accepted before the deadline is finished before the window closes.
    await condition(() => !busy);
    const closed = await db.closeSubmission({ offerId: input.offerId, workflowId });
    status.state = closed.state;
    return closed.state === 'in_evaluation' ? closed : null;
  }

  /** The agency evaluates the offer on a task with a checklist, due at the call's end of evaluation. */
  async function evaluate(task: { facts: Record<string, unknown>; subject: string }): Promise<boolean> {
    const taskId = uuid4();
    const dueAt = context.call.evaluationEndsAt;
    slot.openTaskId = taskId;
    status.openTaskId = taskId;
    await db.openTask({
      taskId, providerId: context.providerId, offerId: input.offerId, workflowId, step: 'evaluate-offer', type: 'evaluate-offer',
      facts: task.facts, dueAt,
    });
    // An extension of the call's evaluation heard while the task is open moves its escalation (the API moves the
    // task's due date in the inbox).
    const made = await awaitDecision({ slot, taskId, dueAt, workflowId, subject: task.subject, currentDueAt: () => context.call.evaluationEndsAt });
    const approved = made.decision === 'approve';
    const reasons = (made.reasons ?? []).map((r) => r.trim()).filter((r) => r !== '');
    const decidedAt = new Date().toISOString();
    await db.closeTask({ taskId, decision: made.decision, comment: made.comment, decidedBy: made.decidedBy, decidedAt });
    await db.recordOfferDecision({
      offerId: input.offerId, workflowId, decision: made.decision, reasons, comment: made.comment,
      checklist: made.checklist ?? {}, decidedBy: made.decidedBy, decidedAt,
    });
    status.state = approved ? 'approved' : 'rejected';
    status.openTaskId = null;
    slot.openTaskId = null;
    // The evaluator's Update answers now; an SMTP outage must not keep them waiting.
    decisionRecorded = true;
    if (approved) {
      await email.sendOfferEmail({ offerId: input.offerId, workflowId, step: 'offer-approved', template: 'offer-approved' });
    } else {
      await email.sendOfferEmail({ offerId: input.offerId, workflowId, step: 'offer-rejected', template: 'offer-rejected', data: { reasons } });
    }
    return approved;
  }

  /** Publishes the offer in the catalogue on the call's publication date (at once if that has passed). */
  async function publish(): Promise<void> {
    await untilDeadline('publicationAt');
    await db.publishOffer({ offerId: input.offerId, workflowId });
    status.state = 'published';
  }

  /** After teaching ends, closes the offer once no application is waiting for the provider or studying. */
  async function closeAfterTeaching(): Promise<void> {
    await untilDeadline('teachingEndsAt');
    let checks = 0;
    while ((await db.countActiveApplications({ offerId: input.offerId })).active > 0) {
      await sleep(input.timing?.closeCheckInterval ?? '1 day');
      checks += 1;
      // A missing outcome can keep this loop going for months; each look adds to the history, so after a number
      // of looks the run continues as new, straight back into this loop. patched() only here: runs recorded before
      // this change keep looping in one run when replayed.
      if (checks >= (input.timing?.closeChecksPerRun ?? CLOSE_CHECKS_PER_RUN) && patched(PATCH_CLOSING_CONTINUES_AS_NEW)) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof providerOffer>({ ...input, resumeAt: 'closing' });
      }
    }
    await db.closeOffer({ offerId: input.offerId, workflowId });
    status.state = 'closed';
  }

  // Cancelled from the console: the offer closes (out of the catalogue, its task withdrawn); no e-mail.
  return cleanUpOnCancel(async () => {
    if (input.resumeAt === 'closing') {
      await closeAfterTeaching();
    } else {
      const evaluation = await closeSubmission();
      if (evaluation && (await evaluate(evaluation))) {
        await publish();
        await closeAfterTeaching();
      }
    }
    // Let an Update that is still returning its answer finish before the workflow completes.
    await condition(allHandlersFinished);
    return { state: status.state };
  }, () => {
    status.state = 'closed';
    status.openTaskId = null;
    slot.openTaskId = null;
  });
}
