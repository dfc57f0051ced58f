import test from 'ava';
import { statutoryHolidays } from '../../domain/holidays';
import { isWorkingDay, workingDaysDeadline } from '../../domain/working-days';
import { lastRigaDayOf, rigaEndOfDay, rigaTime } from '../../domain/dates';

const holidaysOf = (...years: number[]) => new Set(years.flatMap((y) => statutoryHolidays(y).map((h) => h.day)));
const due = (day: string, time: string, n: number, holidays = holidaysOf(2025, 2026, 2027, 2028)) =>
  workingDaysDeadline(rigaTime(day, time), n, holidays);

test('Easter moves every year: Good Friday, Easter Sunday and Easter Monday', (t) => {
  const days = (year: number) => statutoryHolidays(year).map((h) => h.day);
  t.true(['2025-04-18', '2025-04-20', '2025-04-21'].every((d) => days(2025).includes(d)));
  t.true(['2026-04-03', '2026-04-05', '2026-04-06'].every((d) => days(2026).includes(d)));
  t.true(['2027-03-26', '2027-03-28', '2027-03-29'].every((d) => days(2027).includes(d)));
});

test('fixed holidays, and 4 May / 18 November on a weekend give the next Monday off', (t) => {
  const days = (year: number) => statutoryHolidays(year).map((h) => h.day);
  for (const d of ['01-01', '05-01', '05-04', '06-23', '06-24', '11-18', '12-24', '12-25', '12-26', '12-31']) t.true(days(2026).includes(`2026-${d}`), d);
  // 4 May 2025 is a Sunday → Monday 5 May; 18 November 2028 is a Saturday → Monday 20 November.
  t.true(days(2025).includes('2025-05-05'));
  t.true(days(2028).includes('2028-11-20'));
  // 18 November 2026 is a Wednesday: no day in lieu.
  t.false(days(2026).includes('2026-11-19') || days(2026).includes('2026-11-23'));
  // 4 May 2030 is a Saturday → Monday 6 May (not Sunday 5 May).
  t.true(days(2030).includes('2030-05-06'));
  t.false(days(2030).includes('2030-05-05'));
});

test('a task opened on Friday with one working day is due at the end of Monday', (t) => {
  t.is(due('2026-11-27', '15:00', 1).toISOString(), rigaEndOfDay('2026-11-30').toISOString());
  t.is(lastRigaDayOf(due('2026-11-27', '15:00', 1)), '2026-11-30');
});

test('Friday before a holiday Monday: due at the end of Tuesday', (t) => {
  // Friday 2 May 2025, then the weekend and Monday 5 May (4 May in lieu) → Tuesday 6 May.
  t.is(lastRigaDayOf(due('2025-05-02', '09:00', 1)), '2025-05-06');
  // Thursday 2 April 2026: Good Friday, the weekend and Easter Monday are skipped → Tuesday 7 April.
  t.is(lastRigaDayOf(due('2026-04-02', '12:00', 1)), '2026-04-07');
  // Christmas: Wednesday 23 December 2026 → 24, 25, 26, 27 off → Monday 28 December.
  t.is(lastRigaDayOf(due('2026-12-23', '10:00', 1)), '2026-12-28');
});

test('the end of a Riga day is the next day\'s 00:00 local time, in winter (UTC+2) and in summer (UTC+3)', (t) => {
  t.is(rigaEndOfDay('2026-11-30').toISOString(), '2026-11-30T22:00:00.000Z');
  t.is(rigaEndOfDay('2026-07-01').toISOString(), '2026-07-01T21:00:00.000Z');
  // Across the change to summer time (29 March 2026) and back to winter time (25 October 2026).
  t.is(rigaEndOfDay('2026-03-29').toISOString(), '2026-03-29T21:00:00.000Z');
  t.is(rigaEndOfDay('2026-10-25').toISOString(), '2026-10-25T22:00:00.000Z');
  t.is(rigaEndOfDay('2026-12-31').toISOString(), '2026-12-31T22:00:00.000Z', 'across the year');
  // Opened on Friday 27 March 2026 (winter time), due at the end of Monday 30 March (summer time).
  t.is(due('2026-03-27', '16:00', 1).toISOString(), '2026-03-30T21:00:00.000Z');
  // A task opened late in the evening counts from its Riga day, not the UTC one.
  t.is(lastRigaDayOf(due('2026-11-26', '23:30', 1)), '2026-11-27');
});

test('weekends and holidays are not working days; a one-off holiday counts once added', (t) => {
  const holidays = holidaysOf(2026);
  t.false(isWorkingDay('2026-11-28', holidays));
  t.false(isWorkingDay('2026-11-18', holidays));
  t.true(isWorkingDay('2026-11-19', holidays));
  t.false(isWorkingDay('2026-11-19', new Set([...holidays, '2026-11-19'])));
  t.is(lastRigaDayOf(due('2026-11-18', '10:00', 1, new Set([...holidays, '2026-11-19']))), '2026-11-20');
  t.is(lastRigaDayOf(due('2026-11-25', '10:00', 3)), '2026-11-30');
});
