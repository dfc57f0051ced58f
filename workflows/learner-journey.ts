import {
  ActivityFailure, ApplicationFailure, allHandlersFinished, condition, continueAsNew, defineQuery, defineSignal, log, patched,
  setHandler, upsertSearchAttributes, uuid4, workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { rigaDate } from '../domain/dates';
import {
  SOCIAL_STATUS_UNCHECKED, checkCoordinatorMunicipality, checkEligibility, describeIneligibility, notInPopulationRegister,
  type EligibilityDecision,
} from '../domain/eligibility';
import { FailureType } from '../domain/failures';
import { formatEuro } from '../domain/money';
import { actingSopaOperator } from '../domain/social-status';
import { IMK, type ProgrammeRules } from '../domain/programmes';
import {
  SYSTEM_ACTOR, type Actor, type ApprovalDecision, type CloseJourneyRequest, type JourneyStage, type JourneyState,
} from '../domain/journey';
import { db, email, registry } from './activity-presets';
import { searchAttributes } from './ids';
import { prepareStudyJourney, type StudyResume, type StudyTiming } from './learner-journey-application';
import { decideApprovalUpdate } from './task-decision';
import { cleanUpOnCancel, refuseIfStopped } from './stop';

/** What the API passes when a learner registers for a programme. */
export interface LearnerJourneyInput {
  caseId: string;
  personCode: string;
  /** Programme code (a row of the programmes table). */
  programme: string;
  registration: { email: string; phone: string | null; language: 'lv' | 'en'; termsVersion: string; termsAcceptedAt: string };
  /** The learner, or a coordinator acting on their behalf. */
  actor: Actor;
  /** Durations come from configuration (outside workflow code) so tests can shorten them. */
  timing: { approvalDue: Duration } & StudyTiming;
  /**
   * Set only by the journey itself when it continues as new while waiting for an application: the account is
   * approved and the case open, so the new run goes straight back to waiting.
   */
  resume?: { serviceCaseId: string; stage: JourneyStage; eligibility: EligibilityDecision | null; study: StudyResume };
}

/** How the journey ended. */
export interface LearnerJourneyResult { stage: JourneyStage; serviceCaseId: string | null }

export { decideApprovalUpdate, type ApprovalDecisionInput, type ApprovalDecisionResult } from './task-decision';

/** The journey's current state, for status pages and the admin console. */
export const journeyStateQuery = defineQuery<JourneyState>('journeyState');

/**
 * Closes a journey that is waiting for people (e.g. the periodic Population Register check found the person
 * deceased). A journey already past its waits ignores it; the sender closes the read model's case itself then.
 */
export const closeJourneySignal = defineSignal<[CloseJourneyRequest]>('closeJourney');

// Version markers for changes to running journeys (see docs/decisions.md, "Versioning").
const PATCH_PROGRAMMES_AS_DATA = 'programmes-as-data';
const PATCH_APPLICATION_TO_SURVEY = 'application-to-survey';
const PATCH_ASSISTED_MUNICIPALITY = 'assisted-municipality';
const PATCH_REGISTRY_REFUSALS = 'registry-refusals-decided';
const PATCH_ONE_OPEN_CASE = 'one-open-case';
const PATCH_EMAIL_ALONGSIDE = 'email-alongside';
const PATCH_PROGRAMME_VERSION = 'programmes-version-recorded';
/** issue 17 (registries): SOPA is asked on behalf of the coordinator who registered the person. */
const PATCH_SOPA_ACTING_EMPLOYEE = 'sopa-acting-employee';

/** A learner's journey from registration to an approved individual learning account (or a clear refusal). */
export async function learnerJourney(input: LearnerJourneyInput): Promise<LearnerJourneyResult> {
  let programme: ProgrammeRules = IMK;
  const state: JourneyState = {
    caseId: input.caseId, serviceCaseId: input.resume?.serviceCaseId ?? null, programme: input.programme,
    stage: input.resume?.stage ?? 'registered', eligibility: input.resume?.eligibility ?? null, openTaskId: null, decision: null, closing: null,
  };
  let decisionRecorded = false;

  setHandler(journeyStateQuery, () => state);
  setHandler(closeJourneySignal, (request) => {
    state.closing ??= request;
  });
  setHandler(decideApprovalUpdate, (decision) => refuseIfStopped(async () => {
    state.decision = decision;
    await condition(() => decisionRecorded);
    return { stage: state.stage };
  }), {
    validator: (decision) => {
      if (state.decision) {
        throw ApplicationFailure.create({
          type: FailureType.AlreadyDecided, nonRetryable: true,
          message: `Already decided (${state.decision.decision}) by ${state.decision.decidedBy.name ?? 'a colleague'}`,
          details: [{ decidedBy: state.decision.decidedBy.name, decision: state.decision.decision }],
        });
      }
      if (state.openTaskId === null || decision.taskId !== state.openTaskId || state.closing !== null) {
        throw ApplicationFailure.create({
          type: FailureType.StaleDecision, nonRetryable: true, message: 'This task is no longer open for a decision',
        });
      }
    },
  });

  /** E-mails sent alongside the journey's next steps (sendAlongside), each settled to its error or undefined. */
  const mailing: Promise<unknown>[] = [];
  /**
   * Sends an e-mail without holding up what follows: a learner or provider who acts at once must not wait on a
   * slow or stalled SMTP server (the fault drill found applications answered 503 for as long as the approval
   * e-mail hung, and enrolments likewise behind "application received"). The outbox still sends each e-mail once;
   * the journey ends, or continues as new, only once every one of them is sent.
   */
  async function sendAlongside(send: () => Promise<unknown>): Promise<void> {
    if (!patched(PATCH_EMAIL_ALONGSIDE)) {
      await send();
      return;
    }
    // Settled at once, so a failure is not an unhandled rejection; allMailed rethrows it.
    mailing.push(send().then(() => undefined, (err: unknown) => err ?? new Error('e-mail failed')));
  }
  /** Waits for every e-mail sent alongside; one that failed for good fails the journey, as it did before. */
  async function allMailed(): Promise<void> {
    for (const outcome of await Promise.all(mailing)) if (outcome !== undefined) throw outcome;
  }

  const setStage = (stage: JourneyStage) => {
    state.stage = stage;
    upsertSearchAttributes([{ key: searchAttributes.journeyStage, value: stage }]);
  };
  // Application to survey (learner-journey-application.ts): its Updates are registered now, so a learner applying
  // the moment the account is approved is heard; the validators refuse until the stage allows.
  const study = prepareStudyJourney({
    caseId: input.caseId, language: input.registration.language, timing: input.timing,
    stage: () => state.stage, setStage, closing: () => state.closing, resume: input.resume?.study, sendAlongside,
    async continueAsNew(study) {
      // Let an Update still returning its answer finish first; the next run is reached by the same workflow id.
      await allMailed();
      await condition(allHandlersFinished);
      return continueAsNew<typeof learnerJourney>({
        ...input, resume: { serviceCaseId: state.serviceCaseId!, stage: state.stage, eligibility: state.eligibility, study },
      });
    },
  });

  /**
   * Records the registration and opens the case; false when the person already has another open case in the
   * programme (this journey then ends without a case of its own, instead of retrying for ever).
   */
  async function register(): Promise<boolean> {
    const opened = await db.openCase({
      caseId: input.caseId, workflowId: workflowInfo().workflowId, personCode: input.personCode,
      programme: programme.code, registration: input.registration, actor: input.actor,
      // The case records which version of the programme's rules this journey keeps (issue 15).
      ...(patched(PATCH_PROGRAMME_VERSION) ? { programmeVersion: programme.version ?? null } : {}),
    });
    if (opened.serviceCaseId === null && patched(PATCH_ONE_OPEN_CASE)) {
      log.info('journey not opened: the person already has an open case in the programme', { caseId: input.caseId, openCaseId: opened.openCaseId });
      setStage('closed');
      return false;
    }
    state.serviceCaseId = opened.serviceCaseId;
    upsertSearchAttributes([{ key: searchAttributes.serviceCaseId, value: opened.serviceCaseId! }]);
    return true;
  }

  /** Fetches the person from the Population Register and applies the programme's rule. */
  async function checkAccountEligibility(): Promise<EligibilityDecision> {
    setStage('checking_eligibility');
    let person;
    try {
      person = await registry.lookupPerson({
        personCode: input.personCode, caseId: input.caseId, purpose: `${input.programme} eligibility check`,
        auditKey: `${workflowInfo().workflowId}:eligibility`,
      });
    } catch (err) {
      // An unknown person code is an answer, not a fault: the case closes as not eligible and the person is told.
      // (Before this patch the workflow failed and the case stayed open for ever.)
      if (registryRefusal(err) !== FailureType.PersonNotFound || !patched(PATCH_REGISTRY_REFUSALS)) throw err;
      state.eligibility = notInPopulationRegister(programme, rigaDate(new Date()));
      log.info('eligibility decided', { caseId: input.caseId, eligible: false, rule: state.eligibility.rule });
      return state.eligibility;
    }
    await db.saveLearnerName({ personCode: input.personCode, firstName: person.firstName, lastName: person.lastName });
    const onDate = rigaDate(new Date());
    // SOPA is asked only when the programme uses social status: the data-sharing agreement allows no other purpose.
    const socialStatuses = programme.socialStatusRule === 'not_used' ? undefined : await socialStatusesOn(onDate);
    let decision = checkEligibility(person, programme, onDate, socialStatuses);
    // A coordinator acts only for people of their municipality (journeys from before this rule skip it).
    const coordinatorMunicipality = input.actor.role === 'coordinator' ? input.actor.municipality : undefined;
    if (decision.eligible && coordinatorMunicipality && patched(PATCH_ASSISTED_MUNICIPALITY)) {
      decision = checkCoordinatorMunicipality(decision, person.municipality ?? null, coordinatorMunicipality) ?? decision;
    }
    state.eligibility = decision;
    log.info('eligibility decided', { caseId: input.caseId, eligible: decision.eligible, rule: decision.rule });
    return decision;
  }

  /** The person's SOPA records of the last year, or "unchecked" when SOPA refused the query (staff then decide). */
  async function socialStatusesOn(onDate: string) {
    // The employee the query runs on behalf of: the coordinator who registered the person; otherwise the activity
    // uses the designated operator (journeys from before this rule use the operator for everyone).
    const operator = input.actor.role === 'coordinator' && patched(PATCH_SOPA_ACTING_EMPLOYEE) ? actingSopaOperator(input.actor) : undefined;
    try {
      return (await registry.lookupSocialStatus({
        // A year back, so a status that lapsed recently is seen (staff then check) rather than read as none at all.
        personCode: input.personCode, onDate, lookbackMonths: 12, caseId: input.caseId, purpose: `${input.programme} eligibility: social status`,
        auditKey: `${workflowInfo().workflowId}:social-status`, ...(operator ? { operator } : {}),
      })).records;
    } catch (err) {
      if (registryRefusal(err) !== FailureType.SocialStatusRefused || !patched(PATCH_REGISTRY_REFUSALS)) throw err;
      log.warn('SOPA refused the social-status query; staff will decide', { caseId: input.caseId });
      return SOCIAL_STATUS_UNCHECKED;
    }
  }

  /** Tells the learner they are not eligible, and why; the journey ends here. */
  async function closeNotEligible(decision: EligibilityDecision): Promise<void> {
    await db.recordStep({
      caseId: input.caseId, step: 'eligibility', kind: 'not_eligible', stage: 'not_eligible', actor: SYSTEM_ACTOR,
      details: { ...decision }, outcomeReason: decision.reason, closed: true,
    });
    setStage('not_eligible');
    const reason = describeIneligibility(decision, input.registration.language);
    await email.sendEmail({ caseId: input.caseId, step: 'not-eligible', template: 'not-eligible', data: { reason, rule: decision.rule } });
  }

  /**
   * Approves the account automatically when the programme allows it and every check passed cleanly; otherwise
   * agency staff decide on a task that carries the facts.
   */
  async function approveAccount(decision: EligibilityDecision): Promise<void> {
    // Journeys from before review findings existed have none (undefined): nothing to review.
    const automatic = programme.approval === 'automatic' && (decision.review ?? []).length === 0;
    await db.recordStep({
      caseId: input.caseId, step: 'eligibility', kind: 'eligible', stage: automatic ? 'checking_eligibility' : 'awaiting_approval',
      actor: SYSTEM_ACTOR, details: { ...decision },
    });
    const made = automatic ? { decision: 'approve' as const, comment: '', decidedBy: SYSTEM_ACTOR } : await askStaff(decision);
    if (made) await recordApproval(made);
  }

  /** Opens the staff approval task and waits for a decision (null if the journey was closed from outside). */
  async function askStaff(decision: EligibilityDecision): Promise<{ decision: ApprovalDecision; comment: string; decidedBy: Actor } | null> {
    const taskId = uuid4();
    // The due date shown in the inbox comes from the same duration the timer below uses.
    const dueAt = new Date(Date.now() + msToNumber(input.timing.approvalDue));
    // The task is open for decisions from the moment its inbox row can exist, so staff who act at once are heard.
    state.openTaskId = taskId;
    await db.openTask({
      taskId, caseId: input.caseId, workflowId: workflowInfo().workflowId, step: 'approve-imk', type: 'approve-imk',
      facts: { eligibility: decision, personCode: input.personCode }, dueAt: dueAt.toISOString(),
    });
    setStage('awaiting_approval');

    // An overdue task is escalated, not decided: the learner should not lose out because the agency was slow.
    const answered = () => state.decision !== null || state.closing !== null;
    if (!(await condition(answered, input.timing.approvalDue))) {
      await db.escalateTask({ taskId });
      await db.recordStep({ caseId: input.caseId, step: 'approval-overdue', kind: 'task_overdue', stage: 'awaiting_approval', actor: SYSTEM_ACTOR });
      await condition(answered);
    }
    if (state.decision === null && state.closing !== null) {
      await closeFromOutside(taskId, state.closing);
      return null;
    }
    const made = state.decision!;
    await db.closeTask({ taskId, decision: made.decision, comment: made.comment, decidedBy: made.decidedBy, decidedAt: new Date().toISOString() });
    state.openTaskId = null;
    return made;
  }

  /** Records the approval decision, grants the balance, and tells the learner. */
  async function recordApproval(made: { decision: ApprovalDecision; comment: string; decidedBy: Actor }): Promise<void> {
    const approved = made.decision === 'approve';
    const decidedAt = new Date().toISOString();
    await db.recordStep({
      caseId: input.caseId, step: 'approval', kind: approved ? 'imk_approved' : 'imk_rejected',
      stage: approved ? 'imk_approved' : 'imk_rejected', actor: made.decidedBy, details: { comment: made.comment },
      outcomeReason: approved ? null : made.comment, balanceCents: approved ? programme.balanceCents : 0,
      closed: !approved,
    });
    setStage(approved ? 'imk_approved' : 'imk_rejected');
    decisionRecorded = true;

    const language = input.registration.language;
    if (approved) {
      // The learner may apply at once (study part), while this e-mail is on its way.
      await sendAlongside(() => email.sendEmail({
        caseId: input.caseId, step: 'imk-approved', template: 'imk-approved',
        data: { approvedAt: formatDate(decidedAt, language), balance: formatEuro(programme.balanceCents, language) },
      }));
    } else {
      await email.sendEmail({ caseId: input.caseId, step: 'imk-rejected', template: 'imk-rejected', data: { reason: made.comment } });
    }
  }

  /** Closes the journey for a reason from outside (no e-mail: the reason may be the person's death). */
  async function closeFromOutside(taskId: string, request: CloseJourneyRequest): Promise<void> {
    await db.cancelTask({ taskId });
    await db.recordStep({
      caseId: input.caseId, step: 'closed', kind: 'closed', stage: 'closed', actor: request.actor,
      details: { reason: request.reason, detail: request.detail }, outcomeReason: request.reason, closed: true,
    });
    state.openTaskId = null;
    setStage('closed');
  }

  // Cancelled from the console: the case closes (task withdrawn, earmark and place given back), no e-mail.
  return cleanUpOnCancel(async () => {
    if (input.resume) {
      // A run continued as new: the account is approved and the case open; straight back to applying.
      await study.run();
    } else {
      // Journeys started before programmes became data knew only IMK, built in; newer ones read their programme.
      if (patched(PATCH_PROGRAMMES_AS_DATA)) programme = await db.loadProgramme({ code: input.programme });
      if (!(await register())) return { stage: state.stage, serviceCaseId: null };
      const eligibility = await checkAccountEligibility();
      if (eligibility.eligible) await approveAccount(eligibility);
      else await closeNotEligible(eligibility);
      // Journeys started before the study part existed end at approval; newer ones go on to application and survey.
      if (state.stage === 'imk_approved' && patched(PATCH_APPLICATION_TO_SURVEY)) await study.run();
    }
    await allMailed();
    // Let an Update that is still returning its answer finish before the workflow completes.
    await condition(allHandlersFinished);
    return { stage: state.stage, serviceCaseId: state.serviceCaseId };
  }, () => {
    state.closing ??= { reason: 'closed_by_agency', detail: 'stopped from the workflow console', actor: SYSTEM_ACTOR };
    state.openTaskId = null;
    setStage('closed');
  });
}

/** The type of a registry's permanent answer (an activity's non-retryable failure), or null for anything else. */
function registryRefusal(err: unknown): string | null {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return null;
  return err.cause.type ?? null;
}

function formatDate(iso: string, language: 'lv' | 'en'): string {
  return new Intl.DateTimeFormat(language === 'lv' ? 'lv-LV' : 'en-GB', { dateStyle: 'long', timeZone: 'Europe/Riga' }).format(new Date(iso));
}
