import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { StudyFailureType, type ApplicationRefusal, type ApplyOutcome, type SurveyKind } from '../../domain/applications';
import type { ProgrammeRules } from '../../domain/programmes';
import { FailureType } from '../../domain/failures';
import { APPLY_STAGES, SURVEY_STAGES, WITHDRAW_STAGES, inStages, type Actor, type JourneyStage } from '../../domain/journey';
import type { Session } from '../../lib/sessions';
import { translate, type PageLanguage } from '../../web/render';
import { applyUpdate, surveyAnswerUpdate, withdrawUpdate } from '../../workflows/learner-journey-application';
import type { ApiDeps } from '../deps';
import { costSplit, EFFECTIVE_COPAY, type CostSplit } from './catalogue';
import { refuseIfCaseHeld } from './account-access';
import { HttpError, type WordedProblem } from '../errors';
import { ruleWords } from '../messages';
import type { OffersQuery, SurveyInput } from '../schemas';
import { placeOfferView, type PlaceOfferView } from './place-offers';

// The learner's side of applying and studying: the catalogue of published offers, and the requests that go to
// the learner's own journey as Updates (apply, withdraw, answer the survey). Pages and the JSON API share these.

/** Offers per catalogue page. */
export const OFFERS_PAGE_SIZE = 20;

/** Stages in which the journey takes an application (the workflow's validator is the judge; this is for pages). */

/** One published offer with its groups, as the catalogue shows it. */
export interface OfferView {
  offerId: string; programme: string; programmeName: { lv: string; en: string }; title: { lv: string; en: string };
  provider: string; costCents: number; copayPercent: number | null; applicationsOpenAt: string; applicationsCloseAt: string;
  groupFormationDeadline: string;
  /** Who pays what of the cost: the programme (through the learning account, or directly where the learner co-pays) and the learner. */
  share: CostSplit;
  groups: { groupId: string; place: string; startsOn: string; endsOn: string; capacity: number; enrolled: number; freePlaces: number }[];
}

interface OfferRow {
  funding: ProgrammeRules['funding'];
  id: string; programme: string; titleLv: string; titleEn: string; costCents: number; effectiveCopayPercent: number | null;
  applicationsOpenAt: Date; applicationsCloseAt: Date; groupFormationDeadline: Date; nameLv: string; nameEn: string; providerName: string;
}
interface GroupRow { id: string; offerId: string; place: string; startsOn: string; endsOn: string; capacity: number; enrolled: number }

// Calendar days as text: a `date` column read as a JS Date would shift with the server's time zone.
const day = (column: string) => `to_char(${column}, 'YYYY-MM-DD') as ${column}`;

/**
 * Published offers whose application window has not closed yet, soonest closing first, with their groups and free
 * places (capacity minus enrolled). Optional filters: programme, and words in a title or a group's place.
 */
