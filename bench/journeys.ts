/** Learner journeys for the benchmarks: many at once, each to its automatic approval (`imk_approved`). */
import type { Knex } from 'knex';
import { mapConcurrent } from '../lib/concurrency';
import { startLearnerJourney } from '../test/helpers/journeys';
import type { TestStack } from '../test/helpers/stack';

/** How many journeys are being started at any one time (as many people registering at once). */
const START_CONCURRENCY = 32;

let batches = 0;

/**
 * Starts `count` journeys of new adults (known to the Population Register stub, eligible for IMK, approved
 * automatically) and waits until every one has reached `imk_approved` and its approval e-mail is sent. Returns
 * the seconds from the first start until the last approval. `poll` is a database handle of the benchmark's own,
 * so its queries are not counted as the worker's.
 */
export async function approvedJourneys(stack: TestStack, poll: Knex, count: number): Promise<{ caseIds: string[]; seconds: number }> {
  batches += 1;
  const prefix = `32${String(Math.floor(Math.random() * 90) + 10)}${String(batches).padStart(2, '0')}`;
  const codes = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
  for (const personCode of codes) {
    stack.registry.setPerson({ personCode, firstName: 'Sēklis', lastName: 'Slodze', birthDate: '1984-04-04', deceased: false, address: 'Rīga', note: 'benchmark' });
  }
  const started = process.hrtime.bigint();
  const caseIds = await mapConcurrent(codes, START_CONCURRENCY, async (code) => (await startLearnerJourney(stack.temporal, stack.taskQueue, code)).caseId);
  await until(async () => (await countWhere(poll, 'cases', caseIds, (q) => q.where({ stage: 'imk_approved' }))) === count);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // Not timed: the approval e-mails go out alongside; the next measurement starts once they are all sent.
  await until(async () => (await countWhere(poll, 'emailOutbox', caseIds, (q) => q.where({ status: 'sent' }))) === count);
  return { caseIds, seconds };
}

async function countWhere(db: Knex, table: string, caseIds: string[], where: (q: Knex.QueryBuilder) => Knex.QueryBuilder): Promise<number> {
  const row = await where(db(table).whereIn(table === 'cases' ? 'id' : 'caseId', caseIds)).count<{ count: string }[]>({ count: '*' });
  return Number(row[0].count);
}

/** Polls every 100 ms until `done` (10 minutes at most). */
export async function until(done: () => Promise<boolean> | boolean, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('benchmark: timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
