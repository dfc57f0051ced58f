import { startTestStack } from '../test/helpers/stack';
import { eventually, startLearnerJourney } from '../test/helpers/journeys';
import { mapConcurrent } from '../lib/concurrency';
import { report, timeRuns } from './measure';

// The stuck view asks Temporal about every running workflow (a describe call each), so its time grows with the
// number of running workflows. Here 300 journeys are held up by a Population Register outage and the view must
// still answer within a few seconds, grouping all of them under one cause.

const JOURNEYS = 300;
const TARGET_P95_MS = 3_000;

async function main(): Promise<boolean> {
  const stack = await startTestStack();
  try {
    stack.registry.setDown(true);
    const serial = Math.floor(Math.random() * 9000) + 1000;
    const handles = await mapConcurrent(Array.from({ length: JOURNEYS }, (_, i) => i), 16, async (i) => {
      // New-format person codes (32…), distinct per journey: one person has one open case per programme.
      const code = `32${String(serial).slice(0, 4)}-${String(i).padStart(5, '0')}`;
      return (await startLearnerJourney(stack.temporal, stack.taskQueue, code)).handle;
    });
    const admin = await stack.adminToken();
    const stuck = async () => {
      const res = await fetch(`${stack.appUrl}/api/admin/stuck`, { headers: { authorization: `Bearer ${admin}` } });
      return (await res.json()) as { scanned: number; groups: { cause: string; count: number }[] };
    };
    const first = await eventually(async () => {
      const answer = await stuck();
      return answer.groups[0]?.count === handles.length ? answer : null;
    }, `all ${JOURNEYS} journeys in the stuck view`, 120_000);
    process.stdout.write(`     ${first.scanned} running workflows scanned; largest group: "${first.groups[0].cause}" × ${first.groups[0].count}\n`);
    const times = await timeRuns(5, async () => { await stuck(); }, 1);
    return report(`stuck view over ${JOURNEYS} stuck journeys`, times, TARGET_P95_MS);
  } finally {
    stack.registry.setDown(false);
    await stack.stop();
  }
}

main().then((ok) => process.exit(ok ? 0 : 1), (err: unknown) => { console.error(err); process.exit(1); });
