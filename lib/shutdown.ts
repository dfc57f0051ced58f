/** The clean stop of the API and the worker on SIGTERM (process managers, `make run`, Docker) or SIGINT (Ctrl-C). */
import { stopWhenLauncherDies } from './launcher-watch';
import type { Logger } from './logger';

/** Options for stopOnSignals. */
export interface StopOptions {
  logger: Logger;
  /** Stops the process's work and closes its connections; the process exits once it resolves. */
  stop: () => Promise<void>;
  /** After this long the process exits anyway (code 1), so a stuck drain never outlives its supervisor's patience. */
  hardTimeoutMs: number;
}

/**
 * On the first SIGTERM or SIGINT, runs `stop` and exits 0 when it is done, 1 when it failed or took longer than
 * hardTimeoutMs. A second signal changes nothing: the stop under way already has a deadline. Started by the dev
 * launcher, the process also stops this way once the launcher is gone (lib/launcher-watch.ts).
 */
export function stopOnSignals({ logger, stop, hardTimeoutMs }: StopOptions): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info('stopping', { signal, hardTimeoutMs });
    setTimeout(() => {
      logger.error('did not stop in time, exiting anyway', { hardTimeoutMs });
      process.exit(1);
    }, hardTimeoutMs).unref();
    stop().then(
      () => {
        logger.info('stopped', { ms: Date.now() - started });
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('stop failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  stopWhenLauncherDies();
}
