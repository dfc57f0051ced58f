import test from 'ava';
import { beforeDeadline, formatRigaTime, lastRigaDayOf, rigaEndOfDay, rigaTime } from '../../domain/dates';
import { checkApplication, type ApplicationFacts } from '../../domain/applications';
import { DEMO_CALL_PHASES } from '../../dev/seed-calls';
import { demoOffers } from '../../dev/seed-offers';

// A deadline given as a day includes the whole day in Riga time: it is stored as the next day's 00:00 (exclusive).
// The clock is passed in, so the last minute of the day can be tried.

test('an offer submitted in the last minute of the demo call\'s closing day is in time; at midnight it is not', (t) => {
  const deadline = DEMO_CALL_PHASES.submissionClosesAt;
  t.true(beforeDeadline(deadline, rigaTime('2026-12-10', '23:59:30')), '23:59:30 on 10 December');
  t.true(beforeDeadline(deadline, rigaTime('2026-12-10', '23:59:59.999')));
  t.false(beforeDeadline(deadline, rigaTime('2026-12-11', '00:00')), 'the next day is too late');
  t.is(lastRigaDayOf(deadline), '2026-12-10');
});

test('every day deadline of the demo call ends at a Riga midnight (the other phases are times, not days)', (t) => {
  for (const [phase, day] of [
    ['submissionClosesAt', '2026-12-10'], ['evaluationEndsAt', '2026-12-15'], ['applicationsCloseAt', '2027-03-01'],
    ['groupFormationAt', '2027-03-09'], ['teachingEndsAt', '2027-06-30'],
  ] as const) {
    t.is(DEMO_CALL_PHASES[phase].toISOString(), rigaEndOfDay(day).toISOString(), phase);
    t.is(lastRigaDayOf(DEMO_CALL_PHASES[phase]), day, phase);
  }
});

test('the end of a day is 22:00 UTC in winter and 21:00 UTC in summer, also on the days the clocks change', (t) => {
  t.is(rigaEndOfDay('2026-12-10').toISOString(), '2026-12-10T22:00:00.000Z');
  t.is(rigaEndOfDay('2027-06-30').toISOString(), '2027-06-30T21:00:00.000Z');
  t.is(rigaEndOfDay('2027-03-27').toISOString(), '2027-03-27T22:00:00.000Z', 'the night before summer time');
  t.is(rigaEndOfDay('2027-03-28').toISOString(), '2027-03-28T21:00:00.000Z', 'the day summer time starts');
  t.is(rigaEndOfDay('2027-10-31').toISOString(), '2027-10-31T22:00:00.000Z', 'the day winter time starts');
});

test('an application in the last minute of a demo offer\'s closing day is accepted', (t) => {
  const offer = demoOffers[0]!;
  const facts = (now: Date): ApplicationFacts => ({
    now, caseProgramme: 'IMK', funding: 'account', balanceCents: 50_000, programme: { applicationsOpenAt: null, applicationsCloseAt: null },
    offer: {
      published: true, programme: 'IMK', costCents: offer.costCents, copayPercent: null,
      applicationsOpenAt: new Date('2026-11-01T00:00:00+02:00'), applicationsCloseAt: rigaEndOfDay('2027-03-01'),
    },
    group: { offerMatches: true, capacity: 20, enrolled: 0 },
  });
  t.true(checkApplication(facts(rigaTime('2027-03-01', '23:59:30'))).ok);
  t.deepEqual(checkApplication(facts(rigaTime('2027-03-02', '00:00'))), { ok: false, reason: 'window_closed' });
});

test('a deadline at a day\'s end reads as 24:00 of that day, in Latvian and English', (t) => {
  t.is(formatRigaTime(rigaEndOfDay('2026-12-10'), 'lv'), '2026. gada 10. decembris, 24:00');
  t.is(formatRigaTime(rigaEndOfDay('2026-12-10'), 'en'), '10 December 2026, 24:00');
  t.is(formatRigaTime(rigaTime('2026-12-10', '09:30'), 'en'), '10 December 2026, 09:30');
});
