/**
 * lib/draining-server.ts, the API's clean stop: once asked to stop it takes no new connection (so no journey starts
 * after the worker has gone), finishes the requests in hand, and gives up on a stuck one after the grace period.
 */
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import Koa from 'koa';
import { createDrainingServer, SERVER_TIMEOUTS } from '../../lib/draining-server';

/** A Koa app like the API's: /slow answers after `ms`, anything else at once. */
function startServer(ms: number) {
  const app = new Koa();
  app.use(async (ctx) => {
    await sleep(ctx.path === '/slow' ? ms : 0);
    ctx.body = { ok: true, path: ctx.path };
  });
  const drainable = createDrainingServer(app.callback());
  return new Promise<{ port: number; drainable: typeof drainable }>((resolve) => {
    drainable.server.listen(0, '127.0.0.1', () => resolve({ port: (drainable.server.address() as AddressInfo).port, drainable }));
  });
}

/** Waits until the server is answering one request. */
async function inHand(drainable: { inFlight: number }): Promise<void> {
  while (drainable.inFlight === 0) await sleep(10);
}

test('a request in hand when the stop begins is answered, and its connection is closed after it', async (t) => {
  const { port, drainable } = await startServer(500);
  const answer = fetch(`http://127.0.0.1:${port}/slow`);
  await inHand(drainable);
  const started = Date.now();
  const drained = drainable.drain(5_000);
  const response = await answer;
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { ok: true, path: '/slow' });
  t.is(response.headers.get('connection'), 'close');
  await drained;
  t.true(Date.now() - started < 2_000, 'the stop ends as soon as the last request is answered');
  // No new connection is accepted.
  await t.throwsAsync(fetch(`http://127.0.0.1:${port}/`));
});

test('a request still running after the grace period is cut, so the stop has an end', async (t) => {
  const { port, drainable } = await startServer(30_000);
  const answer = fetch(`http://127.0.0.1:${port}/slow`).catch((error: unknown) => error);
  await inHand(drainable);
  const started = Date.now();
  await drainable.drain(300);
  const elapsed = Date.now() - started;
  t.true(elapsed >= 300 && elapsed < 2_000, `stopped after ${elapsed} ms`);
  t.true((await answer) instanceof Error);
});

test('a request reaching the server while it stops gets a 503 with the uniform body (details an array) and Retry-After', async (t) => {
  const { port, drainable } = await startServer(500);
  const busy = fetch(`http://127.0.0.1:${port}/slow`);
  await inHand(drainable);
  // A request whose headers are still arriving when the stop begins: it reaches the server after it.
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => { received += chunk.toString(); });
  const ended = new Promise((resolve) => socket.on('close', resolve));
  socket.write('GET /late HTTP/1.1\r\nHost: x\r\n');
  await sleep(100);
  const drained = drainable.drain(5_000);
  socket.write('Accept-Language: en\r\n\r\n');
  await Promise.race([ended, sleep(3_000)]);
  socket.destroy();
  await busy;
  await drained;
  t.regex(received, /^HTTP\/1\.1 503/);
  t.regex(received, /retry-after: 5/i);
  const body = JSON.parse(received.slice(received.indexOf('{'), received.lastIndexOf('}') + 1)) as unknown;
  t.deepEqual(body, { error: { code: 'shutting_down', message: 'The server is restarting. Please try again in a few seconds.', details: [] } });
});

test('the server ends a request whose body stalls, instead of holding it for Node\'s default 5 minutes', (t) => {
  const { server } = createDrainingServer(() => undefined);
  t.is(server.requestTimeout, SERVER_TIMEOUTS.requestTimeoutMs);
  t.is(server.headersTimeout, SERVER_TIMEOUTS.headersTimeoutMs);
  t.is(server.keepAliveTimeout, SERVER_TIMEOUTS.keepAliveTimeoutMs);
  t.true(SERVER_TIMEOUTS.requestTimeoutMs <= 120_000 && SERVER_TIMEOUTS.headersTimeoutMs <= SERVER_TIMEOUTS.requestTimeoutMs);
});
