/**
 * Runs the consistency check (dev/consistency-check.ts) against the drill's stack as a child process: exit 0 no
 * violations, 1 violations, 2 could not check; its last line says how many.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ConsistencyOutcome } from './report';

const root = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(root, 'dev', 'consistency-check.ts');

/** Runs the check with the stack's addresses; its output goes to ours, prefixed. */
export async function runConsistencyCheck(env: NodeJS.ProcessEnv): Promise<ConsistencyOutcome> {
  // Run once every journey has come to rest: a few seconds' settling is enough (see --settle-seconds).
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, '--settle-seconds', '10'], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DATABASE_URL: env.DATABASE_URL, TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE: env.TEMPORAL_NAMESPACE },
  });
  let lastLine = '';
  const copy = (chunk: Buffer, to: NodeJS.WriteStream) => {
    for (const line of chunk.toString('utf8').split('\n').filter((l) => l.trim())) {
      to.write(`[consistency] ${line}\n`);
      if (to === process.stdout) lastLine = line.trim();
    }
  };
  child.stdout.on('data', (chunk: Buffer) => copy(chunk, process.stdout));
  child.stderr.on('data', (chunk: Buffer) => copy(chunk, process.stderr));
  const timer = setTimeout(() => child.kill('SIGKILL'), 5 * 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  return { exitCode: code ?? 2, lastLine: lastLine || `exit code ${code}` };
}
