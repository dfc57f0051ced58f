import net from 'node:net';
import { temporal as proto } from '@temporalio/proto';
import { within } from '../../lib/concurrency';
import type { Dependency } from '../../lib/dependency-errors';
import type { ApiDeps } from '../deps';
import { registryHealth, type RegistryHealthRow } from './registry-health';

/**
 * Health of the API's dependencies and of the other processes, each asked with a short deadline so a dependency
 * that hangs makes its check "down", never the answer slow.
 *
 * - `/api/health`: is the system whole? 503 when Temporal, PostgreSQL or SMTP is down (for people and monitors).
 * - `/api/ready`: should this API instance get requests? 503 only when what every request needs is down
 *   (Temporal, PostgreSQL); SMTP is reported, but mail waits in the worker's outbox, so the API still serves.
 */

/** How long one dependency check may take. */
export const HEALTH_CHECK_DEADLINE_MS = 2_000;

/** A worker whose last poll is older than this counts as gone (a poll waits up to a minute on an idle queue). */
const WORKER_SEEN_WITHIN_MS = 2 * 60_000;

/** One dependency's answer. */
export interface CheckResult { status: 'ok' | 'down'; ms: number; error?: string }

/** Every dependency's answer. */
export type DependencyChecks = Record<Dependency, CheckResult>;

/** The dependencies without which this API instance cannot serve (the readiness rule). */
export const READY_NEEDS: readonly Dependency[] = ['temporal', 'postgresql'];

/** Asks Temporal, PostgreSQL and SMTP at once, each with its own deadline. */
export async function checkDependencies(deps: ApiDeps): Promise<DependencyChecks> {
  const [temporal, postgresql, smtp] = await Promise.all([
    timed(() => deps.temporal.connection.withDeadline(Date.now() + HEALTH_CHECK_DEADLINE_MS,
      () => deps.temporal.workflowService.getSystemInfo({}))),
    timed(() => deps.db.raw('select 1')),
    timed(() => smtpGreets(deps.smtpUrl)),
  ]);
  return { temporal, postgresql, smtp };
}

// Runs a check against the deadline; any failure or lateness is "down", with the reason for the console.
async function timed(check: () => Promise<unknown>): Promise<CheckResult> {
  const began = Date.now();
  try {
    if (!(await within(check().then(() => true), HEALTH_CHECK_DEADLINE_MS))) throw new Error(`no answer within ${HEALTH_CHECK_DEADLINE_MS} ms`);
    return { status: 'ok', ms: Date.now() - began };
  } catch (err) {
    return { status: 'down', ms: Date.now() - began, error: String((err as Error)?.message ?? err).slice(0, 200) };
  }
}

// An SMTP server is up when it greets with 220 (we say QUIT at once; no mail is sent).
function smtpGreets(smtpUrl: string): Promise<void> {
  const url = new URL(smtpUrl);
  const port = Number(url.port) || (url.protocol === 'smtps:' ? 465 : 25);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port });
    socket.setTimeout(HEALTH_CHECK_DEADLINE_MS, () => socket.destroy(new Error('no greeting')));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before greeting')));
    // TLS from the first byte (smtps) cannot be read as text: a connection is all we ask of it.
    if (url.protocol === 'smtps:') socket.once('connect', () => { resolve(); socket.end(); });
    else {
      socket.once('data', (chunk) => {
        if (chunk.toString('latin1').startsWith('220')) resolve();
        else reject(new Error(`greeted with ${chunk.toString('latin1').slice(0, 40)}`));
        socket.end('QUIT\r\n');
      });
    }
  });
}

/** One worker polling our task queue, as Temporal last saw it. */
export interface WorkerPoller { identity: string; lastAccessTime: string | null }

/** One line of the console's health panel. */
export interface ProcessHealth { name: 'api' | 'worker' | Dependency; status: 'ok' | 'down'; ms: number | null; detail: string | null; pollers?: WorkerPoller[] }

/** The console's health panel: every process and dependency, and each registry by its recent calls. */
export interface SystemHealth { at: string; processes: ProcessHealth[]; registries: RegistryHealthRow[] }

/** Gathers the panel: this API, the workers (Temporal's view of our task queue), the dependencies, the registries. */
export async function systemHealth(deps: ApiDeps): Promise<SystemHealth> {
  const [checks, workers, registries] = await Promise.all([
    checkDependencies(deps), workerPollers(deps), registryHealth(deps).catch(() => null),
  ]);
  const api: ProcessHealth = { name: 'api', status: 'ok', ms: null, detail: `pid ${process.pid}, up ${Math.round(process.uptime())} s` };
  const dependency = (name: Dependency): ProcessHealth => ({ name, status: checks[name].status, ms: checks[name].ms, detail: checks[name].error ?? null });
  return {
    at: new Date().toISOString(),
    processes: [api, workers, dependency('temporal'), dependency('postgresql'), dependency('smtp')],
    registries: registries?.registries ?? [],
  };
}

// Temporal knows which workers polled the task queue and when; one seen in the last two minutes is alive.
async function workerPollers(deps: ApiDeps): Promise<ProcessHealth> {
  const began = Date.now();
  try {
    const seen = new Map<string, number>();
    for (const taskQueueType of [proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY]) {
      const answer = await deps.temporal.connection.withDeadline(Date.now() + HEALTH_CHECK_DEADLINE_MS, () => deps.temporal.workflowService.describeTaskQueue({
        namespace: deps.temporal.options.namespace, taskQueue: { name: deps.taskQueue, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL }, taskQueueType,
      }));
      for (const poller of answer.pollers ?? []) {
        const at = poller.lastAccessTime?.seconds ? Number(poller.lastAccessTime.seconds) * 1000 : 0;
        const identity = poller.identity ?? 'unknown';
        seen.set(identity, Math.max(seen.get(identity) ?? 0, at));
      }
    }
    const pollers = [...seen].map(([identity, at]) => ({ identity, lastAccessTime: at ? new Date(at).toISOString() : null }));
    const alive = [...seen.values()].some((at) => Date.now() - at <= WORKER_SEEN_WITHIN_MS);
    return {
      name: 'worker', status: alive ? 'ok' : 'down', ms: Date.now() - began, pollers,
      detail: alive ? null : `no worker polled ${deps.taskQueue} in the last ${WORKER_SEEN_WITHIN_MS / 60_000} minutes`,
    };
  } catch (err) {
    return { name: 'worker', status: 'down', ms: Date.now() - began, pollers: [], detail: `Temporal could not say: ${String((err as Error)?.message ?? err).slice(0, 200)}` };
  }
}
