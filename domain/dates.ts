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
