import type { Knex } from 'knex';

// A double click on "create draft" or "add group" must not make two: each form carries a request id made when the
// page was shown, and a second request with the same id finds the row the first one wrote.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('offers', (t) => {
    t.uuid('request_id');
    t.unique(['provider_id', 'request_id'], { indexName: 'offers_provider_request_unique' });
  });
  await knex.schema.alterTable('offer_groups', (t) => {
    t.uuid('request_id');
    t.unique(['offer_id', 'request_id'], { indexName: 'offer_groups_offer_request_unique' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('offer_groups', (t) => {
    t.dropUnique(['offer_id', 'request_id'], 'offer_groups_offer_request_unique');
    t.dropColumn('request_id');
  });
  await knex.schema.alterTable('offers', (t) => {
    t.dropUnique(['provider_id', 'request_id'], 'offers_provider_request_unique');
    t.dropColumn('request_id');
  });
}
