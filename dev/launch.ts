/**
 * `make run`: the whole stack on this machine — PostgreSQL, a Temporal dev server, the registry, SSO and mail
 * stubs, then migrations and demo data, the worker and the API — with data kept in .data/ between runs.
 * Every address can be pointed elsewhere by environment variable; whatever is given is not started here.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { searchAttributeTypes } from '../workflows/ids';
import { waitForHttp, waitForPort } from './services/net';
import { startPostgres } from './services/postgres';
import { runCommand, spawnService, stopAll, stopOnSignals, stopStrays, unlessExited, type Service } from './services/processes';
import { ensureTemporalCli, startTemporal } from './services/temporal';

const root = path.resolve(__dirname, '..');
const dataDir = path.join(root, '.data');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

/** The stubs dev/stubs/main.ts serves, each started unless its real counterpart's URL is given. */
const stubs = [
  { urlVar: 'POPULATION_REGISTER_URL', portVar: 'POPULATION_REGISTER_PORT', port: 4101, url: (p: number) => `http://127.0.0.1:${p}` },
  { urlVar: 'SSO_ISSUER', portVar: 'SSO_PORT', port: 4100, url: (p: number) => `http://127.0.0.1:${p}` },
  { urlVar: 'SOPA_URL', portVar: 'SOPA_PORT', port: 4102, url: (p: number) => `http://127.0.0.1:${p}` },
  { urlVar: 'VIIS_URL', portVar: 'VIIS_PORT', port: 4103, url: (p: number) => `http://127.0.0.1:${p}` },
  { urlVar: 'ENTERPRISE_REGISTER_URL', portVar: 'ENTERPRISE_REGISTER_PORT', port: 4104, url: (p: number) => `http://127.0.0.1:${p}` },
  { urlVar: 'SMTP_URL', portVar: 'SMTP_PORT', port: 1025, url: (p: number) => `smtp://127.0.0.1:${p}` },
] as const;

async function main(): Promise<void> {
  stopOnSignals();
  fs.mkdirSync(dataDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env };
  const setDefault = (name: string, value: string): string => (env[name] = env[name]?.trim() || value);

  const publicUrl = setDefault('PUBLIC_URL', 'http://127.0.0.1:3000').replace(/\/+$/, '');
  setDefault('PORT', '3000');
  const namespace = setDefault('TEMPORAL_NAMESPACE', 'default');
  setDefault('TEMPORAL_TASK_QUEUE', 'learning-accounts');
  // The same defaults the SSO stub registers its client with.
  setDefault('SSO_CLIENT_ID', 'learning-accounts');
  setDefault('SSO_CLIENT_SECRET', 'dev-sso-secret');
  setDefault('WORKER_METRICS_PORT', '9464');
  // The agency employee in whose name the system's SOPA queries go out (a sample person for the demo).
  setDefault('SOPA_OPERATOR_FIRST_NAME', 'Ilze');
  setDefault('SOPA_OPERATOR_LAST_NAME', 'Priede');
  setDefault('SOPA_OPERATOR_PERSON_CODE', '010180-10007');
  // Escalation e-mails go here; on the demo stack they land in the mail catcher like all other mail.
  setDefault('AGENCY_INBOX_EMAIL', 'agency@learning-accounts.test');
  setDefault('SESSION_SECRET', sessionSecret());

  const [databaseUrl, temporal] = await Promise.all([
    env.DATABASE_URL?.trim() ||
      startPostgres({ dataDir: path.join(dataDir, 'postgres'), port: 55432, user: 'ila', database: 'ila' }).then((pg) => pg.url),
    env.TEMPORAL_ADDRESS?.trim()
      ? { address: env.TEMPORAL_ADDRESS.trim(), uiUrl: env.TEMPORAL_UI_URL?.trim() || null }
      : ensureTemporalCli(root).then((binary) =>
          startTemporal({
            binary,
            port: 7233,
            uiPort: 8233,
            dbFile: path.join(dataDir, 'temporal', 'temporal.db'),
            namespace,
            searchAttributes: searchAttributeTypes,
          }),
        ),
  ]);
  env.DATABASE_URL = databaseUrl;
  env.TEMPORAL_ADDRESS = temporal.address;
  if (temporal.uiUrl) setDefault('TEMPORAL_UI_URL', temporal.uiUrl);

  const missing = stubs.filter((stub) => !env[stub.urlVar]?.trim());
  if (missing.length > 0) {
    const listening: number[] = [];
    for (const stub of stubs) {
      const port = Number(setDefault(stub.portVar, String(stub.port)));
      if (!missing.includes(stub)) continue;
      env[stub.urlVar] = stub.url(port);
      listening.push(port);
    }
    const mailCatcherPort = Number(setDefault('MAIL_CATCHER_PORT', '8025'));
    // The mail catcher only sees our mail when SMTP goes to the stub.
    if (missing.some((stub) => stub.urlVar === 'SMTP_URL')) {
      setDefault('MAIL_CATCHER_URL', `http://127.0.0.1:${mailCatcherPort}`);
      listening.push(mailCatcherPort);
    }
    const stubProcess = await startTsx('stubs', 'dev/stubs/main.ts', env);
    await unlessExited(stubProcess, Promise.all(listening.map((port) => waitForPort(port, 30_000))));
  }

  // Migrations and idempotent demo data, before anything reads the database.
  const seedExit = await runCommand('seed', tsx, ['dev/seed.ts'], { env, cwd: root });
  if (seedExit !== 0) throw new Error(`dev/seed.ts failed with exit code ${seedExit} (its output is above)`);

  const worker = await startTsx('worker', 'worker/main.ts', env);
  const api = await startTsx('api', 'api/main.ts', env);
  // The worker answers on its metrics port once it has bundled the workflows and started polling.
  const ready = Promise.all([
    waitForHttp(`${publicUrl}/api/health`, 120_000),
    waitForHttp(`http://127.0.0.1:${env.WORKER_METRICS_PORT}/metrics`, 120_000),
  ]);
  await eitherExit([worker, api], ready);

  printSummary(env, publicUrl);
}

