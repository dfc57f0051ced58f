import type { Knex } from 'knex';

// The audit's life: rows carry the municipality a registry query was about (a municipality may ask for the audit
// of its SOPA queries, seed 002 § 3.3), the purge finds expired rows by keep_until, and each purge run is recorded.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => {
    // The declared-address municipality of the person a registry query was about (Population Register's name for
    // it), or the coordinator's for an assisted registration when the register's answer is not known.
    t.text('municipality');
    t.index(['keep_until']);
    t.index(['at']);
    t.index(['actor_id', 'at']);
    // Views of a case name the case: a person's audit (and "who viewed my case") finds them through it.
    t.index(['case_id']);
  });
  await knex.raw('CREATE INDEX audit_log_municipality_at_index ON audit_log (lower(municipality), at) WHERE municipality IS NOT NULL');

  // Backfill what can be derived: before this column, only an assisted registration's case events recorded a
  // municipality (the coordinator's), so SOPA and Population Register queries of those cases get it.
  await knex.raw(`
    UPDATE audit_log a SET municipality = e.municipality
      FROM (SELECT DISTINCT ON (case_id) case_id, details->>'municipality' AS municipality FROM case_events
             WHERE details->>'municipality' IS NOT NULL ORDER BY case_id, occurred_at) e
     WHERE a.case_id = e.case_id AND a.municipality IS NULL
       AND a.action IN ('sopa.get-statuses', 'population-register.get-person')`);

  // One row per purge run (workflow run), written once even when its activity is retried.
  await knex.schema.createTable('purge_runs', (t) => {
    t.bigIncrements('id');
    t.text('run_key').notNullable().unique();
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Rows with keep_until before this Riga day were removed.
    t.date('expired_before').notNullable();
    t.integer('audit_removed').notNullable();
    t.integer('registry_stats_removed').notNullable();
    t.index(['finished_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('purge_runs');
  await knex.raw('DROP INDEX IF EXISTS audit_log_municipality_at_index');
  await knex.schema.alterTable('audit_log', (t) => {
    t.dropIndex(['case_id']);
    t.dropIndex(['actor_id', 'at']);
    t.dropIndex(['at']);
    t.dropIndex(['keep_until']);
    t.dropColumn('municipality');
  });
}
