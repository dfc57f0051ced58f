import test from 'ava';
import { ageOn, rigaDate } from '../../domain/dates';
import { checkCoordinatorMunicipality, checkEligibility, describeIneligibility, describeRule, notInPopulationRegister, type PersonFacts } from '../../domain/eligibility';
import { IMK, type ProgrammeRules } from '../../domain/programmes';
import { statusOn } from '../../domain/social-status';

// Pure domain rules: no stack needed.

const person = (birthDate: string, deceased = false): PersonFacts => ({ personCode: '150690-11223', birthDate, deceased });

/** A programme with an upper age limit, to exercise the maxAge rule (IMK itself has none). */
const CAPPED: ProgrammeRules = { ...IMK, code: 'CAPPED', minAge: 25, maxAge: 64 };

test('an adult alive per the register is eligible for IMK, with the facts and the rule recorded', (t) => {
  const decision = checkEligibility(person('1990-06-15'), IMK, '2026-03-10');
  t.deepEqual(decision, {
    eligible: true,
    reason: null,
    review: [],
    rule: 'alive and age 18 or over on the application date',
    facts: { onDate: '2026-03-10', age: 35, deceased: false, programme: 'IMK', minAge: 18, maxAge: null },
  });
});

test('the 18th birthday counts on its day; the day before does not', (t) => {
  const onBirthday = checkEligibility(person('2008-03-10'), IMK, '2026-03-10');
  t.true(onBirthday.eligible);
  t.is(onBirthday.facts.age, 18);

  const dayBefore = checkEligibility(person('2008-03-10'), IMK, '2026-03-09');
  t.false(dayBefore.eligible);
  t.is(dayBefore.reason, 'under_min_age');
  t.is(dayBefore.rule, 'age 18 or over on the application date');
  t.is(dayBefore.facts.age, 17);
  t.is(dayBefore.facts.onDate, '2026-03-09');
});

test('deceased wins over age: an adult recorded as deceased is refused as deceased', (t) => {
  const decision = checkEligibility(person('1945-03-12', true), IMK, '2026-03-10');
  t.false(decision.eligible);
  t.is(decision.reason, 'deceased');
  t.is(decision.rule, 'the person must be alive per the Population Register');
  t.like(decision.facts, { deceased: true, age: 80, programme: 'IMK' });

  // Also when the person would be too young: being deceased is the reason given.
  t.is(checkEligibility(person('2010-01-01', true), IMK, '2026-03-10').reason, 'deceased');
});

test('a programme with a maximum age refuses people above it, and its rule names the range', (t) => {
  const onDate = '2026-03-10';
  const lastEligibleDay = checkEligibility(person('1961-03-11'), CAPPED, onDate); // 64, turns 65 tomorrow
  t.true(lastEligibleDay.eligible);
  t.is(lastEligibleDay.facts.age, 64);
  t.is(lastEligibleDay.rule, 'alive and age 25 to 64 on the application date');

  const on65thBirthday = checkEligibility(person('1961-03-10'), CAPPED, onDate);
  t.false(on65thBirthday.eligible);
  t.is(on65thBirthday.reason, 'over_max_age');
  t.is(on65thBirthday.rule, 'age 25 to 64 on the application date');
  t.like(on65thBirthday.facts, { age: 65, minAge: 25, maxAge: 64, programme: 'CAPPED' });

  const tooYoung = checkEligibility(person('2002-01-01'), CAPPED, onDate);
  t.is(tooYoung.reason, 'under_min_age');
  t.is(tooYoung.rule, 'age 25 to 64 on the application date');
});

test('ageOn counts whole years; a birthday counts on its day', (t) => {
  t.is(ageOn('1990-06-15', '2026-06-15'), 36);
  t.is(ageOn('1990-06-15', '2026-06-14'), 35);
  t.is(ageOn('1990-06-15', '2026-05-31'), 35, 'an earlier month');
  t.is(ageOn('1990-06-15', '2026-07-01'), 36, 'a later month with a smaller day');
  t.is(ageOn('1990-06-15', '1990-06-15'), 0);
  t.is(ageOn('2000-12-31', '2001-01-01'), 0);
});

test('rigaDate: 23:30 UTC on 31 December is already 1 January in Riga (UTC+2 in winter)', (t) => {
  t.is(rigaDate(new Date('2025-12-31T23:30:00Z')), '2026-01-01');
  t.is(rigaDate(new Date('2025-12-31T21:59:59Z')), '2025-12-31');
  t.is(rigaDate(new Date('2025-12-31T22:00:00Z')), '2026-01-01', 'midnight in Riga is 22:00 UTC in winter');
});

test('rigaDate: in summer time (UTC+3) the Riga day starts at 21:00 UTC', (t) => {
  t.is(rigaDate(new Date('2026-06-30T20:59:59Z')), '2026-06-30');
  t.is(rigaDate(new Date('2026-06-30T21:00:00Z')), '2026-07-01');
  t.is(rigaDate(new Date('2026-06-30T21:30:00Z')), '2026-07-01');
  // The same UTC clock time in winter is still the same day in Riga.
  t.is(rigaDate(new Date('2026-01-30T21:30:00Z')), '2026-01-30');
});

