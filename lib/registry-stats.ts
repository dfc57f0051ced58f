import type { Knex } from 'knex';
import type { Logger } from './logger';
import type { RegistryMetrics } from './metrics';

/**
 * Registry calls counted per registry and minute in Postgres (registry_call_stats), so the administrators'
 * health panel in the API process sees what the workers' registry clients experienced. Prometheus has the same
 * numbers per process; this is the one place they add up across processes.
 */

/** Records each call's duration and whether it failed; recording never fails or slows the call itself. */
export function createRegistryStatsRecorder(db: Knex, logger: Logger): RegistryMetrics {
  return {
    start(registry) {
      const started = Date.now();
      return (outcome) => {
        const ms = Date.now() - started;
        const minute = new Date(Math.floor(started / 60_000) * 60_000);
        const error = outcome === 'error' ? 1 : 0;
        db.raw(
          `INSERT INTO registry_call_stats (registry, minute, calls, errors, total_ms, max_ms) VALUES (?, ?, 1, ?, ?, ?)
           ON CONFLICT (registry, minute) DO UPDATE SET calls = registry_call_stats.calls + 1,
             errors = registry_call_stats.errors + EXCLUDED.errors, total_ms = registry_call_stats.total_ms + EXCLUDED.total_ms,
             max_ms = GREATEST(registry_call_stats.max_ms, EXCLUDED.max_ms)`,
          [registry, minute, error, ms, ms],
        ).catch((err: Error) => logger.warn('registry call not recorded', { registry, error: err.message }));
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
