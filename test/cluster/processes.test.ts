/**
 * Two worker and two API processes on Temporal's own server (the scenario is in ./two-of-each.ts). Only `make
 * test-cluster` runs it (TEST_CLUSTER=1): the processes take seconds to start, and the scenario's modules are loaded
 * only then, so under `make test` this file costs its skip line alone.
 */
import test from 'ava';

const onCluster = process.env.TEST_CLUSTER === '1' ? test.serial : test.serial.skip;

onCluster('two worker and two API processes share the work; a journey started on one API is read on the other; killing a worker mid-way loses no journey and sends no e-mail twice', async (t) => {
  const { twoOfEach } = await import('./two-of-each');
  await twoOfEach(t);
});
