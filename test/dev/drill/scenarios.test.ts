/** The fault drill's learners and their expected stages (dev/drill/scenarios.ts). */
import test from 'ava';
import { checkPersonCode } from '../../../domain/person-code';
import { seedPeople } from '../../../dev/seed-people';
import { SCENARIOS, drillLearners, drillPersonCode, expectedStageCounts } from '../../../dev/drill/scenarios';

test('every drill person has a valid, unique person code that no demo person has', (t) => {
  const learners = drillLearners(200);
  const codes = learners.map((l) => l.person.personCode);
  for (const code of codes) t.true(checkPersonCode(code).valid, code);
  t.is(new Set(codes).size, codes.length);
  t.false(seedPeople.some((p) => codes.includes(p.personCode)));
  t.is(drillPersonCode(7), '327700-00007');
  t.throws(() => drillPersonCode(100_000), { instanceOf: RangeError });
});

test('the learners are the same every run: scenario by index, plus one refused address at the end', (t) => {
  const learners = drillLearners(20);
  t.is(learners.length, 21);
  t.deepEqual(learners.slice(0, 10).map((l) => l.scenario.name), SCENARIOS.map((s) => s.name));
  t.deepEqual(drillLearners(20), learners);
  const refused = learners[20]!;
  t.true(refused.refused);
  t.is(refused.scenario.name, 'approved');
  t.regex(refused.email, /^refused-20@/);
  t.true(learners.slice(0, 20).every((l) => !l.refused && l.email === `learner-${l.index}@drill.test`));
});

test('the expected-stage table: who ends where, and which e-mails each gets', (t) => {
  const byName = Object.fromEntries(SCENARIOS.map((s) => [s.name, s]));
  t.like(byName['under-age'], { programme: 'IMK', minor: true, expectedStage: 'not_eligible', emails: ['not-eligible'] });
  t.like(byName['awaiting-approval'], { programme: 'MN', staff: undefined, expectedStage: 'awaiting_approval', emails: [] });
  t.like(byName['staff-rejects'], { programme: 'MN', staff: 'reject', expectedStage: 'imk_rejected' });
  t.like(byName.enrolled, { applies: true, afterApplying: 'enrol', expectedStage: 'studying', emails: ['imk-approved', 'application-received-1', 'enrolled-1'] });
  t.like(byName.withdrawn, { afterApplying: 'withdraw', expectedStage: 'awaiting_application', emails: ['imk-approved', 'application-received-1'] });
  // An under-age person is under 18 on every day the drill may run (2026-2027); the others are adults.
  const minor = drillLearners(10).find((l) => l.scenario.minor)!;
  t.is(minor.person.birthDate, '2009-12-31');
  t.deepEqual(expectedStageCounts(drillLearners(10)), {
    not_eligible: 2, awaiting_approval: 1, imk_rejected: 1, imk_approved: 3, applied: 1, studying: 1, awaiting_application: 2,
  });
});
