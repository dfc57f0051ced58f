/**
 * The dev launcher's supervisor (dev/services/processes.ts, dev/services/net.ts) with tiny child processes:
 * restarts with back-off, a stop that leaves nothing behind, busy ports named clearly, and nothing outliving a
 * launcher killed with SIGKILL for long (our children stop by themselves, servers are cleaned up by the next run).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { assertPortsFree, isListeningBy, waitForListener } from '../../dev/services/net';
import { startPostgres, stopLeftoverPostgres } from '../../dev/services/postgres';
import { spawnService, stopAll, superviseService } from '../../dev/services/processes';
import { stopLeftoverTemporal } from '../../dev/services/temporal';
import { freePort } from '../../dev/services/net';

const root = path.resolve(__dirname, '../..');


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
  // A SIGKILL of the group is delivered at once but takes effect a moment later on a loaded machine.
  const deadline = Date.now() + 3_000;
  while (pids.some(alive) && Date.now() < deadline) await sleep(50);
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

/** A temporary directory that the postgres OS user can reach too (the tests may run as root). */
function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'launcher-'));
  fs.chmodSync(dir, 0o755);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts `node --import tsx -e code` as a "launcher" of its own; resolves with it once `file` exists. */
async function fakeLauncher(code: string, file: string, timeoutMs = 60_000): Promise<number> {
  const launcher = spawn(process.execPath, ['--import', 'tsx', '-e', code], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (launcher.exitCode !== null || Date.now() > deadline) throw new Error(`the fake launcher did not write ${file}`);
    await sleep(50);
  }
  return launcher.pid!;
}

/** Waits up to `timeoutMs` for a process to end; resolves with how long that took, or rejects. */
async function endsWithin(pid: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (alive(pid)) {
    if (Date.now() - started > timeoutMs) throw new Error(`pid ${pid} still runs after ${timeoutMs} ms`);
    await sleep(50);
  }
  return Date.now() - started;
}

test.serial('a child of a launcher killed with SIGKILL notices within seconds and stops cleanly by itself', async (t) => {
  const dir = tempDir(t);
  const pidFile = path.join(dir, 'child.pid');
  const marker = path.join(dir, 'child.stopped');
  // Like api/main.ts and dev/stubs/main.ts: a SIGTERM handler for the clean stop, and the launcher watch.
  const child = `
    const fs = require('fs');
    process.on('SIGTERM', () => {
      console.log('stopping');  // to the dead launcher's pipe: must not crash the stop
      setTimeout(() => { fs.writeFileSync(${JSON.stringify(marker)}, 'stopped cleanly'); process.exit(0); }, 100);
    });
    require(${JSON.stringify(path.join(root, 'lib', 'launcher-watch.ts'))}).stopWhenLauncherDies();
    fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
    // Logs often, like the worker: once the launcher is gone, the writes fail (EPIPE) before the next check.
    setInterval(() => console.log('tick'), 20);`;
  const launcher = await fakeLauncher(
    `require(${JSON.stringify(path.join(root, 'dev', 'services', 'processes.ts'))})
      .superviseService('child', process.execPath, ['--import', 'tsx', '-e', ${JSON.stringify(child)}]);`,
    pidFile,
  );
  const childPid = Number(fs.readFileSync(pidFile, 'utf8'));
  t.true(alive(childPid));
  process.kill(launcher, 'SIGKILL');
  const ms = await endsWithin(childPid, 5_000);
  t.log(`the child stopped ${ms} ms after its launcher was killed`);
  t.is(fs.readFileSync(marker, 'utf8'), 'stopped cleanly');
});

test.serial('a PostgreSQL left running on our data directory by a killed launcher is stopped, one of another directory is not', async (t) => {
  const dir = tempDir(t);
  const servers = await Promise.all(
    ['ours', 'theirs'].map(async (name) => {
      const dataDir = path.join(dir, name);
      const ready = path.join(dir, `${name}.ready`);
      const port = await freePort();
      const launcher = await fakeLauncher(
        `require(${JSON.stringify(path.join(root, 'dev', 'services', 'postgres.ts'))})
          .startPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port}, user: 'ila', database: 'postgres', fsyncOff: true })
          .then(() => require('fs').writeFileSync(${JSON.stringify(ready)}, 'ready'));`,
        ready,
      );
      process.kill(launcher, 'SIGKILL');
      const postmaster = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return { dataDir, port, postmaster };
    }),
  );
  const [ours, theirs] = servers as [(typeof servers)[0], (typeof servers)[0]];
  try {
    t.true(alive(ours.postmaster) && alive(theirs.postmaster), 'both servers outlived their launchers');

    await capturingStderr(async (stderr) => {
      await stopLeftoverPostgres(ours.dataDir);
      t.regex(stderr(), new RegExp(`\\[postgres\\] stopping pid ${ours.postmaster}, left running by an earlier run`));
    });
    t.false(alive(ours.postmaster));
    t.true(alive(theirs.postmaster), 'the server of another data directory still runs');
    // And the next run starts on the same directory and port.
    const again = await startPostgres({ dataDir: ours.dataDir, port: ours.port, user: 'ila', database: 'postgres', fsyncOff: true });
    t.regex(again.url, new RegExp(`:${ours.port}/postgres$`));
    await again.stop();
  } finally {
    process.kill(theirs.postmaster, 'SIGINT');
    await endsWithin(theirs.postmaster, 30_000);
  }
});

test.serial('a Temporal dev server left running in our directory is stopped, one of another checkout is not', async (t) => {
  const dir = tempDir(t);
  const ours = path.join(dir, 'ours');
  const theirs = path.join(dir, 'theirs');
  fs.mkdirSync(ours);
  fs.mkdirSync(theirs);
  // Faithful fakes: `... server start-dev ...` command lines, orphaned (their parent, a shell, has exited), each
  // working in its own directory like startTemporal's servers; the third names our SQLite file, as older runs did.
  const orphan = (cwd: string, ...args: string[]): number =>
    Number(
      spawnSync('bash', ['-c', `"$0" -e 'setInterval(() => {}, 1000)' "$@" >/dev/null 2>&1 & echo $!`, process.execPath, 'server', 'start-dev', ...args], {
        cwd,
        encoding: 'utf8',
      }).stdout.trim(),
    );
  const inOurs = orphan(ours, '--port', '17233');
  const inTheirs = orphan(theirs, '--port', '17233');
  const onOurFile = orphan(dir, '--db-filename', path.join(ours, 'temporal.db'));
  try {
    await sleep(300);
    t.true([inOurs, inTheirs, onOurFile].every(alive));
    await stopLeftoverTemporal(ours, path.join(ours, 'temporal.db'));
    t.false(alive(inOurs));
    t.false(alive(onOurFile));
    t.true(alive(inTheirs), 'the server of another checkout still runs');
  } finally {
    for (const pid of [inOurs, inTheirs, onOurFile]) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
});
