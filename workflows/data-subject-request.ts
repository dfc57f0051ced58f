import { ApplicationFailure, condition, defineUpdate, setHandler, workflowInfo } from '@temporalio/workflow';
import type { DataRequestOutcome } from '../domain/data-requests';
import { FailureType } from '../domain/failures';
import type { Actor } from '../domain/journey';
import { db, email } from './activity-presets';
import { cleanUpOnCancel, refuseIfStopped, stoppedRefusal } from './stop';

/** What the API starts a request's workflow with (the request row exists already). */
export interface DataSubjectRequestInput {
  requestId: string;
  /** The inbox task's id, chosen by the API so a repeated start opens the same task. */
  taskId: string;
  /** ISO time: the end of the fifth working day after filing (Riga calendar, public holidays skipped). */
  dueAt: string;
}

/** A staff decision on a request. */
export interface DataSubjectDecisionInput { taskId: string; outcome: DataRequestOutcome; reason: string; decidedBy: Actor }

/** What the staff member gets back once the outcome is recorded. */
export interface DataSubjectDecisionResult { outcome: DataRequestOutcome }

/** Staff decide a request; the validator refuses a decision on another task, a second decision, a refusal without reason. */
export const decideDataSubjectRequestUpdate = defineUpdate<DataSubjectDecisionResult, [DataSubjectDecisionInput]>('decideDataSubjectRequest');

/**
 * One erasure or correction request: opens its inbox task, waits for a staff decision, records the outcome and
 * e-mails it to the person. Past the due date the task is flagged overdue and the agency's mailbox is told, and it
 * still waits: the deadline is the agency's to keep, not an answer. The staff member's Update returns once the
 * outcome is recorded.
 */
export async function dataSubjectRequest(input: DataSubjectRequestInput): Promise<{ outcome: DataRequestOutcome }> {
  const { workflowId } = workflowInfo();
  let decision: DataSubjectDecisionInput | null = null;
  let recorded = false;
  let stopped = false;
  setHandler(decideDataSubjectRequestUpdate, (d) => refuseIfStopped(async () => {
    decision = d;
    await condition(() => recorded);
    return { outcome: d.outcome };
  }), {
    validator: (d) => {
      if (stopped) throw stoppedRefusal();
      if (d.taskId !== input.taskId) throw ApplicationFailure.create({ type: FailureType.StaleDecision, message: 'Not the task this request waits for', nonRetryable: true });
      if (decision) {
        throw ApplicationFailure.create({
          type: FailureType.AlreadyDecided, message: 'Already decided', nonRetryable: true,
          details: [{ decidedBy: decision.decidedBy.name, decision: decision.outcome }],
        });
      }
      if (d.outcome !== 'done' && d.reason.trim() === '') {
        throw ApplicationFailure.create({ type: FailureType.ReasonRequired, message: 'A reason is required unless the request is done in full', nonRetryable: true, details: [{ field: 'reason' }] });
      }
    },
  });

  // Cancelled from the console: the open task is withdrawn like any stopped workflow's (workflows/stop.ts).
  return cleanUpOnCancel(() => decideAndTell(input, workflowId, () => decision, () => { recorded = true; }), () => { stopped = true; });
}

// The request's steps: open the task, wait for the decision (escalating once past due), record it, tell the person.
async function decideAndTell(input: DataSubjectRequestInput, workflowId: string, decided: () => DataSubjectDecisionInput | null, markRecorded: () => void) {
  // The task's facts (who, what) are read from the request row by the activity: no personal data in the history.
  await db.openDataRequestTask({ requestId: input.requestId, taskId: input.taskId, workflowId, dueAt: input.dueAt });
  const decidedInTime = await condition(() => decided() !== null, Math.max(1, Date.parse(input.dueAt) - Date.now()));
  if (!decidedInTime) {
    // Flagged in the inbox and told to the agency's shared mailbox, once; the subject names no one (the history
    // holds no personal data), the task's page does.
    await db.escalateOverdueTask({ taskId: input.taskId, workflowId, subject: `DSR-${input.requestId.slice(0, 8).toUpperCase()}` });
    await condition(() => decided() !== null);
  }
  const d = decided();
  if (!d) throw ApplicationFailure.create({ message: 'no decision', nonRetryable: true });
  const decidedAt = new Date().toISOString();
  await db.closeTask({ taskId: input.taskId, decision: d.outcome, comment: d.reason, decidedBy: d.decidedBy, decidedAt });
  await db.recordDataRequestOutcome({ requestId: input.requestId, workflowId, outcome: d.outcome, reason: d.reason, decidedBy: d.decidedBy, decidedAt });
  markRecorded();
  await email.notifyDataRequestOutcome({ requestId: input.requestId, workflowId });
  return { outcome: d.outcome };
}
