import type { Knex } from 'knex';

// Role requests (issue 15 item 6): a signed-in person asks for the coordinator or career-consultant role; staff
// decide it in the inbox; an approval is a grant with an end date; an administrator may revoke a grant with a
// reason. Career consultants get the learners who asked them for a consultation, and their own notes.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('role_requests', (t) => {
    t.uuid('id').primary();
    // The form's one-time id: a double submit is one request.
    t.text('request_id').notNullable().unique();
    t.text('person_code').notNullable();
    t.text('name').notNullable();
    t.text('role').notNullable().checkIn(['coordinator', 'career_consultant']);
    t.text('municipality').notNullable();
    t.text('organisation');
    t.text('reason').notNullable();
    t.text('state').notNullable().defaultTo('open').checkIn(['open', 'approved', 'rejected']);
    t.text('workflow_id').notNullable();
    t.date('valid_until');
    t.text('decision_reason');
    t.text('decided_by_name');
    t.timestamp('decided_at', { useTz: true });
    t.uuid('grant_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['person_code']);
  });
  // A career consultant works for an organisation, not always a municipality office: the code is then unknown.
  await knex.raw('ALTER TABLE role_grants ALTER COLUMN municipality_code DROP NOT NULL');
  await knex.schema.alterTable('role_grants', (t) => {
    t.text('organisation');
    t.uuid('role_request_id').references('role_requests.id');
    // A revoked grant stops counting at once (activeGrants, resolveSession); the row stays for the record.
    t.timestamp('revoked_at', { useTz: true });
    t.text('revoked_by_name');
    t.text('revoke_reason');
  });
  await knex.schema.createTable('consultations', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    // The learner who asked, and the consultant's grant they asked (the consultant is that grant's person).
    t.text('person_code').notNullable();
    t.text('learner_name').notNullable();
    t.uuid('grant_id').notNullable().references('role_grants.id');
    t.text('consultant_person_code').notNullable();
    t.text('message').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['person_code', 'grant_id']);
    t.index(['consultant_person_code']);
  });
  await knex.schema.createTable('consultant_notes', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('consultation_id').notNullable().references('consultations.id').onDelete('CASCADE');
    t.text('author_person_code').notNullable();
    t.text('author_name').notNullable();
    t.text('text').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['consultation_id']);
  });
  await knex.raw('ALTER TABLE sessions DROP CONSTRAINT sessions_role_check');
  await knex.raw("ALTER TABLE sessions ADD CONSTRAINT sessions_role_check CHECK (role IN ('learner', 'coordinator', 'consultant', 'staff', 'admin', 'provider'))");
  await knex.raw('ALTER TABLE tasks DROP CONSTRAINT tasks_have_subject');
  await knex.raw("ALTER TABLE tasks ADD CONSTRAINT tasks_have_subject CHECK (case_id IS NOT NULL OR provider_id IS NOT NULL OR type IN ('data-subject-request', 'role-request'))");
}

export async function down(knex: Knex): Promise<void> {
  await knex('tasks').where({ type: 'role-request' }).delete();
  await knex.raw('ALTER TABLE tasks DROP CONSTRAINT tasks_have_subject');
  await knex.raw("ALTER TABLE tasks ADD CONSTRAINT tasks_have_subject CHECK (case_id IS NOT NULL OR provider_id IS NOT NULL OR type = 'data-subject-request')");
  await knex('sessions').where({ role: 'consultant' }).delete();
  await knex.raw('ALTER TABLE sessions DROP CONSTRAINT sessions_role_check');
  await knex.raw("ALTER TABLE sessions ADD CONSTRAINT sessions_role_check CHECK (role IN ('learner', 'coordinator', 'staff', 'admin', 'provider'))");
  await knex.schema.dropTable('consultant_notes');
  await knex.schema.dropTable('consultations');
  await knex.schema.alterTable('role_grants', (t) => {
    t.dropColumn('organisation');
    t.dropColumn('role_request_id');
    t.dropColumn('revoked_at');
    t.dropColumn('revoked_by_name');
    t.dropColumn('revoke_reason');
  });
  await knex('role_grants').whereNull('municipality_code').delete();
  await knex.raw('ALTER TABLE role_grants ALTER COLUMN municipality_code SET NOT NULL');
  await knex.schema.dropTable('role_requests');
}
