import type { Knex } from 'knex';

/**
 * A place offered from the wait-list stays counted in the application window it was freed from (issue 15: the
 * programmes' windows and the wait-list together): the offer names that window, and the learner who accepts it
 * holds the place there.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('place_offers', (t) => {
    t.uuid('window_id').references('id').inTable('programme_windows');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('place_offers', (t) => {
    t.dropColumn('window_id');
  });
}
