import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import { formatEuro } from '../../domain/money';
import { formatRigaTime } from '../../domain/dates';
import type { PageLanguage, Renderer } from '../../web/render';
import { translate } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderConfirmation, type ConfirmFact } from '../confirmations';
import { enrolmentDecisionSchema, studyOutcomeSchema, withdrawalSchema } from '../schemas';
import { getCatalogueOffer } from '../services/catalogue';
import { providerApplication } from '../services/provider';
import { studyView, type StudyView } from '../services/study';
import { formatRigaDay } from '../../domain/dates';

/**
 * The confirmation pages (api/confirmations.ts) of the actions that move money or cannot be undone: what the person
 * chose, what it costs and who pays, and what happens next. Each reads the answers from its query and the facts
 * from the read model; answers that no longer fit (a closed window, a decided application) send the person back to
 * the page that says where things stand, and nothing is done.
 */

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function back(ctx: Context, href: string): void {
  ctx.status = 303;
  ctx.redirect(href);
}

/** The study view of one of the learner's own journeys; someone else's case is not found (404), at every door. */
export async function ownStudy(ctx: Context, deps: ApiDeps, caseId: string) {
  const study = await studyView(deps, currentSession(ctx), caseId);
  if (!study) throw new HttpError(404, 'journey_not_found', 'You have no journey with this id');
  return study;
}

/** Where an application is made from: the learner's own journey page, or a coordinator's page on their behalf. */
export interface ApplyingFor {
  /** The case as the caller may see it (someone else's is not found before this is asked). */
  study: { canApply: boolean; funding: StudyView['funding']; balanceCents: number };
  /** The action the confirmation's form posts to. */
  action: string;
  /** The page that shows the outcome (`?notice=`), and where "Change" leads when no offer page is meant. */
  home: string;
  /** Whose account it is, said on the page when someone applies on another's behalf. */
  learnerName?: string;
}

/** Apply: the course, the group and its dates, the cost, who pays what, and the account's balance before and after. */
export async function applyConfirmation(ctx: Context, deps: ApiDeps, renderer: Renderer, answers: Record<string, string>, applying: ApplyingFor): Promise<void> {
  const lang = ctx.state.lang as PageLanguage;
  const money = (cents: number) => formatEuro(cents, lang);
  const { study, home } = applying;
  if (!study.canApply) return back(ctx, `${home}?notice=wrong_stage`);
  const offer = uuid.test(answers.offerId ?? '') ? await getCatalogueOffer(deps, answers.offerId!) : null;
  if (!offer) return back(ctx, `${home}?notice=refused&reason=offer_not_found`);
  const group = offer.groups.find((g) => g.groupId === answers.groupId);
  if (!group) return back(ctx, `${home}?notice=refused&reason=group_not_in_offer`);
  const { programmePaysCents, learnerPaysCents } = offer.share;
  const change = applying.learnerName ? home : `/catalogue/${offer.offerId}`;
  const fromAccount = study.funding === 'account' ? offer.costCents : 0;
  const facts: ConfirmFact[] = [
    ...(applying.learnerName ? [{ label: translate(lang, 'confirm.learner'), value: applying.learnerName, testId: 'confirm-learner' }] : []),
    { label: translate(lang, 'offers.offer'), value: offer.title[lang], changeHref: change, testId: 'confirm-offer' },
    { label: translate(lang, 'confirm.provider'), value: offer.provider },
    { label: translate(lang, 'offers.place'), value: group.place, changeHref: change },
    { label: translate(lang, 'offers.dates'), value: `${formatRigaDay(group.startsOn, lang)} – ${formatRigaDay(group.endsOn, lang)}` },
    { label: translate(lang, 'offers.cost'), value: money(offer.costCents), testId: 'confirm-cost' },
    { label: translate(lang, 'copay.programmePays'), value: money(programmePaysCents), testId: 'confirm-programme-pays' },
    { label: translate(lang, 'journey.learnerPays'), value: money(learnerPaysCents), testId: 'confirm-learner-pays' },
    ...(study.funding === 'account' ? [
      { label: translate(lang, 'confirm.apply.balanceNow'), value: money(study.balanceCents) },
      { label: translate(lang, 'confirm.apply.balanceAfter'), value: money(study.balanceCents - fromAccount), testId: 'confirm-balance-after' },
    ] : []),
  ];
  const effects = [
    study.funding === 'account' ? translate(lang, 'confirm.apply.effect.account', { amount: money(fromAccount) })
      : study.funding === 'copay' ? translate(lang, 'confirm.apply.effect.copay', { learner: money(learnerPaysCents), programme: money(programmePaysCents) })
        : translate(lang, 'confirm.apply.effect.free'),
    ...(study.funding === 'account' && study.balanceCents < fromAccount ? [translate(lang, 'confirm.apply.short')] : []),
    translate(lang, 'confirm.apply.next', { deadline: formatRigaTime(offer.groupFormationDeadline, lang) }),
    translate(lang, 'confirm.apply.undo'),
  ];
  renderConfirmation(ctx, renderer, {
    titleKey: applying.learnerName ? 'confirm.apply.titleOnBehalf' : 'confirm.apply.title', intro: translate(lang, 'confirm.apply.intro'), facts, effects,
    action: applying.action,
    // The first form's request id, or a new one: a double click or a resubmitted confirmation is then one application.
    answers: { requestId: uuid.test(answers.requestId ?? '') ? answers.requestId! : randomUUID(), offerId: offer.offerId, groupId: group.groupId },
    submitText: translate(lang, 'confirm.apply.submit'), backHref: applying.learnerName ? home : change,
  });
}

