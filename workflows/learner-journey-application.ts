import {
  ApplicationFailure, condition, defineQuery, defineUpdate, log, patched, setHandler,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { OfferSummary } from '../activities/applications';
import { formatRigaTime, rigaDate } from '../domain/dates';
import {
  StudyFailureType, enrolmentTimeoutReason, outcomeTooEarly, validateSurveyAnswer, type ApplicationRefusal, type ApplicationState,
  type ApplyOutcome, type DropoutReason, type SurveyAspect, type SurveyKind,
} from '../domain/applications';
import { FailureType } from '../domain/failures';
import {
  APPLY_STAGES, SURVEY_STAGES, SYSTEM_ACTOR, WITHDRAW_STAGES, type Actor, type CloseJourneyRequest, type JourneyStage,
} from '../domain/journey';
import { formatEuro } from '../domain/money';
import { db, email } from './activity-presets';
import { refuseIfStopped } from './stop';

// The learner's journey after the learning account is approved: application → enrolment → study →
// completion / dropout / withdrawal → survey → closed. The main workflow (learner-journey.ts) registers this
// part's Updates and Query at its start (prepareStudyJourney) and runs it once the account is approved.

/** A learner (or a coordinator on their behalf) applies for a group of a published offer. */
export interface ApplyInput { offerId: string; groupId: string; actor: Actor }

/** What the learner is told at once: applied, wait-listed or refused, with the reason. */
export interface ApplyResult {
  outcome: ApplyOutcome;
  applicationId: string | null;
  reason: ApplicationRefusal | null;
  earmarkedCents: number;
  balanceCents: number;
  stage: JourneyStage;
}

/** The provider enrols the applicant (into their group, or another group of the same offer) or declines. */
export interface EnrolmentDecisionInput {
  applicationId: string;
  decision: 'enrol' | 'decline';
  /** Required when declining; the learner reads it. */
  reason: string | null;
  groupId?: string;
  actor: Actor;
}

/** What the provider gets back once the decision is recorded. */
export interface EnrolmentDecisionResult { stage: JourneyStage; applicationState: ApplicationState }

/** The provider reports how study ended. */
export interface OutcomeInput { outcome: 'completed' | 'dropped_out'; reason?: string | null; actor: Actor }

/** The learner withdraws: before enrolment the earmark is released; after, it counts as dropping out. */
export interface WithdrawInput { reason?: string | null; actor: Actor }

/** The survey answer: completers rate each aspect 1-5; dropouts give one or more reasons plus optional text. */
export interface SurveyAnswerInput {
  ratings?: Partial<Record<string, number>>;
  reasons?: string[];
  otherText?: string | null;
  actor: Actor;
}

/** The journey's stage after a request was recorded. */
export interface StageResult { stage: JourneyStage }

/** Learner applies; the validator refuses when the journey is not waiting for an application. */
export const applyUpdate = defineUpdate<ApplyResult, [ApplyInput]>('apply');
/** Provider enrols or declines; the validator refuses stale or repeated decisions. */
export const enrolmentDecisionUpdate = defineUpdate<EnrolmentDecisionResult, [EnrolmentDecisionInput]>('enrolmentDecision');
/** Provider reports completion or dropout. */
export const outcomeUpdate = defineUpdate<StageResult, [OutcomeInput]>('reportOutcome');
/** Learner withdraws an open application or from study. */
export const withdrawUpdate = defineUpdate<StageResult, [WithdrawInput]>('withdraw');
/** Learner answers the survey; the validator names a bad field. */
export const surveyAnswerUpdate = defineUpdate<StageResult, [SurveyAnswerInput]>('answerSurvey');

/** The application the journey is working on, as status pages show it. */
export interface CurrentApplication {
  id: string;
  state: ApplicationState;
  offerId: string;
  groupId: string;
  title: { lv: string; en: string };
  place: string;
  startsOn: string;
  endsOn: string;
  earmarkedCents: number;
  /** ISO time until which the provider may confirm the enrolment. */
  enrolmentDueAt: string | null;
}

/** The study part's small state object, returned by its Query. */
export interface StudyState {
  attempts: number;
  application: CurrentApplication | null;
  lastOutcome: { outcome: ApplyOutcome; reason: ApplicationRefusal | null } | null;
  studyOutcome: 'completed' | 'dropped_out' | null;
  survey: { kind: SurveyKind; reminded: boolean; answered: boolean } | null;
}

/** The study part's state (the main journey's journeyState Query keeps answering the stage). */
export const studyStateQuery = defineQuery<StudyState | null>('studyState');

/** Durations of the study part; optional so journeys started by an older API still work. */
export interface StudyTiming {
  /** Waits for the provider at most this long (and never past the offer's group-formation deadline). */
  enrolmentDue?: Duration;
  /** Sends a survey reminder when the survey is not answered this long after the invitation. */
  surveyReminderAfter?: Duration;
  /** Closes the journey without a survey this long after the reminder. */
  surveyCloseAfter?: Duration;
  /** After the group's end date plus this, a missing outcome is noted in the timeline (and waited for). */
  outcomeOverdueAfter?: Duration;
  /** Applications one run takes before it continues as new (a fresh history); tests make it small. */
  applicationsPerRun?: number;
}

/** What a run continued as new carries over of the study part (it is still waiting for an application). */
export interface StudyResume { attempts: number; lastOutcome: StudyState['lastOutcome'] }

/** What the main journey hands over. */
export interface StudyContext {
  caseId: string;
  language: 'lv' | 'en';
  timing: StudyTiming;
  /** The main journey's stage, kept in its state and search attribute. */
  stage(): JourneyStage;
  setStage(stage: JourneyStage): void;
  /** A close request from outside (closeJourney signal), or null. */
  closing(): CloseJourneyRequest | null;
  /** Set when this run continues an earlier one (see `applicationsPerRun`). */
  resume?: StudyResume;
  /** Ends this run and starts the journey again as new, straight back into waiting for an application. */
  continueAsNew(study: StudyResume): Promise<never>;
  /** Sends an e-mail without holding up the next step (the main journey waits for it before it ends). */
  sendAlongside(send: () => Promise<unknown>): Promise<void>;
}

// Version marker (see docs/decisions.md, "Versioning"): a request accepted as the journey closes is refused.
const PATCH_ANSWER_LEFTOVER_REQUESTS = 'answer-leftover-requests';
// Version marker: a journey whose learner keeps applying continues as new, so its history stays small.
const PATCH_APPLY_CONTINUES_AS_NEW = 'apply-continues-as-new';

const DEFAULTS = { surveyReminderAfter: '14 days', surveyCloseAfter: '14 days', outcomeOverdueAfter: '30 days', applicationsPerRun: 50 } as const;

const LEARNER_ROLES = ['learner', 'coordinator'];
const PROVIDER_ROLES = ['provider', 'staff'];

type Request =
  | { kind: 'apply'; input: ApplyInput }
  | { kind: 'enrolment'; input: EnrolmentDecisionInput }
  | { kind: 'outcome'; input: OutcomeInput }
  | { kind: 'withdraw'; input: WithdrawInput }
  | { kind: 'survey'; input: SurveyAnswerInput };

interface Pending { request: Request; answer: unknown; failure: ApplicationFailure | null }

function refuse(type: string, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, nonRetryable: true, message, details: details === undefined ? undefined : [details] });
}

