import type { Knex } from 'knex';

// Server-side sessions: the cookie and the bearer token carry only a random token; the row (found by the token's
// SHA-256) says who it is, until when, and whether it was ended (logout, deactivation, ended from another device).
// And the TOTP second factor of password users: the secret sealed with the server's key, the last time step used
// (so a code cannot be used twice), and single-use recovery codes stored as hashes.

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sessions', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('token_hash').notNullable().unique();
    t.text('role').notNullable().checkIn(['learner', 'coordinator', 'staff', 'admin', 'provider']);
    t.text('subject').notNullable();
    t.text('name').notNullable();
    t.uuid('user_id').references('users.id').onDelete('CASCADE');
    t.text('municipality');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('idle_expires_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('second_factor_at', { useTz: true });
    t.text('user_agent');
    t.text('ip');
    t.timestamp('ended_at', { useTz: true });
    t.text('ended_reason').checkIn(['logout', 'ended_elsewhere', 'deactivated', 'role_ended', 'idle', 'expired', 'user_sessions_ended']);
    t.index(['user_id', 'created_at']);
    t.index(['subject', 'created_at']);
  });
  await knex.schema.alterTable('users', (t) => {
    t.text('totp_secret');
    t.text('totp_pending_secret');
    t.timestamp('totp_enrolled_at', { useTz: true });
    t.bigInteger('totp_last_step');
    // Wrong codes in a row and when the last one came: a guess of the 6 digits is cut off after a few tries.
    t.integer('totp_failures').notNullable().defaultTo(0);
    t.timestamp('totp_failed_at', { useTz: true });
  });
  await knex.schema.createTable('recovery_codes', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE').index();
    t.text('code_hash').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('used_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('recovery_codes');
  await knex.schema.alterTable('users', (t) => {
    t.dropColumns('totp_secret', 'totp_pending_secret', 'totp_enrolled_at', 'totp_last_step', 'totp_failures', 'totp_failed_at');
  });
  await knex.schema.dropTable('sessions');
}