/** Withdraw: what the learner leaves, and whether the reserved money returns (before enrolment) or is spent (after). */
export async function withdrawConfirmation(ctx: Context, deps: ApiDeps, renderer: Renderer, caseId: string, answers: Record<string, string>): Promise<void> {
  const lang = ctx.state.lang as PageLanguage;
  const journey = `/learner/journeys/${caseId}`;
  const study = await ownStudy(ctx, deps, caseId);
  const parsed = withdrawalSchema.safeParse({ reason: answers.reason || undefined, ...(uuid.test(answers.requestId ?? '') ? { requestId: answers.requestId } : {}) });
  const app = study.application;
  if (!study.canWithdraw || !app || !parsed.success) return back(ctx, `${journey}?notice=wrong_stage`);
  const studying = study.stage === 'studying';
  const amount = formatEuro(app.earmarkedCents, lang);
  const facts: ConfirmFact[] = [
    { label: translate(lang, 'offers.offer'), value: app.title[lang], testId: 'confirm-offer' },
    { label: translate(lang, 'offers.place'), value: app.place },
    { label: translate(lang, 'offers.dates'), value: `${formatRigaDay(app.startsOn, lang)} – ${formatRigaDay(app.endsOn, lang)}` },
    { label: translate(lang, 'journey.applicationState'), value: translate(lang, `application.state.${app.state}`) },
    { label: translate(lang, 'confirm.reason'), value: parsed.data.reason || translate(lang, 'confirm.none'), changeHref: `${journey}#withdraw-heading` },
  ];
  const money = app.earmarkedCents > 0
    ? translate(lang, studying ? 'confirm.withdraw.effect.forfeited' : 'confirm.withdraw.effect.returned', { amount })
    : translate(lang, 'confirm.withdraw.effect.nothingReserved');
  renderConfirmation(ctx, renderer, {
    titleKey: 'confirm.withdraw.title', intro: translate(lang, studying ? 'confirm.withdraw.intro.studying' : 'confirm.withdraw.intro.applied'), facts,
    effects: [money, translate(lang, studying ? 'confirm.withdraw.next.studying' : 'confirm.withdraw.next.applied'), translate(lang, 'confirm.cannotUndo')],
    action: `${journey}/withdrawal`,
    answers: { requestId: parsed.data.requestId ?? randomUUID(), ...(parsed.data.reason ? { reason: parsed.data.reason } : {}) },
    submitText: translate(lang, 'confirm.withdraw.submit'), backHref: journey, warning: true,
  });
}

/** Decline a freed place: it goes to the next person on the wait-list at once. */
export async function placeDeclineConfirmation(ctx: Context, deps: ApiDeps, renderer: Renderer, caseId: string): Promise<void> {
  const lang = ctx.state.lang as PageLanguage;
  const journey = `/learner/journeys/${caseId}`;
  const study = await ownStudy(ctx, deps, caseId);
  const offer = study.placeOffer;
  if (!offer || offer.state !== 'offered') return back(ctx, `${journey}?notice=no_place_offer`);
  renderConfirmation(ctx, renderer, {
    titleKey: 'confirm.placeDecline.title', intro: translate(lang, 'confirm.placeDecline.intro'),
    facts: [
      { label: translate(lang, 'offers.offer'), value: offer.title[lang], testId: 'confirm-offer' },
      { label: translate(lang, 'placeOffer.due'), value: formatRigaTime(offer.dueAt, lang) },
    ],
    effects: [translate(lang, 'confirm.placeDecline.effect'), translate(lang, 'confirm.cannotUndo')],
    action: `${journey}/place-offer/decline`, answers: {},
    submitText: translate(lang, 'confirm.placeDecline.submit'), backHref: journey, warning: true,
  });
}

