import type { Knex } from 'knex';

// Wait-list promotion (issue 15, item 11). A capped place that frees up (withdrawal, decline, timeout, a stop) goes
// to the first wait-listed learner of the programme as a place offer with a deadline, instead of back to the
// counter where a new applicant could take it first. The offer keeps the place counted in
// programmes.applications_received until it is accepted (the learner applies), declined or expires; then it passes
// to the next learner, and only when nobody is waiting is the counter lowered.

export async function up(knex: Knex): Promise<void> {
  // The wait-list's order is (priority desc, created_at): 0 for everyone until a programme's social-status rule
  // (or an administrator) sets it.
  await knex.schema.alterTable('applications', (t) => {
    t.integer('waitlist_priority').notNullable().defaultTo(0);
  });
  await knex.raw("CREATE INDEX applications_waitlist_order ON applications (waitlist_priority DESC, created_at) WHERE state = 'waitlisted'");

  await knex.schema.createTable('place_offers', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('programme').notNullable().references('programmes.code');
    // No foreign keys to cases and applications: the row is written under the programme's lock by another case's
    // transaction, and a key-share lock on the offered case's row could deadlock with that case applying.
    t.uuid('case_id').notNullable();
    // The wait-listed application the offer answers.
    t.uuid('application_id').notNullable();
    t.text('state').notNullable().defaultTo('offered').checkIn(['offered', 'accepted', 'declined', 'expired'], 'place_offers_state');
    t.timestamp('offered_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('due_at', { useTz: true }).notNullable();
    t.timestamp('decided_at', { useTz: true });
    // Exactly once each: a learner (case) is offered a freed place at most once.
    t.unique(['case_id'], { indexName: 'place_offers_once_per_case' });
    t.index(['programme', 'state']);
  });

  // Co-payment (issue 15, item 12): a learner registering for a programme for the employed (funding 'copay', MN)
  // declares their employer; the officer deciding the account's approval reads it on the task. Written by the API
  // before the journey starts, so no foreign key to the case (its row is written later by the workflow).
  await knex.schema.createTable('employment_declarations', (t) => {
    t.uuid('case_id').primary();
    t.text('person_code').notNullable().index();
    t.text('employer_name').notNullable();
    t.text('employer_registration_number');
    t.timestamp('declared_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('employment_declarations');
  await knex.schema.dropTable('place_offers');
  await knex.raw('DROP INDEX IF EXISTS applications_waitlist_order');
  await knex.schema.alterTable('applications', (t) => {
    t.dropColumn('waitlist_priority');
  });
}
