import type { Knex } from 'knex';

// Roles the agency grants to people who already have a learner account (municipal coordinators, career
// consultants). Granted with an end date; a grant counts only between valid_from and valid_until (Riga days).

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('role_grants', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('person_code').notNullable();
    t.text('role').notNullable().checkIn(['coordinator', 'career_consultant']);
    t.text('municipality').notNullable();
    t.text('municipality_code').notNullable();
    t.date('valid_from').notNullable();
    t.date('valid_until').notNullable();
    t.text('granted_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['person_code']);
    t.check('valid_until >= valid_from', [], 'role_grants_period');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('role_grants');
}
