import type { Cents } from './money';
import type { ProgrammeRules } from './programmes';

/** Where one application stands. `applied` and `enrolled` are the active states (one per case at a time). */
export type ApplicationState =
  | 'applied' | 'waitlisted' | 'refused' | 'enrolled' | 'declined' | 'timed_out' | 'withdrawn' | 'completed' | 'dropped_out';

/** What a programme does with an application past its cap. */
export type OverCapRule = 'waitlist' | 'refuse';

/** Why an application was not accepted; stable codes the web layer turns into words. */
export type ApplicationRefusal =
  | 'offer_not_found' | 'offer_not_published' | 'group_not_in_offer' | 'other_programme'
  | 'window_not_open' | 'window_closed' | 'programme_window_not_open' | 'programme_window_closed'
  | 'group_full' | 'insufficient_balance' | 'cap_reached';

/** What the learner is told at once when they apply. */
export type ApplyOutcome = 'applied' | 'waitlisted' | 'refused';

/** Failure types of the study part of the journey (Update refusals the API maps to 409 / 400). */
export const StudyFailureType = {
  /** The provider tried to enrol into a group that is already full. */
  GroupFull: 'GroupFull',
  /** A survey answer with a bad field; details name the field. */
  InvalidSurveyAnswer: 'InvalidSurveyAnswer',
  /** The journey is not at a step where this request makes sense (e.g. applying while an application is open). */
  WrongStage: 'WrongStage',
  /** The actor's role may not make this request (e.g. a learner reporting completion). */
  NotAllowed: 'NotAllowed',
  /** Another request of this kind is being processed right now; try again in a moment. */
  Busy: 'Busy',
  /** Completion reported before the group's last day, or dropout before its first: nothing may be spent yet. */
  OutcomeTooEarly: 'OutcomeTooEarly',
} as const;

/** Why a study outcome cannot be reported yet, and from which day (YYYY-MM-DD, Riga) it can. */
export interface OutcomeTooEarly { rule: 'completion_from_end_date' | 'dropout_from_start_date'; from: string }

/**
 * Whether the provider may report an outcome today (YYYY-MM-DD in Riga): completion from the group's end date
 * itself (the last day's lessons may end in the morning; waiting a day would only delay the survey), dropout from
 * its start date (before it, the learner has not started, so nothing of the earmark may be spent). Null when it may.
 */
export function outcomeTooEarly(
  outcome: 'completed' | 'dropped_out', group: { startsOn: string; endsOn: string }, today: string,
): OutcomeTooEarly | null {
  if (outcome === 'completed' && today < group.endsOn) return { rule: 'completion_from_end_date', from: group.endsOn };
  if (outcome === 'dropped_out' && today < group.startsOn) return { rule: 'dropout_from_start_date', from: group.startsOn };
  return null;
}

/** The facts an application is judged on, gathered by the activity inside its transaction. */
export interface ApplicationFacts {
  now: Date;
  caseProgramme: string;
  funding: ProgrammeRules['funding'];
  balanceCents: Cents;
  programme: { applicationsOpenAt: Date | null; applicationsCloseAt: Date | null };
  offer: {
    programme: string; published: boolean; costCents: Cents; copayPercent: number | null;
    applicationsOpenAt: Date; applicationsCloseAt: Date;
  } | null;
  group: { offerMatches: boolean; capacity: number; enrolled: number } | null;
}

/** The part of an offer's cost the learning account pays, and the part the learner pays themselves. */
export interface CostShare { fromAccountCents: Cents; learnerPaysCents: Cents }

/**
 * How an offer's cost is split. 'account' (IMK): the account pays the full cost; 'free': nobody pays;
 * 'copay' (MN): the learner pays the offer's percentage (rounded half up to whole cents), the programme the rest,
 * and no account balance is used.
 */
export function costShare(funding: ProgrammeRules['funding'], costCents: Cents, copayPercent: number | null): CostShare {
  if (!Number.isInteger(costCents) || costCents < 0) throw new RangeError(`cost must be non-negative integer cents, got ${costCents}`);
  if (funding === 'account') return { fromAccountCents: costCents, learnerPaysCents: 0 };
  if (funding === 'free') return { fromAccountCents: 0, learnerPaysCents: 0 };
  const percent = copayPercent ?? 0;
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new RangeError(`copay percent must be 0-100, got ${percent}`);
  // Integer arithmetic: cents × percent is exact; +50 then floor-divide rounds half up.
  return { fromAccountCents: 0, learnerPaysCents: Math.floor((costCents * percent + 50) / 100) };
}

/**
 * Whether an application may be accepted, before the programme's cap is consulted: the offer is published and of
 * the case's programme, the group belongs to it and has room, today is inside both the offer's and the
 * programme's application windows (open inclusive, close exclusive) and the account can cover its share.
 */
