import type { Knex } from 'knex';

// Deadlines given as a day used to be stored as 23:59 (or 23:59:59.999) Riga time, which cut off the day's last
// minute. A day's deadline is now the day's end: the next day's 00:00 Riga time, exclusive (domain/dates.ts,
// rigaEndOfDay). This moves existing deadlines that fall in a day's last minute to that midnight.

/** Deadline columns that may hold a day's end. */
const DEADLINES: [table: string, column: string][] = [
  ['calls', 'submission_closes_at'], ['calls', 'evaluation_ends_at'], ['calls', 'applications_close_at'],
  ['calls', 'group_formation_at'], ['calls', 'teaching_ends_at'],
  ['offers', 'applications_close_at'], ['offers', 'group_formation_deadline'],
  ['programmes', 'applications_close_at'],
  ['tasks', 'due_at'],
];

// The Riga wall-clock time of a column, and the instant of the next Riga midnight after it.
const localTime = (column: string) => `(${column} AT TIME ZONE 'Europe/Riga')::time`;
const nextMidnight = (column: string) => `(((${column} AT TIME ZONE 'Europe/Riga')::date + 1)::timestamp AT TIME ZONE 'Europe/Riga')`;

export async function up(knex: Knex): Promise<void> {
  for (const [table, column] of DEADLINES) {
    await knex.raw(`UPDATE ?? SET ?? = ${nextMidnight('??')} WHERE ${localTime('??')} >= '23:59:00'`, [table, column, column, column]);
  }
}

// Back to 23:59:00 of the day (the seeds' old form). A deadline that was at midnight before `up` moves too: the
// old data did not say which midnights were days' ends.
export async function down(knex: Knex): Promise<void> {
  for (const [table, column] of DEADLINES) {
    await knex.raw(`UPDATE ?? SET ?? = ?? - interval '1 minute' WHERE ${localTime('??')} = '00:00:00'`, [table, column, column, column]);
  }
}
