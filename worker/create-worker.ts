import type { DataConverter, Duration } from '@temporalio/common';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { stuckIndexInterceptor } from './stuck-interceptor';

/** The workflow code the worker loads: a prebuilt bundle (tests build it once) or the source to bundle at start. */
export type WorkflowSource = { workflowBundle: WorkflowBundleOption } | { workflowsPath: string };

/** The source of every workflow type, bundled by the worker at start. */
export const workflowsPath = require.resolve('../workflows');

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
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createActivities(opts.deps),
    dataConverter: opts.dataConverter,
    // stuck: every failing activity attempt and its recovery go to the stuck index (issue 17 item 1).
    interceptors: { activity: [stuckIndexInterceptor({ db: opts.deps.db, codecs: opts.dataConverter.payloadCodecs ?? [], logger: opts.deps.logger })] },
    ...(opts.workflows ?? { workflowsPath }),
    ...(opts.shutdown ? { shutdownGraceTime: opts.shutdown.graceTime, shutdownForceTime: opts.shutdown.forceTime } : {}),
  });
}
