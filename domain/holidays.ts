/**
 * Latvia's statutory public holidays by rule (the Law on Public Holidays, as DOMAIN.md lists them). The rule only
 * seeds the public_holidays table for the coming years; working-day deadlines read the table, where an
 * administrator also adds the government's one-off holidays.
 */

/** One public holiday on a calendar day (YYYY-MM-DD). */
export interface PublicHoliday { day: string; nameLv: string; nameEn: string }

/** The statutory public holidays of one year, in date order. */
export function statutoryHolidays(year: number): PublicHoliday[] {
  const easter = easterSunday(year);
  const list: PublicHoliday[] = [
    { day: iso(year, 1, 1), nameLv: 'Jaungada diena', nameEn: "New Year's Day" },
    { day: shift(easter, -2), nameLv: 'Lielā Piektdiena', nameEn: 'Good Friday' },
    { day: easter, nameLv: 'Lieldienas', nameEn: 'Easter Sunday' },
    { day: shift(easter, 1), nameLv: 'Otrās Lieldienas', nameEn: 'Easter Monday' },
    { day: iso(year, 5, 1), nameLv: 'Darba svētki', nameEn: 'Labour Day' },
    { day: iso(year, 5, 4), nameLv: 'Latvijas Republikas Neatkarības atjaunošanas diena', nameEn: 'Restoration of Independence Day' },
    { day: iso(year, 6, 23), nameLv: 'Līgo diena', nameEn: 'Midsummer Eve' },
    { day: iso(year, 6, 24), nameLv: 'Jāņu diena', nameEn: 'Midsummer Day' },
    { day: iso(year, 11, 18), nameLv: 'Latvijas Republikas proklamēšanas diena', nameEn: 'Proclamation Day' },
    { day: iso(year, 12, 24), nameLv: 'Ziemassvētku vakars', nameEn: 'Christmas Eve' },
    { day: iso(year, 12, 25), nameLv: 'Pirmie Ziemassvētki', nameEn: 'Christmas Day' },
    { day: iso(year, 12, 26), nameLv: 'Otrie Ziemassvētki', nameEn: 'Second Day of Christmas' },
    { day: iso(year, 12, 31), nameLv: 'Vecgada diena', nameEn: "New Year's Eve" },
  ];
  // 4 May and 18 November falling on a weekend move the day off to the next Monday.
  for (const [month, day, nameLv, nameEn] of [
    [5, 4, 'Pārceltā brīvdiena (4. maijs)', 'Day off in lieu of 4 May'],
    [11, 18, 'Pārceltā brīvdiena (18. novembris)', 'Day off in lieu of 18 November'],
  ] as const) {
    const weekday = weekdayOf(iso(year, month, day));
    if (weekday === 6) list.push({ day: iso(year, month, day + 2), nameLv, nameEn });
    if (weekday === 0) list.push({ day: iso(year, month, day + 1), nameLv, nameEn });
  }
  return list.sort((a, b) => a.day.localeCompare(b.day));
}

/**
 * The days between `from` and `to` (inclusive, YYYY-MM-DD) on which a yearly holiday first held on `first` falls:
 * its month and day in every year from its first (29 February only in leap years).
 */
export function yearlyOccurrences(first: string, from: string, to: string): string[] {
  const [firstYear, month, day] = first.split('-').map(Number);
  const days: string[] = [];
  for (let year = Math.max(firstYear, Number(from.slice(0, 4))); year <= Number(to.slice(0, 4)); year += 1) {
    const candidate = iso(year, month, day);
    // 29 February of a common year would roll over to 1 March: that year has no such day.
    if (Number(candidate.slice(5, 7)) !== month) continue;
    if (candidate >= from && candidate <= to) days.push(candidate);
  }
  return days;
}

/** Day of the week of a calendar day: 0 Sunday … 6 Saturday. */
export function weekdayOf(day: string): number {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

/** The calendar day `days` after `day` (negative for before). */
export function shift(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

// Western (Gregorian) Easter, the anonymous Gregorian algorithm.
function easterSunday(year: number): string {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return iso(year, month, day);
}

function iso(year: number, month: number, day: number): string {
  return new Date(Date.UTC(year, month - 1, day)).toISOString().slice(0, 10);
}
