import { defineUpdate } from '@temporalio/workflow';
import type { Actor, ApprovalDecision } from '../domain/journey';

/**
 * The one Update through which staff decide any inbox task (IMK approval, provider approval, offer evaluation).
 * Every workflow that opens a task handles it, so the inbox sends the same message whatever the task's type.
 */

/** A staff decision on an inbox task. */
export interface ApprovalDecisionInput {
  taskId: string;
  decision: ApprovalDecision;
  comment: string;
  decidedBy: Actor;
  /** Offer evaluation: the checklist items the evaluator ticked, by code. */
  checklist?: Record<string, boolean>;
  /** Offer evaluation: the reasons for a rejection, each shown to the provider. */
  reasons?: string[];
}

/** What the staff member gets back once their decision is recorded: the case's or offer's new stage. */
export interface ApprovalDecisionResult { stage: string }

/** Staff decide a task; each workflow's validator refuses stale or repeated decisions. */
// The name predates the other task types and is kept: running journeys' histories carry it.
export const decideApprovalUpdate = defineUpdate<ApprovalDecisionResult, [ApprovalDecisionInput]>('decideApproval');