export async function listOffers(deps: ApiDeps, query: OffersQuery): Promise<{ offers: OfferView[]; total: number; page: number; pageSize: number }> {
  const base = deps.db('offers')
    .join('programmes', 'programmes.code', 'offers.programme')
    .join('providers', 'providers.id', 'offers.providerId')
    .where('offers.published', true)
    .where('offers.applicationsCloseAt', '>', new Date());
  if (query.programme) base.where('offers.programme', query.programme);
  if (query.q) {
    const pattern = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    base.where((w) => w.whereILike('offers.titleLv', pattern).orWhereILike('offers.titleEn', pattern)
      .orWhereExists(deps.db('offerGroups').whereRaw('offer_groups.offer_id = offers.id').whereILike('offerGroups.place', pattern)));
  }
  const [{ count }] = await base.clone().count<{ count: string }[]>('* as count');
  const rows: OfferRow[] = await base.clone()
    .select('offers.*', 'programmes.nameLv', 'programmes.nameEn', 'programmes.funding', 'providers.name as providerName', deps.db.raw(EFFECTIVE_COPAY))
    .orderBy([{ column: 'offers.applicationsCloseAt', order: 'asc' }, { column: 'offers.id', order: 'asc' }])
    .limit(OFFERS_PAGE_SIZE).offset((query.page - 1) * OFFERS_PAGE_SIZE);
  const groups: GroupRow[] = rows.length === 0 ? [] : await deps.db('offerGroups')
    .whereIn('offerId', rows.map((r) => r.id))
    .select('id', 'offerId', 'place', 'capacity', 'enrolled', deps.db.raw(day('starts_on')), deps.db.raw(day('ends_on')))
    .orderBy([{ column: 'startsOn', order: 'asc' }, { column: 'place', order: 'asc' }]);
  return {
    offers: rows.map((r) => ({
      offerId: r.id, programme: r.programme, programmeName: { lv: r.nameLv, en: r.nameEn }, title: { lv: r.titleLv, en: r.titleEn },
      provider: r.providerName, costCents: r.costCents, copayPercent: r.effectiveCopayPercent,
      applicationsOpenAt: r.applicationsOpenAt.toISOString(), applicationsCloseAt: r.applicationsCloseAt.toISOString(),
      groupFormationDeadline: r.groupFormationDeadline.toISOString(), share: costSplit(r.funding, r.costCents, r.effectiveCopayPercent),
      groups: groups.filter((g) => g.offerId === r.id).map((g) => ({
        groupId: g.id, place: g.place, startsOn: g.startsOn, endsOn: g.endsOn, capacity: g.capacity, enrolled: g.enrolled,
        freePlaces: Math.max(0, g.capacity - g.enrolled),
      })),
    })),
    total: Number(count), page: query.page, pageSize: OFFERS_PAGE_SIZE,
  };
}

interface OwnCase { id: string; workflowId: string; programme: string; stage: string; balanceCents: number; closedAt: Date | null }

/** Narrows a query on `cases` to the cases someone may act on (the object-level check). */
export type CaseScope = (query: Knex.QueryBuilder) => void;

const learnersOwn = (learner: Session): CaseScope => (query) => {
  query.join('learners', 'learners.id', 'cases.learnerId').where('learners.personCode', learner.subject);
};

// The object-level check: only a case of the logged-in person is found; anyone else's is "not found".
async function ownCase(deps: ApiDeps, learner: Session | CaseScope, caseId: string): Promise<OwnCase> {
  const query = deps.db('cases').where('cases.id', caseId);
  (typeof learner === 'function' ? learner : learnersOwn(learner))(query);
  const found = await query
    .first<OwnCase | undefined>('cases.id', 'cases.workflowId', 'cases.programme', 'cases.stage', 'cases.balanceCents', 'cases.closedAt');
  if (!found) throw new HttpError(404, 'journey_not_found', 'You have no journey with this id');
  if (found.closedAt) {
    // A repeated survey submit after the journey closed is told so, rather than only "closed".
    if (await deps.db('surveyAnswers').where({ caseId }).first('caseId')) throw new HttpError(409, 'already_answered', 'The survey was already answered; this journey is closed');
    throw new HttpError(409, 'journey_closed', 'This journey is closed');
  }
  return found;
}

/** The learner's open journeys that take an application now, by programme (for the catalogue's Apply buttons). */
export async function applyingCases(deps: ApiDeps, learner: Session): Promise<Map<string, string>> {
  const rows: { id: string; programme: string }[] = await deps.db('cases').join('learners', 'learners.id', 'cases.learnerId')
    .where('learners.personCode', learner.subject).whereNull('cases.closedAt').whereIn('cases.stage', APPLY_STAGES)
    .orderBy('cases.createdAt', 'desc').select('cases.id', 'cases.programme');
  const byProgramme = new Map<string, string>();
  for (const row of rows) if (!byProgramme.has(row.programme)) byProgramme.set(row.programme, row.id);
  return byProgramme;
}

const learnerActor = (learner: Session): Actor => ({ role: 'learner', id: learner.subject, name: learner.name, channel: 'e-service' });

/** What the learner is told at once after applying, with the reason in words. */
export interface ApplyAnswer {
  outcome: ApplyOutcome; applicationId: string | null; reason: ApplicationRefusal | null; message: string;
  earmarkedCents: number; balanceCents: number; stage: string;
}

