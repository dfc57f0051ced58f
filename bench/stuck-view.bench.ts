import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { startTestStack } from '../test/helpers/stack';
import { eventually, startLearnerJourney } from '../test/helpers/journeys';
import { mapConcurrent } from '../lib/concurrency';
import { CURRENT_TERMS_VERSION } from '../domain/terms';
import { learnerJourney, type LearnerJourneyInput } from '../workflows/learner-journey';
import { learnerJourneyId } from '../workflows/ids';
import { percentile, report, timeRuns } from './measure';

// The stuck view reads the stuck index (issue 17 item 1), so its time must not grow with the number of running
// workflows. 300 journeys are held up by a Population Register outage (a real worker, real interceptor rows); the
// others are learner journeys started on the same task queue with a start delay of a year: Running in Temporal and in
// its visibility, but no worker task until then. The view is timed at 1,000, 10,000 and 100,000 running journeys
// (STUCK_BENCH_SIZES overrides, e.g. "1000,10000" while developing) and the ratio of the largest to the smallest
// printed with its goal.

const STUCK = 300;
const SIZES = (process.env.STUCK_BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const TARGET_P95_MS = 1_000;
const FLAT_RATIO = 1.5;
const START_CONCURRENCY = 48;

async function main(): Promise<boolean> {
  const stack = await startTestStack();
  const admin = await stack.adminToken();
  const stuckView = async () => {
    const res = await fetch(`${stack.appUrl}/api/admin/stuck`, { headers: { authorization: `Bearer ${admin}`, accept: 'application/json' } });
    if (res.status !== 200) throw new Error(`stuck view: HTTP ${res.status}`);
    return (await res.json()) as { total: number; leftOut: number; groups: { cause: string; count: number }[] };
  };

  stack.registry.setDown(true);
  const serial = Math.floor(Math.random() * 9000) + 1000;
  await mapConcurrent(Array.from({ length: STUCK }, (_, i) => i), 16, async (i) => {
    // New-format person codes (32…), distinct per journey: one person has one open case per programme.
    await startLearnerJourney(stack.temporal, stack.taskQueue, `32${String(serial).slice(0, 4)}-${String(i).padStart(5, '0')}`);
  });
  const first = await eventually(async () => {
    const answer = await stuckView();
    return answer.total >= STUCK ? answer : null;
  }, `all ${STUCK} journeys in the stuck view`, 180_000);
  process.stdout.write(`     ${first.total} stuck (from the index); largest group: "${first.groups[0]?.cause}" × ${first.groups[0]?.count}\n`);

  // Fillers: Running, never touched by a worker (their first workflow task is a year away).
  let running = STUCK;
  const fillerInput = (caseId: string): LearnerJourneyInput => ({
    caseId, personCode: '010101-10000', programme: 'IMK',
    registration: { email: 'filler@example.lv', phone: null, language: 'lv', termsVersion: CURRENT_TERMS_VERSION, termsAcceptedAt: new Date().toISOString() },
    actor: { role: 'learner', id: 'filler', name: 'Filler', channel: 'e-service' }, timing: { approvalDue: '1 day' },
  });
  const p50s = new Map<number, number>();
  let ok = true;
  for (const size of SIZES) {
    const missing = Math.max(0, size - running);
    const started = Date.now();
    await mapConcurrent(Array.from({ length: missing }, (_, i) => i), START_CONCURRENCY, async () => {
      const caseId = randomUUID();
      // A busy dev server (SQLite) may let a start time out; the same id again either starts it or finds it started.
      for (let attempt = 1; ; attempt += 1) {
        try {
          await stack.temporal.workflow.start(learnerJourney, {
            workflowId: learnerJourneyId(caseId), taskQueue: stack.taskQueue, args: [fillerInput(caseId)], startDelay: '365 days',
          });
          return;
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) return;
          if (attempt >= 5) throw err;
          await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
        }
      }
    });
    const seconds = (Date.now() - started) / 1000;
    running += missing;
    if (missing > 0) process.stdout.write(`     started ${missing.toLocaleString('en')} more running journeys in ${seconds.toFixed(1)} s (${Math.round(missing / seconds)} starts/s, ${START_CONCURRENCY} at a time)\n`);
    // Visibility is eventually consistent: wait until it counts them, so the size is real.
    const counted = await eventually(async () => {
      const { count } = await stack.temporal.workflowService.countWorkflowExecutions({
        namespace: stack.temporal.options.namespace, query: `TaskQueue = '${stack.taskQueue}' AND ExecutionStatus = 'Running'`,
      });
      return Number(count) >= size ? Number(count) : null;
    }, `${size} running in visibility`, 600_000);
    const answer = await stuckView();
    if (answer.total !== first.total) throw new Error(`the stuck view changed: ${answer.total} instead of ${first.total}`);
    const times = await timeRuns(20, async () => { await stuckView(); });
    p50s.set(size, percentile(times, 50));
    ok = report(`stuck view, ${counted.toLocaleString('en')} running (${STUCK} stuck)`, times, TARGET_P95_MS) && ok;
  }
  const smallest = Math.min(...SIZES);
  const largest = Math.max(...SIZES);
  const ratio = p50s.get(largest)! / p50s.get(smallest)!;
  const flat = ratio <= FLAT_RATIO;
  process.stdout.write(`${flat ? 'ok  ' : 'MISS'} stuck view p50 ratio ${largest.toLocaleString('en')}/${smallest.toLocaleString('en')} running: ${ratio.toFixed(2)}× (goal ≤ ${FLAT_RATIO}×)\n`);
  stack.registry.setDown(false);
  // The servers are bench/run.ts's own and go with it; ending 100,000 journeys one by one (stack.stop) would take
  // longer than the benchmark.
  return ok && flat;
}

main().then((ok) => process.exit(ok ? 0 : 1), (err: unknown) => { console.error(err); process.exit(1); });
