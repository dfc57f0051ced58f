/** The drill's own stack setup (dev/drill/setup.ts): its data directory and its environment. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { drillLearners } from '../../../dev/drill/scenarios';
import { drillEnv, freshDataDir } from '../../../dev/drill/setup';
import { EXTRA_PEOPLE_VAR } from '../../../dev/stubs/main';

test('the data directory is emptied for a fresh run, but never under another drill that still runs', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drill-data-'));
  fs.writeFileSync(path.join(dir, 'left-over'), 'x');
  // A pid that is alive and not ours: our parent (ava's process).
  fs.writeFileSync(path.join(dir, 'drill.pid'), String(process.ppid));
  t.throws(() => freshDataDir(dir), { message: new RegExp(`another make drill \\(pid ${process.ppid}\\) is running`) });
  t.true(fs.existsSync(path.join(dir, 'left-over')));
  // A pid no process has any more.
  fs.writeFileSync(path.join(dir, 'drill.pid'), '999999999');
  freshDataDir(dir);
  t.deepEqual(fs.readdirSync(dir), ['drill.pid']);
  t.is(fs.readFileSync(path.join(dir, 'drill.pid'), 'utf8'), String(process.pid));
});

test('the drill\'s environment points at nothing of anyone else\'s: own free ports, the drill\'s people', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drill-env-'));
  const env = await drillEnv({ DATABASE_URL: 'postgres://x@127.0.0.1:55433/postgres', TEMPORAL_ADDRESS: '127.0.0.1:7243', SMTP_URL: 'smtp://x', PATH: '/bin' }, dir, drillLearners(10));
  for (const name of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL']) t.is(env[name], undefined, name);
  t.is(env.PATH, '/bin');
  const ports = ['PORT', 'METRICS_PORT', 'POSTGRES_PORT', 'TEMPORAL_PORT', 'TEMPORAL_UI_PORT', 'WORKER_METRICS_PORT', 'MAIL_CATCHER_PORT', 'SMTP_PORT', 'SSO_PORT', 'POPULATION_REGISTER_PORT', 'SOPA_PORT', 'VIIS_PORT', 'ENTERPRISE_REGISTER_PORT'].map((name) => Number(env[name]));
  t.true(ports.every((port) => Number.isInteger(port) && port > 1024));
  t.false(ports.some((port) => [3000, 55432, 55433, 7233, 7243, 8233, 8243, 1025, 8025, 4100, 4101, 4102, 4103, 4104].includes(port)));
  const people = JSON.parse(fs.readFileSync(env[EXTRA_PEOPLE_VAR]!, 'utf8')) as { personCode: string }[];
  t.is(people.length, 11);
});
