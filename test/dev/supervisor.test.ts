/**
 * The dev launcher's supervisor (dev/services/processes.ts, dev/services/net.ts) with tiny child processes:
 * restarts with back-off, a stop that leaves nothing behind, busy ports named clearly.
 */
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { assertPortsFree, isListeningBy, waitForListener } from '../../dev/services/net';
import { spawnService, stopAll, superviseService } from '../../dev/services/processes';

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A node program serving its own pid over HTTP on `port`. */
const pidServer = (port: number): string =>
  `require('http').createServer((q, r) => r.end(String(process.pid))).listen(${port}, '127.0.0.1')`;

/** The pid that answers on `port`, waiting up to `timeoutMs` for an answer. */
async function pidOn(port: number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return Number(await (await fetch(`http://127.0.0.1:${port}/`)).text());
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

/** Whether a process with this pid exists (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Collects what the supervisor writes to stderr while `work` runs. */
async function capturingStderr<T>(work: (lines: () => string) => Promise<T>): Promise<T> {
  let captured = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    captured += String(chunk);
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    return await work(() => captured);
  } finally {
    process.stderr.write = write;
  }
}

test.afterEach.always(async () => {
  await stopAll();
});

test.serial('a service that dies is started again, after a delay that doubles and resets after a healthy run', async (t) => {
  const port = await freePort();
  await capturingStderr(async (stderr) => {
    const service = superviseService('tiny', process.execPath, ['-e', pidServer(port)], {
      restart: { initialDelayMs: 300, maxDelayMs: 1_000, healthyAfterMs: 2_500 },
    });
    const first = await pidOn(port);
    t.is(first, service.current.pid!);

    process.kill(first, 'SIGKILL');
    let started = Date.now();
    const second = await pidOn(port);
    const firstGap = Date.now() - started;
    t.not(second, first);
    t.true(firstGap >= 300, `restarted after ${firstGap} ms`);
    t.regex(stderr(), /!!! \[tiny\] exited unexpectedly \(signal SIGKILL\) after [\d.]+ s; restarting it in 0\.3 s \(restart 1\)/);
    t.regex(stderr(), new RegExp(`!!! \\[tiny\\] restarted as pid ${second} \\(restart 1\\)`));

    // A second crash soon after: twice the delay.
    process.kill(second, 'SIGKILL');
    started = Date.now();
    const third = await pidOn(port);
    t.true(Date.now() - started >= 600, `second restart after ${Date.now() - started} ms`);
    t.regex(stderr(), /restarting it in 0\.6 s \(restart 2\)/);

    // After a healthy run (longer than healthyAfterMs) the delay is back to the first one.
    await sleep(2_700);
    process.kill(third, 'SIGKILL');
    await pidOn(port);
    t.regex(stderr(), /restarting it in 0\.3 s \(restart 3\)/);
    t.is(service.restarts, 3);

    // A deliberate stop is not a crash: no restart follows.
    const last = service.current.pid!;
    await service.stop();
    t.false(alive(last));
    await sleep(700);
    await t.throwsAsync(fetch(`http://127.0.0.1:${port}/`));
    t.notRegex(stderr(), /restart 4/);
  });
});

test.serial('stopAll stops every child and its children, even one that ignores SIGTERM, and restarts nothing', async (t) => {
  // The child starts a grandchild that ignores SIGTERM, and prints both pids.
  const grandchild = `process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)`;
  const child = `
    const { spawn } = require('child_process');
    const g = spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'ignore' });
    console.log('pids', process.pid, g.pid);
    setInterval(() => {}, 1000);`;
  const pids: number[] = [];
  const seen = new Promise<void>((resolve) => {
    superviseService('parent', process.execPath, ['-e', child], {
      onLine: (line) => {
        const match = /^pids (\d+) (\d+)$/.exec(line);
        if (match) {
          pids.push(Number(match[1]), Number(match[2]));
          resolve();
        }
      },
    });
  });
  const plain = spawnService('plain', process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  await seen;
  t.true(pids.every(alive));

  await capturingStderr(async (stderr) => {
    await stopAll();
    t.notRegex(stderr(), /restarting/);
  });
  t.deepEqual(pids.filter(alive), [], 'child and grandchild are gone');
  t.false(alive(plain.pid!));
  t.deepEqual(await plain.exited, { code: null, signal: 'SIGTERM' });
});

test.serial('a busy port is an error naming the port, what wanted it and the variable that moves it', async (t) => {
  const server = http.createServer((q, r) => r.end('someone else'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const free = await freePort();
  try {
    const error = await t.throwsAsync(
      assertPortsFree([
        { port: free, what: 'the worker\'s metrics', variable: 'WORKER_METRICS_PORT' },
        { port, what: 'the API and web pages', variable: 'PORT' },
      ]),
    );
    t.regex(error!.message, new RegExp(`port ${port} \\(the API and web pages; set PORT to use another port\\)`));
    t.notRegex(error!.message, new RegExp(`port ${free}`));
    await t.notThrowsAsync(assertPortsFree([{ port: free, what: 'x', variable: 'X' }]));
  } finally {
    server.close();
  }
});

test.serial('the readiness check recognises only our own process on a port, not another one answering there', async (t) => {
  const server = http.createServer((q, r) => r.end('an old server'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    t.true(isListeningBy(process.pid, port));
    // Our new child cannot listen (the port is taken) and dies: that is an error, not "ready".
    const child = spawnService('late', process.execPath, ['-e', pidServer(port)], { oneShot: true });
    t.false(isListeningBy(child.pid!, port));
    const error = await t.throwsAsync(waitForListener(child.pid!, port, 10_000));
    t.regex(error!.message, new RegExp(`pid ${child.pid} ended before it listened on port ${port}`));
  } finally {
    server.close();
  }
  // And a child that does listen is recognised.
  const port2 = await freePort();
  const ok = spawnService('ok', process.execPath, ['-e', pidServer(port2)]);
  await t.notThrowsAsync(waitForListener(ok.pid!, port2, 10_000));
});
