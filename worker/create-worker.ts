import type { DataConverter, Duration } from '@temporalio/common';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { stuckIndexInterceptor } from './stuck-interceptor';

/** The workflow code the worker loads: a prebuilt bundle (tests build it once) or the source to bundle at start. */
export type WorkflowSource = { workflowBundle: WorkflowBundleOption } | { workflowsPath: string };

/** The source of every workflow type, bundled by the worker at start. */
export const workflowsPath = require.resolve('../workflows');

/**
 * lean: the worker's cache and slot sizes, set from measurements (docs/decisions.md) rather than the SDK's
 * defaults, which follow the machine's heap limit (about 2,300 cached workflows on a 24 GiB machine, far fewer in
 * a small container) and allow 100 activities at once.
 * - Cache: a journey parked at a wait held about 0.5 MB of the worker's memory (bench/worker-memory.bench.ts:
 *   526-556 MB RSS per 1,000, an upper bound), so 1,500 keep the cache within about 850 MB of a 2 GiB worker. A
 *   journey evicted from the cache is replayed at its next event (usually days later): cheap for parked journeys.
 * - Activities: 20 at once, twice the worker's database pool (lib/db.ts, 10): activities are short database and
 *   registry calls, and more of them only queue for a connection, nearer their 10 s limit. 200 journeys each
 *   (bench/journey-throughput.bench.ts, same machine, one after the other): 4.3 journeys/s with 20, 3.6/s with 100.
 * - Workflow tasks: the SDK's 40 (one workflow thread runs them one at a time; not a limit we reached).
 */
export const WORKER_TUNING = {
  maxCachedWorkflows: 1_500,
  maxConcurrentWorkflowTaskExecutions: 40,
  maxConcurrentActivityTaskExecutions: 20,
} as const;

/** The sizes a worker runs with (WORKER_TUNING unless a benchmark compares others). */
export type WorkerTuning = { -readonly [K in keyof typeof WORKER_TUNING]: number };

/** Creates a worker for one task queue from injected dependencies; call run() on it to start polling. */
export async function createWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /**
   * The payload codec and failure converter (lib/data-converter.ts). A prebuilt bundle must have been built with
   * the same failure converter (workflowBundleOptions).
   */
  dataConverter: DataConverter;
  workflows?: WorkflowSource;
  /** On shutdown(): how long tasks in hand may still run before activities are cancelled, and before run() gives up. */
  shutdown?: { graceTime: Duration; forceTime: Duration };
  tuning?: Partial<WorkerTuning>;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createActivities(opts.deps),
    dataConverter: opts.dataConverter,
    // stuck: every failing activity attempt and its recovery go to the stuck index (issue 17 item 1).
    interceptors: { activity: [stuckIndexInterceptor({ db: opts.deps.db, codecs: opts.dataConverter.payloadCodecs ?? [], logger: opts.deps.logger })] },
    ...WORKER_TUNING, ...opts.tuning,
    ...(opts.workflows ?? { workflowsPath }),
    ...(opts.shutdown ? { shutdownGraceTime: opts.shutdown.graceTime, shutdownForceTime: opts.shutdown.forceTime } : {}),
  });
}
