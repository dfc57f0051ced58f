/**
 * A Temporal dev server (`temporal server start-dev` from the CLI that dev/ensure-temporal.sh builds), with our
 * search attributes registered and the retention our cases need.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { msToTs, tsToMs } from '@temporalio/common/lib/time';
import { ensureSearchAttributes, type SearchAttributeTypeName } from '../../lib/temporal';
import { assertPortFree } from './net';
import { processCwd, stopStrays, superviseService, unlessExited } from './processes';

/** Options for startTemporal. */
export interface TemporalOptions {
  /** Path of the Temporal CLI binary. */
  binary: string;
  port: number;
  uiPort: number;
  /**
   * A directory of this checkout that the server runs in: a server left running there by a killed run is
   * recognised by it (stopLeftoverTemporal) and stopped, and one of another checkout is not.
   */
  workDir: string;
  /** SQLite file that keeps workflows across restarts; undefined keeps everything in memory. */
  dbFile?: string;
  /** No Web UI. */
  headless?: boolean;
  namespace: string;
  searchAttributes: Record<string, SearchAttributeTypeName>;
  /** The remote codec the Web UI decodes payloads with (`--ui-codec-endpoint`); none when undefined. */
  uiCodecEndpoint?: string;
}

/** A running dev server started by startTemporal. */
export interface RunningTemporal {
  address: string;
  /** The Web UI, or null when headless. */
  uiUrl: string | null;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
// Dev-server namespaces keep closed workflows 24 hours; staff look up finished cases for longer than that.
const RETENTION = '30 days';
/** Starts the dev server, waits until its frontend answers, then registers search attributes and retention. */
export async function startTemporal(options: TemporalOptions): Promise<RunningTemporal> {
  const { binary, port, uiPort, workDir, dbFile, headless = false, namespace, searchAttributes, uiCodecEndpoint } = options;
  await stopLeftoverTemporal(workDir, dbFile);
  await assertPortFree(port, 'the Temporal dev server');
  fs.mkdirSync(workDir, { recursive: true });
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort), '--log-level', 'warn'];
  if (dbFile) {
    fs.mkdirSync(path.dirname(path.resolve(dbFile)), { recursive: true });
    args.push('--db-filename', dbFile);
  }
  if (headless) args.push('--headless');
  else if (uiCodecEndpoint) args.push('--ui-codec-endpoint', uiCodecEndpoint);
  // The CLI always creates "default"; naming it again would be redundant.
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const [name, type] of Object.entries(searchAttributes)) args.push('--search-attribute', `${name}=${type}`);

  // TEMPORAL_* variables configure the CLI as a client (address, namespace, TLS); none of that is meant for the server.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TEMPORAL_')));
  // Supervised: a crashed dev server is started again on the same SQLite file; clients and the worker reconnect.
  const server = superviseService('temporal', binary, args, { env, cwd: workDir, quietWhenStopping: true });
  const address = `127.0.0.1:${port}`;
  try {
    const connection = await unlessExited(server.current, connectWhenReady(address, START_TIMEOUT_MS));
    try {
      // --search-attribute only takes effect when the namespace is first created; with a kept database file,
      // attributes added to the code later go through the operator API.
      await ensureSearchAttributes(connection, namespace, searchAttributes);
      await ensureRetention(connection, namespace);
    } finally {
      await connection.close();
    }
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { address, uiUrl: headless ? null : `http://127.0.0.1:${uiPort}`, stop: () => server.stop() };
}

/**
 * Stops a dev server that a killed `make run` or `make test` left running in `workDir` (or on `dbFile`), so the
 * next run can start. Recognised by that, not by its port: a server of another checkout on the same port
 * (the shared test servers) is left alone, and its busy port is then reported as such.
 */
export async function stopLeftoverTemporal(workDir: string, dbFile?: string): Promise<void> {
  const dir = path.resolve(workDir);
  const file = dbFile && path.resolve(dbFile);
  await stopStrays('temporal', (argv, pid) => argv.includes('start-dev') && (processCwd(pid) === dir || (!!file && argv.includes(file))));
}

/** Runs dev/ensure-temporal.sh and returns the CLI binary's path; a first run builds it, which takes minutes. */
export async function ensureTemporalCli(repoRoot: string): Promise<string> {
  return runEnsureScript(path.join(repoRoot, 'dev', 'ensure-temporal.sh'));
}

/**
 * Runs one of the dev/ensure-*.sh build scripts and returns what it prints on stdout (a path). Its progress and
 * errors go straight to our stderr.
 */
export async function runEnsureScript(script: string): Promise<string> {
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('close', resolve));
  if (code !== 0 || !stdout.trim()) throw new Error(`${script} failed (its message is above)`);
  return stdout.trim();
}

/**
 * A connection once the server at `address` answers, tried every 250 ms until `timeoutMs`. The first start of a fresh
 * binary can be slow (SQLite schema setup, a cold page cache; a cluster's frontend joining), so callers retry generously.
 */
export async function connectWhenReady(address: string, timeoutMs: number): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2_000 });
      await connection.workflowService.getSystemInfo({});
      return connection;
    } catch (error) {
      await connection?.close();
      if (Date.now() > deadline) throw new Error(`Temporal at ${address} did not answer within ${timeoutMs / 1000} s: ${String(error)}`);
    }
    await sleep(250);
  }
}

async function ensureRetention(connection: Connection, namespace: string): Promise<void> {
  const { config } = await connection.workflowService.describeNamespace({ namespace });
  const wanted = msToTs(RETENTION);
  if (tsToMs(config?.workflowExecutionRetentionTtl) === tsToMs(wanted)) return;
  await connection.workflowService.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: wanted } });
}
