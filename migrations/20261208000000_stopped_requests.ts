import type { Knex } from 'knex';

/**
 * A role or data-subject request whose workflow the agency stopped from the console ends as 'cancelled'
 * (activities/workflow-stop.ts): the person sees it closed without a decision and may ask again, instead of a row
 * left 'open' for ever that also kept them from filing a new one.
 */
export async function up(knex: Knex): Promise<void> {
  await dropStateChecks(knex, 'role_requests');
  await knex.raw("ALTER TABLE role_requests ADD CONSTRAINT role_requests_state CHECK (state IN ('open', 'approved', 'rejected', 'cancelled'))");
  await knex.schema.alterTable('role_requests', (t) => { t.index(['workflow_id']); });
  await knex.raw('ALTER TABLE data_subject_requests DROP CONSTRAINT data_subject_requests_state');
  await knex.raw("ALTER TABLE data_subject_requests ADD CONSTRAINT data_subject_requests_state CHECK (state IN ('open', 'decided', 'cancelled'))");
}

export async function down(knex: Knex): Promise<void> {
  await knex('role_requests').where({ state: 'cancelled' }).update({ state: 'rejected' });
  await knex('data_subject_requests').where({ state: 'cancelled' }).update({ state: 'decided', outcome: 'refused' });
  await knex.schema.alterTable('role_requests', (t) => { t.dropIndex(['workflow_id']); });
  await dropStateChecks(knex, 'role_requests');
  await knex.raw("ALTER TABLE role_requests ADD CONSTRAINT role_requests_state CHECK (state IN ('open', 'approved', 'rejected'))");
  await knex.raw('ALTER TABLE data_subject_requests DROP CONSTRAINT data_subject_requests_state');
  await knex.raw("ALTER TABLE data_subject_requests ADD CONSTRAINT data_subject_requests_state CHECK (state IN ('open', 'decided'))");
}

// knex's checkIn named role_requests' check itself; whatever its name, drop the checks on its state column.
async function dropStateChecks(knex: Knex, table: string): Promise<void> {
  const { rows } = await knex.raw<{ rows: { conname: string }[] }>(`
    SELECT conname FROM pg_constraint WHERE conrelid = ?::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%state%'`, [table]);
  for (const { conname } of rows) await knex.raw('ALTER TABLE ?? DROP CONSTRAINT ??', [table, conname]);
}
