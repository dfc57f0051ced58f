import { ageOn } from './dates';
import type { ProgrammeRules } from './programmes';
import { statusOn, type SocialStatusRecord } from './social-status';

/** What the Population Register told us about a person, as far as eligibility cares. */
export interface PersonFacts {
  personCode: string;
  birthDate: string;
  deceased: boolean;
}

/** Why a person is not eligible; stable codes shown to staff and mapped to words for learners. */
export type IneligibleReason =
  | 'deceased' | 'under_min_age' | 'over_max_age' | 'no_social_status' | 'outside_coordinator_municipality'
  | 'not_in_population_register';

/** A finding that does not rule a person out but needs agency staff to look (the account is not approved automatically). */
export type ReviewReason = 'social_status_expired' | 'social_status_unchecked';

/**
 * SOPA refused the query (a 4xx: a question it will never answer, e.g. the operator's identity is missing): the
 * status could not be checked. That is our side's problem, not the person's, so staff decide (see checkEligibility).
 */
export const SOCIAL_STATUS_UNCHECKED = 'unchecked';

/** The decision with the facts and the rule that made it, stored so staff can see why. */
export interface EligibilityDecision {
  eligible: boolean;
  reason: IneligibleReason | null;
  /** Findings for staff to review; empty when every check passed cleanly. */
  review: ReviewReason[];
  /** The rule that decided, in words, e.g. "age 18 or over on the application date". */
  rule: string;
  facts: {
    /** Null when the Population Register does not know the person (nothing to compute it from). */
    onDate: string; age: number | null; deceased: boolean; programme: string; minAge: number; maxAge: number | null;
    /** The SOPA status valid on the day, when the programme uses it; undefined when SOPA was not asked. */
    socialStatus?: SocialStatusRecord['status'] | null;
  };
}

/**
 * Decides whether a person may have an account in a programme on a given day (YYYY-MM-DD, Riga). The SOPA
 * records are passed when the programme uses social status; a record counts only if it covers that day.
 */
export function checkEligibility(
  person: PersonFacts, programme: ProgrammeRules, onDate: string,
  socialStatusAnswer?: readonly SocialStatusRecord[] | typeof SOCIAL_STATUS_UNCHECKED,
): EligibilityDecision {
  const age = ageOn(person.birthDate, onDate);
  const unchecked = socialStatusAnswer === SOCIAL_STATUS_UNCHECKED;
  const socialStatuses = unchecked ? undefined : socialStatusAnswer;
  const facts: EligibilityDecision['facts'] = {
    onDate, age, deceased: person.deceased, programme: programme.code, minAge: programme.minAge, maxAge: programme.maxAge,
    ...(socialStatuses ? { socialStatus: statusOn(socialStatuses, onDate) } : {}),
    ...(unchecked ? { socialStatus: null } : {}),
  };
  const ageRule = programme.maxAge === null
    ? `age ${programme.minAge} or over on the application date`
    : `age ${programme.minAge} to ${programme.maxAge} on the application date`;
  const refuse = (reason: IneligibleReason, rule: string): EligibilityDecision => ({ eligible: false, reason, review: [], rule, facts });
  if (person.deceased) return refuse('deceased', 'the person must be alive per the Population Register');
  if (age < programme.minAge) return refuse('under_min_age', ageRule);
  if (programme.maxAge !== null && age > programme.maxAge) return refuse('over_max_age', ageRule);
  const review: ReviewReason[] = [];
  if (unchecked) {
    // Refusing the person for our own failed query would be wrong, and retrying cannot help: a person decides.
    review.push('social_status_unchecked');
    return { eligible: true, reason: null, review, rule: `alive and ${ageRule}; social status (SOPA) could not be checked: check it by hand`, facts };
  }
  if (programme.socialStatusRule === 'required' && !facts.socialStatus) {
    // A status that lapsed may have been renewed before the municipality's register shows it: a person decides.
    // No status ever recorded rules the person out.
    if (!socialStatuses || socialStatuses.length === 0) {
      return refuse('no_social_status', 'a poor or low-income household status (SOPA) valid on the application date');
    }
    review.push('social_status_expired');
  }
  const statusRule = programme.socialStatusRule === 'required' ? ' with a valid poor or low-income status' : '';
  return { eligible: true, reason: null, review, rule: `alive and ${ageRule}${statusRule}`, facts };
}

/**
 * The decision when the Population Register does not know the person code: not eligible, the case closes (so the
 * person may register again, e.g. with a corrected code) and the learner is told why.
 */
export function notInPopulationRegister(programme: ProgrammeRules, onDate: string): EligibilityDecision {
  return {
    eligible: false, reason: 'not_in_population_register', review: [],
    rule: 'the person must be recorded in the Population Register',
    facts: { onDate, age: null, deceased: false, programme: programme.code, minAge: programme.minAge, maxAge: programme.maxAge },
  };
}

/**
 * A decision's rule (the English `rule` recorded with it, written above) in the reader's language, for the
 * not-eligible e-mail's "condition" line. The patterns follow the rule texts made in this file; a rule written
 * some other way is returned as it is.
 */
