import type { Knex } from 'knex';

// How an account in a programme is approved once the automatic checks are done: 'automatic' approves when every
// check passes (issue 3: IMK), 'manual' always asks agency staff (MN: employment cannot be verified by a registry
// we reach). A finding that needs a person (e.g. an expired social status) asks staff under either rule.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('programmes', (t) => {
    t.text('approval').notNullable().defaultTo('manual').checkIn(['automatic', 'manual']);
  });
  await knex('programmes').whereIn('code', ['IMK', 'DPP']).update({ approval: 'automatic' });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('programmes', (t) => {
    t.dropColumn('approval');
  });
}
