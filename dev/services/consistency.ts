/**
 * Runs the consistency check (dev/consistency-check.ts) against a stack as a child process, for the fuzz stage and
 * the fault drill: exit 0 no violations, 1 violations, 2 could not check. Its output goes to ours, prefixed; the
 * last line says how many violations. The command has deadlines of its own, so this never hangs.
 */
import path from 'node:path';
import { runCommand } from './processes';

const root = path.resolve(__dirname, '..', '..');

/** What the check said: its exit code and its last line (`consistency: N violations (…)`). */
export interface ConsistencyOutcome { exitCode: number; lastLine: string }

/**
 * Checks the stack whose environment is `env` (DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, and
 * TEMPORAL_TASK_QUEUE and PUBLIC_URL when set). `settleSeconds`: rows and workflows younger than this are left out;
 * callers run it once their traffic has stopped, so a few seconds are enough.
 */
export async function runConsistencyCheck(env: NodeJS.ProcessEnv, settleSeconds: number): Promise<ConsistencyOutcome> {
  let lastLine = '';
  const exitCode = await runCommand('consistency', process.execPath,
    ['--import', 'tsx', path.join(root, 'dev', 'consistency-check.ts'), '--settle-seconds', String(settleSeconds)],
    { env, cwd: root, onLine: (line) => { if (line.trim()) lastLine = line.trim(); } });
  return { exitCode, lastLine: lastLine || `exit code ${exitCode}` };
}
