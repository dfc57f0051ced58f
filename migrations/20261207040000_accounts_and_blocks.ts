import type { Knex } from 'knex';

// Issue 15 items 5 and 7. Staff accounts get a validity period (a date range in Riga days; NULL is open-ended):
// outside it the account cannot sign in and a live session ends at its next request. Blocks and suspensions of a
// learner, a provider or a provider user are rows of their own, kept after they are lifted (who, when, why), so the
// history of a person's access is never overwritten.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.date('valid_from');
    t.date('valid_until');
  });
  await knex.raw('ALTER TABLE users ADD CONSTRAINT users_validity_order CHECK (valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until)');

  await knex.schema.createTable('account_blocks', (t) => {
    t.uuid('id').primary();
    // Whom it holds: exactly one of the three columns, matching subject_kind.
    t.text('subject_kind').notNullable();
    t.text('person_code');
    t.uuid('provider_id').references('providers.id');
    t.uuid('user_id').references('users.id');
    // 'block' (the agency's decision, e.g. broken terms) or 'suspension' (e.g. the person asked, or an incident).
    t.text('kind').notNullable();
    t.text('reason').notNullable();
    // The last Riga day it holds; NULL until lifted. A block past this day has ended by itself.
    t.date('ends_on');
    t.text('created_by_id').notNullable();
    t.text('created_by_name');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('lifted_at', { useTz: true });
    t.text('lifted_by_id');
    t.text('lifted_by_name');
    t.text('lift_reason');
    t.index(['person_code']);
    t.index(['provider_id']);
    t.index(['user_id']);
    t.check("subject_kind IN ('learner', 'provider', 'provider_user')", [], 'account_blocks_subject_kind');
    t.check("kind IN ('block', 'suspension')", [], 'account_blocks_kind');
    t.check(`(subject_kind = 'learner' AND person_code IS NOT NULL AND provider_id IS NULL AND user_id IS NULL)
      OR (subject_kind = 'provider' AND provider_id IS NOT NULL AND person_code IS NULL AND user_id IS NULL)
      OR (subject_kind = 'provider_user' AND user_id IS NOT NULL AND person_code IS NULL AND provider_id IS NULL)`, [], 'account_blocks_one_subject');
    t.check('(lifted_at IS NULL) = (lift_reason IS NULL)', [], 'account_blocks_lift_reason');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('account_blocks');
  await knex.raw('ALTER TABLE users DROP CONSTRAINT users_validity_order');
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('valid_from');
    t.dropColumn('valid_until');
  });
}
