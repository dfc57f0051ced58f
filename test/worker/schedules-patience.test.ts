import { randomUUID } from 'node:crypto';
import test from 'ava';
import { ScheduleNotFoundError } from '@temporalio/client';
import { createLogger } from '../../lib/logger';
import { connectTemporalClient } from '../../lib/temporal';
import { testDataConverter } from '../helpers/payload-keys';
import { populationRecheckScheduleId } from '../../workflows/ids';
import { ensureSchedules, ensureSchedulesPatiently, workerScheduleIds } from '../../worker/schedules';
import { eventually } from '../helpers/journeys';
import { startTcpProxy } from '../helpers/tcp-proxy';

// The worker ensures its schedules once it polls. Found by the fault drill: a worker restarted after a kill -9 on a
// busy machine exited on "Failed to describe schedule" (Temporal slow to answer), abandoning the tasks it had
// taken, and was restarted once more. Now the schedule step is tried again until Temporal answers. The server is
// taken away through a proxy; the shared one keeps running.

test('the schedules are ensured once Temporal answers again, instead of the step failing the worker', async (t) => {
  const [host, port] = process.env.TEMPORAL_ADDRESS!.split(':');
  const proxy = await startTcpProxy({ host: host!, port: Number(port) });
  const client = await connectTemporalClient({ address: proxy.address, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default', dataConverter: testDataConverter });
  const lines: { level: string; msg: string; attempt?: number }[] = [];
  const logger = createLogger('worker', 'info', {}, (line) => lines.push(JSON.parse(line)));
  const idSuffix = `patience-${randomUUID()}`;
  const options = { client, taskQueue: `test-${randomUUID()}`, recheckIntervalMs: 180 * 86_400_000, idSuffix };
  try {
    await proxy.refuse();
    // What the worker did before: the one attempt fails, and the worker exited with it.
    await t.throwsAsync(ensureSchedules(options));

    let stopped = false;
    const ensured = ensureSchedulesPatiently({ ...options, logger, stopped: () => stopped, firstDelayMs: 200, maxDelayMs: 400 });
    await eventually(async () => (lines.filter((l) => l.msg === 'schedules not ensured yet; trying again').length >= 2 ? true : null), 'two failed attempts in the log', 15_000);
    t.true(lines.every((l) => l.level === 'warn'));

    await proxy.restore();
    const result = await ensured;
    t.is(result?.populationRecheck.outcome, 'created');
    t.is(result?.populationRecheck.scheduleId, populationRecheckScheduleId(idSuffix));

    // A worker that is stopping gives up at once.
    stopped = true;
    t.is(await ensureSchedulesPatiently({ ...options, logger, stopped: () => stopped }), null);
  } finally {
    await proxy.restore();
    for (const id of workerScheduleIds(idSuffix)) {
      await client.schedule.getHandle(id).delete().catch((err: unknown) => {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      });
    }
    await client.connection.close();
    await proxy.close();
  }
});
