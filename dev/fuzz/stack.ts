/**
 * The stack the fuzz stage attacks: the same processes `make run` starts (dev/services/stack.ts), on ports and data
 * of its own, so it runs beside `make run` and beside the tests. Inside `make test` it uses the test PostgreSQL
 * (a fresh database) and the test Temporal server (a fresh namespace, so the consistency check sees only the
 * workflows the fuzzer started); on its own (`make fuzz`) startStack starts its own PostgreSQL and Temporal.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { knex } from 'knex';
import { startStack, type RunningStack } from '../services/stack';
import { MAIL_CATCHER_WEB, STUBS } from '../stubs/ports';

/** Every port variable startStack reads, each given a free port (the worker's metrics also take the next one). */
const PORT_VARS = ['PORT', ...STUBS.map((stub) => stub.portVar), MAIL_CATCHER_WEB.portVar] as const;

/** Where the fuzzed stack keeps its data (thrown away at every run). */
export function fuzzDataDir(root: string): string {
  return path.join(root, '.data', 'fuzz');
}

/** Starts the stack; stop it with stopAll() (dev/services/processes.ts). */
export async function startFuzzStack(root: string, env: NodeJS.ProcessEnv): Promise<RunningStack> {
  const dataDir = fuzzDataDir(root);
  // Every run starts from nothing: what an earlier run left would only make its findings harder to reproduce.
  fs.rmSync(dataDir, { recursive: true, force: true });
  const stackEnv: NodeJS.ProcessEnv = { ...env };
  // Addresses of real services given to this command would point the stubs' URLs away from the stubs we want.
  for (const stub of STUBS) delete stackEnv[stub.urlVar];
  for (const name of ['PUBLIC_URL', 'MAIL_CATCHER_URL', 'SESSION_SECRET', 'DATABASE_URL', 'TEMPORAL_UI_URL']) delete stackEnv[name];
  for (const name of PORT_VARS) stackEnv[name] = String(await freePort());
  stackEnv.WORKER_METRICS_PORT = String(await freePortPair());

  const testDatabase = env.TEST_DATABASE_URL?.trim();
  const testTemporal = env.TEMPORAL_ADDRESS?.trim();
  if (testDatabase) stackEnv.DATABASE_URL = await createDatabase(testDatabase);
  else stackEnv.POSTGRES_PORT = String(await freePort());
  if (testTemporal) {
    stackEnv.TEMPORAL_NAMESPACE = await createNamespace(testTemporal);
  } else {
    delete stackEnv.TEMPORAL_ADDRESS;
    stackEnv.TEMPORAL_NAMESPACE = 'default';
    stackEnv.TEMPORAL_PORT = String(await freePort());
    stackEnv.TEMPORAL_UI_PORT = String(await freePort());
  }
  stackEnv.TEMPORAL_TASK_QUEUE = 'fuzz';
  // Thousands of requests: their info lines would bury what matters (warnings, errors, a process exit).
  stackEnv.LOG_LEVEL = env.LOG_LEVEL?.trim() || 'warn';
  return startStack({ dataDir, env: stackEnv });
}

/** A database of its own on the test PostgreSQL; returns its URL. */
async function createDatabase(adminUrl: string): Promise<string> {
  const name = `fuzz_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  const admin = knex({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A namespace of its own on the test Temporal server: the tests' workflows live in "default", and the
 * consistency check must judge only what this run did. Resolves once the namespace answers.
 */
async function createNamespace(address: string): Promise<string> {
  const namespace = `fuzz-${randomUUID().slice(0, 8)}`;
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
        return namespace;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`namespace ${namespace} did not become usable: ${String(error)}`);
        await sleep(500);
      }
    }
  } finally {
    await connection.close();
  }
}

/** A port nothing listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A port that is free with the next one free too (the worker's metrics, and the Temporal SDK's on port + 1). */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port < 65535 && (await isFree(port + 1))) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
