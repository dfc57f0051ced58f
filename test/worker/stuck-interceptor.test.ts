import test from 'ava';
import type { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityExecuteInput } from '@temporalio/worker';
import { createDb } from '../../lib/db';
import type { Logger } from '../../lib/logger';
import { WRITE_DEADLINE_MS, isFinal, nextRetryAt, stuckIndexInterceptor } from '../../worker/stuck-interceptor';
import { testDataConverter } from '../helpers/payload-keys';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

// The stuck index is a view for administrators: when PostgreSQL is down (refused) or mute while the interceptor
// records a failed attempt or a recovery, the activity's own error or result goes on unchanged and on time, and
// the lost write is logged.

const REGISTRY_POLICY = { initialInterval: 1_000, backoffCoefficient: 2, maximumInterval: 300_000 };

function contextOf(attempt: number): ActivityContext {
  return {
    info: {
      workflowExecution: { workflowId: 'learner-journey:6b1f0c7e-9a43-4a57-9a59-2f3c4cbe5d11', runId: 'run-1' }, activityId: '3',
      activityType: 'lookupPerson', attempt, taskQueue: 'stuck-interceptor-test', workflowType: 'learnerJourney', retryPolicy: REGISTRY_POLICY,
    },
  } as unknown as ActivityContext;
}

function capturingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const logger = { warnings, debug() {}, info() {}, error() {}, warn(msg: string) { warnings.push(msg); }, child: () => logger };
  return logger as Logger & { warnings: string[] };
}

const input = { args: [{ caseId: '6b1f0c7e-9a43-4a57-9a59-2f3c4cbe5d11' }], headers: {} } as unknown as ActivityExecuteInput;

async function postgresBehind(): Promise<TcpProxy> {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://127.0.0.1:5432/postgres');
  return startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
}

for (const fault of ['refused', 'mute'] as const) {
  test(`PostgreSQL ${fault} while recording: the activity's error and result go on unchanged, within the write deadline`, async (t) => {
    const proxy = await postgresBehind();
    const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://127.0.0.1:5432/postgres');
    url.host = proxy.address;
    const db = createDb(url.toString());
    // knex warns of every failed connection attempt; here they are the point of the test.
    (db.client as { logger: { warn: (msg: string) => void } }).logger.warn = () => undefined;
    if (fault === 'refused') await proxy.refuse();
    else proxy.mute();
    const logger = capturingLogger();
    const interceptor = stuckIndexInterceptor({ db, codecs: testDataConverter.payloadCodecs!, logger });
    try {
      const outage = new Error('Population Register: connect ECONNREFUSED 127.0.0.1:4101');
      let started = Date.now();
      const failed = await t.throwsAsync(interceptor(contextOf(3)).inbound!.execute!(input, async () => { throw outage; }));
      t.is(failed, outage, 'the activity fails with its own error, not the database\'s');
      t.true(Date.now() - started < WRITE_DEADLINE_MS + 1_500, `failed after ${Date.now() - started} ms`);

      started = Date.now();
      t.is(await interceptor(contextOf(4)).inbound!.execute!(input, async () => 'person found'), 'person found');
      t.true(Date.now() - started < WRITE_DEADLINE_MS + 1_500, `succeeded after ${Date.now() - started} ms`);
      t.is(logger.warnings.length, 2, 'both lost writes are logged');
    } finally {
      // The lost writes still wait for a connection: let them fail now (dropped sockets), so closing aborts nothing.
      await proxy.close();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await db.destroy().catch(() => undefined);
    }
  });
}

test('a failure is final when non-retryable or on the last attempt; the next retry follows the policy', (t) => {
  t.true(isFinal(ApplicationFailure.nonRetryable('gone', 'PersonNotFound'), 1, REGISTRY_POLICY));
  t.true(isFinal(ApplicationFailure.create({ type: 'PersonNotFound' }), 1, { ...REGISTRY_POLICY, nonRetryableErrorTypes: ['PersonNotFound'] }));
  t.true(isFinal(new Error('x'), 4, { ...REGISTRY_POLICY, maximumAttempts: 4 }));
  t.false(isFinal(new Error('x'), 3, { ...REGISTRY_POLICY, maximumAttempts: 4 }));
  const now = Date.UTC(2026, 11, 10);
  t.is(nextRetryAt(new Error('x'), 3, REGISTRY_POLICY, now)!.getTime(), now + 4_000);
  t.is(nextRetryAt(new Error('x'), 20, REGISTRY_POLICY, now)!.getTime(), now + 300_000, 'capped at the maximum interval');
  t.is(nextRetryAt(ApplicationFailure.create({ message: 'x', nextRetryDelay: '7 seconds' }), 1, REGISTRY_POLICY, now)!.getTime(), now + 7_000);
  t.is(nextRetryAt(new Error('x'), 1, undefined, now), null);
});
