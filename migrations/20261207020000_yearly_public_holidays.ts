import type { Knex } from 'knex';

// Public holidays the agency adds itself (issue 15, item 3): besides the statutory ones seeded by rule and the
// government's one-off days, a 'yearly' holiday recurs on the same month and day every year from the year of its
// `day` on (the calendar expands it when it reads the table, so it has no horizon).

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE public_holidays DROP CONSTRAINT public_holidays_kind');
  await knex.raw("ALTER TABLE public_holidays ADD CONSTRAINT public_holidays_kind CHECK (kind IN ('statutory', 'one_off', 'yearly'))");
}

export async function down(knex: Knex): Promise<void> {
  await knex('public_holidays').where({ kind: 'yearly' }).delete();
  await knex.raw('ALTER TABLE public_holidays DROP CONSTRAINT public_holidays_kind');
  await knex.raw("ALTER TABLE public_holidays ADD CONSTRAINT public_holidays_kind CHECK (kind IN ('statutory', 'one_off'))");
}
