import { ApplicationFailure, condition } from '@temporalio/workflow';
import { FailureType } from '../domain/failures';
import { db } from './activity-presets';
import type { ApprovalDecisionInput } from './task-decision';

// What the provider workflows share about an agency task: the decision validator and the wait with escalation.

/** The decision slot of a workflow that waits for one staff decision on one task at a time. */
export interface DecisionSlot {
  openTaskId: string | null;
  decision: ApprovalDecisionInput | null;
}

/**
 * Refuses a decision before it enters history, exactly as the learner journey does: a second decision names the
 * first (AlreadyDecided), a decision on another or a closed task is stale. `extra` adds the task type's own rules.
 */
export function validateDecision(slot: DecisionSlot, decision: ApprovalDecisionInput, extra?: (d: ApprovalDecisionInput) => void): void {
  if (slot.decision) {
    throw ApplicationFailure.create({
      type: FailureType.AlreadyDecided, nonRetryable: true,
      message: `Already decided (${slot.decision.decision}) by ${slot.decision.decidedBy.name ?? 'a colleague'}`,
      details: [{ decidedBy: slot.decision.decidedBy.name, decision: slot.decision.decision }],
    });
  }
  if (slot.openTaskId === null || decision.taskId !== slot.openTaskId) {
    throw ApplicationFailure.create({ type: FailureType.StaleDecision, nonRetryable: true, message: 'This task is no longer open for a decision' });
  }
  extra?.(decision);
}

/**
 * Waits for the staff decision. When the due time passes first the task is escalated (flagged in the inbox and
 * one e-mail to the agency's shared mailbox) and the wait goes on: a deadline for the agency is not an outcome,
 * the provider should not lose out because the agency was slow.
 */
export async function awaitDecision(opts: {
  slot: DecisionSlot; taskId: string; dueAt: string; workflowId: string; subject: string; onEscalated?: () => void;
  /**
   * The due time as it is now, when it may move later while we wait (an extended call's end of evaluation): a new
   * one restarts the wait. Without it, or while it stays the same, the wait is the one timer it always was.
   */
  currentDueAt?: () => string;
}): Promise<ApprovalDecisionInput> {
  const answered = () => opts.slot.decision !== null;
  const dueAt = () => opts.currentDueAt?.() ?? opts.dueAt;
  let due = dueAt();
  let decided = await condition(() => answered() || dueAt() !== due, Math.max(1, Date.parse(due) - Date.now()));
  while (decided && !answered()) {
    due = dueAt();
    decided = await condition(() => answered() || dueAt() !== due, Math.max(1, Date.parse(due) - Date.now()));
  }
  if (!decided) {
    await db.escalateOverdueTask({ taskId: opts.taskId, workflowId: opts.workflowId, subject: opts.subject });
    opts.onEscalated?.();
    await condition(answered);
  }
  return opts.slot.decision!;
}
