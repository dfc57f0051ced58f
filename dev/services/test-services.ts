import path from 'node:path';
import { searchAttributeTypes } from '../../workflows/ids';
import { startPostgres } from './postgres';
import { ensureTemporalCli, startTemporal } from './temporal';

/**
 * The servers the tests and the benchmarks run against: a fresh PostgreSQL cluster (fsync off: nothing here must
 * survive) and an in-memory Temporal dev server with our search attributes. Returns the environment that points
 * test and benchmark code at them; stopAll() (dev/services/processes.ts) stops both.
 */
export async function startTestServices(root: string): Promise<NodeJS.ProcessEnv> {
  const binary = await ensureTemporalCli(root);
  const [postgres, temporal] = await Promise.all([
    startPostgres({ dataDir: path.join(root, '.data', 'test', 'postgres'), port: 55433, user: 'ila', database: 'postgres', fresh: true, fsyncOff: true }),
    startTemporal({ binary, workDir: path.join(root, '.data', 'test', 'temporal'), port: 7243, uiPort: 8243, headless: true, namespace: 'default', searchAttributes: searchAttributeTypes }),
  ]);
  return { ...process.env, TEST_DATABASE_URL: postgres.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default' };
}
