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

// One date format per language, on pages and in e-mails (walk, issue 16): the day written out in full ("2026. gada
// 10. decembris", "10 December 2026"), a time after it as HH:MM.
const dayFormats = {
  lv: new Intl.DateTimeFormat('lv-LV', { dateStyle: 'long', timeZone: AGENCY_TIME_ZONE }),
  en: new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeZone: AGENCY_TIME_ZONE }),
};
const clock = new Intl.DateTimeFormat('en-GB', { timeZone: AGENCY_TIME_ZONE, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });

/** The months in the form Latvian writes after "līdz" ("līdz 10. decembrim"). */
const LV_MONTHS_UNTIL = ['janvārim', 'februārim', 'martam', 'aprīlim', 'maijam', 'jūnijam', 'jūlijam', 'augustam', 'septembrim', 'oktobrim', 'novembrim', 'decembrim'];

/** A calendar day (YYYY-MM-DD, or the Riga day of an instant) as people read it: "2026. gada 10. decembris", "10 December 2026". */
export function formatRigaDay(day: string | Date, language: 'lv' | 'en'): string {
  return dayFormats[language].format(asInstant(day));
}

/**
 * A date and time in Riga as people read it: "2026. gada 10. decembris, 14:30", "10 December 2026, 14:30". A day's
 * end (00:00, see rigaEndOfDay) shows as 24:00 of the day it ends, naming the last day that counts, not the next one.
 */
export function formatRigaTime(at: Date | string, language: 'lv' | 'en'): string {
  const instant = new Date(at);
  if (isDayEnd(instant)) return `${formatRigaDay(lastRigaDayOf(instant), language)}, 24:00`;
  return `${formatRigaDay(instant, language)}, ${clock.format(instant)}`;
}

/**
 * A deadline as a sentence's end: "līdz 2026. gada 10. decembrim (ieskaitot)", "until 10 December 2026 (inclusive)".
 * A deadline at a day's end (00:00 of the next day) is its last day, inclusive; any other time keeps its time
 * ("until 10 December 2026, 14:30").
 */
export function formatDeadline(at: Date | string, language: 'lv' | 'en'): string {
  const instant = new Date(at);
  const dayEnd = isDayEnd(instant);
  const day = dayEnd ? lastRigaDayOf(instant) : rigaDate(instant);
  const [year, month, date] = day.split('-').map(Number);
  const written = language === 'lv' ? `līdz ${year}. gada ${date}. ${LV_MONTHS_UNTIL[month - 1]}` : `until ${formatRigaDay(day, 'en')}`;
  if (dayEnd) return `${written} (${language === 'lv' ? 'ieskaitot' : 'inclusive'})`;
  return `${written}, ${clock.format(instant)}`;
}

// Whether an instant is a Riga midnight, the end of the day before it.
function isDayEnd(instant: Date): boolean {
  return instant.getTime() % 60_000 === 0 && clock.format(instant) === '00:00';
}

// A YYYY-MM-DD day as an instant within that Riga day (noon, clear of any DST change); an instant as it is.
function asInstant(day: string | Date): Date {
  return typeof day === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(day) ? rigaTime(day, '12:00') : new Date(day);
}