/** The words for an application's outcome (and the refusal's reason). */
export function outcomeMessage(lang: PageLanguage, outcome: ApplyOutcome, reason: string | null): string {
  if (outcome === 'refused') return translate(lang, 'apply.refused', { reason: translate(lang, `refusal.${reason ?? 'unknown'}`) });
  return translate(lang, `apply.${outcome}`);
}

/**
 * Applies for a group of an offer on the learner's own journey. The Update id comes from the request id, so a
 * repeated submit is answered with the first outcome instead of applying twice. A refusal is a 409 whose message
 * says why in words (and whose details carry the reason code).
 */
export async function applyForOffer(
  deps: ApiDeps, learner: Session | { scope: CaseScope; actor: Actor }, caseId: string, input: { offerId: string; groupId: string; requestId?: string },
): Promise<ApplyAnswer> {
  // Someone acting on the learner's behalf (a coordinator) brings their own scope of cases and is the actor.
  const [scope, actor] = 'scope' in learner ? [learner.scope, learner.actor] : [learner, learnerActor(learner)];
  const theCase = await ownCase(deps, scope, caseId);
  // A blocked learner's journey waits: nothing is applied for until an administrator reinstates them.
  await refuseIfCaseHeld(deps.db, caseId, actor.role === 'learner' ? 'own' : 'person');
  const handle = deps.temporal.workflow.getHandle(theCase.workflowId);
  const updateId = `apply:${caseId}:${input.requestId ?? randomUUID()}`;
  const result = await withRetry(deps, caseId, APPLY_STAGES, () => handle.executeUpdate(applyUpdate, {
    args: [{ offerId: input.offerId, groupId: input.groupId, actor }], updateId,
  }));
  deps.logger.info('application sent', { caseId, outcome: result.outcome, reason: result.reason });
  const answer: ApplyAnswer = {
    outcome: result.outcome, applicationId: result.applicationId, reason: result.reason,
    message: outcomeMessage('en', result.outcome, result.reason),
    earmarkedCents: result.earmarkedCents, balanceCents: result.balanceCents, stage: result.stage,
  };
  if (result.outcome === 'refused') {
    throw new HttpError(409, 'application_refused', answer.message, [{ outcome: 'refused', reason: result.reason, stage: result.stage, balanceCents: result.balanceCents }]);
  }
  return answer;
}

/** Withdraws the learner's open application (the earmark is released) or, during study, withdraws from study. */
export async function withdraw(deps: ApiDeps, learner: Session, caseId: string, input: { reason?: string; requestId?: string }): Promise<{ stage: JourneyStage }> {
  const theCase = await ownCase(deps, learner, caseId);
  const handle = deps.temporal.workflow.getHandle(theCase.workflowId);
  const updateId = `withdraw:${caseId}:${input.requestId ?? randomUUID()}`;
  const result = await withRetry(deps, caseId, WITHDRAW_STAGES, () => handle.executeUpdate(withdrawUpdate, {
    args: [{ reason: input.reason?.trim() ? input.reason.trim() : null, actor: learnerActor(learner) }], updateId,
  }));
  deps.logger.info('withdrawal sent', { caseId, stage: result.stage });
  return result;
}

/** Answers the survey; a bad field is a 400 naming it (the journey knows which survey the learner gets). */
export async function answerSurvey(deps: ApiDeps, learner: Session, caseId: string, input: SurveyInput): Promise<{ stage: JourneyStage }> {
  const theCase = await ownCase(deps, learner, caseId);
  const handle = deps.temporal.workflow.getHandle(theCase.workflowId);
  const updateId = `survey:${caseId}:${input.requestId ?? randomUUID()}`;
  const result = await withRetry(deps, caseId, SURVEY_STAGES, () => handle.executeUpdate(surveyAnswerUpdate, {
    args: [{ ratings: input.ratings ?? {}, reasons: input.reasons ?? [], otherText: input.otherText ?? null, actor: learnerActor(learner) }],
    updateId,
  }));
  deps.logger.info('survey answered', { caseId });
  return result;
}

