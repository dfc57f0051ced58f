import test from 'ava';
import { NativeConnection } from '@temporalio/worker';
import { createLogger } from '../../lib/logger';
import { watchTemporal } from '../../worker/temporal-watch';
import { eventually } from '../helpers/journeys';
import { startTcpProxy } from '../helpers/tcp-proxy';

// The worker says in its log when it loses the Temporal server and when it has it back (a worker cut off from
// the server used to log nothing). The server is taken away through a proxy; the shared one keeps running.

test('the worker logs losing and regaining the Temporal server', async (t) => {
  const [host, port] = process.env.TEMPORAL_ADDRESS!.split(':');
  const proxy = await startTcpProxy({ host: host!, port: Number(port) });
  const connection = await NativeConnection.connect({ address: proxy.address });
  const lines: { level: string; msg: string; address?: string; downForMs?: number }[] = [];
  const logger = createLogger('worker', 'info', {}, (line) => lines.push(JSON.parse(line)));
  const stop = watchTemporal({ connection, address: proxy.address, logger, everyMs: 200 });
  try {
    await new Promise((resolve) => setTimeout(resolve, 600));
    t.deepEqual(lines, [], 'nothing to say while the server answers');

    await proxy.refuse();
    const lost = await eventually(async () => lines.find((l) => l.msg.startsWith('worker lost the Temporal server')), 'the loss in the log', 10_000);
    t.like(lost, { level: 'error', address: proxy.address });

    await proxy.restore();
    const back = await eventually(async () => lines.find((l) => l.msg === 'worker regained the Temporal server'), 'the return in the log', 15_000);
    t.is(back.level, 'info');
    t.true((back.downForMs ?? 0) > 0);
    t.is(lines.filter((l) => l.msg.startsWith('worker lost')).length, 1, 'the loss is said once, not at every check');
  } finally {
    stop();
    await connection.close();
    await proxy.close();
  }
});
