/**
 * The stack the fuzz stage attacks: the same processes `make run` starts (dev/services/stack.ts), on ports and data
 * of its own, so it runs beside `make run` and beside the tests. Inside `make test` it uses the test PostgreSQL
 * (a fresh database) and the test Temporal server (a fresh namespace, so the consistency check sees only the
 * workflows the fuzzer started); on its own (`make fuzz`) startStack starts its own PostgreSQL and Temporal.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { createDatabase } from '../services/postgres';
import { secondStackEnv, startStack, type RunningStack } from '../services/stack';

/** Where the fuzzed stack keeps its data (thrown away at every run). */
export function fuzzDataDir(root: string): string {
  return path.join(root, '.data', 'fuzz');
}

/** Starts the stack; stop it with stopAll() (dev/services/processes.ts). */
export async function startFuzzStack(root: string, env: NodeJS.ProcessEnv): Promise<RunningStack> {
  const dataDir = fuzzDataDir(root);
  // Every run starts from nothing: what an earlier run left would only make its findings harder to reproduce.
  fs.rmSync(dataDir, { recursive: true, force: true });
  // Its own ports and services; inside make test, the test servers' PostgreSQL (a fresh database) and Temporal.
  const stackEnv = await secondStackEnv(env);
  const testDatabase = env.TEST_DATABASE_URL?.trim();
  const testTemporal = env.TEMPORAL_ADDRESS?.trim();
  if (testDatabase) stackEnv.DATABASE_URL = await createDatabase(testDatabase, 'fuzz');
  stackEnv.TEMPORAL_NAMESPACE = 'default';
  if (testTemporal) {
    stackEnv.TEMPORAL_ADDRESS = testTemporal;
    stackEnv.TEMPORAL_NAMESPACE = await createNamespace(testTemporal);
  }
  stackEnv.TEMPORAL_TASK_QUEUE = 'fuzz';
  return startStack({ dataDir, env: stackEnv });
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
