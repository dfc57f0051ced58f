import type { Knex } from 'knex';

// Programmes edited by the agency (issue 15, items 1 and 2).
// - programme_versions: the rules a journey is judged and funded by (name, age range, funding, grant, co-payment
//   share, social-status rule, approval mode), each version with the moment it takes effect. A journey reads the
//   version in effect when it starts and records it on its case (cases.programme_version); an edit is a new version,
//   so no running journey and no money already granted or earmarked changes.
// - programme_windows: when applications are taken (open, close) and how many per window (cap, with its own count).
//   Intake is live state shared by everyone applying now, so it is not versioned; what happens past a cap is the
//   window's over_cap, or the programme's where the window leaves it open. applications.window_id records which window counted a place, so a release gives it back there.
// - programmes keeps the programme's identity, its over-cap rule, an optional ceiling over all windows together
//   (application_cap, applications_received) and a copy of the rules in effect (current_version) for lists and names.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('programme_versions', (t) => {
    t.text('programme').notNullable().references('code').inTable('programmes').onDelete('CASCADE');
    t.integer('version').notNullable();
    t.timestamp('effective_from', { useTz: true }).notNullable();
    t.text('name_lv').notNullable();
    t.text('name_en').notNullable();
    t.integer('min_age').notNullable();
    t.integer('max_age');
    t.text('funding').notNullable();
    t.integer('balance_cents').notNullable();
    t.integer('copay_percent');
    t.text('social_status_rule').notNullable();
    t.text('approval').notNullable();
    // Why the version was made and by whom (the audit log holds the full before/after).
    t.text('reason').notNullable();
    t.text('changed_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['programme', 'version']);
    t.check("funding IN ('account', 'free', 'copay')", [], 'programme_versions_funding');
    t.check("social_status_rule IN ('not_used', 'priority', 'required')", [], 'programme_versions_social_status_rule');
    t.check("approval IN ('automatic', 'manual')", [], 'programme_versions_approval');
    t.check('balance_cents >= 0', [], 'programme_versions_balance_not_negative');
    t.check('min_age >= 0 AND (max_age IS NULL OR max_age >= min_age)', [], 'programme_versions_age_range');
    t.check("copay_percent IS NULL OR (funding = 'copay' AND copay_percent BETWEEN 5 AND 50)", [], 'programme_versions_copay_percent');
    t.unique(['programme', 'effective_from']);
  });
  // Version 1 of every programme is what it was until now, in effect since long before any journey (2000).
  await knex.raw(`
    INSERT INTO programme_versions (programme, version, effective_from, name_lv, name_en, min_age, max_age, funding,
      balance_cents, copay_percent, social_status_rule, approval, reason, changed_by)
    SELECT code, 1, '2000-01-01T00:00:00Z', name_lv, name_en, min_age, max_age, funding, balance_cents,
      CASE WHEN funding = 'copay' AND copay_percent BETWEEN 5 AND 50 THEN copay_percent END,
      social_status_rule, approval, 'the programme as the migrations set it up', 'migration'
    FROM programmes`);
  await knex.schema.alterTable('programmes', (t) => {
    t.integer('current_version');
  });
  await knex('programmes').update({ current_version: 1 });

  await knex.schema.createTable('programme_windows', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('programme').notNullable().references('code').inTable('programmes').onDelete('CASCADE');
    t.timestamp('opens_at', { useTz: true }).notNullable();
    t.timestamp('closes_at', { useTz: true });
    t.integer('cap');
    // What happens past this window's cap; null: the programme's over_cap.
    t.text('over_cap');
    t.integer('applications_received').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('closes_at IS NULL OR closes_at > opens_at', [], 'programme_windows_order');
    t.check('cap IS NULL OR cap > 0', [], 'programme_windows_cap_positive');
    t.check("over_cap IS NULL OR over_cap IN ('waitlist', 'refuse')", [], 'programme_windows_over_cap');
    t.check('applications_received >= 0 AND (cap IS NULL OR applications_received <= cap)', [], 'programme_windows_cap_respected');
    t.index(['programme', 'opens_at']);
  });
  // The one window each programme had becomes its first window, with its cap and count; the programme-wide cap is
  // cleared (the window holds it now), the programme-wide count stays the total over all windows.
  await knex.raw(`
    INSERT INTO programme_windows (programme, opens_at, closes_at, cap, applications_received)
    SELECT code, coalesce(applications_open_at, '2024-01-01T00:00:00Z'), applications_close_at, application_cap, applications_received
    FROM programmes`);
  await knex('programmes').update({ application_cap: null });

  await knex.schema.alterTable('cases', (t) => {
    t.integer('programme_version');
  });
  await knex('cases').update({ programme_version: 1 });
  await knex.schema.alterTable('applications', (t) => {
    t.uuid('window_id').references('id').inTable('programme_windows');
  });
  await knex.raw(`
    UPDATE applications a SET window_id = w.id FROM cases c, programme_windows w
    WHERE a.case_id = c.id AND w.programme = c.programme`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('applications', (t) => {
    t.dropColumn('window_id');
  });
  await knex.schema.alterTable('cases', (t) => {
    t.dropColumn('programme_version');
  });
  // The first window's cap goes back to the programme.
  await knex.raw(`
    UPDATE programmes p SET application_cap = w.cap FROM (
      SELECT DISTINCT ON (programme) programme, cap FROM programme_windows ORDER BY programme, opens_at
    ) w WHERE w.programme = p.code AND (w.cap IS NULL OR w.cap >= p.applications_received)`);
  await knex.schema.dropTableIfExists('programme_windows');
  await knex.schema.alterTable('programmes', (t) => {
    t.dropColumn('current_version');
  });
  await knex.schema.dropTableIfExists('programme_versions');
}
