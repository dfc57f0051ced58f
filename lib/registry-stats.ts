import type { Knex } from 'knex';
import type { Logger } from './logger';
import type { RegistryMetrics } from './metrics';

/**
 * Registry calls counted per registry and minute in Postgres (registry_call_stats), so the administrators'
 * health panel in the API process sees what the workers' registry clients experienced. Prometheus has the same
 * numbers per process; this is the one place they add up across processes. Counts older than 90 days are deleted
 * by the daily audit purge (workflows/audit-purge.ts): the minute is the row's age.
 */

/** One registry's calls in one minute, not yet written. */
interface Tally { registry: string; minute: Date; calls: number; errors: number; totalMs: number; maxMs: number }

/** Minutes of counts kept while the database is away (six registries × a day); older ones are dropped, said once. */
const MAX_PENDING = 6 * 24 * 60;
const RETRY_MS = 5_000;

/**
 * Records each call's duration and whether it failed; recording never fails or slows the call itself. Counts are
 * written at once; while the database cannot be reached they wait in memory, added up per registry and minute,
 * and are written when it is back, so an outage does not erase the calls made during it.
 */
export function createRegistryStatsRecorder(db: Knex, logger: Logger): RegistryMetrics {
  const pending = new Map<string, Tally>();
  let flushing = false;
  let retry: NodeJS.Timeout | null = null;
  let failing = false;

  const add = (tally: Tally) => {
    const key = `${tally.registry}|${tally.minute.toISOString()}`;
    const seen = pending.get(key);
    if (seen) {
      seen.calls += tally.calls; seen.errors += tally.errors; seen.totalMs += tally.totalMs; seen.maxMs = Math.max(seen.maxMs, tally.maxMs);
    } else {
      if (pending.size >= MAX_PENDING) {
        const oldest = pending.keys().next().value!;
        pending.delete(oldest);
        logger.warn('registry call counts dropped: the database has been away too long', { oldest });
      }
      pending.set(key, { ...tally });
    }
  };

  const flush = async () => {
    if (flushing) return;
    flushing = true;
    try {
      while (pending.size > 0) {
        const [key, tally] = pending.entries().next().value!;
        pending.delete(key);
        try {
          await db.raw(
            `INSERT INTO registry_call_stats (registry, minute, calls, errors, total_ms, max_ms) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (registry, minute) DO UPDATE SET calls = registry_call_stats.calls + EXCLUDED.calls,
               errors = registry_call_stats.errors + EXCLUDED.errors, total_ms = registry_call_stats.total_ms + EXCLUDED.total_ms,
               max_ms = GREATEST(registry_call_stats.max_ms, EXCLUDED.max_ms)`,
            [tally.registry, tally.minute, tally.calls, tally.errors, tally.totalMs, tally.maxMs],
          );
        } catch (err) {
          add(tally);
          if (!failing) logger.warn('registry call counts not recorded yet; kept until the database answers', { error: (err as Error).message });
          failing = true;
          retry ??= setTimeout(() => { retry = null; void flush(); }, RETRY_MS).unref();
          return;
        }
        if (failing) logger.info('registry call counts recorded again');
        failing = false;
      }
    } finally {
      flushing = false;
    }
  };

  return {
    start(registry) {
      const started = Date.now();
      return (outcome) => {
        const ms = Date.now() - started;
        add({
          registry, minute: new Date(Math.floor(started / 60_000) * 60_000), calls: 1, errors: outcome === 'error' ? 1 : 0,
          totalMs: ms, maxMs: ms,
        });
        void flush();
      };
    },
  };
}

/** Sends each call to several recorders (Prometheus and the stats table). */
export function combineRegistryMetrics(...recorders: RegistryMetrics[]): RegistryMetrics {
  return {
    start(registry) {
      const ends = recorders.map((r) => r.start(registry));
      return (outcome) => { for (const end of ends) end(outcome); };
    },
  };
}
