import type { RegistryMetrics } from '../../lib/metrics';

/**
 * One GET of one record from a state registry, the way every registry client does it: a timeout (a hung registry
 * becomes a retry, not a stuck activity), 404 as "not known" (null), any other failure an Error whose message
 * starts with the registry's name (the console groups stuck workflows by it), and each call timed under `metric`.
 */
export async function fetchRegistryRecord<T>(opts: {
  /** The registry's name as people read it in error messages, e.g. "VIIS". */
  name: string;
  /** The registry's name in metrics and the health panel, e.g. "viis". */
  metric: string;
  url: string;
  timeoutMs: number;
  metrics?: RegistryMetrics;
  /** Checks the answer and keeps only the contract's fields; throws an Error saying what is wrong. */
  read: (body: unknown) => T;
}): Promise<T | null> {
  const stopTimer = opts.metrics?.start(opts.metric);
  let outcome = 'error';
  try {
    const res = await fetch(opts.url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(opts.timeoutMs) });
    if (res.status === 404) { outcome = 'not_found'; return null; }
    if (!res.ok) throw new Error(`answered HTTP ${res.status}`);
    const record = opts.read(await res.json());
    outcome = 'ok';
    return record;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new Error(`${opts.name}: ${cause ? `${cause} ` : ''}${(err as Error).message}`);
  } finally {
    stopTimer?.(outcome);
  }
}
