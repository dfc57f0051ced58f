import type { Knex } from 'knex';
import { statutoryHolidays } from '../domain/holidays';

// Providers' onboarding and their offers as workflows (issue 4). Reference data the agency maintains (public
// holidays, cost coefficients, calls for offers), the provider registration and its staff, uploaded documents,
// the offer's own fields and state, and tasks and e-mails that belong to a provider or an offer rather than to a
// learner's case. Money in integer cents; the cost coefficient in thousandths (1.28 → 1280), never a float.

export async function up(knex: Knex): Promise<void> {
  // Working-day deadlines skip these days. Statutory holidays are seeded by rule for the coming years; an
  // administrator adds the government's one-off holidays as rows ('one_off').
  await knex.schema.createTable('public_holidays', (t) => {
    t.date('day').primary();
    t.text('name_lv').notNullable();
    t.text('name_en').notNullable();
    t.text('kind').notNullable().checkIn(['statutory', 'one_off'], 'public_holidays_kind');
    t.text('added_by');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  for (let year = 2025; year <= 2035; year += 1) {
    await knex('public_holidays').insert(statutoryHolidays(year).map((h) => ({
      day: h.day, name_lv: h.nameLv, name_en: h.nameEn, kind: 'statutory', added_by: 'migration',
    })));
  }

  // Cabinet Regulation No. 655, annex 3: minimum cost coefficient by programme group.
  await knex.schema.createTable('cost_coefficients', (t) => {
    t.text('code').primary();
    t.text('name_lv').notNullable();
    t.text('name_en').notNullable();
    t.integer('coefficient_thousandths').notNullable();
    // True for rows made up for demonstration; the seeds give only one real value.
    t.boolean('sample').notNullable().defaultTo(false);
    t.check('coefficient_thousandths > 0', [], 'cost_coefficients_positive');
  });
  // The one value the seeds give (seed 001); the agency adds the rest of the annex.
  await knex('cost_coefficients').insert({
    code: 'ICT-DB-NET', name_lv: 'Datorsistēmas, datubāzes un datortīkli',
    name_en: 'Computer systems, databases and networks', coefficient_thousandths: 1280, sample: false,
  });

  // A call for offers: its phases (instants; the submission window closes at 23:59 Riga time), what it funds and
  // its limits.
  await knex.schema.createTable('calls', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('code').notNullable().unique();
    t.text('title_lv').notNullable();
    t.text('title_en').notNullable();
    t.text('programme').notNullable().references('programmes.code');
    // The competences the call funds, e.g. ["Datorsistēmu tehniķis", ...].
    t.jsonb('competences').notNullable().defaultTo('[]');
    t.integer('digcomp_min');
    t.integer('digcomp_max');
    t.integer('min_digital_share_percent').notNullable().defaultTo(70);
    t.integer('max_offers_per_provider').notNullable().defaultTo(3);
    // Document kinds every offer must attach, e.g. ["application_form", "experience_declaration", "curriculum"].
    t.jsonb('required_documents').notNullable().defaultTo('[]');
    t.timestamp('submission_opens_at', { useTz: true }).notNullable();
    t.timestamp('submission_closes_at', { useTz: true }).notNullable();
    t.timestamp('evaluation_ends_at', { useTz: true }).notNullable();
    t.timestamp('publication_at', { useTz: true }).notNullable();
    t.timestamp('applications_open_at', { useTz: true }).notNullable();
    t.timestamp('applications_close_at', { useTz: true }).notNullable();
    t.timestamp('group_formation_at', { useTz: true }).notNullable();
    t.timestamp('teaching_ends_at', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('submission_closes_at > submission_opens_at', [], 'calls_submission_window');
    t.check('digcomp_min IS NULL OR (digcomp_min BETWEEN 1 AND 8 AND digcomp_max BETWEEN digcomp_min AND 8)', [], 'calls_digcomp');
  });

  await knex.schema.alterTable('providers', (t) => {
    t.text('education_registration_number').unique();
    t.text('email');
    // The demo provider and any provider created before onboarding existed count as approved.
    t.text('status').notNullable().defaultTo('approved')
      .checkIn(['awaiting_email', 'awaiting_approval', 'approved', 'rejected', 'expired'], 'providers_status');
    t.text('workflow_id').unique();
    t.text('rejection_reason');
    t.timestamp('email_confirmed_at', { useTz: true });
    t.timestamp('decided_at', { useTz: true });
  });

  await knex.schema.alterTable('users', (t) => {
    t.text('email');
    // For provider users: the registrant becomes 'admin' and approves further 'staff'.
    t.text('provider_role').checkIn(['admin', 'staff'], 'users_provider_role');
    t.text('status').notNullable().defaultTo('active')
      .checkIn(['awaiting_email', 'awaiting_approval', 'active', 'rejected'], 'users_status');
    t.timestamp('email_confirmed_at', { useTz: true });
  });
  await knex.raw('CREATE UNIQUE INDEX users_email_unique ON users (lower(email)) WHERE email IS NOT NULL');

  await knex.schema.alterTable('offers', (t) => {
    t.uuid('call_id').references('calls.id');
    t.text('workflow_id').unique();
    // Offers made before calls existed (the demo offers) are published.
    t.text('state').notNullable().defaultTo('published').checkIn([
      'draft', 'submitted', 'withdrawn', 'not_submitted', 'in_evaluation', 'approved', 'rejected', 'published', 'closed',
    ], 'offers_state');
    t.text('competence');
    t.text('description_lv');
    t.text('description_en');
    t.text('prerequisites_lv');
    t.text('prerequisites_en');
    t.text('language').notNullable().defaultTo('lv');
    t.integer('digcomp_level');
    t.integer('digital_share_percent');
    t.integer('hours_theory');
    t.integer('hours_practice');
    // The VIIS licence of the curriculum; theory + practice hours must match its total.
    t.text('licence_number');
    t.text('coefficient_code').references('cost_coefficients.code');
    // The provider's own cost figure; the system computes cost_cents and shows a mismatch.
    t.integer('stated_cost_cents');
    // Places of delivery: [{ "address": "..." }], each must be registered in VIIS.
    t.jsonb('places').notNullable().defaultTo('[]');
    t.jsonb('rejection_reasons');
    t.timestamp('submitted_at', { useTz: true });
    t.timestamp('decided_at', { useTz: true });
    t.timestamp('published_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['provider_id', 'call_id', 'state']);
  });

  await knex.schema.alterTable('offer_groups', (t) => {
    t.text('schedule');
  });

  // Uploaded documents, kept in the database so a document and the row that needs it commit together.
  await knex.schema.createTable('documents', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('provider_id').notNullable().references('providers.id');
    t.uuid('offer_id').references('offers.id');
    t.text('kind').notNullable();
    t.text('filename').notNullable();
    t.text('content_type').notNullable();
    t.integer('size_bytes').notNullable();
    t.text('sha256').notNullable();
    t.binary('content').notNullable();
    t.uuid('uploaded_by');
    t.timestamp('uploaded_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('size_bytes > 0', [], 'documents_not_empty');
  });
  // One current document of each kind per offer, and per provider for the provider's own documents.
  await knex.raw('CREATE UNIQUE INDEX documents_offer_kind ON documents (offer_id, kind) WHERE offer_id IS NOT NULL');
  await knex.raw('CREATE UNIQUE INDEX documents_provider_kind ON documents (provider_id, kind) WHERE offer_id IS NULL');

  // The history of a provider's registration and of each offer, like case_events for a learner's case.
  await knex.schema.createTable('provider_events', (t) => {
    t.bigIncrements('id');
    t.uuid('provider_id').notNullable().references('providers.id');
    t.uuid('offer_id').references('offers.id');
    t.text('workflow_id').notNullable();
    t.text('step').notNullable();
    t.text('kind').notNullable();
    t.text('state').notNullable();
    t.text('actor_role').notNullable();
    t.text('actor_id');
    t.text('actor_name');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['workflow_id', 'step']);
    t.index(['provider_id', 'offer_id']);
  });

  // Tasks about a provider (registration approval) or an offer (evaluation) have no learner case.
  await knex.schema.alterTable('tasks', (t) => {
    t.uuid('case_id').nullable().alter();
    t.uuid('provider_id').references('providers.id');
    t.uuid('offer_id').references('offers.id');
    t.check('case_id IS NOT NULL OR provider_id IS NOT NULL', [], 'tasks_have_subject');
  });

  // The outbox is keyed by one string (case:<caseId>:<step> for a learner's case, <workflowId>:<step> otherwise),
  // so e-mails to providers and to the agency go through the same exactly-once path.
  await knex.schema.alterTable('email_outbox', (t) => {
    t.uuid('case_id').nullable().alter();
    t.text('dedupe_key');
  });
  await knex.raw(`UPDATE email_outbox SET dedupe_key = 'case:' || case_id || ':' || step`);
  await knex.schema.alterTable('email_outbox', (t) => {
    t.text('dedupe_key').notNullable().alter();
    t.unique(['dedupe_key']);
    t.dropUnique(['case_id', 'step']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex('email_outbox').whereNull('case_id').delete();
  await knex.schema.alterTable('email_outbox', (t) => {
    t.dropUnique(['dedupe_key']);
    t.dropColumn('dedupe_key');
    t.unique(['case_id', 'step']);
    t.uuid('case_id').notNullable().alter();
  });
  await knex('tasks').whereNull('case_id').delete();
  await knex.schema.alterTable('tasks', (t) => {
    t.dropChecks(['tasks_have_subject']);
    t.dropColumn('offer_id');
    t.dropColumn('provider_id');
    t.uuid('case_id').notNullable().alter();
  });
  await knex.schema.dropTable('provider_events');
  await knex.schema.dropTable('documents');
  await knex.schema.alterTable('offer_groups', (t) => t.dropColumn('schedule'));
  await knex.schema.alterTable('offers', (t) => {
    t.dropIndex(['provider_id', 'call_id', 'state']);
    t.dropChecks(['offers_state']);
    for (const column of [
      'call_id', 'workflow_id', 'state', 'competence', 'description_lv', 'description_en', 'prerequisites_lv',
      'prerequisites_en', 'language', 'digcomp_level', 'digital_share_percent', 'hours_theory', 'hours_practice',
      'licence_number', 'coefficient_code', 'stated_cost_cents', 'places', 'rejection_reasons',
      'submitted_at', 'decided_at', 'published_at', 'updated_at',
    ]) t.dropColumn(column);
  });
  await knex.raw('DROP INDEX IF EXISTS users_email_unique');
  await knex.schema.alterTable('users', (t) => {
    t.dropChecks(['users_provider_role', 'users_status']);
    for (const column of ['email', 'provider_role', 'status', 'email_confirmed_at']) t.dropColumn(column);
  });
  await knex.schema.alterTable('providers', (t) => {
    t.dropChecks(['providers_status']);
    for (const column of [
      'education_registration_number', 'email', 'status', 'workflow_id', 'rejection_reason', 'email_confirmed_at', 'decided_at',
    ]) t.dropColumn(column);
  });
  await knex.schema.dropTable('calls');
  await knex.schema.dropTable('cost_coefficients');
  await knex.schema.dropTable('public_holidays');
}
