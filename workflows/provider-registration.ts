import {
  ApplicationFailure, allHandlersFinished, condition, defineQuery, defineUpdate, setHandler, uuid4, workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { FailureType } from '../domain/failures';
import { db, email, registry } from './activity-presets';
import { awaitDecision, validateDecision, type DecisionSlot } from './provider-tasks';
import { decideApprovalUpdate } from './task-decision';
import { cleanUpOnCancel, refuseIfStopped } from './stop';

/** What the API passes when a provider has registered (the provider and its first user are stored, inactive). */
export interface ProviderRegistrationInput {
  providerId: string;
  /** The registrant, who becomes the provider's administrator on approval. */
  userId: string;
  email: string;
  language: 'lv' | 'en';
  /** Durations come from configuration (outside workflow code) so tests can shorten them. */
  timing: {
    /** How long the e-mailed confirmation link stays valid; unconfirmed registrations then expire. */
    emailConfirmationValid: Duration;
    /** The agency's deadline for the approval task, in working days (1 by the terms of use). */
    approvalWorkingDays: number;
    /** Tests only: a fixed time from opening to the task's deadline instead of working days. */
    approvalDueOverride?: Duration;
  };
}

/** Where a provider's registration stands. */
export type ProviderRegistrationStage =
  | 'awaiting_email' | 'checking_registries' | 'awaiting_approval' | 'approved' | 'rejected' | 'expired'
  /** Stopped from the workflow console: the provider may register again. */
  | 'cancelled';

/** The registration's state, as its Query returns it. */
export interface ProviderRegistrationState {
  providerId: string;
  stage: ProviderRegistrationStage;
  openTaskId: string | null;
  /** The approval task's deadline (ISO instant) and whether it has passed and been escalated. */
  dueAt: string | null;
  escalated: boolean;
}

/** The registrant followed the e-mailed link (the API has verified its signature and expiry). */
export const confirmProviderEmailUpdate = defineUpdate<{ stage: ProviderRegistrationStage }, [{ confirmedAt: string }]>('confirmProviderEmail');

/** The registration's current state. */
export const providerRegistrationStateQuery = defineQuery<ProviderRegistrationState>('providerRegistrationState');

/** How the registration ended. */
export interface ProviderRegistrationResult { stage: ProviderRegistrationStage }

export { decideApprovalUpdate, type ApprovalDecisionInput, type ApprovalDecisionResult } from './task-decision';

/**
 * A provider's registration: the registrant confirms the e-mail address by a signed, expiring link; the company
 * and the institution are looked up in the Enterprise Register and VIIS; the agency approves (due within one
 * working day, escalated when late) and the registrant becomes the provider's administrator, or rejects with a
 * reason. An unconfirmed registration expires.
 */
export async function providerRegistration(input: ProviderRegistrationInput): Promise<ProviderRegistrationResult> {
  const workflowId = workflowInfo().workflowId;
  const state: ProviderRegistrationState = { providerId: input.providerId, stage: 'awaiting_email', openTaskId: null, dueAt: null, escalated: false };
  const slot: DecisionSlot = { openTaskId: null, decision: null };
  let confirmedAt: string | null = null;
  let decisionRecorded = false;

  setHandler(providerRegistrationStateQuery, () => state);
  setHandler(confirmProviderEmailUpdate, ({ confirmedAt: at }) => refuseIfStopped(async () => {
    // A second click on the link (or a retried request) is answered with where the registration stands.
    if (state.stage !== 'awaiting_email' || confirmedAt !== null) return { stage: state.stage };
    confirmedAt = at;
    await condition(() => state.stage !== 'awaiting_email');
    return { stage: state.stage };
  }), {
    validator: (_request) => {
      if (state.stage === 'expired') {
        throw ApplicationFailure.create({
          type: FailureType.RegistrationExpired, nonRetryable: true, message: 'The registration expired before the e-mail address was confirmed',
        });
      }
    },
  });
  setHandler(decideApprovalUpdate, (decision) => refuseIfStopped(async () => {
    slot.decision = decision;
    await condition(() => decisionRecorded);
    return { stage: state.stage };
  }), {
    validator: (decision) => validateDecision(slot, decision, (d) => {
      // The provider reads the comment as the reason for a rejection, so a rejection needs one.
      if (d.decision === 'reject' && !d.comment?.trim()) {
        throw ApplicationFailure.create({
          type: FailureType.ReasonRequired, nonRetryable: true, message: 'A rejection needs a comment the provider can read', details: [{ field: 'comment' }],
        });
      }
    }),
  });

  /** Records the registration and sends the confirmation link; true once the registrant followed it in time. */
  async function confirmEmail(): Promise<boolean> {
    await db.recordProviderEvent({
      providerId: input.providerId, workflowId, step: 'registered', kind: 'registered', state: 'awaiting_email',
      actor: { role: 'provider', id: input.userId, name: null, channel: 'e-service' },
    });
    const validMs = msToNumber(input.timing.emailConfirmationValid);
    // The link is signed inside the activity, so the token never enters workflow history.
    await email.sendProviderConfirmationEmail({
      providerId: input.providerId, workflowId, email: input.email, language: input.language,
      validHours: validMs / 3_600_000, validUntil: new Date(Date.now() + validMs).toISOString(),
    });
    if (!(await condition(() => confirmedAt !== null, validMs))) {
      // Set before the activity runs, so a confirmation arriving now is refused as expired rather than accepted.
      state.stage = 'expired';
      await db.expireProviderRegistration({ providerId: input.providerId, userId: input.userId, workflowId });
      return false;
    }
    await db.confirmProviderEmail({ providerId: input.providerId, userId: input.userId, workflowId, confirmedAt: confirmedAt! });
    state.stage = 'checking_registries';
    return true;
  }

  /** Opens the agency's approval task with the registries' facts and waits for the decision. */
  async function askAgency(): Promise<NonNullable<DecisionSlot['decision']>> {
    const facts = await registry.checkProviderRegistries({ providerId: input.providerId, workflowId });
    const overrideMs = input.timing.approvalDueOverride === undefined ? null : msToNumber(input.timing.approvalDueOverride);
    const { dueAt } = await db.taskDueAt({ workingDays: input.timing.approvalWorkingDays, overrideMs });
    const taskId = uuid4();
    // Open for decisions from the moment its inbox row can exist, so staff who act at once are heard.
    slot.openTaskId = taskId;
    state.openTaskId = taskId;
    state.dueAt = dueAt;
    await db.openTask({
      taskId, providerId: input.providerId, workflowId, step: 'approve-provider', type: 'approve-provider',
      facts: { ...facts, email: input.email }, dueAt,
    });
    state.stage = 'awaiting_approval';
    const subject = facts.institution.name ?? facts.company.name ?? facts.company.registrationNumber;
    const made = await awaitDecision({ slot, taskId, dueAt, workflowId, subject, onEscalated: () => { state.escalated = true; } });
    await db.closeTask({ taskId, decision: made.decision, comment: made.comment, decidedBy: made.decidedBy, decidedAt: new Date().toISOString() });
    return made;
  }

  /** Records the decision and tells the registrant. */
  async function recordDecision(made: NonNullable<DecisionSlot['decision']>): Promise<void> {
    const approved = made.decision === 'approve';
    const decidedAt = new Date().toISOString();
    await db.recordProviderDecision({
      providerId: input.providerId, userId: input.userId, workflowId, decision: made.decision, comment: made.comment,
      decidedBy: made.decidedBy, decidedAt,
    });
    state.stage = approved ? 'approved' : 'rejected';
    state.openTaskId = null;
    slot.openTaskId = null;
    // The staff member's Update answers now; an SMTP outage must not keep them waiting.
    decisionRecorded = true;
    await email.sendProviderDecisionEmail({
      providerId: input.providerId, workflowId, email: input.email, language: input.language,
      decision: made.decision, reason: made.comment, decidedAt,
    });
  }

  // Cancelled from the console: the registration is cancelled (its task withdrawn), so the provider may register again.
  return cleanUpOnCancel(async () => {
    if (await confirmEmail()) await recordDecision(await askAgency());
    // Let an Update that is still returning its answer finish before the workflow completes.
    await condition(allHandlersFinished);
    return { stage: state.stage };
  }, () => {
    state.stage = 'cancelled';
    state.openTaskId = null;
    slot.openTaskId = null;
  });
}
