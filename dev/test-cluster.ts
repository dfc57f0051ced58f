/**
 * `make test-cluster`: the workflow and API suites against Temporal's own server on PostgreSQL (dev/services/cluster.ts:
 * frontend, history, matching and worker services as separate processes), every test stack with two workers and two
 * API instances (TEST_STACK_REPLICAS=2), and test/cluster/, which runs two worker and two API processes and kills
 * one worker mid-way. Ends with one `N passed, N failed` line like `make test`; exit code 1 on any failure.
 * `make test-cluster ARGS="test/api/console.test.ts"` runs only the files given, `ARGS=all` every workflow and API
 * file (test/cluster/ is always run).
 * Its ports (PostgreSQL 57433, Temporal 7633-7643 and 6933-6939) leave `make run` and `make test` alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AvaTally, type Counts } from './services/ava-tally';
import { startCluster } from './services/cluster';
import { runCommand, stopAll, stopOnSignals } from './services/processes';
import { templateDatabase } from './services/test-template';

const root = path.resolve(__dirname, '..');

/**
 * The files run by default: every workflow suite and the API suites that lean on Temporal the most (journeys and
 * decisions end to end, Updates, the console's visibility queries, counts and batches, stops and clean-up, the
 * consistency check, start races, outages). About 12 minutes on a busy 2-core machine. `ARGS=all` runs every
 * workflow and API file (about 35 minutes there: some tests' windows of a few seconds then miss under load).
 */
const DEFAULT_FILES = [
  'test/workflows/learner-journey.test.ts', 'test/workflows/learner-journey-application.test.ts', 'test/workflows/population-recheck.test.ts',
  'test/workflows/provider-offer.test.ts', 'test/workflows/provider-registration.test.ts',
  'test/api/api.test.ts', 'test/api/console.test.ts', 'test/api/console-batches.test.ts', 'test/api/console-cleanup.test.ts',
  'test/api/consistency.test.ts', 'test/api/journey-ends-cleanly.test.ts', 'test/api/start-races.test.ts', 'test/api/stop.test.ts',
  'test/api/outages.test.ts', 'test/api/inbox-claim.test.ts', 'test/api/waitlist.test.ts', 'test/api/payload-encryption.test.ts',
];
const ALL_SUITES = ['test/workflows', 'test/api'];
const CLUSTER_SUITE = 'test/cluster';

/** The test files to run: those named on the command line (`all`: every file of ALL_SUITES), else DEFAULT_FILES; always test/cluster/. */
function testFiles(args: readonly string[]): string[] {
  const listed = (dir: string): string[] =>
    fs.readdirSync(path.join(root, dir)).filter((name) => name.endsWith('.test.ts')).sort().map((name) => `${dir}/${name}`);
  const chosen = args.length === 0 ? DEFAULT_FILES : args[0] === 'all' ? ALL_SUITES.flatMap(listed) : [...args];
  return [...listed(CLUSTER_SUITE), ...chosen.filter((file) => !file.startsWith(`${CLUSTER_SUITE}/`))];
}

async function main(): Promise<Counts> {
  stopOnSignals();
  const started = Date.now();
  const files = testFiles(process.argv.slice(2));
  process.stdout.write('\n--- Temporal\'s own server on PostgreSQL (dev/services/cluster.ts)\n');
  const bundlePath = path.join(root, '.data', 'test-cluster', 'workflow-bundle.js');
  // The workflow bundle while the cluster starts; the template database once PostgreSQL is up.
  const bundled = runCommand('bundle', process.execPath, ['--import', 'tsx', 'dev/bundle-workflows.ts', bundlePath], { cwd: root });
  bundled.catch(() => undefined);
  const cluster = await startCluster(root);
  const [template, bundleExit] = await Promise.all([templateDatabase(cluster.adminDatabaseUrl), bundled]);
  if (bundleExit !== 0) throw new Error('bundling the workflow code failed (its output is above)');
  process.stdout.write(`--- cluster ready at ${cluster.address} in ${Math.round((Date.now() - started) / 1000)} s\n`);

  const env: NodeJS.ProcessEnv = {
    // TEMPORAL_* of the caller's shell would point the tests at another server.
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TEMPORAL_'))),
    TEST_DATABASE_URL: cluster.adminDatabaseUrl, TEMPORAL_ADDRESS: cluster.address, TEMPORAL_NAMESPACE: cluster.namespace,
    TEST_TEMPLATE_DATABASE: template, TEST_WORKFLOW_BUNDLE: bundlePath,
    // Two workers and two API instances in every test stack, and the cluster test's processes.
    TEST_STACK_REPLICAS: '2', TEST_CLUSTER: '1',
  };
  process.stdout.write(`\n--- tests (ava, ${files.length} files, two workers and two API instances in each stack)\n`);
  const tally = new AvaTally();
  // Two files at a time, not ava's three: the four Temporal services share the machine's cores with the tests.
  const code = await runCommand('ava', path.join(root, 'node_modules', '.bin', 'ava'), ['--concurrency', '2', ...files], {
    env, cwd: root, prefix: false, onLine: (line) => tally.add(line),
  });
  const counts = tally.counts();
  process.stdout.write(`--- make test-cluster took ${Math.round((Date.now() - started) / 1000)} s\n`);
  // ava can fail without failing a test (a crashed worker): count that as one failure.
  return code !== 0 && counts.failed === 0 ? { ...counts, failed: 1 } : counts;
}

async function run(): Promise<void> {
  let counts: Counts;
  try {
    counts = await main();
  } catch (error) {
    process.stderr.write(`\nmake test-cluster could not run the tests: ${error instanceof Error ? error.message : String(error)}\n`);
    counts = { passed: 0, failed: 1 };
  }
  // Stop before the summary, so the count line stays the last thing printed.
  await stopAll();
  process.stdout.write(`${counts.passed} passed, ${counts.failed} failed\n`);
  process.exit(counts.failed > 0 ? 1 : 0);
}

void run();
