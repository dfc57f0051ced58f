/**
 * Our programs started by the dev launcher (`make run`) or the test harness stop by themselves once that launcher
 * is gone, even when it was killed with SIGKILL and could not stop them: otherwise they live on under PID 1,
 * holding their ports and writing to the database.
 *
 * Why polling the parent pid: Linux's PR_SET_PDEATHSIG is out of Node's reach, and a pipe or IPC channel whose
 * end means "stop" would take over the child's stdin or add a channel every program must handle. process.ppid
 * asks the kernel afresh (getppid) on every read, and a child whose parent died is adopted by PID 1 (or a
 * subreaper) at once, so a launcher pid reused by an unrelated process cannot fool the check.
 */

/**
 * Our parent as this module is loaded, early in the program's start. LAUNCHER_PID is inherited by grandchildren
 * too (ava's workers, a test's own API process): only the launcher's direct children watch it.
 */
const parentAtStart = process.ppid;

/** The variable through which the launcher (dev/services/processes.ts) tells its children its pid. */
export const LAUNCHER_PID_VAR = 'LAUNCHER_PID';

/**
 * When LAUNCHER_PID names the parent we started under: checks every `intervalMs` that it still is our parent,
 * and once it is not, sends this process SIGTERM, so its usual clean stop runs (lib/shutdown.ts, the stubs' own
 * handler). Without the variable (a process manager, Docker, a shell) it does nothing.
 */
export function stopWhenLauncherDies(env: NodeJS.ProcessEnv = process.env, intervalMs = 1_000): void {
  const launcher = Number(env[LAUNCHER_PID_VAR]);
  if (!Number.isInteger(launcher) || launcher <= 0 || launcher !== parentAtStart) return;
  let gone = false;
  const launcherGone = (): void => {
    if (gone) return;
    gone = true;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  };
  const timer = setInterval(() => {
    if (process.ppid !== launcher) launcherGone();
  }, intervalMs);
  // Our output goes through pipes that the launcher reads. Once it is gone every write fails with EPIPE, and the
  // unhandled stream error would crash the process (often before the next check): that failure is the quicker
  // sign of the same thing, and what is written from then on has nowhere to go anyway.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      launcherGone();
    });
  }
  // The check alone must not keep a process alive that has finished its work.
  timer.unref();
}
