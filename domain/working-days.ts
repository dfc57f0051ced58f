import { rigaDate, rigaEndOfDay } from './dates';
import { shift, weekdayOf } from './holidays';

/** Whether a calendar day (YYYY-MM-DD) is a working day: not Saturday, Sunday or one of the given holidays. */
export function isWorkingDay(day: string, holidays: ReadonlySet<string>): boolean {
  const weekday = weekdayOf(day);
  return weekday !== 0 && weekday !== 6 && !holidays.has(day);
}

/**
 * The deadline for something due within `workingDays` working days of `from`: the end of the n-th working day after
 * the Riga day of `from` (the next day's 00:00 Riga time, exclusive: see rigaEndOfDay). A task opened on Friday with one working day is due at the
 * end of Monday, or of Tuesday when Monday is a public holiday.
 */
export function workingDaysDeadline(from: Date, workingDays: number, holidays: ReadonlySet<string>): Date {
  if (!Number.isInteger(workingDays) || workingDays < 0) throw new RangeError('workingDays must be a non-negative integer');
  let day = rigaDate(from);
  let left = workingDays;
  while (left > 0) {
    day = shift(day, 1);
    if (isWorkingDay(day, holidays)) left -= 1;
  }
  return rigaEndOfDay(day);
}
