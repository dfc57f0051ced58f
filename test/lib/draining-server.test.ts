/**
 * lib/draining-server.ts, the API's clean stop: once asked to stop it takes no new connection (so no journey starts
 * after the worker has gone), finishes the requests in hand, and gives up on a stuck one after the grace period.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import Koa from 'koa';
import { createDrainingServer } from '../../lib/draining-server';

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
