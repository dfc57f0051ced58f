import type { Knex } from 'knex';

// The read model: Temporal owns the process, these tables own what people query. Every row a workflow step
// writes is keyed by the step (unique constraints) so a retried activity is a no-op the second time.

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS pgcrypto');

  await knex.schema.createTable('providers', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('name').notNullable();
    t.text('registration_number').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('users', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('username').notNullable().unique();
    t.text('password_hash').notNullable();
    t.text('display_name').notNullable();
    t.text('role').notNullable().checkIn(['staff', 'admin', 'provider']);
    t.uuid('provider_id').references('providers.id');
    t.boolean('active').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('learners', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('person_code').notNullable().unique();
    t.text('first_name');
    t.text('last_name');
    t.text('email').notNullable();
    t.text('phone');
    t.text('language').notNullable().checkIn(['lv', 'en']);
    t.text('terms_version').notNullable();
    t.timestamp('terms_accepted_at', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.raw('CREATE SEQUENCE service_case_number');
  await knex.schema.createTable('cases', (t) => {
    t.uuid('id').primary();
    t.text('service_case_id').notNullable().unique();
    t.text('workflow_id').notNullable().unique();
    t.uuid('learner_id').notNullable().references('learners.id');
    t.text('programme').notNullable();
    t.text('stage').notNullable();
    t.text('outcome_reason');
    t.text('channel').notNullable();
    t.integer('balance_cents').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('closed_at', { useTz: true });
    t.check('balance_cents >= 0', [], 'cases_balance_not_negative');
  });
  // One open journey per person and programme; a closed one does not block a new application.
  await knex.raw('CREATE UNIQUE INDEX cases_one_open_per_programme ON cases (learner_id, programme) WHERE closed_at IS NULL');

  await knex.schema.createTable('case_events', (t) => {
    t.bigIncrements('id');
    t.uuid('case_id').notNullable().references('cases.id');
    t.text('step').notNullable();
    t.text('kind').notNullable();
    t.text('stage').notNullable();
    t.text('actor_role').notNullable();
    t.text('actor_id');
    t.text('actor_name');
    t.text('channel').notNullable();
    t.jsonb('details').notNullable().defaultTo('{}');
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['case_id', 'step']);
  });

  await knex.schema.createTable('tasks', (t) => {
    t.uuid('id').primary();
    t.uuid('case_id').notNullable().references('cases.id');
    t.text('workflow_id').notNullable();
    t.text('step').notNullable();
    t.text('type').notNullable();
    t.text('state').notNullable().checkIn(['open', 'decided', 'cancelled']);
    t.jsonb('facts').notNullable().defaultTo('{}');
    t.timestamp('due_at', { useTz: true }).notNullable();
    t.timestamp('escalated_at', { useTz: true });
    t.uuid('assignee_id').references('users.id');
    t.text('decision');
    t.text('comment');
    t.text('decided_by_id');
    t.text('decided_by_name');
    t.timestamp('decided_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['workflow_id', 'step']);
    t.index(['state', 'due_at']);
  });

  await knex.schema.createTable('email_outbox', (t) => {
    t.bigIncrements('id');
    t.uuid('case_id').notNullable().references('cases.id');
    t.text('step').notNullable();
    t.text('template').notNullable();
    t.text('language').notNullable();
    t.text('recipient').notNullable();
    t.text('subject').notNullable();
    t.text('status').notNullable().checkIn(['pending', 'sent']);
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('message_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('sent_at', { useTz: true });
    t.unique(['case_id', 'step']);
  });

  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('actor_role').notNullable();
    t.text('actor_id');
    t.text('actor_name');
    t.text('action').notNullable();
    t.text('subject_person_code');
    t.uuid('case_id');
    t.text('purpose').notNullable();
    t.jsonb('result').notNullable().defaultTo('{}');
    // Registry queries are kept 24 months (SOPA agreement, seed 002); a purge job deletes rows past this date.
    t.date('keep_until').notNullable();
    // A retried activity must not audit the same query twice.
    t.text('idempotency_key').unique();
    t.index(['subject_person_code', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['audit_log', 'email_outbox', 'tasks', 'case_events', 'cases', 'learners', 'users', 'providers']) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.raw('DROP SEQUENCE IF EXISTS service_case_number');
}
