/** Calendar dates (YYYY-MM-DD) in the agency's time zone; deadlines and ages are judged in Riga. */

export const AGENCY_TIME_ZONE = 'Europe/Riga';

const rigaFormat = new Intl.DateTimeFormat('en-CA', {
  timeZone: AGENCY_TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit',
});

/** The calendar date in Riga at the given instant, as YYYY-MM-DD. */
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

/** The last millisecond of a calendar day in Riga. */
export function rigaEndOfDay(day: string): Date {
  return rigaTime(day, '23:59:59.999');
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
