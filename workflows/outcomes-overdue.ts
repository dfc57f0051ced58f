import { allHandlersFinished, condition, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { db } from './activity-presets';
import { validateDecision, type DecisionSlot } from './provider-tasks';
import { decideApprovalUpdate } from './task-decision';
import { cleanUpOnCancel } from './stop';

/** The offer whose learners' outcomes are overdue. */
export interface OutcomesOverdueInput {
  offerId: string;
  providerId: string;
  /** How often to look whether the provider has reported meanwhile (default 1 day). */
  checkInterval?: Duration;
}

/** How the follow-up ended: decided by staff, or the provider reported every outcome first. */
export interface OutcomesOverdueResult { outcome: 'decided' | 'reported' }

/** The inbox task type of the agency's follow-up. */
export const OUTCOMES_OVERDUE_TASK_TYPE = 'outcomes-overdue';

/**
 * The agency's follow-up of an offer whose provider did not report learners' outcomes after teaching ended and
 * after a reminder: an overdue task in the staff inbox (about the provider and the offer), closed by a staff
 * decision (e.g. "approve" once they have contacted the provider), or withdrawn by itself once every outcome is in.
 */
export async function outcomesOverdue(input: OutcomesOverdueInput): Promise<OutcomesOverdueResult> {
  const { workflowId } = workflowInfo();
  const slot: DecisionSlot = { openTaskId: null, decision: null };
  let decisionRecorded = false;
  setHandler(decideApprovalUpdate, async (decision) => {
    slot.decision = decision;
    await condition(() => decisionRecorded);
    return { stage: 'decided' };
  }, { validator: (decision) => validateDecision(slot, decision) });

  // Cancelled from the console: the task is withdrawn (closeStoppedWorkflow), as any workflow's open task is.
  return cleanUpOnCancel(async () => {
    const taskId = uuid4();
    const { missing } = await db.countMissingOutcomes({ offerId: input.offerId });
    if (missing === 0) return { outcome: 'reported' };
    // Overdue already: due now, so the inbox shows it among the overdue tasks at once.
    await db.openTask({
      taskId, providerId: input.providerId, offerId: input.offerId, workflowId, step: OUTCOMES_OVERDUE_TASK_TYPE, type: OUTCOMES_OVERDUE_TASK_TYPE,
      facts: { missingOutcomes: missing }, dueAt: new Date().toISOString(),
    });
    slot.openTaskId = taskId;
    for (;;) {
      if (await condition(() => slot.decision !== null, input.checkInterval ?? '1 day')) break;
      const now = await db.countMissingOutcomes({ offerId: input.offerId });
      if (now.missing === 0 && slot.decision === null) {
        slot.openTaskId = null;
        await db.cancelTask({ taskId });
        return { outcome: 'reported' };
      }
    }
    const made = slot.decision!;
    await db.closeTask({ taskId, decision: made.decision, comment: made.comment, decidedBy: made.decidedBy, decidedAt: new Date().toISOString() });
    decisionRecorded = true;
    // The staff member's Update answers before the workflow completes.
    await condition(allHandlersFinished);
    return { outcome: 'decided' };
  }, () => {
    slot.openTaskId = null;
  });
}