/** Starts a TypeScript entry point under supervision, first stopping a copy that a killed run left holding its ports. */
async function startTsx(name: string, script: string, env: NodeJS.ProcessEnv): Promise<Service> {
  await stopStrays(name, (argv) => argv[1] === tsx && argv[2] === script);
  return spawnService(name, tsx, [script], { env, cwd: root });
}

/** `work`, unless one of the services exits first. */
function eitherExit<T>(services: Service[], work: Promise<T>): Promise<T> {
  return services.reduce((result, service) => unlessExited(service, result), work);
}

/** A random secret made on the first run and kept in .data/, so sessions survive a restart of `make run`. */
function sessionSecret(): string {
  const file = path.join(dataDir, 'session-secret');
  if (!fs.existsSync(file)) fs.writeFileSync(file, crypto.randomBytes(32).toString('base64url'), { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

function printSummary(env: NodeJS.ProcessEnv, publicUrl: string): void {
  const rows: [string, string | undefined][] = [
    ['Web app', publicUrl],
    ['Staff inbox', `${publicUrl}/staff/tasks`],
    ['Workflow console', `${publicUrl}/admin/workflows`],
    ['Catalogue', `${publicUrl}/catalogue`],
    ['OpenAPI', `${publicUrl}/api/openapi.json`],
    ['API metrics', `${publicUrl}/metrics`],
    ['Worker metrics', `http://127.0.0.1:${env.WORKER_METRICS_PORT}/metrics`],
    ['Temporal Web UI', env.TEMPORAL_UI_URL],
    ['Temporal', env.TEMPORAL_ADDRESS],
    ['Mail catcher', env.MAIL_CATCHER_URL],
    ['Population Reg.', env.POPULATION_REGISTER_URL],
    ['SOPA', env.SOPA_URL],
    ['VIIS', env.VIIS_URL],
    ['Enterprise Reg.', env.ENTERPRISE_REGISTER_URL],
    ['PostgreSQL', env.DATABASE_URL],
  ];
  const lines = [
    'Learning accounts are running. Ctrl-C stops everything started here; data stays in .data/.',
    '',
    ...rows.filter((row): row is [string, string] => Boolean(row[1])).map(([label, url]) => `  ${label.padEnd(16)} ${url}`),
    '',
    'Demo logins',
    '  Learners sign in through the SSO stub: pick',
    '    Anna Bērziņa   321178-40215  eligible',
    '    Līga Ozola     010309-21234  under 18',
    '    Pēteris Liepa  120345-10001  deceased',
    '    Marta Zariņa   220288-10458  also a coordinator for Daugavpils (choose the role after sign-in)',
    '  Agency staff     staff    / Agentura#2026   (also staff2 / Kolegis#2026)',
    '  Team lead        lead     / Vaditaja#2026   (assigns tasks to colleagues)',
    '  Administrator    admin    / Admins#2026x',
    '  Provider         provider / Provider#2026   (administrator of the demo provider)',
  ];
  const rule = '='.repeat(78);
  process.stdout.write(`\n${rule}\n${lines.join('\n')}\n${rule}\n\n`);
}

main().catch(async (error: unknown) => {
  process.stderr.write(`\nmake run failed: ${error instanceof Error ? error.message : String(error)}\n`);
  await stopAll();
  process.exit(1);
});
