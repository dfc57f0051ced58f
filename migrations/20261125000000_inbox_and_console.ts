import type { Knex } from 'knex';

// Issue 5: the staff inbox (team leads assign tasks; filters need indexes) and the administrators' console (batch
// operations with their per-workflow results, and registry call statistics for the health panel).

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    // Team leads may assign tasks to colleagues; everyone else claims for themselves.
    t.boolean('team_lead').notNullable().defaultTo(false);
  });
  await knex.schema.alterTable('tasks', (t) => {
    t.timestamp('claimed_at', { useTz: true });
    t.index(['assignee_id', 'state']);
    t.index(['type', 'state']);
    t.index(['created_at']);
  });

  // A batch retry or terminate over a filtered set of workflows, run by a workflow (workflows/console-batch.ts).
  await knex.schema.createTable('console_batches', (t) => {
    t.uuid('id').primary();
    t.text('action').notNullable().checkIn(['retry', 'terminate'], 'console_batches_action');
    t.text('reason').notNullable();
    // The filter the administrator chose, as shown in the preview (e.g. { "cause": "..." }).
    t.jsonb('filter').notNullable();
    t.integer('total').notNullable();
    t.text('started_by_id').notNullable();
    t.text('started_by_name').notNullable();
    t.text('state').notNullable().defaultTo('running').checkIn(['running', 'finished'], 'console_batches_state');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
  });
  await knex.schema.createTable('console_batch_items', (t) => {
    t.uuid('batch_id').notNullable().references('console_batches.id');
    t.text('workflow_id').notNullable();
    // pending → sent (the command was accepted) or failed (it was not); verified says whether the failure cleared.
    t.text('status').notNullable().defaultTo('pending').checkIn(['pending', 'sent', 'failed'], 'console_batch_items_status');
    t.text('verified').checkIn(['cleared', 'still_failing', 'not_found'], 'console_batch_items_verified');
    t.text('detail');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['batch_id', 'workflow_id']);
  });

  // Calls to each registry per minute, written by the worker's registry clients, read by the health panel.
  await knex.schema.createTable('registry_call_stats', (t) => {
    t.text('registry').notNullable();
    t.timestamp('minute', { useTz: true }).notNullable();
    t.integer('calls').notNullable().defaultTo(0);
    t.integer('errors').notNullable().defaultTo(0);
    t.bigInteger('total_ms').notNullable().defaultTo(0);
    t.integer('max_ms').notNullable().defaultTo(0);
    t.primary(['registry', 'minute']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('registry_call_stats');
  await knex.schema.dropTable('console_batch_items');
  await knex.schema.dropTable('console_batches');
  await knex.schema.alterTable('tasks', (t) => {
    t.dropIndex(['created_at']);
    t.dropIndex(['type', 'state']);
    t.dropIndex(['assignee_id', 'state']);
    t.dropColumn('claimed_at');
  });
  await knex.schema.alterTable('users', (t) => t.dropColumn('team_lead'));
}
