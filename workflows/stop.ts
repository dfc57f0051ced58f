import { ApplicationFailure, CancellationScope, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import { FailureType } from '../domain/failures';
import { db } from './activity-presets';

// How a workflow stops cleanly when the console cancels it (DESIGN.md habit 14). Terminate runs no workflow code:
// the console follows it with the same cleanup activity from outside (workflows/workflow-cleanup.ts).

/** Version marker: workflows that close their read model when they are cancelled (issue 11). */
export const PATCH_CLEAN_UP_ON_CANCEL = 'clean-up-on-cancel';

/**
 * Runs a workflow's body. When the workflow is cancelled, `onStop` runs first (so validators refuse from then on),
 * then the read model is closed (case, task, earmark, place; registration; offer) in a scope that cannot itself be
 * cancelled, by the same activity the console uses after a terminate; the workflow then ends as Cancelled.
 */
export async function cleanUpOnCancel<T>(body: () => Promise<T>, onStop: () => void): Promise<T> {
  try {
    return await body();
  } catch (err) {
    // Journeys cancelled before this version ended at once, with nothing closed; their histories replay so.
    if (!isCancellation(err) || !patched(PATCH_CLEAN_UP_ON_CANCEL)) throw err;
    onStop();
    await CancellationScope.nonCancellable(() => db.closeStoppedWorkflow({ workflowId: workflowInfo().workflowId }));
    throw err;
  }
}

/** The refusal a request gets when the workflow it waits on was stopped by the agency. */
export function stoppedRefusal(): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.StaleDecision, nonRetryable: true, message: 'This case was closed by the agency; the request was not carried out',
  });
}

/**
 * An Update handler's work, with a cancellation of the workflow (which also cancels the handler's waits) answered
 * as a clear refusal instead of a bare "cancelled".
 */
export async function refuseIfStopped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isCancellation(err)) throw stoppedRefusal();
    throw err;
  }
}
