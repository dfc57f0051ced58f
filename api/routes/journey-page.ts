import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import { DROPOUT_REASONS, SURVEY_ASPECTS } from '../../domain/applications';
import { describeIneligibility, type EligibilityDecision } from '../../domain/eligibility';
import type { Renderer, PageLanguage } from '../../web/render';
import { translate } from '../../web/render';
import type { ApiDeps } from '../deps';
import { liveBlockOfCase } from '../../lib/account-blocks';
import { blockNotice } from '../services/account-access';
import { HttpError } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { caseParams } from '../schemas';
import { isBeingOpened } from '../services/journey-reservations';
import { getJourney, type JourneyView } from '../services/journeys';
import { outcomeMessage, studyView } from '../services/study';
import { keptForm } from '../form-state';

/** Notices a form's redirect may ask the journey page to show (anything else in ?notice= is ignored). */
const NOTICES = [
  'applied', 'waitlisted', 'refused', 'withdrawn', 'withdrawn_application', 'withdrawn_study', 'survey_answered', 'wrong_stage', 'busy', 'journey_closed',
  'place_declined', 'no_place_offer',
] as const;
const REFUSALS = [
  'offer_not_found', 'offer_not_published', 'group_not_in_offer', 'other_programme', 'window_not_open', 'window_closed',
  'programme_window_not_open', 'programme_window_closed', 'group_full', 'insufficient_balance', 'cap_reached',
];

/** What a form post hands back to the page: the values sent and the problems found, by field. */
export interface FormState { form?: Record<string, string>; errors?: Record<string, string>; formError?: string }

/**
 * Renders the learner's journey page: the stage in words, who acts next, the current application with its money
 * and deadline, the timeline, and the withdrawal and survey forms when they apply.
 */
export async function journeyPage(ctx: Context, deps: ApiDeps, renderer: Renderer, given: FormState = {}): Promise<void> {
  const state = keptForm(ctx, 'journey', given);
  const params = caseParams.safeParse(ctx.params);
  if (!params.success) throw new HttpError(404, 'not_found', 'No such page');
  const session = currentSession(ctx);
  const journey = await getJourney(deps, session, params.data.caseId);
  if (!journey) {
    // Not (yet) in the read model: the first activity may still be running. Only the learner whose start reserved
    // this case id is told so (as the JSON API does); any other id, e.g. another person's case, is not found, rather
    // than a page that waits for it forever.
    if (!(await isBeingOpened(deps, session.subject, params.data.caseId))) throw new HttpError(404, 'journey_not_found', 'You have no journey with this id');
    renderPage(ctx, renderer, 'journey-opening', 'journey.opening', { refreshSeconds: 2 });
    return;
  }
  const lang = ctx.state.lang as PageLanguage;
  const study = (await studyView(deps, session, journey.caseId))!;
  // While the system itself is working (registry check), the page refreshes so the learner sees the outcome.
  const systemWorking = journey.stage === 'registered' || journey.stage === 'checking_eligibility';
  const app = study.application;
  const errors = state.errors ?? {};
  const form = state.form ?? {};
  // A blocked learner's journey waits: the page says why, and offers no application until reinstated.
  const block = await liveBlockOfCase(deps.db, journey.caseId);
  renderPage(ctx, renderer, 'journey', 'journey.title', {
    journey, reason: reasonText(journey, lang), refreshSeconds: systemWorking ? 2 : null,
    // The outcome of the learner's last action (post/redirect/get), in the one success-message panel.
    done: ((text) => (text ? { text } : null))(notice(ctx, lang)),
    blockNotice: blockNotice(block, session.role === 'learner' ? 'own' : 'person', lang, 'blocks.notice.learner'),
    study: block ? { ...study, canApply: false } : study,
    // A co-payment programme has no balance to spend: "0,00 EUR" would read as "nothing to pay with" (issue 15, item 12).
    copay: study.funding === 'copay',
    // A closed account shows no live balance: it says what was spent and what happened to the rest.
    showMoney: !study.closed && study.funding !== 'copay' && (study.balanceCents > 0 || study.earmarkedCents > 0 || study.spentCents > 0 || journey.stage === 'imk_approved'),
    closedMoney: study.closed && study.funding === 'account' && (study.balanceCents > 0 || study.spentCents > 0),
    application: app ? {
      ...app, titleText: app.title[lang],
      waitingForProvider: app.state === 'applied', stateText: translate(lang, `application.state.${app.state}`),
      reasonText: app.reason ? translate(lang, `refusal.${app.reason}`) : null,
    } : null,
    placeOffer: study.placeOffer ? {
      ...study.placeOffer, titleText: study.placeOffer.title[lang], open: study.placeOffer.state === 'offered' && study.canApply,
      stateText: translate(lang, `placeOffer.state.${study.placeOffer.state}`), applyRequestId: randomUUID(),
    } : null,
    survey: study.survey?.open ? {
      completion: study.survey.kind === 'completion',
      aspects: SURVEY_ASPECTS.map((code) => ({
        code, label: translate(lang, `survey.aspect.${code}`), error: errors[`ratings.${code}`],
        stars: [1, 2, 3, 4, 5].map((n) => ({ n, checked: form[`rating_${code}`] === String(n) })),
      })),
      reasons: DROPOUT_REASONS.map((code) => ({ code, label: translate(lang, `survey.reason.${code}`), checked: form[`reason_${code}`] === 'on' })),
      reasonsError: Object.entries(errors).find(([field]) => field.startsWith('reasons'))?.[1],
      ratingsError: errors.ratings,
      otherText: form.otherText ?? '', otherTextError: errors.otherText,
    } : null,
    formError: state.formError,
    hasErrors: Object.keys(errors).length > 0,
    // The summary links each survey problem to its question: a rating to its first star, the reasons to the first box.
    formErrors: { errors, ids: Object.fromEntries(Object.keys(errors).map((field) => [field, surveyFieldId(field)])) },
    requestId: form.requestId ?? randomUUID(),
  }, { id: journey.serviceCaseId });
}

function notice(ctx: Context, lang: PageLanguage): string | null {
  const code = typeof ctx.query.notice === 'string' ? ctx.query.notice : null;
  if (!code || !(NOTICES as readonly string[]).includes(code)) return null;
  if (code === 'applied' || code === 'waitlisted') return outcomeMessage(lang, code, null);
  if (code === 'refused') {
    const reason = typeof ctx.query.reason === 'string' && REFUSALS.includes(ctx.query.reason) ? ctx.query.reason : null;
    return outcomeMessage(lang, 'refused', reason);
  }
  return translate(lang, `notice.${code}`);
}

// The learner reads why a journey closed in their own words: ineligibility explained, or the staff comment.
function reasonText(journey: JourneyView, lang: PageLanguage): string | null {
  if (journey.stage === 'imk_rejected') return journey.outcomeReason;
  const eligibility = journey.events.find((e) => e.step === 'eligibility');
  if (journey.stage !== 'not_eligible' || !eligibility) return null;
  return describeIneligibility(eligibility.details as unknown as EligibilityDecision, lang);
}

// The id of the input a survey problem is about (web/views/journey.hbs): `ratings.<aspect>` → `rating_<aspect>`,
// all ratings → the first aspect's, `reasons.<n>` → the reasons' first box; other fields have their own name as id.
function surveyFieldId(field: string): string {
  if (field === 'ratings') return `rating_${SURVEY_ASPECTS[0]}`;
  if (field.startsWith('ratings.')) return `rating_${field.slice('ratings.'.length)}`;
  if (field.startsWith('reasons')) return 'reasons';
  return field;
}
