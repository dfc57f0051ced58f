import type { Logger } from '../lib/logger';

/**
 * Watches the worker's line to the Temporal server and says so in the log when it is lost and when it is back.
 * The SDK's core retries its polls quietly, so without this a worker cut off from the server logs nothing at all.
 */

/** How often the server is asked, and how long one answer may take. */
export const WATCH_EVERY_MS = 5_000;
const ANSWER_WITHIN_MS = 3_000;
/** While the server stays away, the loss is repeated this often (a log reader should not miss it). */
const REMIND_EVERY_MS = 60_000;

/** The part of a NativeConnection (or a client Connection) the watch uses. */
export interface WatchedConnection {
  withDeadline<T>(deadline: number, fn: () => Promise<T>): Promise<T>;
  workflowService: { getSystemInfo(request: object): Promise<unknown> };
}

/** Starts watching; returns a function that stops it. */
export function watchTemporal(opts: { connection: WatchedConnection; address: string; logger: Logger; everyMs?: number }): () => void {
  const { connection, address, logger } = opts;
  let lostAt: number | null = null;
  let remindedAt = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const check = async () => {
    try {
      await connection.withDeadline(Date.now() + ANSWER_WITHIN_MS, () => connection.workflowService.getSystemInfo({}));
      if (lostAt !== null) {
        logger.info('worker regained the Temporal server', { address, downForMs: Date.now() - lostAt });
        lostAt = null;
      }
    } catch (err) {
      const error = String((err as Error)?.message ?? err).slice(0, 300);
      if (lostAt === null) {
        lostAt = remindedAt = Date.now();
        logger.error('worker lost the Temporal server: no workflow or activity runs until it is back', { address, error });
      } else if (Date.now() - remindedAt >= REMIND_EVERY_MS) {
        remindedAt = Date.now();
        logger.error('worker still cannot reach the Temporal server', { address, downForMs: Date.now() - lostAt, error });
      }
    }
    if (!stopped) timer = setTimeout(() => void check(), opts.everyMs ?? WATCH_EVERY_MS);
  };
  timer = setTimeout(() => void check(), opts.everyMs ?? WATCH_EVERY_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
