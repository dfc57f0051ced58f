import type { EligibilityDecision } from './eligibility';

/** Where a learner's journey stands; the words people see live in the web layer's translations. */
export type JourneyStage =
  | 'registered'
  | 'checking_eligibility'
  | 'awaiting_approval'
  | 'imk_approved'
  | 'not_eligible'
  | 'imk_rejected'
  // After approval (workflows/learner-journey-application.ts): choosing an offer, the provider's answer, study, survey.
  | 'awaiting_application'
  | 'applied'
  | 'waitlisted'
  | 'studying'
  | 'completed'
  | 'dropped_out'
  | 'closed';

/** Stages after which nothing more happens in this journey. */
export const FINAL_STAGES: readonly JourneyStage[] = ['imk_approved', 'not_eligible', 'imk_rejected', 'closed'];

/** Stages in which the journey takes an application (the learner's first, or again after a decline or timeout). */
export const APPLY_STAGES: readonly JourneyStage[] = ['imk_approved', 'awaiting_application', 'waitlisted'];

/** Stages in which the learner may withdraw (an open application, or from study). */
export const WITHDRAW_STAGES: readonly JourneyStage[] = ['applied', 'studying'];

/** Stages in which the survey may be open. */
export const SURVEY_STAGES: readonly JourneyStage[] = ['completed', 'dropped_out'];

/** Whether a stage read from the database (a plain string) is one of the given stages. */
export function inStages(stage: string, stages: readonly JourneyStage[]): boolean {
  return (stages as readonly string[]).includes(stage);
}

/** Who acted on a case, and in which role; recorded with every case event. */
export type ActorRole = 'learner' | 'coordinator' | 'staff' | 'provider' | 'system';

/** Through which channel an action came (service accounting, seed 003). */
export type Channel = 'e-service' | 'assisted' | 'staff' | 'system';

/** An actor as recorded in case history. */
export interface Actor {
  role: ActorRole; id: string | null; name: string | null; channel: Channel;
  /** A coordinator's municipality; recorded in the event's details (details.municipality). */
  municipality?: string;
}

/** The system acting on its own (timers, automatic checks). */
export const SYSTEM_ACTOR: Actor = { role: 'system', id: null, name: null, channel: 'system' };

/** A staff decision on the IMK approval task. */
export type ApprovalDecision = 'approve' | 'reject';

/** The small state object a journey keeps and its Query returns. */
export interface JourneyState {
  caseId: string;
  serviceCaseId: string | null;
  programme: string;
  stage: JourneyStage;
  eligibility: EligibilityDecision | null;
  openTaskId: string | null;
  decision: { taskId: string; decision: ApprovalDecision; comment: string; decidedBy: Actor } | null;
  /** Set when the journey is closed from outside (e.g. the person died), with the reason. */
  closing: CloseJourneyRequest | null;
}

/** Why a journey is closed from outside its own flow. */
export type CloseReason = 'deceased' | 'account_deactivated' | 'closed_by_agency';

/** A request to close a journey, sent by the periodic register check or by an administrator. */
export interface CloseJourneyRequest { reason: CloseReason; detail: string; actor: Actor }

/**
 * History entries about the agency's own inbox work on a case (who took or handed over the task). Staff see them
 * in the case history; the learner's journey page leaves them out, as internal to the agency.
 */
export const INBOX_EVENT_KINDS = ['task_claimed', 'task_unclaimed', 'task_assigned'] as const;

/** One of the inbox event kinds. */
export type InboxEventKind = (typeof INBOX_EVENT_KINDS)[number];
