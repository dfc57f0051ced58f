import type { Knex } from 'knex';

// Throttling counts (api/throttle.ts) live in PostgreSQL so every API instance shares them. The shape is the one
// rate-limiter-flexible's RateLimiterPostgres expects (key, points, expire in epoch milliseconds); we create it
// here rather than letting the library create it at start, so the schema is versioned like every other table.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_limits', (t) => {
    t.string('key', 255).primary();
    t.integer('points').notNullable().defaultTo(0);
    t.bigInteger('expire');
    // The library deletes rows expired an hour ago every five minutes.
    t.index(['expire']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_limits');
}
