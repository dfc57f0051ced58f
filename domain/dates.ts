/** Calendar dates (YYYY-MM-DD) in the agency's time zone; deadlines and ages are judged in Riga. */

export const AGENCY_TIME_ZONE = 'Europe/Riga';

const rigaFormat = new Intl.DateTimeFormat('en-CA', {
  timeZone: AGENCY_TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit',
});

/** The calendar date in Riga at the given instant, as YYYY-MM-DD. */
/** Whether a YYYY-MM-DD text is a day of the calendar (not 2026-02-30, not 2026-13-01); never throws. */
export function isCalendarDay(day: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return false;
  const at = Date.parse(`${day}T00:00:00Z`);
  return !Number.isNaN(at) && new Date(at).toISOString().slice(0, 10) === day;
}

export function rigaDate(at: Date): string {
  return rigaFormat.format(at);
}

/** Whole years between a birth date and a day (both YYYY-MM-DD); a birthday counts on its day. */
export function ageOn(birthDate: string, onDate: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number);
  const [y, m, d] = onDate.split('-').map(Number);
  const hadBirthday = m > bm || (m === bm && d >= bd);
  return y - by - (hadBirthday ? 0 : 1);
}

/** The instant a Riga wall-clock time (HH:MM, optional :SS.mmm) occurs on a calendar day (YYYY-MM-DD). */
export function rigaTime(day: string, time: string): Date {
  const [y, m, d] = day.split('-').map(Number);
  const [hh, mm, rest = '0'] = time.split(':');
  const seconds = Number(rest);
  const wall = Date.UTC(y, m - 1, d, Number(hh), Number(mm), Math.floor(seconds), Math.round((seconds % 1) * 1000));
  // Riga is UTC+2 or UTC+3; the offset at the first guess is right except within an hour of a DST change.
  const guess = new Date(wall - rigaOffsetMs(new Date(wall)));
  return new Date(wall - rigaOffsetMs(guess));
}

/**
 * The end of a calendar day in Riga: the next day's 00:00 Riga time, exclusive (21:00 or 22:00 UTC, by daylight
 * saving). Every deadline given as a day is stored as this instant, so the whole day counts (a submission at
 * 23:59:30 is in time) and "in time" is always `now < deadline`.
 */
export function rigaEndOfDay(day: string): Date {
  const [y, m, d] = day.split('-').map(Number);
  return rigaTime(new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10), '00:00');
}

/** The last Riga day a deadline includes (the day before a midnight deadline; the day itself otherwise). */
export function lastRigaDayOf(deadline: Date): string {
  return rigaDate(new Date(deadline.getTime() - 1));
}

/** Whether `now` is still within a deadline (deadlines are exclusive instants, see rigaEndOfDay). */
export function beforeDeadline(deadline: Date | string, now: Date): boolean {
  return now.getTime() < new Date(deadline).getTime();
}

const rigaParts = new Intl.DateTimeFormat('en-GB', {
  timeZone: AGENCY_TIME_ZONE, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', second: '2-digit',
});

// How far Riga's wall clock is ahead of UTC at an instant.
function rigaOffsetMs(at: Date): number {
  const p = Object.fromEntries(rigaParts.formatToParts(at).map((x) => [x.type, x.value]));
  const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return wall - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * A date and time as people in Riga read it. A day's end (00:00, see rigaEndOfDay) shows as 24:00 of the day it
 * ends, so "until 10 December 24:00" names the last day that counts rather than the next one.
 */
export function formatRigaTime(at: Date | string, language: 'lv' | 'en', dateStyle: 'medium' | 'long' = 'medium'): string {
  const instant = new Date(at);
  const format = (d: Date) => new Intl.DateTimeFormat(language === 'lv' ? 'lv-LV' : 'en-GB', {
    dateStyle, timeStyle: 'short', timeZone: AGENCY_TIME_ZONE,
  }).format(d);
  const minuteBefore = new Date(instant.getTime() - 60_000);
  const midnight = rigaDate(instant) !== rigaDate(minuteBefore) && instant.getTime() % 60_000 === 0;
  return midnight ? format(minuteBefore).replace('23:59', '24:00') : format(instant);
}