export function describeRule(rule: string, language: 'lv' | 'en'): string {
  if (language === 'en') return rule;
  const lv: [RegExp, (m: RegExpMatchArray) => string][] = [
    [/^the person must be alive per the Population Register$/, () => 'persona saskaņā ar Iedzīvotāju reģistru ir dzīva'],
    [/^age (\d+) or over on the application date$/, (m) => `pieteikuma dienā ${m[1]} gadi vai vairāk`],
    [/^age (\d+) to (\d+) on the application date$/, (m) => `pieteikuma dienā no ${m[1]} līdz ${m[2]} gadiem`],
    [/^a poor or low-income household status \(SOPA\) valid on the application date$/, () => 'pieteikuma dienā spēkā esošs trūcīgas vai maznodrošinātas mājsaimniecības statuss (SOPA)'],
    [/^the person must be recorded in the Population Register$/, () => 'persona ir reģistrēta Iedzīvotāju reģistrā'],
    [/^a coordinator of (.+) may register only people whose declared address is there$/, (m) => `pašvaldības „${m[1]}” koordinators var reģistrēt tikai personas, kuru deklarētā dzīvesvieta ir šajā pašvaldībā`],
  ];
  // An eligible decision's rule: "alive and <age rule>[ with a valid poor or low-income status][; SOPA unchecked]".
  const alive = rule.match(/^alive and (.+?)( with a valid poor or low-income status)?(; social status \(SOPA\) could not be checked: check it by hand)?$/);
  if (alive) {
    const age = describeRule(alive[1]!, 'lv');
    if (age === alive[1]) return rule;
    return `persona ir dzīva, ${age}${alive[2] ? ', ar spēkā esošu trūcīgas vai maznodrošinātas personas statusu' : ''}${alive[3] ? '; sociālo statusu (SOPA) neizdevās pārbaudīt: pārbaudiet to manuāli' : ''}`;
  }
  for (const [pattern, words] of lv) {
    const m = rule.match(pattern);
    if (m) return words(m);
  }
  return rule;
}

/** Plain-words explanation of an ineligibility reason for the learner. */
export function describeIneligibility(decision: EligibilityDecision, language: 'lv' | 'en'): string {
  const { age, minAge } = decision.facts;
  const words: Record<IneligibleReason, { lv: string; en: string }> = {
    deceased: {
      lv: 'Iedzīvotāju reģistrā persona ir atzīmēta kā mirusi.',
      en: 'The Population Register records the person as deceased.',
    },
    under_min_age: {
      lv: `Programmā var pieteikties no ${minAge} gadu vecuma; pieteikuma dienā jums ir ${age} gadi.`,
      en: `The programme is open from age ${minAge}; on the application date you are ${age}.`,
    },
    no_social_status: {
      lv: 'Pieteikuma dienā pašvaldības reģistrā nav spēkā esoša trūcīgas vai maznodrošinātas mājsaimniecības statusa.',
      en: 'On the application date the municipal register shows no valid poor or low-income household status.',
    },
    outside_coordinator_municipality: {
      lv: 'Jūs pieteica citas pašvaldības koordinators, bet jūsu deklarētā dzīvesvieta ir citur. Varat pieteikties pats vai ar savas pašvaldības koordinatora palīdzību.',
      en: 'You were registered by a coordinator of another municipality than your declared address. You can apply yourself or with your own municipality\'s coordinator.',
    },
    not_in_population_register: {
      lv: 'Iedzīvotāju reģistrā nav atrasta persona ar šo personas kodu. Pārbaudiet personas kodu un piesakieties vēlreiz vai vērsieties Pilsonības un migrācijas lietu pārvaldē.',
      en: 'The Population Register has no person with this person code. Check the code and register again, or contact the Office of Citizenship and Migration Affairs.',
    },
    over_max_age: {
      lv: `Pieteikuma dienā jums ir ${age} gadi, kas pārsniedz programmas vecuma robežu.`,
      en: `On the application date you are ${age}, above the programme's age limit.`,
    },
  };
  return decision.reason ? words[decision.reason][language] : '';
}

/** Whether a declared-address municipality (from the Population Register) is the coordinator's own. */
export function inMunicipality(personMunicipality: string | null, coordinatorMunicipality: string): boolean {
  return personMunicipality !== null
    && personMunicipality.trim().toLocaleLowerCase('lv') === coordinatorMunicipality.trim().toLocaleLowerCase('lv');
}

/**
 * A coordinator may act only for people of their own municipality: the register's declared-address municipality
 * must be theirs. Returns the refusal to record, or null when it matches.
 */
export function checkCoordinatorMunicipality(
  decision: EligibilityDecision, personMunicipality: string | null, coordinatorMunicipality: string,
): EligibilityDecision | null {
  if (inMunicipality(personMunicipality, coordinatorMunicipality)) return null;
  return {
    ...decision, eligible: false, reason: 'outside_coordinator_municipality', review: [],
    rule: `a coordinator of ${coordinatorMunicipality} may register only people whose declared address is there`,
  };
}
