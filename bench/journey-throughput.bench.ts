import { randomUUID } from 'node:crypto';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { workflowBundleOptions } from '../lib/data-converter';
import { createDb } from '../lib/db';
import { mapConcurrent } from '../lib/concurrency';
import { WORKER_TUNING, type WorkerTuning } from '../worker/create-worker';
import { testDataConverter } from '../test/helpers/payload-keys';
import { startTestStack } from '../test/helpers/stack';
import type { bareJourney, BareActivities } from './bare-workflow';
import { approvedJourneys, until } from './journeys';

// Journey throughput on the automatic-approval path (issue 17 item 4): journeys/s from registration to
// `imk_approved`, against a bare workflow with as many no-op activities (8: programme, case, Population Register,
// name, SOPA, two steps, e-mail) on the same Temporal server, data converter (encryption) and worker options, side
// by side in one run: rounds of each in turn, so a busy moment of the machine falls on both. Also counts the SQL
// statements the worker sends per journey.

const JOURNEYS = Number(process.env.BENCH_JOURNEYS ?? 1_000);
const ROUNDS = 2;
const ACTIVITIES = 8;
const GOAL_RATIO = 0.8;
/** Other cache and slot sizes for both workers, to compare (e.g. '{"maxConcurrentActivityTaskExecutions":20}'). */
const tuning = { ...WORKER_TUNING, ...JSON.parse(process.env.BENCH_WORKER_TUNING ?? '{}') as Partial<WorkerTuning> };

async function main(): Promise<boolean> {
  const stack = await startTestStack({ workerTuning: tuning });
  const poll = createDb(stack.databaseUrl, { min: 0, max: 2 });
  let queries = 0;
  stack.db.on('query', () => { queries += 1; });

  // The bare workflow's worker: same server, data converter and cache and slot sizes as the journeys' worker.
  let bareFinished = 0;
  const activities: BareActivities = { async noop({ last }) { if (last) bareFinished += 1; } };
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const bareQueue = `bare-${randomUUID()}`;
  const bare = await Worker.create({
    connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default', taskQueue: bareQueue, dataConverter: testDataConverter,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('./bare-workflow'), ...workflowBundleOptions, logger: quiet }),
    activities, ...tuning,
  });
  const bareRun = bare.run();

  const bareRound = async (): Promise<number> => {
    const before = bareFinished;
    const started = process.hrtime.bigint();
    await mapConcurrent(Array.from({ length: perRound }, (_, i) => i), 32, (i) => stack.temporal.workflow.start<typeof bareJourney>('bareJourney', {
      workflowId: `bare-${randomUUID()}-${i}`, taskQueue: bareQueue, args: [ACTIVITIES],
    }));
    await until(() => bareFinished - before === perRound);
    return Number(process.hrtime.bigint() - started) / 1e9;
  };

  const perRound = Math.ceil(JOURNEYS / ROUNDS);
  let bareSeconds = 0;
  let journeySeconds = 0;
  let journeyQueries = 0;
  try {
    for (let round = 1; round <= ROUNDS; round += 1) {
      bareSeconds += await bareRound();
      const queriesBefore = queries;
      journeySeconds += (await approvedJourneys(stack, poll, perRound)).seconds;
      journeyQueries += queries - queriesBefore;
    }
  } finally {
    bare.shutdown();
    await bareRun;
    await connection.close();
    await poll.destroy();
    await stack.stop();
  }
  const total = perRound * ROUNDS;
  const bareRate = total / bareSeconds;
  const journeyRate = total / journeySeconds;
  const ratio = journeyRate / bareRate;
  const ok = ratio >= GOAL_RATIO;
  process.stdout.write(`     worker options: ${JSON.stringify(tuning)}\n`);
  process.stdout.write(`     ${total} journeys to imk_approved: ${journeyRate.toFixed(1)}/s; ${total} bare workflows of ${ACTIVITIES} no-op activities: ${bareRate.toFixed(1)}/s\n`);
  process.stdout.write(`     ${(journeyQueries / total).toFixed(1)} SQL statements per journey (worker, to approval and its e-mail)\n`);
  process.stdout.write(`${ok ? 'ok  ' : 'MISS'} journeys/s ratio ${ratio.toFixed(2)}× (goal ≥ ${GOAL_RATIO}×)\n`);
  return ok;
}

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never;

main().then((ok) => process.exit(ok ? 0 : 1), (err: unknown) => { console.error(err); process.exit(1); });
