// The bare workflow of bench/journey-throughput.bench.ts: as many activities as a learner journey runs to its
// approval, each a no-op, one after another. What the journey costs beyond it is the journey's own work.
import { proxyActivities } from '@temporalio/workflow';

/** The no-op activity the bare workflow calls. */
export interface BareActivities { noop(input: { step: number; last: boolean }): Promise<void> }

const { noop } = proxyActivities<BareActivities>({ startToCloseTimeout: '10 seconds' });

export async function bareJourney(steps: number): Promise<void> {
  for (let step = 1; step <= steps; step += 1) await noop({ step, last: step === steps });
}