/**
 * Sends an Update, retrying briefly when the journey is busy with another request, or when the read model is a
 * moment ahead of the workflow (it already shows a stage the workflow has not reached); failures become HTTP answers.
 */
async function withRetry<T>(deps: ApiDeps, caseId: string, stages: readonly string[], send: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      const type = failureOf(err)?.type;
      const retry = attempt < 15 && (type === StudyFailureType.Busy || (type === StudyFailureType.WrongStage && await readModelAllows(deps, caseId, stages)));
      if (!retry) throw toHttpError(err);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function readModelAllows(deps: ApiDeps, caseId: string, stages: readonly string[]): Promise<boolean> {
  const row = await deps.db('cases').where({ id: caseId }).first<{ stage: string } | undefined>('stage');
  return row !== undefined && stages.includes(row.stage);
}

function failureOf(err: unknown): ApplicationFailure | null {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  return cause instanceof ApplicationFailure ? cause : null;
}

// Maps the journey's refusals to HTTP: a bad survey field is 400, a request at the wrong step or a closed journey
// 409, a role the journey does not accept 403. Anything else stays a 500 (logged, never shown).
function toHttpError(err: unknown): unknown {
  if (err instanceof WorkflowNotFoundError) return new HttpError(409, 'journey_closed', 'This journey is no longer running');
  const failure = failureOf(err);
  if (!failure) return err;
  const detail = failure.details?.[0] as { field?: string; message?: string } | undefined;
  switch (failure.type) {
    case StudyFailureType.InvalidSurveyAnswer: {
      const field = detail?.field ?? '(body)';
      const message = detail?.message ?? failure.message;
      return new HttpError(400, 'invalid_request', `Invalid body: ${field}: ${message}`, [surveyProblem(field, message)]);
    }
    case StudyFailureType.WrongStage: return new HttpError(409, 'wrong_stage', failure.message);
    case StudyFailureType.Busy: return new HttpError(409, 'busy', failure.message);
    case StudyFailureType.NotAllowed: return new HttpError(403, 'forbidden', failure.message);
    case FailureType.AlreadyDecided: return new HttpError(409, 'already_answered', failure.message);
    case FailureType.StaleDecision: return new HttpError(409, 'journey_closed', failure.message);
    default: return err;
  }
}

/** The study part of a journey as the learner's page and API show it, read from the read model. */
export interface StudyView {
  caseId: string; stage: string; balanceCents: number; earmarkedCents: number;
  /** Spent on study that ended (completed or dropped out). */
  spentCents: number;
  /** The case is closed: the balance is then what was left unspent, no longer the learner's to use. */
  closed: boolean;
  /** How the programme pays: from the account's balance, free, or a co-payment by the learner (no balance to spend). */
  funding: ProgrammeRules['funding'];
  application: {
    applicationId: string; state: string; offerId: string; groupId: string; title: { lv: string; en: string }; place: string;
    startsOn: string; endsOn: string; costCents: number; earmarkedCents: number; learnerPaysCents: number;
    /** The cost less the learner's co-payment. */
    programmePaysCents: number;
    groupFormationDeadline: string; reason: string | null;
  } | null;
  canApply: boolean; canWithdraw: boolean;
  /** A place freed for this wait-listed learner (lib/waitlist.ts), open or decided; null when none was offered. */
  placeOffer: PlaceOfferView | null;
  survey: { kind: SurveyKind; open: boolean; answered: boolean } | null;
  /** Who acts next. */
  waitingFor: 'learner' | 'provider' | 'agency' | 'system' | 'nobody';
}

/** The current application, balance, earmark, survey and who acts next, for one of the learner's own cases. */
export async function studyView(deps: ApiDeps, learner: Session, caseId: string): Promise<StudyView | null> {
  const theCase = await deps.db('cases').join('learners', 'learners.id', 'cases.learnerId')
    .where({ 'learners.personCode': learner.subject, 'cases.id': caseId })
    .join('programmes', 'programmes.code', 'cases.programme')
    .first<{ id: string; stage: string; balanceCents: number; closedAt: Date | null; funding: ProgrammeRules['funding'] } | undefined>(
      'cases.id', 'cases.stage', 'cases.balanceCents', 'cases.closedAt', 'programmes.funding');
  if (!theCase) return null;
  const app = await deps.db('applications').join('offers', 'offers.id', 'applications.offerId')
    .join('offerGroups', 'offerGroups.id', 'applications.groupId').where('applications.caseId', caseId)
    .orderBy('applications.attempt', 'desc')
    .first<{
      id: string; state: string; offerId: string; groupId: string; titleLv: string; titleEn: string; place: string; startsOn: string;
      endsOn: string; costCents: number; earmarkedCents: number; learnerPaysCents: number; groupFormationDeadline: Date; reason: string | null;
    } | undefined>(
      'applications.id', 'applications.state', 'applications.offerId', 'applications.groupId', 'offers.titleLv', 'offers.titleEn',
      'offerGroups.place', deps.db.raw("to_char(offer_groups.starts_on, 'YYYY-MM-DD') as starts_on"),
      deps.db.raw("to_char(offer_groups.ends_on, 'YYYY-MM-DD') as ends_on"),
      'applications.costCents', 'applications.earmarkedCents', 'applications.learnerPaysCents', 'offers.groupFormationDeadline', 'applications.reason',
    );
  const [{ earmarked, spent }] = await deps.db('applications').where({ caseId })
    .sum<{ earmarked: string | null; spent: string | null }[]>({ earmarked: 'earmarkedCents', spent: 'spentCents' });
  const answered = (await deps.db('surveyAnswers').where({ caseId }).first('caseId')) !== undefined;
  const finished = app && (app.state === 'completed' || app.state === 'dropped_out');
  const open = theCase.closedAt === null;
  return {
    caseId, stage: theCase.stage, balanceCents: theCase.balanceCents, earmarkedCents: Number(earmarked ?? 0), spentCents: Number(spent ?? 0),
    closed: !open, funding: theCase.funding,
    application: app ? {
      applicationId: app.id, state: app.state, offerId: app.offerId, groupId: app.groupId, title: { lv: app.titleLv, en: app.titleEn },
      place: app.place, startsOn: app.startsOn, endsOn: app.endsOn, costCents: app.costCents, earmarkedCents: app.earmarkedCents,
      learnerPaysCents: app.learnerPaysCents, programmePaysCents: app.costCents - app.learnerPaysCents, groupFormationDeadline: new Date(app.groupFormationDeadline).toISOString(), reason: app.reason,
    } : null,
    canApply: open && inStages(theCase.stage, APPLY_STAGES),
    canWithdraw: open && inStages(theCase.stage, WITHDRAW_STAGES),
    placeOffer: await placeOfferView(deps.db, caseId),
    survey: finished ? { kind: app.state === 'completed' ? 'completion' : 'dropout', answered, open: open && !answered && inStages(theCase.stage, SURVEY_STAGES) } : null,
    waitingFor: open ? WAITING_FOR[theCase.stage] ?? 'system' : 'nobody',
  };
}

const WAITING_FOR: Record<string, StudyView['waitingFor']> = {
  registered: 'system', checking_eligibility: 'system', awaiting_approval: 'agency',
  imk_approved: 'learner', awaiting_application: 'learner', waitlisted: 'learner',
  applied: 'provider', studying: 'provider', completed: 'learner', dropped_out: 'learner',
};

// The journey checks a survey answer in English (domain/applications.ts validateSurveyAnswer); the page says the
// catalogue's rule for the field it names.
function surveyProblem(field: string, message: string): WordedProblem {
  const rule = field.startsWith('ratings') ? 'survey_rating' : field.startsWith('reasons') ? 'survey_reasons'
    : /describe/.test(message) ? 'survey_other_text' : 'string_max';
  const named = field.startsWith('reasons') ? 'reasons' : field;
  return { field: named, rule, message, words: ruleWords(named, rule, { maximum: 2000 }) };
}
