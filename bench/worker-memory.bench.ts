import v8 from 'node:v8';
import vm from 'node:vm';
import { createDb } from '../lib/db';
import { WORKER_TUNING } from '../worker/create-worker';
import { startTestStack } from '../test/helpers/stack';
import { approvedJourneys } from './journeys';

// Worker memory per 1,000 cached journeys (issue 17 item 4): journeys approved automatically then parked, waiting
// for the learner's application, held in the worker's workflow cache. Resident memory of the worker's process
// before and after, per 1,000 journeys: the workflows run in a worker thread of their own (the SDK's V8 isolate),
// whose heap the main thread's heap figure (after a full garbage collection, also printed) does not include. The
// worker runs in this process (test/helpers/stack.ts), so the figures include the little the benchmark and the
// mail catcher keep per journey: an upper bound. The goal: a worker holding WORKER_TUNING.maxCachedWorkflows
// journeys needs at most 1 GiB for them (a 2 GiB container; docs/decisions.md).

const JOURNEYS = Number(process.env.BENCH_JOURNEYS ?? 1_000);
const GOAL_RSS_MB_PER_1000 = Math.floor(1024 / (WORKER_TUNING.maxCachedWorkflows / 1000));

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function memory(): { heapMb: number; rssMb: number } {
  gc();
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapMb: heapUsed / 2 ** 20, rssMb: rss / 2 ** 20 };
}

async function main(): Promise<boolean> {
  const stack = await startTestStack();
  const poll = createDb(stack.databaseUrl, { min: 0, max: 2 });
  try {
    // A few journeys first, so code loaded once (the workflow bundle's context, templates, pools) is not counted.
    await approvedJourneys(stack, poll, 10);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const before = memory();
    const cachedBefore = stack.workerStatus().numCachedWorkflows;
    const { seconds } = await approvedJourneys(stack, poll, JOURNEYS);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const after = memory();
    const cached = stack.workerStatus().numCachedWorkflows - cachedBefore;
    const per1000 = (mb: number) => (mb / cached) * 1000;
    const heap = per1000(after.heapMb - before.heapMb);
    const rss = per1000(after.rssMb - before.rssMb);
    const ok = rss <= GOAL_RSS_MB_PER_1000 && cached >= JOURNEYS * 0.99;
    process.stdout.write(`     ${JOURNEYS} journeys approved in ${seconds.toFixed(1)} s; ${cached} more workflows cached; `
      + `heap ${before.heapMb.toFixed(0)} → ${after.heapMb.toFixed(0)} MB, RSS ${before.rssMb.toFixed(0)} → ${after.rssMb.toFixed(0)} MB\n`);
    process.stdout.write(`${ok ? 'ok  ' : 'MISS'} worker memory per 1,000 cached journeys: RSS ${rss.toFixed(0)} MB, main-thread heap ${heap.toFixed(0)} MB `
      + `(goal RSS ≤ ${GOAL_RSS_MB_PER_1000} MB, all ${JOURNEYS} cached)\n`);
    return ok;
  } finally {
    await poll.destroy();
    await stack.stop();
  }
}

main().then((ok) => process.exit(ok ? 0 : 1), (err: unknown) => { console.error(err); process.exit(1); });
