import type { Knex } from 'knex';

// Data-subject rights (issue 14, part 3): retention rules as data with their runs, the marks that make
// pseudonymisation and document deletion idempotent, and learners' erasure and correction requests.

export async function up(knex: Knex): Promise<void> {
  // One row per rule; the Schedule's workflow reads them at every run, so an administrator's change takes effect
  // at the next run. A rule starts in dry_run: it may be switched to apply only once a dry run has counted.
  await knex.schema.createTable('retention_rules', (t) => {
    t.text('code').primary();
    t.integer('period_months').notNullable();
    t.text('mode').notNullable().defaultTo('dry_run');
    /** Where the period comes from (a seed's clause, or "chosen" with the reason). */
    t.text('source').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('updated_by_name');
    t.check("mode IN ('dry_run', 'apply')", [], 'retention_rules_mode');
    t.check('period_months > 0', [], 'retention_rules_period_positive');
  });
  await knex('retention_rules').insert([
    {
      code: 'closed_case_pseudonymise', period_months: 60,
      source: 'Chosen: the seeds set no period for closed cases; 5 years after the last case closed mirrors how long '
        + 'EU-funded project records are kept (Regulation (EU) 2021/1060, art. 82), to be confirmed by the agency.',
    },
    {
      code: 'documents_delete', period_months: 60,
      source: 'Chosen: the seeds set no period for uploaded documents; 5 years after upload, the same horizon as closed cases.',
    },
  ]);

  // What each run of a rule did: in dry_run the rows it would change, in apply the rows it changed. One row per
  // rule per workflow run, so a retried activity records nothing twice.
  await knex.schema.createTable('retention_runs', (t) => {
    t.bigIncrements('id');
    t.text('rule_code').notNullable().references('code').inTable('retention_rules').onDelete('CASCADE');
    t.text('workflow_id').notNullable();
    t.text('mode').notNullable();
    t.integer('count').notNullable();
    t.timestamp('cutoff', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['workflow_id', 'rule_code']);
    t.index(['rule_code', 'finished_at']);
  });

  await knex.schema.alterTable('learners', (t) => {
    t.timestamp('pseudonymised_at', { useTz: true });
  });
  // A deleted document keeps its row as a tombstone (kind, size, hash, when): the bytes and the file name go.
  await knex.schema.alterTable('documents', (t) => {
    t.timestamp('deleted_at', { useTz: true });
  });
  await knex.raw('ALTER TABLE documents ALTER COLUMN content DROP NOT NULL');
  await knex.raw("ALTER TABLE documents ADD CONSTRAINT documents_bytes_or_tombstone CHECK ((content IS NULL) = (deleted_at IS NOT NULL))");

  // A learner's request to erase or correct their data; the workflow data-subject-request:<id> opens the inbox
  // task and records the outcome here. request_id makes a double-submitted form one request.
  await knex.schema.createTable('data_subject_requests', (t) => {
    t.uuid('id').primary();
    t.text('person_code').notNullable();
    t.uuid('request_id').notNullable().unique();
    t.text('kind').notNullable();
    t.text('text').notNullable();
    t.text('field');
    t.text('correct_value');
    t.text('state').notNullable().defaultTo('open');
    t.text('outcome');
    t.text('outcome_reason');
    t.text('decided_by_name');
    t.timestamp('decided_at', { useTz: true });
    t.timestamp('due_at', { useTz: true }).notNullable();
    t.text('workflow_id').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['person_code', 'created_at']);
    t.check("kind IN ('erasure', 'correction')", [], 'data_subject_requests_kind');
    t.check("state IN ('open', 'decided')", [], 'data_subject_requests_state');
    t.check("outcome IS NULL OR outcome IN ('done', 'partly', 'refused')", [], 'data_subject_requests_outcome');
  });
  // A request's inbox task is about a person, who may have no case (or only closed ones): it names neither a case
  // nor a provider; its facts name the person.
  await knex.raw('ALTER TABLE tasks DROP CONSTRAINT tasks_have_subject');
  await knex.raw("ALTER TABLE tasks ADD CONSTRAINT tasks_have_subject CHECK (case_id IS NOT NULL OR provider_id IS NOT NULL OR type = 'data-subject-request')");
}

export async function down(knex: Knex): Promise<void> {
  await knex('tasks').where({ type: 'data-subject-request' }).delete();
  await knex.raw('ALTER TABLE tasks DROP CONSTRAINT tasks_have_subject');
  await knex.raw('ALTER TABLE tasks ADD CONSTRAINT tasks_have_subject CHECK (case_id IS NOT NULL OR provider_id IS NOT NULL)');
  await knex.schema.dropTable('data_subject_requests');
  await knex.raw('ALTER TABLE documents DROP CONSTRAINT documents_bytes_or_tombstone');
  // Tombstones have no bytes to give back: they cannot satisfy NOT NULL again, so they go.
  await knex('documents').whereNull('content').delete();
  await knex.raw('ALTER TABLE documents ALTER COLUMN content SET NOT NULL');
  await knex.schema.alterTable('documents', (t) => {
    t.dropColumn('deleted_at');
  });
  await knex.schema.alterTable('learners', (t) => {
    t.dropColumn('pseudonymised_at');
  });
  await knex.schema.dropTable('retention_runs');
  await knex.schema.dropTable('retention_rules');
}
