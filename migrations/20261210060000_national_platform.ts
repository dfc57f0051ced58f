import type { Knex } from 'knex';

// Issue 17 item 6: the national service platform. Two outboxes, each written in the transaction of what it reports
// and emptied by the worker's publisher (worker/national-platform-publisher.ts):
// - service_status_outbox: each change of a case's stage, numbered per case (seq), sent to the service-accounting
//   interface one case at a time in seq order (docs/contracts/service-accounting.md);
// - official_deliveries: a decision (account approved or refused, enrolment) for the person's official e-address.
// Both carry a lease (owner + expiry) like email_outbox, so two publishers never send the same row at once, and a
// retry time that backs off while the platform is down.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('service_status_outbox', (t) => {
    t.bigIncrements('id');
    // A case that is deleted (only tests' bulk rows ever are) takes its statuses with it.
    t.uuid('case_id').notNullable().references('id').inTable('cases').onDelete('CASCADE');
    /** 1, 2, 3 … per case: the order the platform receives the case's statuses in. */
    t.integer('seq').notNullable();
    t.text('service_case_id').notNullable();
    t.text('status').notNullable();
    t.text('channel').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    /** The same for every attempt: the platform keeps one status per key. */
    t.text('idempotency_key').notNullable().unique();
    t.timestamp('acked_at', { useTz: true });
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('lease_owner');
    t.timestamp('leased_until', { useTz: true });
    t.text('last_error');
    t.unique(['case_id', 'seq']);
  });
  // The publisher reads the head of each case's queue: the unacknowledged rows, by case and seq.
  await knex.raw('CREATE INDEX service_status_outbox_pending ON service_status_outbox (case_id, seq) WHERE acked_at IS NULL');

  await knex.schema.createTable('official_deliveries', (t) => {
    t.bigIncrements('id');
    /** `case:<caseId>:<step>`, the decision e-mail's own key: one delivery per decision however often it is retried. */
    t.text('dedupe_key').notNullable().unique();
    t.uuid('case_id').notNullable().references('id').inTable('cases').onDelete('CASCADE').index();
    t.text('template').notNullable();
    t.text('language').notNullable();
    t.text('subject').notNullable();
    /** The message's text; emptied once delivered (or once the person turns out to have no e-address). */
    t.text('body');
    /** `no_e_address`: the person has none; the e-mail sent alongside is then the only delivery. */
    t.text('status').notNullable().defaultTo('pending');
    t.text('message_id');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('lease_owner');
    t.timestamp('leased_until', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('settled_at', { useTz: true });
  });
  await knex.raw("ALTER TABLE official_deliveries ADD CONSTRAINT official_deliveries_status_check CHECK (status IN ('pending', 'delivered', 'no_e_address'))");
  await knex.raw("CREATE INDEX official_deliveries_pending ON official_deliveries (next_attempt_at) WHERE status = 'pending'");

  // Every case there is today reports its current stage as its first status.
  await knex.raw(`
    INSERT INTO service_status_outbox (case_id, seq, service_case_id, status, channel, occurred_at, idempotency_key)
    SELECT id, 1, service_case_id, stage, channel, updated_at, id || ':1' FROM cases`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('official_deliveries');
  await knex.schema.dropTable('service_status_outbox');
}
