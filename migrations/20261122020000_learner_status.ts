import type { Knex } from 'knex';

// Learners can be deactivated (the periodic Population Register re-check found them deceased), and each learner
// remembers when the register last confirmed them, so the re-check asks only about people who are due.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('learners', (t) => {
    t.boolean('active').notNullable().defaultTo(true);
    t.timestamp('deactivated_at', { useTz: true });
    t.text('deactivated_reason');
    t.timestamp('register_checked_at', { useTz: true });
    t.index(['active', 'register_checked_at'], 'learners_active_register_checked_at_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('learners', (t) => {
    t.dropIndex(['active', 'register_checked_at'], 'learners_active_register_checked_at_index');
    t.dropColumn('register_checked_at');
    t.dropColumn('deactivated_reason');
    t.dropColumn('deactivated_at');
    t.dropColumn('active');
  });
}