/** The provider's enrolment decision: the learner, the group, and what enrolling or declining does to the money. */
export async function decisionConfirmation(ctx: Context, deps: ApiDeps, renderer: Renderer, applicationId: string, answers: Record<string, string>): Promise<void> {
  const lang = ctx.state.lang as PageLanguage;
  const parsed = enrolmentDecisionSchema.safeParse(answers);
  const app = await providerApplication(deps, currentSession(ctx), applicationId);
  // A changed mind or a stale link: the workspace, where the form shows the problem or the application's state.
  if (!parsed.success || app.state !== 'applied') return back(ctx, `/provider#application-${applicationId}`);
  const { decision, reason, groupId } = parsed.data;
  const group = groupId && groupId !== app.groupId
    ? await deps.db('offerGroups').where({ id: groupId, offerId: app.offerId })
      .first<{ place: string; startsOn: string } | undefined>('place', deps.db.raw("to_char(starts_on, 'YYYY-MM-DD') as starts_on"))
    : { place: app.place, startsOn: app.startsOn };
  if (!group) return back(ctx, `/provider#application-${applicationId}`);
  const change = `/provider#application-${applicationId}`;
  const enrol = decision === 'enrol';
  renderConfirmation(ctx, renderer, {
    titleKey: enrol ? 'confirm.enrol.title' : 'confirm.decline.title', intro: translate(lang, 'confirm.decision.intro'),
    facts: [
      { label: translate(lang, 'confirm.learner'), value: app.learnerName, testId: 'confirm-learner' },
      { label: translate(lang, 'provider.offer'), value: app.offerTitle[lang] },
      { label: translate(lang, 'confirm.decision'), value: translate(lang, enrol ? 'provider.enrol' : 'provider.decline'), changeHref: change, testId: 'confirm-decision' },
      ...(enrol ? [{ label: translate(lang, 'provider.group'), value: `${group.place}, ${formatRigaDay(group.startsOn, lang)}`, changeHref: change }] : []),
      { label: translate(lang, 'confirm.reason'), value: reason || translate(lang, 'confirm.none'), changeHref: change },
    ],
    effects: enrol
      ? [translate(lang, 'confirm.enrol.effect'), translate(lang, 'confirm.enrol.next')]
      : [
        app.earmarkedCents > 0 ? translate(lang, 'confirm.decline.effect', { amount: formatEuro(app.earmarkedCents, lang) }) : translate(lang, 'confirm.decline.effectNoMoney'),
        translate(lang, 'confirm.cannotUndo'),
      ],
    action: `/provider/applications/${applicationId}/decision`,
    answers: { decision, ...(reason ? { reason } : {}), ...(enrol && groupId ? { groupId } : {}) },
    submitText: translate(lang, enrol ? 'confirm.enrol.submit' : 'confirm.decline.submit'), backHref: change, warning: !enrol,
  });
}

/** The provider's report of completion (the reserved money is spent) or dropout. */
export async function outcomeConfirmation(ctx: Context, deps: ApiDeps, renderer: Renderer, applicationId: string, answers: Record<string, string>): Promise<void> {
  const lang = ctx.state.lang as PageLanguage;
  const parsed = studyOutcomeSchema.safeParse(answers);
  const app = await providerApplication(deps, currentSession(ctx), applicationId);
  if (!parsed.success || app.state !== 'enrolled') return back(ctx, `/provider#application-${applicationId}`);
  const { outcome, reason } = parsed.data;
  const change = `/provider#application-${applicationId}`;
  const completed = outcome === 'completed';
  renderConfirmation(ctx, renderer, {
    titleKey: completed ? 'confirm.completed.title' : 'confirm.droppedOut.title', intro: translate(lang, 'confirm.outcome.intro'),
    facts: [
      { label: translate(lang, 'confirm.learner'), value: app.learnerName, testId: 'confirm-learner' },
      { label: translate(lang, 'provider.offer'), value: app.offerTitle[lang] },
      { label: translate(lang, 'provider.group'), value: `${app.place}, ${formatRigaDay(app.startsOn, lang)} – ${formatRigaDay(app.endsOn, lang)}` },
      { label: translate(lang, 'confirm.outcome'), value: translate(lang, completed ? 'provider.completed' : 'provider.droppedOut'), changeHref: change, testId: 'confirm-outcome' },
      { label: translate(lang, 'confirm.comment'), value: reason || translate(lang, 'confirm.none'), changeHref: change },
      { label: translate(lang, 'offers.cost'), value: formatEuro(app.costCents, lang), testId: 'confirm-cost' },
    ],
    effects: [
      app.earmarkedCents > 0
        ? translate(lang, completed ? 'confirm.completed.effect' : 'confirm.droppedOut.effect', { amount: formatEuro(app.earmarkedCents, lang) })
        : translate(lang, completed ? 'confirm.completed.effectNoMoney' : 'confirm.droppedOut.effectNoMoney'),
      translate(lang, 'confirm.outcome.next'), translate(lang, 'confirm.cannotUndo'),
    ],
    action: `/provider/applications/${applicationId}/outcome`,
    answers: { outcome, ...(reason ? { reason } : {}) },
    submitText: translate(lang, completed ? 'confirm.completed.submit' : 'confirm.droppedOut.submit'), backHref: change, warning: true,
  });
}
