/**
 * Learners passing registration on the production shape (issue 17 item 4): Temporal's own server on PostgreSQL with
 * frontend, history, matching and worker services as separate processes (dev/services/cluster.ts), two workers and
 * two API instances (TEST_STACK_REPLICAS=2). Each learner registers through the API (POST /api/learner/journeys with
 * their own session), the journey asks the Population Register and SOPA and opens the account automatically; a
 * learner has passed registration when the case is `imk_approved` in the read model. Prints the time for all of
 * them and the rate; BENCH_LEARNERS sets how many (default 100,000, about two hours on 2 cores; see bench/README.md).
 * No goal: the figure is the national-scale estimate, not a pass/fail target. Its own ports (the cluster's, 57433 and
 * 7633-7643) leave `make bench`'s dev server alone.
 */
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { startCluster } from '../dev/services/cluster';
import { mapConcurrent } from '../lib/concurrency';
import { createDb } from '../lib/db';
import { httpClient } from '../test/helpers/http';
import { registerThroughApi, type TestPerson } from '../test/helpers/journeys';
import { startTestStack } from '../test/helpers/stack';

const LEARNERS = Number(process.env.BENCH_LEARNERS ?? 100_000);
/** People registering at the same moment. */
const CONCURRENCY = 32;
const root = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  const cluster = await startCluster(root, undefined, { dataDir: path.join(root, '.data', 'bench-cluster') });
  Object.assign(process.env, {
    TEMPORAL_ADDRESS: cluster.address, TEMPORAL_NAMESPACE: cluster.namespace, TEST_DATABASE_URL: cluster.adminDatabaseUrl,
    TEST_STACK_REPLICAS: '2',
  });
  const stack = await startTestStack();
  const poll = createDb(stack.databaseUrl, { min: 0, max: 1 });
  try {
    // Unique person codes of the new format (32…), known to the Population Register stub as adults.
    const batch = String(randomInt(10, 99));
    const people: TestPerson[] = Array.from({ length: LEARNERS }, (_, i) => {
      const code = `32${batch}${String(i).padStart(6, '0').slice(0, 2)}-${String(i).padStart(6, '0').slice(2)}${randomInt(0, 10)}`;
      stack.registry.setPerson({ personCode: code, firstName: 'Reģistrs', lastName: 'Slodze', birthDate: '1985-05-05', deceased: false, address: 'Rīga', note: 'benchmark' });
      return { code, name: 'Reģistrs Slodze' };
    });
    const call = httpClient(() => stack.appUrl);
    const started = process.hrtime.bigint();
    await mapConcurrent(people, CONCURRENCY, async (person) => {
      const token = await stack.tokenFor('learner', person.code, person.name);
      await registerThroughApi(call, stack.temporal, token, person);
    });
    const registeredSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    let approved = 0;
    while (approved < LEARNERS) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const [{ count }] = await poll('cases').join('learners', 'learners.id', 'cases.learnerId')
        .where('learners.personCode', 'like', `32${batch}%`).where('cases.stage', 'imk_approved').count<{ count: string }[]>({ count: '*' });
      approved = Number(count);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stdout.write(`     ${LEARNERS} registrations accepted by the two APIs in ${registeredSeconds.toFixed(0)} s\n`);
    process.stdout.write(`ok   ${LEARNERS} learners through registration to imk_approved on the cluster: ${seconds.toFixed(0)} s `
      + `(${(LEARNERS / seconds).toFixed(1)} learners/s; 100,000 at this rate: ${(100_000 / (LEARNERS / seconds) / 60).toFixed(0)} min)\n`);
  } finally {
    await poll.destroy();
    await stack.stop();
    await cluster.stop();
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
