/** Timing helpers the benchmarks share: run a request repeatedly and report percentiles against a target. */

/** Milliseconds of each of `runs` sequential calls (after `warmup` unmeasured ones). */
export async function timeRuns(runs: number, fn: () => Promise<void>, warmup = 2): Promise<number[]> {
  for (let i = 0; i < warmup; i += 1) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const started = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times;
}

/** The p-th percentile (0-100) of some timings. */
export function percentile(times: number[], p: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Prints one result line and says whether it met its target. */
export function report(name: string, times: number[], targetP95Ms: number): boolean {
  const p50 = percentile(times, 50);
  const p95 = percentile(times, 95);
  const ok = p95 <= targetP95Ms;
  process.stdout.write(`${ok ? 'ok  ' : 'MISS'} ${name.padEnd(58)} p50 ${p50.toFixed(1).padStart(7)} ms  p95 ${p95.toFixed(1).padStart(7)} ms  (target p95 ≤ ${targetP95Ms} ms)\n`);
  return ok;
}
