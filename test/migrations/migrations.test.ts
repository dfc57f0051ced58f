import { randomUUID } from 'node:crypto';
import test from 'ava';
import knexFactory from 'knex';
import { createDb } from '../../lib/db';

// Every migration has a working `down`: a deployment can be rolled back step by step and brought forward again.
test('all migrations roll back to an empty schema and apply again', async (t) => {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('TEST_DATABASE_URL is not set: run the tests with the project\'s test command (make test)');
  const name = `test_migrations_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  await admin.raw(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = createDb(url.toString(), { min: 0, max: 2 });
  try {
    await db.migrate.latest();
    const applied = (await db('knexMigrations').count<{ count: string }[]>('* as count'))[0].count;
    await db.migrate.rollback(undefined, true);
    const left = await db.raw<{ rows: { tablename: string }[] }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'knex_%'");
    t.deepEqual(left.rows.map((r) => r.tablename), [], 'tables left after rolling everything back');
    await db.migrate.latest();
    const again = (await db('knexMigrations').count<{ count: string }[]>('* as count'))[0].count;
    t.is(again, applied);
    t.true(Number(applied) >= 8);
  } finally {
    await db.destroy();
    await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.destroy();
  }
});
