/**
 * lib/registry-stats.ts: the registry calls the workers make are counted per minute in PostgreSQL for the
 * administrators' health panel. A database outage must not erase the calls made during it: they are kept and
 * written once the database answers again (real PostgreSQL, taken away through a TCP proxy).
 */
import test from 'ava';
import { createDb } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { createRegistryStatsRecorder } from '../../lib/registry-stats';
import { eventually } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

let stack: TestStack;
let proxy: TcpProxy;

test.before(async () => {
  stack = await startTestStack();
  const url = new URL(stack.databaseUrl);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
});

test.after.always(async () => {
  await proxy?.close();
  await stack?.stop();
});

async function countsOf(registry: string) {
  const rows = await stack.db('registryCallStats').where({ registry }).select<{ calls: number; errors: number }[]>('calls', 'errors');
  return rows.reduce((sum, row) => ({ calls: sum.calls + Number(row.calls), errors: sum.errors + Number(row.errors) }), { calls: 0, errors: 0 });
}

test('calls counted while the database is away are written once it is back', async (t) => {
  const url = new URL(stack.databaseUrl);
  url.host = proxy.address;
  const db = createDb(url.toString(), { min: 0, max: 2 });
  const lines: string[] = [];
  const logger = createLogger('test', 'warn', {}, (line) => lines.push(line));
  const recorder = createRegistryStatsRecorder(db, logger);
  try {
    recorder.start('population-register')('ok');
    await eventually(async () => (await countsOf('population-register')).calls === 1 || null, 'the first call to be written', 10_000);

    await proxy.refuse();
    recorder.start('population-register')('ok');
    recorder.start('population-register')('error');
    recorder.start('sopa')('error');
    await eventually(async () => lines.some((l) => /not recorded/.test(l)) || null, 'the outage to be noticed', 10_000);
    t.deepEqual(await countsOf('sopa'), { calls: 0, errors: 0 }, 'nothing written while the database is away');

    await proxy.restore();
    await eventually(async () => (await countsOf('sopa')).calls === 1 || null, 'the kept counts to be written', 20_000);
    t.deepEqual(await countsOf('population-register'), { calls: 3, errors: 1 });
    t.deepEqual(await countsOf('sopa'), { calls: 1, errors: 1 });
  } finally {
    await db.destroy();
  }
});
