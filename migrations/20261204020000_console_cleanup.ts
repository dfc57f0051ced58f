import type { Knex } from 'knex';

// Issue 11: the console cleans up. Who stopped a workflow and why is written before the cancel or terminate, so
// the cleanup (inside the workflow on cancel, from outside after terminate) records them; a provider registration
// stopped from the console is 'cancelled' (its numbers and e-mail free again); batches may cancel too.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('workflow_stop_requests', (t) => {
    t.text('workflow_id').primary();
    t.text('action').notNullable().checkIn(['cancel', 'terminate'], 'workflow_stop_requests_action');
    t.text('actor_id').notNullable();
    t.text('actor_name').notNullable();
    t.text('reason').notNullable();
    // The console batch that asked, if any.
    t.uuid('batch_id');
    t.timestamp('requested_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // When the read model (case, task, earmark, place; provider; offer) was closed for this stop.
    t.timestamp('cleaned_at', { useTz: true });
  });
  await knex.raw('ALTER TABLE providers DROP CONSTRAINT providers_status');
  await knex.raw(`ALTER TABLE providers ADD CONSTRAINT providers_status
    CHECK (status IN ('awaiting_email', 'awaiting_approval', 'approved', 'rejected', 'expired', 'cancelled'))`);
  await knex.raw('ALTER TABLE console_batches DROP CONSTRAINT console_batches_action');
  await knex.raw("ALTER TABLE console_batches ADD CONSTRAINT console_batches_action CHECK (action IN ('retry', 'terminate', 'cancel'))");
}

export async function down(knex: Knex): Promise<void> {
  await knex('console_batch_items').whereIn('batchId', knex('consoleBatches').where({ action: 'cancel' }).select('id')).delete();
  await knex('console_batches').where({ action: 'cancel' }).delete();
  await knex.raw('ALTER TABLE console_batches DROP CONSTRAINT console_batches_action');
  await knex.raw("ALTER TABLE console_batches ADD CONSTRAINT console_batches_action CHECK (action IN ('retry', 'terminate'))");
  // A cancelled registration reads as expired to the older code: both free the provider's numbers.
  await knex('providers').where({ status: 'cancelled' }).update({ status: 'expired' });
  await knex.raw('ALTER TABLE providers DROP CONSTRAINT providers_status');
  await knex.raw(`ALTER TABLE providers ADD CONSTRAINT providers_status
    CHECK (status IN ('awaiting_email', 'awaiting_approval', 'approved', 'rejected', 'expired'))`);
  await knex.schema.dropTable('workflow_stop_requests');
}
