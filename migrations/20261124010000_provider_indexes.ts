import type { Knex } from 'knex';

// Indexes for the queries issue 4 added: the catalogue's group dates and ratings, and inbox tasks about providers
// and offers (their foreign keys).

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('offer_groups', (t) => t.index(['offer_id', 'starts_on']));
  await knex.schema.alterTable('survey_answers', (t) => t.index(['application_id']));
  await knex.schema.alterTable('tasks', (t) => {
    t.index(['provider_id']);
    t.index(['offer_id']);
  });
  await knex.raw("CREATE INDEX offers_published_cost ON offers (cost_cents) WHERE state = 'published'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS offers_published_cost');
  await knex.schema.alterTable('tasks', (t) => {
    t.dropIndex(['offer_id']);
    t.dropIndex(['provider_id']);
  });
  await knex.schema.alterTable('survey_answers', (t) => t.dropIndex(['application_id']));
  await knex.schema.alterTable('offer_groups', (t) => t.dropIndex(['offer_id', 'starts_on']));
}
