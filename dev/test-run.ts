/**
 * `make test`: starts a throwaway PostgreSQL and an in-memory Temporal dev server, runs typecheck, lint and the
 * ava suite against them, then the bounded fuzz stage (dev/fuzz.ts) with the consistency check at its end and, beside
 * it, the short fault drill (dev/drill.ts --short, on a stack of its own), stops everything, and ends with one plain
 * `N passed, N failed` line for CI.
 */
import path from 'node:path';
import { runCommand, stopAll, stopOnSignals } from './services/processes';
import { startTestServices } from './services/test-services';
import { runFuzzStage, TEST_BUDGET } from './fuzz';
import { templateDatabase } from './services/test-template';
import { AvaTally, type Counts } from './services/ava-tally';

const root = path.resolve(__dirname, '..');
const bin = (name: string): string => path.join(root, 'node_modules', '.bin', name);
const CHROMIUM_PATH = '/usr/bin/chromium';

async function main(): Promise<Counts> {
  stopOnSignals();
  if ((await runCommand('chromium', 'bash', ['dev/ensure-chromium.sh'], { cwd: root })) !== 0) {
    throw new Error('dev/ensure-chromium.sh failed');
  }
  const services = await startTestServices(root);
  const bundlePath = path.join(root, '.data', 'test', 'workflow-bundle.js');
  const env: NodeJS.ProcessEnv = { ...services, CHROMIUM_PATH, TEST_WORKFLOW_BUNDLE: bundlePath };

  let extraFailures = 0;
  // The type check and lint at the same time, one on each core (their lines are marked [typecheck] and [lint]).
  // Meanwhile the ava files' shared parts are made once: the workflow bundle and a seeded template database that
  // every file copies (test/helpers/stack.ts), instead of each file bundling and seeding for seconds.
  process.stdout.write('\n--- typecheck and lint\n');
  const template = templateDatabase(services.TEST_DATABASE_URL!);
  template.catch(() => undefined); // awaited below; a failure then ends the run with its message
  const checks = await Promise.all(([
    ['typecheck', bin('tsc'), ['--noEmit']],
    ['lint', bin('eslint'), ['.']],
    ['bundle', process.execPath, ['--import', 'tsx', 'dev/bundle-workflows.ts', bundlePath]],
  ] as const).map(async ([name, cmd, args]) => ({ name, code: await runCommand(name, cmd, args, { env, cwd: root }) })));
  for (const { name, code } of checks) {
    process.stdout.write(`--- ${name}: ${code === 0 ? 'ok' : `FAILED (exit code ${code})`}\n`);
    if (code !== 0) extraFailures += 1;
  }
  env.TEST_TEMPLATE_DATABASE = await template;

  process.stdout.write('\n--- tests (ava)\n');
  const tally = new AvaTally();
  const code = await runCommand('ava', bin('ava'), [], { env, cwd: root, prefix: false, onLine: (line) => tally.add(line) });
  const counts = tally.counts();
  // ava can fail without failing a test (no test files, a crashed worker): count that as one failure.
  if (code !== 0 && counts.failed === 0) extraFailures += 1;

  // The short fault drill runs beside the fuzz stage: it has its own stack (its own PostgreSQL and Temporal) and
  // spends most of its two minutes waiting (calm traffic, a stalled SMTP server, journeys settling), so together
  // they take about as long as the longer of the two. 20 journeys, the worker killed with kill -9 and the SMTP
  // server stalling and refusing an address; one item, passed when every target is met.
  process.stdout.write('\n--- fuzz stage (dev/fuzz.ts; `make fuzz` runs a longer one) and, beside it, the short fault drill (dev/drill.ts --short, lines marked [drill]; `make drill` runs the whole one)\n');
  const drilling = runCommand('drill', process.execPath, ['--import', 'tsx', 'dev/drill.ts', '--short'], { env: process.env, cwd: root });
  // The fuzz stage counts one item per role fuzzed, one for the processes and one for the consistency check.
  const fuzz = await fuzzStage(env);
  const drill = await drilling;
  process.stdout.write(`--- short fault drill: ${drill === 0 ? 'ok' : `FAILED (exit code ${drill})`}\n`);
  const drillCounts = drill === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };

  return {
    passed: counts.passed + fuzz.passed + drillCounts.passed,
    failed: counts.failed + extraFailures + fuzz.failed + drillCounts.failed,
  };
}

/** The bounded fuzz stage against its own stack on the test servers; a stage that cannot run is one failure. */
async function fuzzStage(env: NodeJS.ProcessEnv): Promise<Counts> {
  try {
    const items = await runFuzzStage({ env, budget: TEST_BUDGET, echo: 'on-failure' });
    const failed = items.filter((item) => !item.ok).length;
    return { passed: items.length - failed, failed };
  } catch (error) {
    process.stderr.write(`--- fuzz stage: could not run: ${error instanceof Error ? error.message : String(error)}\n`);
    return { passed: 0, failed: 1 };
  }
  // Its stack (API, worker, stubs) is stopped with everything else by stopAll, before the test servers.
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