/** The study part of a journey, its handlers registered; `run` drives it once the account is approved. */
export interface StudyJourney { run(): Promise<void> }

/**
 * Registers the study part's Updates and Query. The main journey calls this at its start, so a learner who applies
 * the moment the account is approved (while the approval e-mail is still being sent) is heard: the validators
 * refuse requests until the stage allows them, and an accepted request waits for `run`.
 *
 * `run` takes the journey from an approved account to its close: the learner applies (told at once: applied,
 * wait-listed or refused), the provider enrols or declines by the group-formation deadline (a missed deadline
 * counts as declined), study ends in completion or dropout (or the learner withdraws), and the survey is answered
 * or the journey closes after a reminder. Every transition is a case event; every milestone an e-mail.
 */
export function prepareStudyJourney(ctx: StudyContext): StudyJourney {
  const state: StudyState = {
    attempts: ctx.resume?.attempts ?? 0, application: null, lastOutcome: ctx.resume?.lastOutcome ?? null, studyOutcome: null, survey: null,
  };
  // One request at a time: handlers hand it to the body and wait for its answer, so every transition is made
  // in one place (the body), in order, and a validator can judge against a state no handler is changing.
  let inbox: Pending | null = null;
  // The request the body has taken from the inbox and is still working on (answered or failed at the end). A
  // validator looks at it too: a second survey answer arriving while the first is being saved is "already answered".
  let taken: Pending | null = null;
  const decided = new Map<string, string>();
  const caseId = ctx.caseId;
  let running = false;

  const submit = (request: Request): Promise<unknown> => refuseIfStopped(async () => {
    const pending: Pending = { request, answer: undefined, failure: null };
    inbox = pending;
    await condition(() => pending.answer !== undefined || pending.failure !== null);
    if (pending.failure) throw pending.failure;
    return pending.answer;
  });
  const common = (actor: Actor, roles: string[]) => {
    if (!actor || !roles.includes(actor.role)) throw refuse(StudyFailureType.NotAllowed, `Only ${roles.join(' or ')} may do this`);
    if (ctx.closing() !== null || ctx.stage() === 'closed') throw refuse(FailureType.StaleDecision, 'This journey is closed');
    if (inbox !== null) throw refuse(StudyFailureType.Busy, 'Another request is being processed; try again in a moment');
  };

  setHandler(studyStateQuery, () => (running ? state : null));
  setHandler(applyUpdate, (input) => submit({ kind: 'apply', input }) as Promise<ApplyResult>, {
    validator: (input) => {
      common(input.actor, LEARNER_ROLES);
      if (!APPLY_STAGES.includes(ctx.stage())) throw refuse(StudyFailureType.WrongStage, `Not waiting for an application (stage ${ctx.stage()})`);
      if (typeof input.offerId !== 'string' || !input.offerId) throw refuse(StudyFailureType.WrongStage, 'offerId is required', { field: 'offerId' });
      if (typeof input.groupId !== 'string' || !input.groupId) throw refuse(StudyFailureType.WrongStage, 'groupId is required', { field: 'groupId' });
    },
  });
  setHandler(enrolmentDecisionUpdate, (input) => submit({ kind: 'enrolment', input }) as Promise<EnrolmentDecisionResult>, {
    validator: (input) => {
      const earlier = decided.get(input.applicationId);
      if (earlier) throw refuse(FailureType.AlreadyDecided, `This application was already decided (${earlier})`, { decision: earlier });
      common(input.actor, PROVIDER_ROLES);
      if (ctx.stage() !== 'applied' || state.application?.id !== input.applicationId) {
        throw refuse(FailureType.StaleDecision, 'This application is not waiting for an enrolment decision');
      }
      if (input.decision !== 'enrol' && input.decision !== 'decline') throw refuse(StudyFailureType.WrongStage, 'decision must be enrol or decline', { field: 'decision' });
      if (input.decision === 'decline' && !input.reason?.trim()) throw refuse(StudyFailureType.WrongStage, 'A reason is required when declining', { field: 'reason' });
    },
  });
  setHandler(outcomeUpdate, (input) => submit({ kind: 'outcome', input }) as Promise<StageResult>, {
    validator: (input) => {
      if (state.studyOutcome) throw refuse(FailureType.AlreadyDecided, `Study already ended (${state.studyOutcome})`, { outcome: state.studyOutcome });
      common(input.actor, PROVIDER_ROLES);
      if (ctx.stage() !== 'studying') throw refuse(FailureType.StaleDecision, `The learner is not studying (stage ${ctx.stage()})`);
      if (input.outcome !== 'completed' && input.outcome !== 'dropped_out') throw refuse(StudyFailureType.WrongStage, 'outcome must be completed or dropped_out', { field: 'outcome' });
      // Workflow time is deterministic; validators do not run on replay, so histories already recorded still replay.
      const early = state.application ? outcomeTooEarly(input.outcome, state.application, rigaDate(new Date())) : null;
      if (early) {
        throw refuse(StudyFailureType.OutcomeTooEarly, early.rule === 'completion_from_end_date'
          ? `outcome: completion can be reported from the group's end date (${early.from}) on`
          : `outcome: a dropout can be reported from the group's start date (${early.from}) on`, { field: 'outcome', ...early });
      }
    },
  });
  setHandler(withdrawUpdate, (input) => submit({ kind: 'withdraw', input }) as Promise<StageResult>, {
    validator: (input) => {
      common(input.actor, LEARNER_ROLES);
      if (!WITHDRAW_STAGES.includes(ctx.stage())) throw refuse(StudyFailureType.WrongStage, `Nothing to withdraw from (stage ${ctx.stage()})`);
    },
  });
  setHandler(surveyAnswerUpdate, (input) => submit({ kind: 'survey', input }) as Promise<StageResult>, {
    validator: (input) => {
      const surveyInHand = [inbox, taken].some((p) => p?.request.kind === 'survey');
      if (state.survey?.answered || surveyInHand) throw refuse(FailureType.AlreadyDecided, 'The survey was already answered');
      common(input.actor, LEARNER_ROLES);
      if (!state.survey || !SURVEY_STAGES.includes(ctx.stage())) throw refuse(StudyFailureType.WrongStage, 'No survey is open');
      const problem = validateSurveyAnswer(state.survey.kind, input);
      if (problem) throw refuse(StudyFailureType.InvalidSurveyAnswer, `${problem.field}: ${problem.message}`, problem);
    },
  });

  const take = (): Pending => {
    const pending = inbox!;
    inbox = null;
    taken = pending;
    return pending;
  };
  const done = (pending: Pending) => { if (taken === pending) taken = null; };
  const answer = (pending: Pending, value: unknown) => { pending.answer = value; done(pending); };
  const fail = (pending: Pending, failure: ApplicationFailure) => { pending.failure = failure; done(pending); };
  const wrongStage = (pending: Pending) => fail(pending, refuse(StudyFailureType.WrongStage, `Not possible at stage ${ctx.stage()}`));
  const waitForRequest = (timeoutMs?: number): Promise<boolean> => {
    const ready = () => inbox !== null || ctx.closing() !== null;
    if (timeoutMs === undefined) return condition(ready).then(() => true);
    if (timeoutMs <= 0) return Promise.resolve(ready());
    return condition(ready, timeoutMs);
  };
  const step = async (
    stepName: string, kind: string, stage: JourneyStage, actor: Actor, details: Record<string, unknown> = {},
    extra: { outcomeReason?: string | null; closed?: boolean } = {},
  ) => {
    await db.recordStep({ caseId, step: stepName, kind, stage, actor, details, ...extra });
    ctx.setStage(stage);
  };
  const title = (app: CurrentApplication) => app.title[ctx.language];
  const money = (cents: number) => formatEuro(cents, ctx.language);

  /** Waits for an application the programme accepts; false if the journey was closed meanwhile. */
  async function apply(): Promise<boolean> {
    const firstAttempt = state.attempts;
    for (;;) {
      // Every refused or wait-listed application adds to the history; a learner who keeps trying (or a script that
      // does) would grow it without bound, so after a number of them the run continues as new. Here, between
      // requests, nothing is half done; patched() only on this path, so runs that never get here record no marker.
      const perRun = ctx.timing.applicationsPerRun ?? DEFAULTS.applicationsPerRun;
      if (inbox === null && state.attempts - firstAttempt >= perRun && patched(PATCH_APPLY_CONTINUES_AS_NEW)) {
        await ctx.continueAsNew({ attempts: state.attempts, lastOutcome: state.lastOutcome });
      }
      await waitForRequest();
      if (ctx.closing()) return false;
      const pending = take();
      if (pending.request.kind !== 'apply') { wrongStage(pending); continue; }
      const input = pending.request.input;
      state.attempts += 1;
      const attempt = state.attempts;
      const result = await db.submitApplication({ caseId, attempt, offerId: input.offerId, groupId: input.groupId, actor: input.actor });
      state.lastOutcome = { outcome: result.outcome, reason: result.reason };
      const details = { applicationId: result.applicationId, offerId: input.offerId, groupId: input.groupId, reason: result.reason, earmarkedCents: result.earmarkedCents };
      const reply = (stage: JourneyStage): ApplyResult => ({
        outcome: result.outcome, applicationId: result.applicationId, reason: result.reason,
        earmarkedCents: result.earmarkedCents, balanceCents: result.balanceCents, stage,
      });
      if (result.outcome === 'applied') {
        const offer = result.offer!;
        const application = current(result.applicationId!, 'applied', offer, result.earmarkedCents);
        state.application = application;
        await step(`application-${attempt}`, 'applied', 'applied', input.actor, details);
        answer(pending, reply('applied'));
        await ctx.sendAlongside(() => email.sendEmail({
          caseId, step: `application-received-${attempt}`, template: 'application-received',
          data: {
            offerTitle: title(application), place: offer.place, startsOn: formatDay(offer.startsOn, ctx.language),
            earmarked: money(result.earmarkedCents), balance: money(result.balanceCents),
            deadline: formatDate(offer.groupFormationDeadline, ctx.language),
          },
        }));
        return true;
      }
      if (result.outcome === 'waitlisted') {
        await step(`application-${attempt}`, 'application_waitlisted', 'waitlisted', input.actor, details);
        answer(pending, reply('waitlisted'));
        await ctx.sendAlongside(() => email.sendEmail({
          caseId, step: `application-waitlisted-${attempt}`, template: 'application-waitlisted',
          data: { offerTitle: result.offer ? result.offer[ctx.language === 'lv' ? 'titleLv' : 'titleEn'] : input.offerId },
        }));
        continue;
      }
      // Refused: the stage stays as it was; the learner may choose again.
      const stage = ctx.stage();
      await step(`application-${attempt}`, 'application_refused', stage, input.actor, details);
      answer(pending, reply(stage));
      if (result.reason === 'cap_reached') {
        await ctx.sendAlongside(() => email.sendEmail({
          caseId, step: `application-refused-${attempt}`, template: 'application-refused',
          data: { offerTitle: result.offer ? result.offer[ctx.language === 'lv' ? 'titleLv' : 'titleEn'] : input.offerId },
        }));
      }
    }
  }

  /** Waits for the provider until the deadline: enrolled, released (declined, timed out, withdrawn) or closed. */
  async function enrol(): Promise<'enrolled' | 'released' | 'closed'> {
    const app = state.application!;
    const attempt = state.attempts;
    const deadline = Date.parse(app.enrolmentDueAt!);
    for (;;) {
      const got = await waitForRequest(deadline - Date.now());
      if (ctx.closing()) return 'closed';
      if (!got) {
        await db.releaseApplication({ applicationId: app.id, state: 'timed_out', reason: 'group_formation_deadline' });
        app.state = 'timed_out';
        app.earmarkedCents = 0;
        await step(`enrolment-${attempt}`, 'enrolment_timed_out', 'awaiting_application', SYSTEM_ACTOR, { applicationId: app.id });
        await ctx.sendAlongside(() => email.sendEmail({
          caseId, step: `enrolment-declined-${attempt}`, template: 'enrolment-declined',
          data: { offerTitle: title(app), reason: enrolmentTimeoutReason(ctx.language, formatDate(app.enrolmentDueAt!, ctx.language)) },
        }));
        return 'released';
      }
      const pending = take();
      const { request } = pending;
      if (request.kind === 'withdraw') {
        await db.releaseApplication({ applicationId: app.id, state: 'withdrawn', reason: request.input.reason ?? null });
        app.state = 'withdrawn';
        app.earmarkedCents = 0;
        decided.set(app.id, 'withdrawn');
        await step(`enrolment-${attempt}`, 'application_withdrawn', 'awaiting_application', request.input.actor, { applicationId: app.id, reason: request.input.reason ?? null });
        answer(pending, { stage: ctx.stage() });
        return 'released';
      }
      if (request.kind !== 'enrolment') { wrongStage(pending); continue; }
      const decision = request.input;
      if (decision.decision === 'decline') {
        await db.releaseApplication({ applicationId: app.id, state: 'declined', reason: decision.reason });
        app.state = 'declined';
        app.earmarkedCents = 0;
        decided.set(app.id, 'declined');
        await step(`enrolment-${attempt}`, 'enrolment_declined', 'awaiting_application', decision.actor, { applicationId: app.id, reason: decision.reason });
        answer(pending, { stage: ctx.stage(), applicationState: app.state });
        await ctx.sendAlongside(() => email.sendEmail({ caseId, step: `enrolment-declined-${attempt}`, template: 'enrolment-declined', data: { offerTitle: title(app), reason: decision.reason } }));
        return 'released';
      }
      const result = await db.decideEnrolment({ applicationId: app.id, groupId: decision.groupId });
      if (!result.enrolled) {
        const message = result.reason === 'group_full' ? 'The group is full' : `Cannot enrol: ${result.reason}`;
        fail(pending, refuse(result.reason === 'group_full' ? StudyFailureType.GroupFull : FailureType.StaleDecision, message, { reason: result.reason }));
        continue;
      }
      const offer = result.offer;
      Object.assign(app, current(app.id, 'enrolled', offer, app.earmarkedCents), { enrolmentDueAt: app.enrolmentDueAt });
      decided.set(app.id, 'enrolled');
      await step(`enrolment-${attempt}`, 'enrolled', 'studying', decision.actor, { applicationId: app.id, groupId: offer.groupId });
      answer(pending, { stage: ctx.stage(), applicationState: app.state });
      await ctx.sendAlongside(() => email.sendEmail({
        caseId, step: `enrolled-${attempt}`, template: 'enrolled',
        data: { offerTitle: title(app), place: offer.place, startsOn: formatDay(offer.startsOn, ctx.language), endsOn: formatDay(offer.endsOn, ctx.language) },
      }));
      return 'enrolled';
    }
  }

  /** Waits for the end of study: the provider's report, or the learner withdrawing (a dropout by the learner). */
  async function study(): Promise<'completed' | 'dropped_out' | 'closed'> {
    const app = state.application!;
    const overdueAfter = msToNumber(ctx.timing.outcomeOverdueAfter ?? DEFAULTS.outcomeOverdueAfter);
    // The group's last day ends at midnight Riga time at the latest; a day's slack covers the time zone.
    const overdueAt = Date.parse(`${app.endsOn}T00:00:00Z`) + 86_400_000 + overdueAfter;
    let noted = false;
    for (;;) {
      const got = await waitForRequest(noted ? undefined : overdueAt - Date.now());
      if (ctx.closing()) return 'closed';
      if (!got) {
        noted = true;
        await db.recordStep({ caseId, step: 'outcome-overdue', kind: 'outcome_overdue', stage: 'studying', actor: SYSTEM_ACTOR, details: { applicationId: app.id } });
        continue;
      }
      const pending = take();
      const { request } = pending;
      let outcome: 'completed' | 'dropped_out';
      let actor: Actor;
      let reason: string | null;
      if (request.kind === 'outcome') {
        ({ outcome, actor } = request.input);
        reason = request.input.reason ?? null;
      } else if (request.kind === 'withdraw') {
        outcome = 'dropped_out';
        actor = request.input.actor;
        reason = request.input.reason ?? 'withdrawn_by_learner';
      } else {
        wrongStage(pending);
        continue;
      }
      const { spentCents } = await db.finishStudy({ applicationId: app.id, state: outcome, reason });
      app.state = outcome;
      app.earmarkedCents = 0;
      state.studyOutcome = outcome;
      await step('study-outcome', outcome, outcome, actor, {
        applicationId: app.id, reason, spentCents, reportedBy: request.kind === 'withdraw' ? 'learner' : 'provider',
      }, { outcomeReason: outcome });
      answer(pending, { stage: ctx.stage() });
      return outcome;
    }
  }

  /** Invites to the survey, reminds once, and closes the journey when answered or after the reminder. */
  async function survey(outcome: 'completed' | 'dropped_out'): Promise<'closed' | 'closed_from_outside'> {
    const app = state.application!;
    const kind: SurveyKind = outcome === 'completed' ? 'completion' : 'dropout';
    state.survey = { kind, reminded: false, answered: false };
    await email.sendEmail({
      caseId, step: 'survey-invitation', template: outcome === 'completed' ? 'study-completed' : 'study-dropped-out',
      data: { offerTitle: title(app) },
    });
    await db.recordStep({ caseId, step: 'survey-sent', kind: 'survey_sent', stage: outcome, actor: SYSTEM_ACTOR, details: { kind } });
    const waits = [msToNumber(ctx.timing.surveyReminderAfter ?? DEFAULTS.surveyReminderAfter), msToNumber(ctx.timing.surveyCloseAfter ?? DEFAULTS.surveyCloseAfter)];
    for (const [i, wait] of waits.entries()) {
      const until = Date.now() + wait;
      for (;;) {
        const got = await waitForRequest(until - Date.now());
        if (ctx.closing()) return 'closed_from_outside';
        if (!got) break;
        const pending = take();
        if (pending.request.kind !== 'survey') { wrongStage(pending); continue; }
        const input = pending.request.input;
        await db.saveSurveyAnswer({
          caseId, applicationId: app.id, kind,
          ratings: kind === 'completion' ? (input.ratings ?? {}) as Partial<Record<SurveyAspect, number>> : {},
          reasons: kind === 'dropout' ? (input.reasons ?? []) as DropoutReason[] : [],
          otherText: input.otherText?.trim() ? input.otherText.trim() : null, actor: input.actor,
        });
        state.survey.answered = true;
        await step('survey', 'survey_answered', 'closed', input.actor, { kind }, { closed: true, outcomeReason: outcome });
        answer(pending, { stage: ctx.stage() });
        return 'closed';
      }
      if (i === 0) {
        state.survey.reminded = true;
        await email.sendEmail({ caseId, step: 'survey-reminder', template: 'survey-reminder', data: { offerTitle: title(app) } });
        await db.recordStep({ caseId, step: 'survey-reminder', kind: 'survey_reminder_sent', stage: outcome, actor: SYSTEM_ACTOR });
      }
    }
    await step('survey', 'closed_without_survey', 'closed', SYSTEM_ACTOR, { kind }, { closed: true, outcomeReason: outcome });
    return 'closed';
  }

  /** Closes the journey for a reason from outside: an open application is released, study counts as dropped. */
  async function closeFromOutside(request: CloseJourneyRequest): Promise<void> {
    const app = state.application;
    if (app?.state === 'applied') {
      await db.releaseApplication({ applicationId: app.id, state: 'withdrawn', reason: request.reason });
      app.state = 'withdrawn';
    } else if (app?.state === 'enrolled') {
      await db.finishStudy({ applicationId: app.id, state: 'dropped_out', reason: request.reason });
      app.state = 'dropped_out';
    }
    await step('closed', 'closed', 'closed', request.actor, { reason: request.reason, detail: request.detail }, { outcomeReason: request.reason, closed: true });
    if (inbox) fail(take(), refuse(FailureType.StaleDecision, 'This journey is closed'));
  }

  /** The current application as the state shows it. */
  function current(id: string, appState: ApplicationState, offer: OfferSummary, earmarkedCents: number): CurrentApplication {
    const due = ctx.timing.enrolmentDue === undefined ? Infinity : Date.now() + msToNumber(ctx.timing.enrolmentDue);
    const enrolmentDueAt = new Date(Math.min(Date.parse(offer.groupFormationDeadline), due)).toISOString();
    return {
      id, state: appState, offerId: offer.offerId, groupId: offer.groupId, title: { lv: offer.titleLv, en: offer.titleEn },
      place: offer.place, startsOn: offer.startsOn, endsOn: offer.endsOn, earmarkedCents, enrolmentDueAt,
    };
  }

  /**
   * Answers a request accepted while the last step was being recorded: nothing will take it from the inbox any
   * more, and an Update left unanswered keeps the workflow from completing (and its caller waiting) for ever.
   */
  function refuseLeftover(): void {
    // patched() only on this path, so journeys that end with an empty inbox record no marker.
    if (inbox === null || !patched(PATCH_ANSWER_LEFTOVER_REQUESTS)) return;
    const leftover = take();
    fail(leftover, leftover.request.kind === 'survey' && state.survey?.answered
      ? refuse(FailureType.AlreadyDecided, 'The survey was already answered')
      : refuse(FailureType.StaleDecision, 'This journey is closed'));
  }

  /** From an approved account to the journey's close. */
  async function drive(): Promise<void> {
    for (;;) {
      if (!(await apply())) return closeFromOutside(ctx.closing()!);
      const enrolment = await enrol();
      if (enrolment === 'closed') return closeFromOutside(ctx.closing()!);
      if (enrolment === 'enrolled') break;
    }
    const outcome = await study();
    if (outcome === 'closed') return closeFromOutside(ctx.closing()!);
    if ((await survey(outcome)) === 'closed_from_outside') return closeFromOutside(ctx.closing()!);
    log.info('journey closed', { caseId, outcome, surveyAnswered: state.survey?.answered ?? false });
  }

  return {
    async run() {
      running = true;
      await drive();
      refuseLeftover();
    },
  };
}

// A deadline at a day's end (00:00 Riga) reads as 24:00 of its last day. Only e-mail text changes with it.
function formatDate(iso: string, language: 'lv' | 'en'): string {
  return formatRigaTime(iso, language);
}

function formatDay(day: string, language: 'lv' | 'en'): string {
  return new Intl.DateTimeFormat(language === 'lv' ? 'lv-LV' : 'en-GB', { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(`${day}T00:00:00Z`));
}
