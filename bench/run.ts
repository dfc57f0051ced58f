/**
 * `make bench`: starts the same throwaway PostgreSQL and Temporal servers as the tests, runs every
 * `bench/*.bench.ts` against them one after another, and stops everything. Each benchmark prints its numbers
 * next to its goal (lines starting `ok`, `MISS` or `info`) and exits non-zero when it misses one; at the end those
 * lines are printed again together, the table bench/README.md keeps. `make bench ARGS="inbox stuck"` runs only the
 * benchmarks whose file names start so.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCommand, stopAll, stopOnSignals } from '../dev/services/processes';
import { startTestServices } from '../dev/services/test-services';

const root = path.resolve(__dirname, '..');

async function main(): Promise<number> {
  stopOnSignals();
  const only = process.argv.slice(2);
  const benches = fs.readdirSync(__dirname).filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => only.length === 0 || only.some((name) => f.startsWith(name)));
  const env = await startTestServices(root);
  let failed = 0;
  const results: string[] = [];
  for (const bench of benches) {
    process.stdout.write(`\n--- ${bench}\n`);
    const started = Date.now();
    const code = await runCommand(bench, path.join(root, 'node_modules', '.bin', 'tsx'), [path.join('bench', bench)], {
      env, cwd: root, prefix: false, onLine: (line) => { if (/^(ok|MISS|info)\b/.test(line)) results.push(`${bench.replace(/\.bench\.ts$/, '')}: ${line}`); },
    });
    if (code !== 0) {
      failed += 1;
      results.push(`${bench.replace(/\.bench\.ts$/, '')}: FAILED (exit ${code})`);
    }
    process.stdout.write(`--- ${bench} took ${Math.round((Date.now() - started) / 1000)} s\n`);
  }
  process.stdout.write(`\n--- results (${new Date().toISOString().slice(0, 10)})\n${results.join('\n')}\n`);
  return failed;
}

main().then(async (failed) => {
  await stopAll();
  process.stdout.write(`\n${failed === 0 ? 'every benchmark met its target' : `${failed} benchmark(s) missed a target`}\n`);
  process.exit(failed === 0 ? 0 : 1);
}, async (error: unknown) => {
  await stopAll();
  process.stderr.write(`make bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
