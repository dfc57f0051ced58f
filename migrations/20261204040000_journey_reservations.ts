import type { Knex } from 'knex';

// The one-open-application rule, decided where it cannot race: the API reserves (person, programme) for a case id
// before it starts the journey, and the case-closing activity releases the reservation. Reading `cases` could not
// decide it, because the workflow writes the case row later (and not at all while the worker is behind).

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('journey_reservations', (t) => {
    t.text('person_code').notNullable();
    t.text('programme').notNullable().references('code').inTable('programmes');
    t.uuid('case_id').notNullable().index();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['person_code', 'programme']);
  });
  // Cases open today hold their reservation from the start.
  await knex.raw(`
    INSERT INTO journey_reservations (person_code, programme, case_id, created_at)
    SELECT l.person_code, c.programme, c.id, c.created_at FROM cases c JOIN learners l ON l.id = c.learner_id
    WHERE c.closed_at IS NULL
    ON CONFLICT DO NOTHING`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('journey_reservations');
}
