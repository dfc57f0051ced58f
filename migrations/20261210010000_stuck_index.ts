import type { Knex } from 'knex';

/**
 * Issue 17 item 1: the stuck index. The worker's activity interceptor (worker/stuck-interceptor.ts) writes one row per
 * failing activity of a workflow run (and the reconciliation sweep one per failing workflow task), so the console's
 * stuck view reads the failing workflows from here instead of describing every running workflow.
 *
 * A row is open while `resolved_at` is null; it is resolved (kept a day, then purged) when the activity succeeds,
 * fails for good, or its workflow closes. `attempt` only grows for one key, so a late report of an older attempt
 * (one that outlived its timeout) cannot reopen a row a newer attempt resolved. The failure message may name a
 * person, so it is stored as Temporal holds it: an encrypted payload (lib/payload-codec.ts), decrypted for display.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('stuck_index', (t) => {
    t.text('workflow_id').notNullable();
    t.text('run_id').notNullable();
    t.text('kind').notNullable(); // 'activity' | 'workflow_task'
    t.text('activity_id').notNullable().defaultTo(''); // '' for a workflow task
    t.text('task_queue').notNullable();
    t.text('workflow_type').notNullable();
    t.uuid('case_id');
    t.text('activity_type');
    t.integer('attempt').notNullable();
    t.text('cause').notNullable();
    t.binary('message').notNullable();
    t.timestamp('next_retry_at', { useTz: true });
    t.timestamp('first_failed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_failed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('resolved_at', { useTz: true });
    t.text('resolution');
    t.timestamp('checked_at', { useTz: true });
    t.primary(['workflow_id', 'run_id', 'kind', 'activity_id']);
  });
  await knex.raw(`ALTER TABLE stuck_index ADD CONSTRAINT stuck_index_kind CHECK (kind IN ('activity', 'workflow_task'))`);
  // The stuck view and the sweep read open rows only; the table keeps resolved ones for a day.
  await knex.raw('CREATE INDEX stuck_index_open ON stuck_index (task_queue, cause) WHERE resolved_at IS NULL');
  await knex.raw('CREATE INDEX stuck_index_open_checked ON stuck_index (checked_at NULLS FIRST) WHERE resolved_at IS NULL');
  await knex.raw('CREATE INDEX stuck_index_resolved ON stuck_index (resolved_at) WHERE resolved_at IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('stuck_index');
}