test('describeIneligibility explains each reason in Latvian and English', (t) => {
  const deceased = checkEligibility(person('1945-03-12', true), IMK, '2026-03-10');
  t.is(describeIneligibility(deceased, 'lv'), 'Iedzīvotāju reģistrā persona ir atzīmēta kā mirusi.');
  t.is(describeIneligibility(deceased, 'en'), 'The Population Register records the person as deceased.');

  const young = checkEligibility(person('2009-03-01'), IMK, '2026-03-10');
  t.is(describeIneligibility(young, 'lv'), 'Programmā var pieteikties no 18 gadu vecuma; pieteikuma dienā jums ir 17 gadi.');
  t.is(describeIneligibility(young, 'en'), 'The programme is open from age 18; on the application date you are 17.');

  const old = checkEligibility(person('1950-01-01'), CAPPED, '2026-03-10');
  t.is(describeIneligibility(old, 'lv'), 'Pieteikuma dienā jums ir 76 gadi, kas pārsniedz programmas vecuma robežu.');
  t.is(describeIneligibility(old, 'en'), "On the application date you are 76, above the programme's age limit.");
});

test('describeIneligibility says nothing for an eligible person', (t) => {
  const eligible = checkEligibility(person('1990-06-15'), IMK, '2026-03-10');
  t.is(describeIneligibility(eligible, 'lv'), '');
  t.is(describeIneligibility(eligible, 'en'), '');
});

test('a programme requiring social status counts only a SOPA record valid on the application date', (t) => {
  const sopaOnly = { ...IMK, code: 'SOPA-ONLY', socialStatusRule: 'required' as const };
  const adult = { personCode: '150690-11223', birthDate: '1990-06-15', deceased: false };
  const valid = [{ status: 'low_income' as const, validFrom: '2026-01-01', validTo: '2026-12-31', municipality: '90000000000' }];
  const expired = [{ status: 'poor' as const, validFrom: '2025-01-01', validTo: '2025-06-30', municipality: '90000000000' }];
  t.like(checkEligibility(adult, sopaOnly, '2026-11-22', valid), { eligible: true, facts: { socialStatus: 'low_income' } });
  // An expired status asks staff to look; no status ever recorded rules the person out.
  t.like(checkEligibility(adult, sopaOnly, '2026-11-22', expired), { eligible: true, review: ['social_status_expired'], facts: { socialStatus: null } });
  t.like(checkEligibility(adult, sopaOnly, '2026-11-22', []), { eligible: false, reason: 'no_social_status' });
  // The last day of validity still counts; poor outranks low-income when both are valid.
  t.like(checkEligibility(adult, sopaOnly, '2025-06-30', expired), { eligible: true, facts: { socialStatus: 'poor' } });
  t.is(statusOn([...valid, { ...expired[0], validTo: '2026-12-31' }], '2026-11-22'), 'poor');
  t.regex(describeIneligibility(checkEligibility(adult, sopaOnly, '2026-11-22', []), 'en'), /no valid poor or low-income/);
});

test('a coordinator may register only people of their municipality (names compared without regard to case)', (t) => {
  const adult = { personCode: '150690-11223', birthDate: '1990-06-15', deceased: false };
  const eligible = checkEligibility(adult, IMK, '2026-11-22');
  t.is(checkCoordinatorMunicipality(eligible, 'Daugavpils', 'daugavpils'), null);
  t.like(checkCoordinatorMunicipality(eligible, 'Rīga', 'Daugavpils'), { eligible: false, reason: 'outside_coordinator_municipality' });
  t.like(checkCoordinatorMunicipality(eligible, null, 'Daugavpils'), { eligible: false }, 'no declared address: not theirs');
});

test('the rule of every refusal reads in Latvian for the not-eligible e-mail (no English condition line)', (t) => {
  const SOPA: ProgrammeRules = { ...CAPPED, socialStatusRule: 'required' };
  const refusals = [
    checkEligibility(person('1990-06-15', true), IMK, '2026-03-10'),
    checkEligibility(person('2010-06-15'), IMK, '2026-03-10'),
    checkEligibility(person('1950-06-15'), CAPPED, '2026-03-10'),
    checkEligibility(person('1990-06-15'), SOPA, '2026-03-10', []),
    notInPopulationRegister(IMK, '2026-03-10'),
    checkCoordinatorMunicipality(checkEligibility(person('1990-06-15'), IMK, '2026-03-10'), 'Valmieras novads', 'Cēsu novads')!,
  ];
  for (const decision of refusals) {
    t.false(decision.eligible);
    const lv = describeRule(decision.rule, 'lv');
    t.not(lv, decision.rule, `${decision.rule} has Latvian words`);
    t.is(describeRule(decision.rule, 'en'), decision.rule);
  }
  t.is(describeRule('age 25 to 64 on the application date', 'lv'), 'pieteikuma dienā no 25 līdz 64 gadiem');
  // The rule an eligible decision records, which the approving officer reads on the task page.
  t.is(describeRule(checkEligibility(person('1990-06-15'), IMK, '2026-03-10').rule, 'lv'), 'persona ir dzīva, pieteikuma dienā 18 gadi vai vairāk');
});