export function checkApplication(facts: ApplicationFacts): { ok: true; share: CostShare } | { ok: false; reason: ApplicationRefusal } {
  const { offer, group, now } = facts;
  if (!offer) return { ok: false, reason: 'offer_not_found' };
  if (!offer.published) return { ok: false, reason: 'offer_not_published' };
  if (offer.programme !== facts.caseProgramme) return { ok: false, reason: 'other_programme' };
  if (!group || !group.offerMatches) return { ok: false, reason: 'group_not_in_offer' };
  const t = now.getTime();
  if (facts.programme.applicationsOpenAt && t < facts.programme.applicationsOpenAt.getTime()) return { ok: false, reason: 'programme_window_not_open' };
  if (facts.programme.applicationsCloseAt && t >= facts.programme.applicationsCloseAt.getTime()) return { ok: false, reason: 'programme_window_closed' };
  if (t < offer.applicationsOpenAt.getTime()) return { ok: false, reason: 'window_not_open' };
  if (t >= offer.applicationsCloseAt.getTime()) return { ok: false, reason: 'window_closed' };
  if (group.enrolled >= group.capacity) return { ok: false, reason: 'group_full' };
  const share = costShare(facts.funding, offer.costCents, offer.copayPercent);
  if (share.fromAccountCents > facts.balanceCents) return { ok: false, reason: 'insufficient_balance' };
  return { ok: true, share };
}

/** The aspects completers rate, 1-5 stars each (seed 001, the agency's survey). */
export const SURVEY_ASPECTS = ['knowledge_and_skills', 'organisation_of_learning', 'teachers'] as const;
/** One rated aspect. */
export type SurveyAspect = (typeof SURVEY_ASPECTS)[number];

/** The reasons dropouts may choose, several allowed (seed 001); 'other' comes with free text. */
export const DROPOUT_REASONS = [
  'content_not_satisfying', 'hard_to_learn', 'no_time', 'personal_reasons', 'teachers', 'job_or_career_change',
  'lost_motivation', 'organisation_of_learning', 'technical_means', 'employer_support', 'other',
] as const;
/** One dropout reason. */
export type DropoutReason = (typeof DROPOUT_REASONS)[number];

/** Which survey a learner gets: completers rate, dropouts give reasons. */
export type SurveyKind = 'completion' | 'dropout';

/** A survey answer as the learner sends it. */
export interface SurveyAnswer {
  ratings?: Partial<Record<string, number>>;
  reasons?: string[];
  otherText?: string | null;
}

/** A problem with a survey answer, naming the field. */
export interface SurveyProblem { field: string; message: string }

const MAX_OTHER_TEXT = 2000;

/**
 * Checks a survey answer: completers rate every aspect with a whole number 1-5 (no unknown aspects, no
 * reasons); dropouts choose one or more known reasons without repeats, and describe 'other' in free text.
 * Returns the first problem, or null when the answer is fine.
 */
export function validateSurveyAnswer(kind: SurveyKind, answer: SurveyAnswer): SurveyProblem | null {
  const other = answer.otherText ?? null;
  if (other !== null && (typeof other !== 'string' || other.length > MAX_OTHER_TEXT)) {
    return { field: 'otherText', message: `must be text of at most ${MAX_OTHER_TEXT} characters` };
  }
  if (kind === 'completion') {
    const ratings = answer.ratings ?? {};
    if (typeof ratings !== 'object' || ratings === null || Array.isArray(ratings)) return { field: 'ratings', message: 'must be an object of aspect → 1-5' };
    for (const key of Object.keys(ratings)) {
      if (!(SURVEY_ASPECTS as readonly string[]).includes(key)) return { field: `ratings.${key}`, message: `unknown aspect; known: ${SURVEY_ASPECTS.join(', ')}` };
    }
    for (const aspect of SURVEY_ASPECTS) {
      const value = ratings[aspect];
      if (value === undefined || value === null) return { field: `ratings.${aspect}`, message: 'is required (1-5 stars)' };
      if (!Number.isInteger(value) || value < 1 || value > 5) return { field: `ratings.${aspect}`, message: 'must be a whole number from 1 to 5' };
    }
    if (answer.reasons && answer.reasons.length > 0) return { field: 'reasons', message: 'are asked of dropouts only' };
    return null;
  }
  const reasons = answer.reasons ?? [];
  if (!Array.isArray(reasons) || reasons.length === 0) return { field: 'reasons', message: 'choose at least one reason' };
  for (const [i, reason] of reasons.entries()) {
    if (!(DROPOUT_REASONS as readonly string[]).includes(reason)) return { field: `reasons[${i}]`, message: `unknown reason; known: ${DROPOUT_REASONS.join(', ')}` };
    if (reasons.indexOf(reason) !== i) return { field: `reasons[${i}]`, message: 'is repeated' };
  }
  if (reasons.includes('other') && (other === null || other.trim() === '')) return { field: 'otherText', message: 'describe the other reason' };
  if (answer.ratings && Object.keys(answer.ratings).length > 0) return { field: 'ratings', message: 'are asked of completers only' };
  return null;
}

/** The reason a learner reads when the provider did not confirm their enrolment by the deadline. */
export function enrolmentTimeoutReason(language: 'lv' | 'en', deadline: string): string {
  return language === 'lv'
    ? `Izglītības iestāde līdz grupu veidošanas termiņam (${deadline}) neapstiprināja Jūsu uzņemšanu grupā.`
    : `The education provider did not confirm your place in the group by the group-formation deadline (${deadline}).`;
}
