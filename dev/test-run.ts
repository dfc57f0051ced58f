/**
 * `make test`: starts a throwaway PostgreSQL and an in-memory Temporal dev server, runs typecheck, lint and the
 * ava suite against them, stops everything, and ends with one plain `N passed, N failed` line for CI.
 */
import path from 'node:path';
import { searchAttributeTypes } from '../workflows/ids';
import { startPostgres } from './services/postgres';
import { runCommand, stopAll, stopOnSignals } from './services/processes';
import { ensureTemporalCli, startTemporal } from './services/temporal';

const root = path.resolve(__dirname, '..');
const bin = (name: string): string => path.join(root, 'node_modules', '.bin', name);
const CHROMIUM_PATH = '/usr/bin/chromium';

/** Counts read from ava's TAP summary (`# pass N`, `# fail N`); the last ones win. */
type Counts = { passed: number; failed: number };

async function main(): Promise<Counts> {
  stopOnSignals();
  if ((await runCommand('chromium', 'bash', ['dev/ensure-chromium.sh'], { cwd: root })) !== 0) {
    throw new Error('dev/ensure-chromium.sh failed');
  }
  const binary = await ensureTemporalCli(root);
  const [postgres, temporal] = await Promise.all([
    // A fresh cluster every run: tests never see a previous run's rows. fsync off because nothing here must survive.
    startPostgres({ dataDir: path.join(root, '.data', 'test', 'postgres'), port: 55433, user: 'ila', database: 'postgres', fresh: true, fsyncOff: true }),
    startTemporal({ binary, port: 7243, uiPort: 8243, headless: true, namespace: 'default', searchAttributes: searchAttributeTypes }),
  ]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEST_DATABASE_URL: postgres.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: 'default',
    CHROMIUM_PATH,
  };

  let extraFailures = 0;
  for (const [name, cmd, args] of [
    ['typecheck', bin('tsc'), ['--noEmit']],
    ['lint', bin('eslint'), ['.']],
  ] as const) {
    process.stdout.write(`\n--- ${name}\n`);
    const code = await runCommand(name, cmd, args, { env, cwd: root });
    process.stdout.write(`--- ${name}: ${code === 0 ? 'ok' : `FAILED (exit code ${code})`}\n`);
    if (code !== 0) extraFailures += 1;
  }

  process.stdout.write('\n--- tests (ava)\n');
  const counts: Counts = { passed: 0, failed: 0 };
  const code = await runCommand('ava', bin('ava'), ['--tap'], {
    env,
    cwd: root,
    prefix: false,
    onLine: (line) => {
      const match = /^# (pass|fail) (\d+)$/.exec(line);
      if (match) counts[match[1] === 'pass' ? 'passed' : 'failed'] = Number(match[2]);
    },
  });
  // ava can fail without failing a test (no test files, a crash before the summary): count that as one failure.
  if (code !== 0 && counts.failed === 0) extraFailures += 1;
  return { passed: counts.passed, failed: counts.failed + extraFailures };
}

async function run(): Promise<void> {
  let counts: Counts;
  try {
    counts = await main();
  } catch (error) {
    process.stderr.write(`\nmake test could not run the tests: ${error instanceof Error ? error.message : String(error)}\n`);
    counts = { passed: 0, failed: 1 };
  }
  // Stop before the summary, so the count line stays the last thing printed.
  await stopAll();
  process.stdout.write(`${counts.passed} passed, ${counts.failed} failed\n`);
  process.exit(counts.failed > 0 ? 1 : 0);
}

void run();
