import path from 'node:path';
import { searchAttributeTypes } from '../../workflows/ids';
import { startPostgres } from './postgres';
import { ensureTemporalCli, startTemporal } from './temporal';

/**
 * The servers the tests and the benchmarks run against: a fresh PostgreSQL cluster (fsync off: nothing here must
 * survive) and an in-memory Temporal dev server with our search attributes. Returns the environment that points
 * test and benchmark code at them; stopAll() (dev/services/processes.ts) stops both.
 * TEST_POSTGRES_PORT and TEST_TEMPORAL_PORT move them, so a benchmark can run beside another stack.
 */
export async function startTestServices(root: string): Promise<NodeJS.ProcessEnv> {
  const binary = await ensureTemporalCli(root);
  const postgresPort = Number(process.env.TEST_POSTGRES_PORT ?? 55433);
  const temporalPort = Number(process.env.TEST_TEMPORAL_PORT ?? 7243);
  const [postgres, temporal] = await Promise.all([
    startPostgres({ dataDir: path.join(root, '.data', 'test', 'postgres'), port: postgresPort, user: 'ila', database: 'postgres', fresh: true, fsyncOff: true }),
    startTemporal({ binary, workDir: path.join(root, '.data', 'test', 'temporal'), port: temporalPort, uiPort: temporalPort + 1000, headless: true, namespace: 'default', searchAttributes: searchAttributeTypes }),
  ]);
  return { ...process.env, TEST_DATABASE_URL: postgres.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default' };
}
