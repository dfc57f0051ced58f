import type { Knex } from 'knex';

// Two attempts at the same e-mail must not talk to the SMTP server at once: an attempt sends only while it holds
// the row's lease (owner + expiry, renewed while it sends). A permanent refusal by the server is an outcome, kept
// on the row with the server's reply, not a reason to retry for ever.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('email_outbox', (t) => {
    t.text('lease_owner');
    t.timestamp('leased_until', { useTz: true });
    t.text('smtp_reply');
    t.timestamp('rejected_at', { useTz: true });
  });
  await knex.raw('ALTER TABLE email_outbox DROP CONSTRAINT email_outbox_status_check');
  await knex.raw("ALTER TABLE email_outbox ADD CONSTRAINT email_outbox_status_check CHECK (status IN ('pending', 'sent', 'rejected'))");
}

export async function down(knex: Knex): Promise<void> {
  // The old schema cannot say "rejected"; such rows go back to pending, which is what the old code made of them.
  await knex('email_outbox').where({ status: 'rejected' }).update({ status: 'pending' });
  await knex.raw('ALTER TABLE email_outbox DROP CONSTRAINT email_outbox_status_check');
  await knex.raw("ALTER TABLE email_outbox ADD CONSTRAINT email_outbox_status_check CHECK (status IN ('pending', 'sent'))");
  await knex.schema.alterTable('email_outbox', (t) => {
    t.dropColumn('rejected_at');
    t.dropColumn('smtp_reply');
    t.dropColumn('leased_until');
    t.dropColumn('lease_owner');
  });
}
