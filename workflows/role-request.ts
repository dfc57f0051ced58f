import { ApplicationFailure, condition, defineUpdate, setHandler, workflowInfo } from '@temporalio/workflow';
import { FailureType } from '../domain/failures';
import type { Actor } from '../domain/journey';
import { db } from './activity-presets';
import { cleanUpOnCancel, refuseIfStopped, stoppedRefusal } from './stop';

/** What the API starts a role request's workflow with (the request row exists already). */
export interface RoleRequestInput {
  requestId: string;
  /** The inbox task's id, chosen by the API so a repeated start opens the same task. */
  taskId: string;
  /** ISO time: when the inbox shows the task as overdue. */
  dueAt: string;
}

/** A staff decision on a role request: an approval carries the grant's last day (Riga calendar). */
export interface RoleDecisionInput {
  taskId: string; decision: 'approve' | 'reject'; validUntil: string | null; reason: string; decidedBy: Actor;
}

/** What the staff member gets back once the decision is recorded (and, on approval, the grant made). */
export interface RoleDecisionResult { decision: 'approve' | 'reject'; grantId: string | null }

/** Staff decide a role request; the validator refuses another task's decision and a second decision. */
export const decideRoleRequestUpdate = defineUpdate<RoleDecisionResult, [RoleDecisionInput]>('decideRoleRequest');

/**
 * One person's request for the coordinator or career-consultant role: opens its inbox task, waits for a staff
 * decision (however long: the due date only flags the task in the inbox), then records it, and on approval makes
 * the grant, in one activity. The staff member's Update returns once that is done.
 */
export async function roleRequest(input: RoleRequestInput): Promise<RoleDecisionResult> {
  const { workflowId } = workflowInfo();
  let decision: RoleDecisionInput | null = null;
  let result: RoleDecisionResult | null = null;
  let stopped = false;
  setHandler(decideRoleRequestUpdate, (d) => refuseIfStopped(async () => {
    decision = d;
    await condition(() => result !== null);
    return result!;
  }), {
    validator: (d) => {
      if (stopped) throw stoppedRefusal();
      if (d.taskId !== input.taskId) throw ApplicationFailure.create({ type: FailureType.StaleDecision, message: 'Not the task this request waits for', nonRetryable: true });
      if (decision) {
        throw ApplicationFailure.create({
          type: FailureType.AlreadyDecided, message: 'Already decided', nonRetryable: true,
          details: [{ decidedBy: decision.decidedBy.name, decision: decision.decision }],
        });
      }
      if (d.reason.trim() === '') {
        throw ApplicationFailure.create({ type: FailureType.ReasonRequired, message: 'A reason is required', nonRetryable: true, details: [{ field: 'reason' }] });
      }
    },
  });

  return cleanUpOnCancel(async () => {
    // The task's facts (who, which role, where, why) are read from the request row: no personal data in the history.
    await db.openRoleRequestTask({ requestId: input.requestId, taskId: input.taskId, workflowId, dueAt: input.dueAt });
    await condition(() => decision !== null);
    const d = decision!;
    const recorded = await db.recordRoleDecision({
      requestId: input.requestId, taskId: input.taskId, workflowId, decision: d.decision, validUntil: d.validUntil, reason: d.reason,
      decidedBy: d.decidedBy, decidedAt: new Date().toISOString(),
    });
    result = { decision: d.decision, grantId: recorded.grantId };
    return result;
  }, () => { stopped = true; });
}
