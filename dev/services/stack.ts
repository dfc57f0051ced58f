/**
 * The whole stack on this machine, as `make run` starts it: PostgreSQL, a Temporal dev server, the registry, SSO
 * and mail stubs, then migrations and demo data, the worker and the API, with data kept in one directory. Every
 * address and port can be given by environment variable; a service whose address is given is not started here.
 * `make run` uses it on .data/ and the default ports; the fault drill uses it on a directory and ports of its own.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { searchAttributeTypes } from '../../workflows/ids';
import { assertPortsFree, freePort, waitForHttp, waitForListener, type WantedPort } from './net';
import { startPostgres, stopLeftoverPostgres, type PostgresOptions, type RunningPostgres } from './postgres';
import { runCommand, stopStrays, superviseService, unlessExited, type SupervisedService } from './processes';
import { ensureTemporalCli, startTemporal, stopLeftoverTemporal, type RunningTemporal, type TemporalOptions } from './temporal';
import { MAIL_CATCHER_WEB, STUBS, stubsWithoutUrl } from '../stubs/ports';
import { STUB_TLS_DIR_VAR } from '../stubs/main';
import { ensureDevTls } from '../tls';

/** The SOPA client's certificate variables (lib/config.ts) and the stub's certificate directory. */
const SOPA_TLS_VARS = ['SOPA_CLIENT_CERT', 'SOPA_CLIENT_KEY', 'SOPA_CA_CERT', STUB_TLS_DIR_VAR];

const root = path.resolve(__dirname, '..', '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

/** A clean stop of the API takes up to 10 s (api/main.ts), of the worker up to 30 s (worker/main.ts); then SIGKILL. */
const API_KILL_AFTER_MS = 15_000;
const WORKER_KILL_AFTER_MS = 35_000;

/** What startStack started; a server whose address was given is null. stopAll() stops all of it. */
export interface RunningStack {
  /** The environment the worker and the API run with (every address filled in). */
  env: NodeJS.ProcessEnv;
  publicUrl: string;
  postgres: RunningPostgres | null;
  temporal: RunningTemporal | null;
  /**
   * How PostgreSQL and Temporal were started (null when their address was given), so they can be stopped and
   * started again on the same data and port: the fault drill does that to take them away for a while.
   */
  startedWith: { postgres: PostgresOptions | null; temporal: TemporalOptions | null };
  stubs: SupervisedService | null;
  worker: SupervisedService;
  api: SupervisedService;
}

/**
 * Variables that would point a stack at someone else's services (a `make run`, the test servers) or share their
 * secrets and names.
 */
const ADDRESS_VARS = [
  'DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE', 'TEMPORAL_UI_URL', 'PUBLIC_URL', 'SESSION_SECRET', 'LINK_SECRET',
  'PAYLOAD_KEYS', 'PAYLOAD_KEY_ID',
  'MAIL_CATCHER_URL', 'SSO_CLIENT_ID', 'SSO_CLIENT_SECRET', ...STUBS.map((stub) => stub.urlVar),
  // issue 17 (registries): the SOPA stub's certificates belong to the stack that made them.
  ...SOPA_TLS_VARS,
];

/** Every port variable startStack reads (the worker's metrics port also takes the next one). */
const PORT_VARS = ['PORT', 'METRICS_PORT', 'POSTGRES_PORT', 'TEMPORAL_PORT', 'TEMPORAL_UI_PORT', MAIL_CATCHER_WEB.portVar, ...STUBS.map((stub) => stub.portVar)];

/**
 * The environment for a second stack of this checkout beside `make run` and `make test` (the fuzz stage, the fault
 * drill): none of the addresses it was given, so it starts every service itself, each on a free port of its own.
 * Its processes log from `warn` unless LOG_LEVEL says otherwise: thousands of request lines would bury what
 * matters (warnings, errors, a process that exits).
 */
export async function secondStackEnv(base: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(base).filter(([name]) => !ADDRESS_VARS.includes(name)));
  for (const name of PORT_VARS) env[name] = String(await freePort());
  env.WORKER_METRICS_PORT = String(await freePort(true));
  env.LOG_LEVEL = base.LOG_LEVEL?.trim() || 'warn';
  return env;
}

