import type { Knex } from 'knex';

/**
 * Issue 16 item 5: the staff inbox searches by learner name, person code and case number, and a case file lists
 * a case's tasks and letters. Without these indexes each search would read every task (there was no index on
 * tasks.case_id) or every learner.
 *
 * A name is matched word by word against the start of the first or last name, lower case and without Latvian
 * diacritics ("berz" finds "Bērziņš"): learner_name_key folds a name so, and btree indexes on the folded names
 * (text_pattern_ops, so LIKE 'prefix%' uses them under any collation) serve those prefix matches. The same folding
 * is written in domain/inbox-search.ts (nameKey) for the search words.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION learner_name_key(name text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT translate(lower(name), 'āčēģīķļņšūž', 'acegiklnsuz') $$`);
  await knex.raw('CREATE INDEX learners_first_name_key ON learners (learner_name_key(first_name) text_pattern_ops)');
  await knex.raw('CREATE INDEX learners_last_name_key ON learners (learner_name_key(last_name) text_pattern_ops)');
  await knex.schema.alterTable('cases', (t) => { t.index(['learner_id']); });
  await knex.schema.alterTable('tasks', (t) => { t.index(['case_id']); });
  await knex.schema.alterTable('email_outbox', (t) => { t.index(['case_id']); });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('email_outbox', (t) => { t.dropIndex(['case_id']); });
  await knex.schema.alterTable('tasks', (t) => { t.dropIndex(['case_id']); });
  await knex.schema.alterTable('cases', (t) => { t.dropIndex(['learner_id']); });
  await knex.raw('DROP INDEX learners_last_name_key');
  await knex.raw('DROP INDEX learners_first_name_key');
  await knex.raw('DROP FUNCTION learner_name_key(text)');
}
