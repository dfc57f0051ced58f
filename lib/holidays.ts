import type { Knex } from 'knex';
import { yearlyOccurrences } from '../domain/holidays';

/**
 * The public holidays (YYYY-MM-DD) between two calendar days, read from the table administrators extend: the
 * statutory and one-off days as they are, and each yearly holiday on its month and day of every year from its first.
 */
export async function holidaysBetween(db: Knex, from: string, to: string): Promise<Set<string>> {
  // As text: pg would turn a DATE into a Date at the process's local midnight.
  const rows = await db('publicHolidays').where((q) => q.whereBetween('day', [from, to]).orWhere((y) => y.where({ kind: 'yearly' }).where('day', '<=', to)))
    .select<{ day: string; kind: string }[]>(db.raw("to_char(day, 'YYYY-MM-DD') AS day"), 'kind');
  const days = new Set<string>();
  for (const { day, kind } of rows) {
    if (kind !== 'yearly') days.add(day);
    else for (const occurrence of yearlyOccurrences(day, from, to)) days.add(occurrence);
  }
  return days;
}
