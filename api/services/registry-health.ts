import type { ApiDeps } from '../deps';

/**
 * The registry health panel: for each state registry the workers call, its calls, errors, error rate and latency
 * over the last 15 minutes and the last hour, from registry_call_stats (lib/registry-stats.ts). The table counts
 * per started minute, so a window is whole minutes: "15 minutes" is the current minute and the 14 before it.
 */

/** The registries the system calls, in the order the panel lists them. */
export const REGISTRIES = ['population-register', 'sopa', 'viis', 'enterprise-register',
  // The national service platform (issue 17 item 6): service accounting and the official e-address.
  'service-platform', 'e-address'] as const;

/** The windows the panel shows, in minutes. */
export const HEALTH_WINDOWS = [15, 60] as const;

/** At or above this error rate (%) over 15 minutes a registry counts as down; at or above DEGRADED_AT, degraded. */
const DOWN_AT = 50;
const DEGRADED_AT = 5;

/** One registry over one window; rates and latencies are null when there were no calls. */
export interface RegistryWindowStats {
  minutes: number; calls: number; errors: number; errorRatePercent: number | null; avgMs: number | null; maxMs: number | null;
  noCalls: boolean;
}

/** One registry's row in the panel. */
export interface RegistryHealthRow {
  registry: (typeof REGISTRIES)[number];
  /** 'no_calls' in the last 15 minutes, else by the 15-minute error rate: 'ok', 'degraded' (≥ 5 %), 'down' (≥ 50 %). */
  status: 'ok' | 'degraded' | 'down' | 'no_calls';
  windows: RegistryWindowStats[];
  /** The same two windows by name, for templates. */
  last15: RegistryWindowStats;
  lastHour: RegistryWindowStats;
  /**
   * For the services the worker's publisher sends to from an outbox (the national platform, issue 17 item 6): how
   * many rows wait to be sent and since when; null for the registries the activities call directly.
   */
  waiting: { count: number; oldestAt: string | null } | null;
}

/** The outbox behind each service the publisher sends to: its table and what "waiting" is there. */
const OUTBOXES: Partial<Record<(typeof REGISTRIES)[number], { table: string; waiting: string; since: string }>> = {
  'service-platform': { table: 'service_status_outbox', waiting: 'acked_at IS NULL', since: 'occurred_at' },
  'e-address': { table: 'official_deliveries', waiting: "status = 'pending'", since: 'created_at' },
};

/** The whole panel. */
export interface RegistryHealth { at: string; registries: RegistryHealthRow[] }

/** Reads the panel's numbers from Postgres (one query per window); `now` is for tests. */
export async function registryHealth(deps: Pick<ApiDeps, 'db'>, now: Date = new Date()): Promise<RegistryHealth> {
  const currentMinute = Math.floor(now.getTime() / 60_000) * 60_000;
  const perWindow = await Promise.all(HEALTH_WINDOWS.map(async (minutes) => {
    const since = new Date(currentMinute - (minutes - 1) * 60_000);
    const rows = await deps.db('registryCallStats').where('minute', '>=', since).groupBy('registry')
      .select('registry')
      .sum({ calls: 'calls', errors: 'errors', totalMs: 'totalMs' })
      .max({ maxMs: 'maxMs' }) as { registry: string; calls: string | null; errors: string | null; totalMs: string | null; maxMs: number | null }[];
    return new Map(rows.map((r) => [r.registry, r]));
  }));

  const waiting = new Map(await Promise.all(Object.entries(OUTBOXES).map(async ([registry, outbox]) => {
    // Both tables have a partial index on exactly these rows: the count reads only what waits.
    const { rows } = await deps.db.raw<{ rows: { count: string; oldest: Date | null }[] }>(
      `SELECT count(*) AS count, min(${outbox.since}) AS oldest FROM ${outbox.table} WHERE ${outbox.waiting}`);
    return [registry, { count: Number(rows[0]!.count), oldestAt: rows[0]!.oldest ? new Date(rows[0]!.oldest).toISOString() : null }] as const;
  })));

  const registries = REGISTRIES.map((registry): RegistryHealthRow => {
    const windows = HEALTH_WINDOWS.map((minutes, i): RegistryWindowStats => {
      const row = perWindow[i].get(registry);
      const calls = Number(row?.calls ?? 0);
      const errors = Number(row?.errors ?? 0);
      if (calls === 0) return { minutes, calls: 0, errors: 0, errorRatePercent: null, avgMs: null, maxMs: null, noCalls: true };
      return {
        minutes, calls, errors, noCalls: false,
        errorRatePercent: Math.round((errors / calls) * 1000) / 10,
        avgMs: Math.round(Number(row?.totalMs ?? 0) / calls),
        maxMs: Number(row?.maxMs ?? 0),
      };
    });
    const [last15, lastHour] = windows;
    const rate = last15.errorRatePercent;
    const status = rate === null ? 'no_calls' : rate >= DOWN_AT ? 'down' : rate >= DEGRADED_AT ? 'degraded' : 'ok';
    return { registry, status, windows, last15, lastHour, waiting: waiting.get(registry) ?? null };
  });
  return { at: now.toISOString(), registries };
}
