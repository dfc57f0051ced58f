import type { Knex } from 'knex';

// Issue 15, items 9 and 10: the agency's announcements (a banner for an audience in a period, optionally e-mailed
// once per person by a throttled workflow) and the notifications to providers. E-mails go through email_outbox,
// whose dedupe key makes each one once: `announcement:<id>:<address>`, `provider-notice:<kind>:<id>`.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('announcements', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('title_lv').notNullable();
    t.text('title_en').notNullable();
    t.text('body_lv').notNullable();
    t.text('body_en').notNullable();
    t.text('audience').notNullable();
    t.timestamp('shows_from', { useTz: true }).notNullable();
    t.timestamp('shows_until', { useTz: true }).notNullable();
    // Whether it is also e-mailed to its audience; the mailing's workflow and how many addresses it counted.
    t.boolean('email').notNullable().defaultTo(false);
    t.text('mailing_workflow_id');
    t.integer('email_total');
    t.timestamp('mailing_finished_at', { useTz: true });
    t.text('created_by_name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('withdrawn_at', { useTz: true });
    t.text('withdrawn_by_name');
    t.check("audience IN ('everyone', 'learners', 'providers', 'staff')", [], 'announcements_audience');
    t.check('shows_until > shows_from', [], 'announcements_period_order');
    // The banner reads the ones not yet over.
    t.index(['shows_until']);
  });
  // The admin page counts an announcement's e-mails by their dedupe key's prefix.
  await knex.raw('CREATE INDEX email_outbox_dedupe_key_prefix ON email_outbox (dedupe_key text_pattern_ops)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS email_outbox_dedupe_key_prefix');
  await knex.schema.dropTable('announcements');
}
