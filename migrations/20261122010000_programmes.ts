import type { Knex } from 'knex';

// Programmes are data the agency maintains, not code: age range, funding, social-status rule, application window
// and cap. Money in integer cents. The rows below are the programmes the seeds describe (seed 004).

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('programmes', (t) => {
    t.text('code').primary();
    t.text('name_lv').notNullable();
    t.text('name_en').notNullable();
    t.integer('min_age').notNullable();
    t.integer('max_age');
    t.text('funding').notNullable().checkIn(['account', 'free', 'copay']);
    t.integer('balance_cents').notNullable().defaultTo(0);
    t.integer('copay_percent');
    // 'required': only persons with a valid poor / low-income status (SOPA) qualify; 'priority': the status is
    // checked and recorded (priority in a capped window); 'not_used': SOPA is not queried at all (no purpose).
    t.text('social_status_rule').notNullable().defaultTo('not_used').checkIn(['not_used', 'priority', 'required']);
    t.timestamp('applications_open_at', { useTz: true });
    t.timestamp('applications_close_at', { useTz: true });
    t.integer('application_cap');
    t.integer('applications_received').notNullable().defaultTo(0);
    t.text('digcomp_levels').notNullable();
    t.check('balance_cents >= 0', [], 'programmes_balance_not_negative');
    t.check('copay_percent IS NULL OR copay_percent BETWEEN 0 AND 100', [], 'programmes_copay_percent');
    t.check('application_cap IS NULL OR applications_received <= application_cap', [], 'programmes_cap_respected');
  });
  await knex('programmes').insert([
    {
      code: 'IMK', name_lv: 'Digitālās prasmes lietpratējiem (individuālais mācību konts)',
      name_en: 'Digital skills for professionals (individual learning account)', min_age: 18, max_age: null,
      funding: 'account', balance_cents: 50_000, social_status_rule: 'priority', application_cap: 2000,
      applications_open_at: '2024-12-05T00:00:00+02:00', digcomp_levels: '4-6',
    },
    {
      code: 'DPP', name_lv: 'Digitālās pamatprasmes', name_en: 'Digital basic skills', min_age: 16, max_age: 74,
      funding: 'free', balance_cents: 0, applications_open_at: '2024-12-09T00:00:00+02:00', digcomp_levels: '1-3',
    },
    {
      code: 'MN', name_lv: 'Mācības nodarbinātajiem', name_en: 'Training for the employed', min_age: 18, max_age: null,
      // The learner's share (5-50 %) is set per offer, so the programme row leaves it open.
      funding: 'copay', copay_percent: null, applications_open_at: '2024-12-09T00:00:00+02:00', digcomp_levels: 'any',
    },
  ]);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('programmes');
}
