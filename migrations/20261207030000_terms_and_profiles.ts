import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';

// Terms of use as data (issue 15, item 4) and providers' contact data (item 8).

/** The version every learner accepted at registration before versions were data (domain/terms.ts). */
const INITIAL_VERSION = '2025-09';

export async function up(knex: Knex): Promise<void> {
  // Each version of the terms of use with its text in both languages. The current version is the one with the
  // latest effective date that has come (Riga time); a version's text never changes once written, because people
  // accepted exactly that text.
  await knex.schema.createTable('terms_versions', (t) => {
    t.text('version').primary();
    t.text('text_lv').notNullable();
    t.text('text_en').notNullable();
    t.date('effective_from').notNullable().unique();
    /**
     * The version in force before acceptances were recorded one by one: a person with no recorded acceptance is
     * held to it (learners accepted it at registration, provider users and coordinators were admitted under it),
     * so only later versions are asked of everyone at their next sign-in.
     */
    t.boolean('initial').notNullable().defaultTo(false);
    t.text('created_by_name');
    t.text('reason').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('CREATE UNIQUE INDEX terms_versions_one_initial ON terms_versions (initial) WHERE initial');
  await knex('terms_versions').insert({
    version: INITIAL_VERSION, initial: true, effective_from: '2025-09-01', created_by_name: 'migration',
    reason: 'The terms of use of seed 000, in force before versions were kept as data',
    text_lv: fs.readFileSync(path.join(__dirname, '..', 'domain', 'terms-of-use-2025-09.lv.txt'), 'utf8'),
    text_en: 'TERMS OF USE OF THE SKILLS MANAGEMENT PLATFORM (summary; the Latvian text is binding)\n\n'
      + 'The platform is run by the State Education Development Agency. Learners sign in through the national sign-on '
      + '(Latvija.gov.lv); education providers, the agency\'s staff and administrators with a username and password. '
      + 'Every user reads and accepts these terms before using the platform, keeps their contact data true and current, '
      + 'uses the information only for the purpose it was given, keeps their access data secret and reports misuse '
      + 'or a security incident to the agency at once. Access is denied when a role\'s validity period has ended, the '
      + 'rights are compromised, the user asks to suspend the account, breaks these terms, in a security incident, when '
      + 'the agency ends cooperation, or when the person has died. The agency may change these terms; a change takes '
      + 'effect when it is published on the platform, and users accept the new version at their next sign-in.\n',
  });

  // Who accepted which version when: a learner or coordinator by person code (one person, whichever role), a
  // provider user by user id. `how`: on the acceptance page, at registration, or at an assisted registration.
  await knex.schema.createTable('terms_acceptances', (t) => {
    t.bigIncrements('id');
    t.text('version').notNullable().references('version').inTable('terms_versions');
    t.text('person_code');
    t.uuid('user_id').references('id').inTable('users');
    t.text('role').notNullable();
    t.text('how').notNullable();
    t.timestamp('accepted_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check('(person_code IS NULL) <> (user_id IS NULL)', [], 'terms_acceptances_one_person');
    t.check("how IN ('acceptance_page', 'registration', 'assisted_registration')", [], 'terms_acceptances_how');
  });
  await knex.raw('CREATE UNIQUE INDEX terms_acceptances_person ON terms_acceptances (person_code, version) WHERE person_code IS NOT NULL');
  await knex.raw('CREATE UNIQUE INDEX terms_acceptances_user ON terms_acceptances (user_id, version) WHERE user_id IS NOT NULL');

  // A provider's contact phone, kept current by its administrator next to its e-mail.
  await knex.schema.alterTable('providers', (t) => {
    t.text('phone');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('providers', (t) => {
    t.dropColumn('phone');
  });
  await knex.schema.dropTable('terms_acceptances');
  await knex.schema.dropTable('terms_versions');
}