/** Starts everything and resolves once the API is ready and the worker polls; stop it with stopAll(). */
export async function startStack(options: {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  /**
   * Stop the API, worker and stubs of this checkout that a killed earlier run left behind (found by their command
   * line). Only for `make run`: a second stack of the same checkout (the fault drill, the fuzz stage) runs beside
   * it on other ports and must not stop it.
   */
  stopStrayProcesses?: boolean;
  /** Start PostgreSQL on an empty cluster (the fault drill's fresh data); restarts keep the data. */
  freshPostgres?: boolean;
  /**
   * lean: run the build in dist/ (`make build`) as production does, `node dist/.../*.js` without tsx; the worker
   * loads dist/'s workflow bundle (`make check-build`).
   */
  compiled?: boolean;
}): Promise<RunningStack> {
  const compiled = options.compiled ?? false;
  const { dataDir } = options;
  fs.mkdirSync(dataDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...options.env };
  const setDefault = (name: string, value: string): string => (env[name] = env[name]?.trim() || value);
  const portVar = (name: string, fallback: number): number => {
    const raw = setDefault(name, String(fallback));
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name} must be a TCP port number, got ${raw}`);
    return port;
  };

  const apiPort = portVar('PORT', 3000);
  const apiMetricsPort = portVar('METRICS_PORT', 9463);
  const publicUrl = setDefault('PUBLIC_URL', `http://127.0.0.1:${apiPort}`).replace(/\/+$/, '');
  const namespace = setDefault('TEMPORAL_NAMESPACE', 'default');
  setDefault('TEMPORAL_TASK_QUEUE', 'learning-accounts');
  // The same defaults the SSO stub registers its client with.
  setDefault('SSO_CLIENT_ID', 'learning-accounts');
  setDefault('SSO_CLIENT_SECRET', 'dev-sso-secret');
  const workerMetricsPort = portVar('WORKER_METRICS_PORT', 9464);
  // The agency employee in whose name the system's SOPA queries go out (a sample person for the demo).
  setDefault('SOPA_OPERATOR_FIRST_NAME', 'Ilze');
  setDefault('SOPA_OPERATOR_LAST_NAME', 'Priede');
  setDefault('SOPA_OPERATOR_PERSON_CODE', '010180-10007');
  // Escalation e-mails go here; on the demo stack they land in the mail catcher like all other mail.
  setDefault('AGENCY_INBOX_EMAIL', 'agency@learning-accounts.test');
  // Two keys, each made once and kept: sessions and e-mailed links are signed apart (lib/config.ts refuses one key).
  setDefault('SESSION_SECRET', keptSecret(dataDir, 'session-secret'));
  setDefault('LINK_SECRET', keptSecret(dataDir, 'link-secret'));
  // Temporal payloads are encrypted (lib/payload-codec.ts) with a key made once and kept, so kept histories decrypt
  // after a restart. Given keys (PAYLOAD_KEYS) come with their own PAYLOAD_KEY_ID.
  if (!env.PAYLOAD_KEYS?.trim()) {
    env.PAYLOAD_KEYS = `dev-1:${keptSecret(dataDir, 'payload-key')}`;
    env.PAYLOAD_KEY_ID = 'dev-1';
  }

  const ownPostgres = !env.DATABASE_URL?.trim();
  const ownTemporal = !env.TEMPORAL_ADDRESS?.trim();
  const postgresPort = ownPostgres ? portVar('POSTGRES_PORT', 55432) : 0;
  const temporalPort = ownTemporal ? portVar('TEMPORAL_PORT', 7233) : 0;
  const temporalUiPort = ownTemporal ? portVar('TEMPORAL_UI_PORT', 8233) : 0;

  // Only the stubs whose real service is not given; each one's URL then points at its stub.
  const stubsToStart = stubsWithoutUrl(env);
  const stubPorts: WantedPort[] = stubsToStart.map((stub) => {
    const port = portVar(stub.portVar, stub.port);
    env[stub.urlVar] = stub.url(port);
    return { port, what: stub.what, variable: stub.portVar };
  });
  // issue 17 (registries): the SOPA stub speaks HTTPS with mutual TLS; its certificates and the worker's client
  // certificate come from the test PKI in <dataDir>/tls (dev/tls.ts, made once and kept).
  if (stubsToStart.some((stub) => stub.name === 'sopa')) {
    const tls = ensureDevTls(path.join(dataDir, 'tls'));
    Object.assign(env, { [STUB_TLS_DIR_VAR]: tls.dir, SOPA_CLIENT_CERT: tls.clientCert, SOPA_CLIENT_KEY: tls.clientKey, SOPA_CA_CERT: tls.caCert });
  }
  // The mail catcher only sees our mail when SMTP goes to the stub.
  if (stubsToStart.some((stub) => stub.name === 'mail-catcher')) {
    const mailCatcherPort = portVar(MAIL_CATCHER_WEB.portVar, MAIL_CATCHER_WEB.port);
    setDefault('MAIL_CATCHER_URL', `http://127.0.0.1:${mailCatcherPort}`);
    stubPorts.push({ port: mailCatcherPort, what: 'the mail catcher\'s web page', variable: 'MAIL_CATCHER_PORT' });
  }

  // Processes that a run killed too hard to clean up left behind, then every port we will listen on: a busy port
  // is a clear error now, rather than a server of someone else's answering our readiness checks later.
  const postgresDir = path.join(dataDir, 'postgres');
  const temporalDir = path.join(dataDir, 'temporal');
  const temporalDb = path.join(temporalDir, 'temporal.db');
  if (options.stopStrayProcesses) {
    for (const script of ['api/main.ts', 'worker/main.ts', 'dev/stubs/main.ts']) await stopStrays(script, (argv) => isOurScript(argv, script));
  }
  // PostgreSQL and Temporal are not ours and do not watch us: found by this checkout's data directories.
  if (ownPostgres) await stopLeftoverPostgres(postgresDir);
  if (ownTemporal) await stopLeftoverTemporal(temporalDir, temporalDb);
  await assertPortsFree([
    { port: apiPort, what: 'the API and web pages', variable: 'PORT' },
    { port: apiMetricsPort, what: 'the API\'s metrics', variable: 'METRICS_PORT' },
    { port: workerMetricsPort, what: 'the worker\'s metrics', variable: 'WORKER_METRICS_PORT' },
    { port: workerMetricsPort + 1, what: 'the worker\'s Temporal SDK metrics, at WORKER_METRICS_PORT + 1', variable: 'WORKER_METRICS_PORT' },
    ...stubPorts,
    ...(ownPostgres ? [{ port: postgresPort, what: 'PostgreSQL', variable: 'POSTGRES_PORT' }] : []),
    ...(ownTemporal
      ? [
          { port: temporalPort, what: 'the Temporal dev server', variable: 'TEMPORAL_PORT' },
          { port: temporalUiPort, what: 'the Temporal Web UI', variable: 'TEMPORAL_UI_PORT' },
        ]
      : []),
  ]);

  // Bundled once here, while the servers start: a restarted worker then loads it instead of bundling again.
  const workflowBundle = path.join(dataDir, 'workflow-bundle.js');
  const bundled = compiled ? Promise.resolve(0)
    : runCommand('bundle', process.execPath, ['--import', 'tsx', 'dev/bundle-workflows.ts', workflowBundle], { env, cwd: root });
  // Awaited below; when a server fails first, main's error is the one to report.
  bundled.catch(() => undefined);
  const startedWith: RunningStack['startedWith'] = {
    postgres: ownPostgres ? { dataDir: postgresDir, port: postgresPort, user: 'ila', database: 'ila' } : null,
    temporal: null,
  };
  const [postgres, temporal] = await Promise.all([
    startedWith.postgres ? startPostgres({ ...startedWith.postgres, fresh: options.freshPostgres ?? false }) : null,
    ownTemporal
      ? ensureTemporalCli(root).then((binary) => {
          startedWith.temporal = {
            binary,
            port: temporalPort,
            uiPort: temporalUiPort,
            workDir: temporalDir,
            dbFile: temporalDb,
            namespace,
            searchAttributes: searchAttributeTypes,
            // The Web UI asks the API to decode payloads for the administrator using it (api/routes/codec.ts).
            uiCodecEndpoint: `${publicUrl}/api/codec`,
          };
          return startTemporal(startedWith.temporal);
        })
      : null,
  ]);
  env.DATABASE_URL = postgres?.url ?? env.DATABASE_URL!.trim();
  env.TEMPORAL_ADDRESS = temporal?.address ?? env.TEMPORAL_ADDRESS!.trim();
  if ((await bundled) !== 0) throw new Error('bundling the workflow code failed (its output is above)');
  if (!compiled) env.WORKFLOW_BUNDLE_PATH = workflowBundle;
  if (temporal?.uiUrl) setDefault('TEMPORAL_UI_URL', temporal.uiUrl);

  let stubs: SupervisedService | null = null;
  if (stubsToStart.length > 0) {
    stubs = startScript('stubs', 'dev/stubs/main.ts', env, stubsToStart.map((stub) => stub.name), undefined, compiled);
    await untilListening(stubs, stubPorts.map((entry) => entry.port));
  }

  // Migrations and idempotent demo data, before anything reads the database.
  const seedExit = await runCommand('seed', process.execPath, scriptArgs('dev/seed.ts', compiled), { env, cwd: root });
  if (seedExit !== 0) throw new Error(`dev/seed.ts failed with exit code ${seedExit} (its output is above)`);

  // The worker first, so the API (started after it) is stopped before it: no journey starts once the worker drains.
  const worker = startScript('worker', 'worker/main.ts', env, [], WORKER_KILL_AFTER_MS, compiled);
  const api = startScript('api', 'api/main.ts', env, [], API_KILL_AFTER_MS, compiled);
  // The worker listens on its metrics port once it polls the task queue. Each check
  // first makes sure that the process listening is the one we started, then asks it over HTTP.
  await Promise.all([
    untilListening(api, [apiPort, apiMetricsPort]).then(() => unlessExited(api.current, waitForHttp(`http://127.0.0.1:${apiPort}/api/ready`, 120_000))),
    untilListening(worker, [workerMetricsPort]).then(() =>
      unlessExited(worker.current, waitForHttp(`http://127.0.0.1:${workerMetricsPort}/metrics`, 120_000)),
    ),
  ]);

  return { env, publicUrl, postgres, temporal, startedWith, stubs, worker, api };
}

