/**
 * The drill's faults, one at a time: each takes something away, keeps it away while traffic goes on, puts it
 * back, and ends its window once the API is ready again (answers during recovery count with the fault).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres } from '../services/postgres';
import type { RunningStack } from '../services/stack';
import { startTemporal } from '../services/temporal';

/** What a fault needs: the running stack, and a log line writer. */
export interface FaultDeps {
  stack: RunningStack;
  log: (line: string) => void;
  /** The learner whose address the SMTP fault refuses, and how to start their journey once it does. */
  refused: { address: string; start(): void };
  /** Times (ms since the epoch) of every kill -9 of the worker, for the at-least-once window of e-mails. */
  workerKills: number[];
}

/** A fault: its name in the table and what it does (resolving once what it took away is back). */
export interface Fault { name: string; run(deps: FaultDeps): Promise<void> }

const post = async (url: string, body: unknown): Promise<void> => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
};

/** Resolves once `url` answers 2xx (polled every 500 ms); rejects after `timeoutMs`. */
async function untilOk(url: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      if (res.ok) return Date.now() - started;
    } catch {
      // Not yet.
    }
    await sleep(500);
  }
  throw new Error(`${url} was not ready within ${timeoutMs / 1000} s`);
}

const ready = (stack: RunningStack) => untilOk(`${stack.publicUrl}/api/ready`, 180_000);

/** kill -9 of the worker: its supervisor starts it again; the window ends once it polls again (its metrics answer). */
export const killWorker: Fault = {
  name: 'worker kill -9',
  async run({ stack, log, workerKills }) {
    const pid = stack.worker.current.pid!;
    const restartsBefore = stack.worker.restarts;
    workerKills.push(Date.now());
    process.kill(pid, 'SIGKILL');
    log(`killed the worker (pid ${pid}) with SIGKILL`);
    const deadline = Date.now() + 120_000;
    while (stack.worker.restarts === restartsBefore && Date.now() < deadline) await sleep(200);
    const back = await untilOk(`http://127.0.0.1:${stack.env.WORKER_METRICS_PORT}/metrics`, 120_000);
    log(`the worker is back (pid ${stack.worker.current.pid}), polling again ${back} ms after its restart`);
    // Journeys whose tasks the dead worker held are retried by Temporal after their timeouts: keep watching a while.
    await sleep(10_000);
  },
};

/** Temporal stopped for 30 s, then started again on the same SQLite file and port. */
export const stopTemporal: Fault = {
  name: 'Temporal stopped 30 s',
  async run({ stack, log }) {
    const options = stack.startedWith.temporal;
    if (!stack.temporal || !options) throw new Error('the drill needs its own Temporal server');
    await stack.temporal.stop();
    log('Temporal stopped');
    await sleep(30_000);
    stack.temporal = await startTemporal(options);
    log(`Temporal started again on ${options.dbFile}; the API was ready again after ${await ready(stack)} ms`);
    await sleep(5_000);
  },
};

/** PostgreSQL stopped for 30 s (fast shutdown), then started again on the same data directory and port. */
export const stopPostgres: Fault = {
  name: 'PostgreSQL stopped 30 s',
  async run({ stack, log }) {
    const options = stack.startedWith.postgres;
    if (!stack.postgres || !options) throw new Error('the drill needs its own PostgreSQL server');
    await stack.postgres.stop();
    log('PostgreSQL stopped');
    await sleep(30_000);
    stack.postgres = await startPostgres(options);
    log(`PostgreSQL started again; the API was ready again after ${await ready(stack)} ms`);
    await sleep(5_000);
  },
};

/**
 * The SMTP server holds its reply to DATA past the e-mail activity's start-to-close timeout (2 minutes) for the
 * next three messages, so their senders give up (the client's own 30 s socket timeout) and retry; then one
 * address is refused for good (550), and a learner with that address registers.
 */
export const smtpStallThenReject: Fault = {
  name: 'SMTP stalls, then refuses an address',
  async run({ stack, log, refused }) {
    const control = `${stack.env.MAIL_CATCHER_URL}/__control`;
    await post(control, { stall: { ms: 125_000, at: 'data', count: 3 } });
    log('the mail catcher holds its reply to DATA for 125 s, for the next 3 messages');
    await sleep(45_000);
    await post(control, { rejectAddresses: [refused.address] });
    log(`the mail catcher refuses ${refused.address} with 550`);
    refused.start();
    await sleep(20_000);
  },
};

/** The Population Register stub drops every request for 60 s (connections closed without an answer). */
export const registryDown: Fault = {
  name: 'Population Register down 60 s',
  async run({ stack, log }) {
    const control = `${stack.env.POPULATION_REGISTER_URL}/__control`;
    await post(control, { down: true });
    log('the Population Register stub is down');
    await sleep(60_000);
    await post(control, { down: false });
    log('the Population Register stub is up again');
    await sleep(5_000);
  },
};

/**
 * The worker killed while the national service platform (service accounting and the e-address) is down (issue 17
 * item 6): statuses and decisions wait in their outboxes, the publisher dies with its worker (mid-round, its leases
 * held), and the restarted worker's publisher sends what waited, in order, once the platform is back. It runs in
 * the worker fault's window, so the short drill takes no longer.
 */
export const killWorkerWhilePlatformDown: Fault = {
  name: 'worker kill -9, national platform down',
  async run(deps) {
    const platform = [deps.stack.env.SERVICE_PLATFORM_URL!, deps.stack.env.E_ADDRESS_URL!];
    for (const url of platform) await post(`${url}/__control`, { down: true });
    deps.log('the service platform and e-address stubs are down');
    try {
      await killWorker.run(deps);
    } finally {
      for (const url of platform) await post(`${url}/__control`, { down: false });
      deps.log('the service platform and e-address stubs are up again');
    }
  },
};

/** The full drill's faults in order, and the short version's. */
export const ALL_FAULTS: readonly Fault[] = [killWorkerWhilePlatformDown, stopTemporal, stopPostgres, smtpStallThenReject, registryDown];
export const SHORT_FAULTS: readonly Fault[] = [killWorkerWhilePlatformDown, smtpStallThenReject];
