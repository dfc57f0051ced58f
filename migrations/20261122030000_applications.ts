import type { Knex } from 'knex';

// After the account is approved: providers' offers and their groups, the learners' applications (with the cost
// earmarked from the case's balance), and survey answers. Money in integer cents. The programme's cap on
// applications (programmes.application_cap / applications_received) is enforced by one atomic UPDATE in the
// transaction that inserts an application; over_cap says what happens to the learner past the cap.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('programmes', (t) => {
    t.text('over_cap').notNullable().defaultTo('waitlist').checkIn(['waitlist', 'refuse'], 'programmes_over_cap');
  });

  await knex.schema.createTable('offers', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('provider_id').notNullable().references('providers.id');
    t.text('programme').notNullable().references('programmes.code');
    t.text('title_lv').notNullable();
    t.text('title_en').notNullable();
    t.integer('cost_cents').notNullable();
    // The learner's share for co-paid programmes (MN: 5-50 %); null where the programme pays in full.
    t.integer('copay_percent');
    t.boolean('published').notNullable().defaultTo(false);
    t.timestamp('applications_open_at', { useTz: true }).notNullable();
    t.timestamp('applications_close_at', { useTz: true }).notNullable();
    t.timestamp('group_formation_deadline', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('cost_cents >= 0', [], 'offers_cost_not_negative');
    t.check('copay_percent IS NULL OR copay_percent BETWEEN 0 AND 100', [], 'offers_copay_percent');
    t.check('applications_close_at > applications_open_at', [], 'offers_window_order');
    t.index(['programme', 'published']);
  });

  await knex.schema.createTable('offer_groups', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('offer_id').notNullable().references('offers.id');
    t.text('place').notNullable();
    t.date('starts_on').notNullable();
    t.date('ends_on').notNullable();
    t.integer('capacity').notNullable();
    t.integer('enrolled').notNullable().defaultTo(0);
    t.check('capacity > 0', [], 'offer_groups_capacity_positive');
    t.check('enrolled >= 0 AND enrolled <= capacity', [], 'offer_groups_within_capacity');
    t.check('ends_on >= starts_on', [], 'offer_groups_dates_order');
    t.index(['offer_id']);
  });

  await knex.schema.createTable('applications', (t) => {
    // Derived from the case and the attempt number, so a retried activity finds the row it wrote.
    t.uuid('id').primary();
    t.uuid('case_id').notNullable().references('cases.id');
    t.integer('attempt').notNullable();
    t.uuid('offer_id').notNullable().references('offers.id');
    t.uuid('group_id').notNullable().references('offer_groups.id');
    t.text('state').notNullable().checkIn([
      'applied', 'waitlisted', 'refused', 'enrolled', 'declined', 'timed_out', 'withdrawn', 'completed', 'dropped_out',
    ], 'applications_state');
    t.integer('cost_cents').notNullable();
    // Held from the case's balance while the application is open; moved to spent_cents when study ends.
    t.integer('earmarked_cents').notNullable().defaultTo(0);
    t.integer('spent_cents').notNullable().defaultTo(0);
    t.integer('learner_pays_cents').notNullable().defaultTo(0);
    // True while the application holds one of the programme's capped places (applications_received).
    t.boolean('holds_place').notNullable().defaultTo(false);
    t.text('reason');
    t.text('actor_role').notNullable();
    t.text('actor_id');
    t.text('channel').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('enrolled_at', { useTz: true });
    t.timestamp('ended_at', { useTz: true });
    t.unique(['case_id', 'attempt']);
    t.check('earmarked_cents >= 0 AND spent_cents >= 0 AND learner_pays_cents >= 0', [], 'applications_money_not_negative');
    t.index(['offer_id', 'state']);
    t.index(['group_id', 'state']);
  });
  // At most one application per case that is still under way.
  await knex.raw("CREATE UNIQUE INDEX applications_one_active_per_case ON applications (case_id) WHERE state IN ('applied', 'enrolled')");

  await knex.schema.createTable('survey_answers', (t) => {
    t.uuid('case_id').primary().references('cases.id');
    t.uuid('application_id').notNullable().references('applications.id');
    t.text('kind').notNullable().checkIn(['completion', 'dropout'], 'survey_answers_kind');
    // Completers: { aspect: 1..5 }; dropouts: {}.
    t.jsonb('ratings').notNullable().defaultTo('{}');
    // Dropouts: reason codes (several allowed); completers: [].
    t.jsonb('reasons').notNullable().defaultTo('[]');
    t.text('other_text');
    t.text('actor_role').notNullable();
    t.text('channel').notNullable();
    t.timestamp('answered_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('survey_answers');
  await knex.schema.dropTableIfExists('applications');
  await knex.schema.dropTableIfExists('offer_groups');
  await knex.schema.dropTableIfExists('offers');
  await knex.schema.alterTable('programmes', (t) => {
    t.dropChecks(['programmes_over_cap']);
    t.dropColumn('over_cap');
  });
}