/**
 * Starts a TypeScript entry point under supervision (restarted with back-off when it dies). It runs as
 * `node --import tsx script`, one process with no npx or tsx wrapper in between, so the pid we watch and signal
 * is the program itself.
 */
function startScript(
  name: string, script: string, env: NodeJS.ProcessEnv, args: readonly string[] = [], killAfterMs?: number, compiled = false,
): SupervisedService {
  return superviseService(name, process.execPath, [...scriptArgs(script, compiled), ...args], { env, cwd: root, killAfterMs });
}

/**
 * Node's arguments for a TypeScript entry point: `--import tsx` and its source, or (compiled) its JavaScript in
 * dist/. The absolute path tells our processes apart from those of another checkout (stopStrays).
 */
function scriptArgs(script: string, compiled: boolean): string[] {
  return compiled ? [path.join(root, 'dist', script.replace(/\.ts$/, '.js'))] : ['--import', 'tsx', path.join(root, script)];
}

/** Whether a command line runs `script` of this checkout: as startScript does, or as `tsx script` (older runs). */
function isOurScript(argv: string[], script: string): boolean {
  return (argv[1] === tsx && argv[2] === script) || (argv[1] === '--import' && argv[2] === 'tsx' && argv[3] === path.join(root, script));
}

/** Resolves once the service's own process listens on every port; rejects if it exits first. */
async function untilListening(service: SupervisedService, ports: number[]): Promise<void> {
  const { current } = service;
  if (current.pid === undefined) throw new Error(`${service.name} could not be started`);
  await unlessExited(current, Promise.all(ports.map((port) => waitForListener(current.pid!, port, 120_000))));
}

/** A random secret made on the first run and kept in the data directory, so sessions and links survive a restart. */
function keptSecret(dataDir: string, name: string): string {
  const file = path.join(dataDir, name);
  if (!fs.existsSync(file)) fs.writeFileSync(file, crypto.randomBytes(32).toString('base64url'), { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

