import type { Knex } from 'knex';
import { rigaDate } from '../domain/dates';
import { shift } from '../domain/holidays';
import { holidaysBetween } from '../lib/holidays';
import { workingDaysDeadline } from '../domain/working-days';

/** Input of taskDueAt: a deadline in working days from now, or (tests only) a fixed duration. */
export interface TaskDueAtInput {
  workingDays: number;
  /** Tests only: milliseconds from now instead of working days. */
  overrideMs?: number | null;
}

// Read where the API reads it too (inbox working days, data-request deadlines).
export { holidaysBetween } from '../lib/holidays';

/** Activities about the agency's calendar. */
export function createCalendarActivities({ db }: { db: Knex }) {
  return {
    /**
     * When a task opened now is due: the end of the n-th working day in Riga, skipping weekends and the
     * public_holidays rows (statutory and one-off). Computed in an activity because the calendar is data.
     */
    async taskDueAt(input: TaskDueAtInput): Promise<{ dueAt: string }> {
      const now = new Date();
      if (input.overrideMs !== undefined && input.overrideMs !== null) return { dueAt: new Date(now.getTime() + input.overrideMs).toISOString() };
      const today = rigaDate(now);
      // Runs of holidays and weekends are short; a month past the working days covers any real calendar.
      const holidays = await holidaysBetween(db, today, shift(today, input.workingDays * 7 + 31));
      return { dueAt: workingDaysDeadline(now, input.workingDays, holidays).toISOString() };
    },
  };
}
