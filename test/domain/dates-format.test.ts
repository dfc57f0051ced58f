import test from 'ava';
import { formatDeadline, formatRigaDay, formatRigaTime, rigaEndOfDay, rigaTime } from '../../domain/dates';

// One date format per language, and deadlines written as the last day that counts (issue 16, items 4 and 8).

test('a deadline at the end of a day is that day, inclusive, with Latvian month names as "līdz" takes them', (t) => {
  t.is(formatDeadline(rigaEndOfDay('2026-12-10'), 'lv'), 'līdz 2026. gada 10. decembrim (ieskaitot)');
  t.is(formatDeadline(rigaEndOfDay('2026-12-10'), 'en'), 'until 10 December 2026 (inclusive)');
  const months = ['janvārim', 'februārim', 'martam', 'aprīlim', 'maijam', 'jūnijam', 'jūlijam', 'augustam', 'septembrim', 'oktobrim', 'novembrim', 'decembrim'];
  months.forEach((month, i) => t.is(formatDeadline(rigaEndOfDay(`2027-${String(i + 1).padStart(2, '0')}-01`), 'lv'), `līdz 2027. gada 1. ${month} (ieskaitot)`));
});

test('the midnight that ends a day is the day before it: 00:00 of 11 December is 10 December inclusive', (t) => {
  // 2026-12-11 00:00 in Riga (winter, UTC+2) is 2026-12-10 22:00 UTC.
  t.is(formatDeadline(new Date('2026-12-10T22:00:00Z'), 'en'), 'until 10 December 2026 (inclusive)');
  t.is(formatDeadline(rigaTime('2027-01-01', '00:00'), 'lv'), 'līdz 2026. gada 31. decembrim (ieskaitot)');
  // A minute later is a time of its own day, kept.
  t.is(formatDeadline(rigaTime('2026-12-11', '00:01'), 'en'), 'until 11 December 2026, 00:01');
});

test('a deadline at another time keeps its time', (t) => {
  t.is(formatDeadline(rigaTime('2026-12-10', '14:30'), 'lv'), 'līdz 2026. gada 10. decembrim, 14:30');
  t.is(formatDeadline(rigaTime('2026-12-10', '14:30'), 'en'), 'until 10 December 2026, 14:30');
});

test('deadlines and times across the daylight-saving changes are Riga\'s wall clock', (t) => {
  // Summer time starts 2027-03-28 03:00 (UTC+3 after) and ends 2026-10-25 04:00 (UTC+2 after).
  t.is(formatDeadline(rigaEndOfDay('2027-03-28'), 'en'), 'until 28 March 2027 (inclusive)');
  t.is(rigaEndOfDay('2027-03-28').toISOString(), '2027-03-28T21:00:00.000Z');
  t.is(formatDeadline(rigaEndOfDay('2026-10-25'), 'lv'), 'līdz 2026. gada 25. oktobrim (ieskaitot)');
  t.is(rigaEndOfDay('2026-10-25').toISOString(), '2026-10-25T22:00:00.000Z');
  t.is(formatRigaTime(new Date('2027-03-28T01:30:00Z'), 'en'), '28 March 2027, 04:30');
  t.is(formatRigaTime(new Date('2026-10-25T00:30:00Z'), 'lv'), '2026. gada 25. oktobris, 03:30');
});

test('one format for a day and for a moment in each language', (t) => {
  t.is(formatRigaDay('2026-12-10', 'lv'), '2026. gada 10. decembris');
  t.is(formatRigaDay('2026-12-10', 'en'), '10 December 2026');
  // The Riga day of an instant: 22:30 UTC on 10 December is already 11 December in Riga.
  t.is(formatRigaDay(new Date('2026-12-10T22:30:00Z'), 'en'), '11 December 2026');
  t.is(formatRigaTime(new Date('2026-12-10T12:30:00Z'), 'lv'), '2026. gada 10. decembris, 14:30');
  t.is(formatRigaTime(new Date('2026-12-10T12:30:00Z'), 'en'), '10 December 2026, 14:30');
});
