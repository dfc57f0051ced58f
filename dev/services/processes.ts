/**
 * A tiny process supervisor for the dev launcher and the test harness: starts child processes with their output
 * prefixed by name, restarts the long-running ones when they die (with back-off), and stops every one of them in
 * order (newest first, PostgreSQL last) on Ctrl-C, SIGTERM or when asked.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { LAUNCHER_PID_VAR } from '../../lib/launcher-watch';

/** How a supervised process ended: its exit code, or the signal that ended it. */
export type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

/** A child process started by spawnService (or one run of a supervised service). */
export interface Service {
  readonly name: string;
  readonly pid: number | undefined;
  /** Settles once the process has ended (or could not be started, then with code 127). */
  readonly exited: Promise<ExitStatus>;
  /** Asks the process to stop, escalating to SIGKILL after killAfterMs; resolves once it and its group have ended. */
  stop(): Promise<void>;
}

/** Options for spawnService. */
export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The signal that asks this program for a clean stop; PostgreSQL's fast shutdown is SIGINT. */
  stopSignal?: NodeJS.Signals;
  /** How long a clean stop may take before SIGKILL (default 10 s): longer than the program's own drain time. */
  killAfterMs?: number;
  /** Stop this one after everything else (PostgreSQL: the others write to it until they have stopped). */
  stopLast?: boolean;
  /** Run as another OS user (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
  /** Prefix each output line with `[name] ` (default); false passes lines through untouched. */
  prefix?: boolean;
  /** Called with every stdout line, e.g. to read a test runner's summary. */
  onLine?: (line: string) => void;
  /** Drop the output once asked to stop: for servers whose shutdown is a burst of harmless warnings. */
  quietWhenStopping?: boolean;
  /** Whether ending on its own is normal (a one-shot command) or worth a warning (a server). */
  oneShot?: boolean;
}

/** When a supervised service that died is started again. */
export interface RestartPolicy {
  /** Wait before the first restart; doubled after every further crash. */
  initialDelayMs: number;
  /** The longest wait between two restarts. */
  maxDelayMs: number;
  /** A run at least this long counts as healthy: the next crash waits initialDelayMs again. */
  healthyAfterMs: number;
}

/** 1 s, 2 s, 4 s … 30 s; back to 1 s after a minute of good health. */
export const DEFAULT_RESTART: RestartPolicy = { initialDelayMs: 1_000, maxDelayMs: 30_000, healthyAfterMs: 60_000 };

/** A long-running service that superviseService keeps alive. */
export interface SupervisedService {
  readonly name: string;
  /** The run going on now; replaced by a new one at every restart. */
  readonly current: Service;
  /** How many times the service has been started again after dying. */
  readonly restarts: number;
  /** Stops the current run and every restart still pending; resolves once the process group has ended. */
  stop(): Promise<void>;
}

const DEFAULT_KILL_AFTER_MS = 10_000;

/** Something stopAll stops: a plain service or a supervised one. */
type Stoppable = { name: string; stopLast: boolean; stop(): Promise<void> };
const running: Stoppable[] = [];
let shuttingDown = false;
/** Set for good once a signal asked us to stop: a start still under way in the launcher then starts nothing new. */
let exiting = false;

/** Starts a child process that is stopped by stopAll; its output is copied line by line to ours. */
export function spawnService(name: string, cmd: string, args: readonly string[], options: SpawnOptions = {}): Service {
  const service = startProcess(name, cmd, args, options);
  const entry: Stoppable = { name, stopLast: options.stopLast ?? false, stop: () => service.stop() };
  running.push(entry);
  void service.exited.then((status) => {
    forget(entry);
    if (!service.stopping && !shuttingDown && !options.oneShot) {
      process.stderr.write(`\n!!! [${name}] exited unexpectedly (${describeExit(status)})\n\n`);
    }
  });
  return service;
}

/**
 * Starts a long-running child process and starts it again whenever it dies, after a back-off delay, with a loud
 * line on stderr each time. A deliberate stop (stop() or stopAll) is never followed by a restart.
 */
export function superviseService(
  name: string,
  cmd: string,
  args: readonly string[],
  options: SpawnOptions & { restart?: Partial<RestartPolicy> } = {},
): SupervisedService {
  const policy = { ...DEFAULT_RESTART, ...options.restart };
  let delay = policy.initialDelayMs;
  let stopped = false;
  let pending: NodeJS.Timeout | undefined;
  let current: RunningProcess;
  let restarts = 0;

  const run = (): void => {
    const started = Date.now();
    current = startProcess(name, cmd, args, options);
    const thisRun = current;
    void thisRun.exited.then((status) => {
      if (stopped || shuttingDown || thisRun.stopping) return;
      const ranMs = Date.now() - started;
      if (ranMs >= policy.healthyAfterMs) delay = policy.initialDelayMs;
      const wait = delay;
      delay = Math.min(delay * 2, policy.maxDelayMs);
      process.stderr.write(
        `\n!!! [${name}] exited unexpectedly (${describeExit(status)}) after ${formatMs(ranMs)}; ` +
          `restarting it in ${formatMs(wait)} (restart ${restarts + 1})\n\n`,
      );
      pending = setTimeout(() => {
        pending = undefined;
        if (stopped || shuttingDown) return;
        restarts += 1;
        run();
        process.stderr.write(`!!! [${name}] restarted as pid ${current.pid ?? '?'} (restart ${restarts})\n`);
      }, wait);
    });
  };
  run();

  const supervised: SupervisedService = {
    name,
    get current() {
      return current;
    },
    get restarts() {
      return restarts;
    },
    async stop() {
      stopped = true;
      clearTimeout(pending);
      await current.stop();
      forget(entry);
    },
  };
  const entry: Stoppable = { name, stopLast: options.stopLast ?? false, stop: () => supervised.stop() };
  running.push(entry);
  return supervised;
}

/** Runs a one-shot command under supervision and resolves with its exit code (signals count as failure). */
export async function runCommand(name: string, cmd: string, args: readonly string[], options: SpawnOptions = {}): Promise<number> {
  const { code } = await spawnService(name, cmd, args, { ...options, oneShot: true }).exited;
  return code ?? 1;
}

/** Resolves or rejects with `work`, unless the service exits first: then rejects, naming how it ended. */
export function unlessExited<T>(service: Service, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    work.then(resolve, reject);
    // Rejecting an already settled promise is a no-op, so a later, deliberate stop raises nothing.
    void service.exited.then((status) => {
      reject(new Error(`${service.name} exited while starting (${describeExit(status)}); its output is above`));
    });
  });
}

/**
 * Stops every supervised process one after the other, each fully before the next: newest first, so dependants
 * stop before what they depend on (the API before the worker, the worker before the stubs and Temporal), and
 * those marked stopLast (PostgreSQL) at the very end.
 */
export async function stopAll(): Promise<void> {
  shuttingDown = true;
  try {
    // Until nothing is left: a service started while we were stopping the others is stopped too.
    while (running.length > 0) for (const service of stopOrder()) await service.stop();
  } finally {
    shuttingDown = false;
  }
}

/** The running services in the order stopAll stops them. */
function stopOrder(): Stoppable[] {
  const newestFirst = [...running].reverse();
  return [...newestFirst.filter((s) => !s.stopLast), ...newestFirst.filter((s) => s.stopLast)];
}

/**
 * Stops processes that an earlier run left behind when it was killed too hard to clean up (SIGKILL, a CI time
 * limit), recognised by their command line; they would hold our ports and data files. A process whose parent
 * is still a node process belongs to a run that is alive, and is left alone.
 */
export async function stopStrays(name: string, matches: (argv: string[], pid: number) => boolean, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const argv = processArgs(pid);
    if (!argv || !matches(argv, pid) || path.basename(processArgs(parentPid(pid))?.[0] ?? '') === 'node') continue;
    process.stderr.write(`[${name}] stopping pid ${pid}, left running by an earlier run\n`);
    signalPid(pid, signal);
    const deadline = Date.now() + DEFAULT_KILL_AFTER_MS;
    while (isRunning(pid) && Date.now() < deadline) await sleep(100);
    signalPid(pid, 'SIGKILL');
  }
}

/**
 * Whether a process exists and has not ended. An orphan that ended stays a zombie until PID 1 reaps it, which
 * the init of some containers never does; it holds no port or file any more, so it counts as ended.
 */
export function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The working directory of a running process, or null if it cannot be read (gone, or another user's). */
export function processCwd(pid: number): string | null {
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}

/** The command line of a running process, or null if there is no such process. */
export function processArgs(pid: number): string[] | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
  } catch {
    return null;
  }
}

function parentPid(pid: number): number {
  try {
    // The command name in field 2 may contain spaces and parentheses; the fields after its last ')' do not.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Whether a signal has asked us to stop (then a start that fails on the way is no news). */
export function stopRequested(): boolean {
  return exiting;
}

let handlersInstalled = false;

/** On Ctrl-C, SIGTERM or SIGHUP: stop every supervised process, then exit with the conventional 128+n code. */
export function stopOnSignals(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  let received = false;
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    process.on(signal, () => {
      // A terminal's Ctrl-C reaches make and us at once, and a second Ctrl-C must not start a second shutdown.
      if (received) return;
      received = true;
      exiting = true;
      process.stderr.write(`\n${signal} received: stopping ${stopOrder().map((s) => s.name).join(', ') || 'nothing'}, in that order…\n`);
      void stopAll().finally(() => process.exit(128 + number));
    });
  }
}

/** One run of a child process, as startProcess makes it. */
interface RunningProcess extends Service {
  /** Whether stop() was called (so its exit is expected). */
  readonly stopping: boolean;
}

function startProcess(name: string, cmd: string, args: readonly string[], options: SpawnOptions): RunningProcess {
  if (exiting) throw new Error(`stopping: ${name} is not started`);
  const { env = process.env, cwd, stopSignal = 'SIGTERM', killAfterMs = DEFAULT_KILL_AFTER_MS, uid, gid, prefix = true, onLine, quietWhenStopping = false } = options;
  // Each child leads its own process group: a terminal's Ctrl-C then reaches only us, so we stop the services in
  // order (API before database), and signalling the group also reaches grandchildren (esbuild's service process
  // under tsx, PostgreSQL's backends).
  // Our own programs watch LAUNCHER_PID and stop once we are gone, even if we were killed too hard to stop them.
  const child = spawn(cmd, args, { env: { ...env, [LAUNCHER_PID_VAR]: String(process.pid) }, cwd, uid, gid, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stopping = false;
  const label = prefix ? `[${name}] ` : '';
  const quiet = (): boolean => quietWhenStopping && stopping;
  copyLines(child.stdout, process.stdout, label, quiet, onLine);
  copyLines(child.stderr, process.stderr, label, quiet);

  const signalGroup = (signal: NodeJS.Signals): void => {
    if (child.pid !== undefined) signalPid(-child.pid, signal);
  };
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('error', (error) => {
      process.stderr.write(`[${name}] could not start ${cmd}: ${error.message}\n`);
      resolve({ code: 127, signal: null });
    });
    child.once('exit', (code, signal) => {
      // Members of the group can outlive its leader (a killed leader's children, an ava worker forked as the
      // signal arrived); they would hold its ports and files, so they go with it.
      signalGroup('SIGKILL');
      resolve({ code, signal });
    });
  });

  return {
    name,
    pid: child.pid,
    exited,
    get stopping() {
      return stopping;
    },
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        await exited;
        return;
      }
      signalGroup(stopSignal);
      const timer = setTimeout(() => {
        process.stderr.write(`[${name}] did not stop within ${formatMs(killAfterMs)}, killing it\n`);
        signalGroup('SIGKILL');
      }, killAfterMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function forget(entry: Stoppable): void {
  const index = running.indexOf(entry);
  if (index >= 0) running.splice(index, 1);
}

/** A one-line description of how a process ended. */
function describeExit({ code, signal }: ExitStatus): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

function formatMs(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function copyLines(from: Readable, to: Writable, label: string, quiet: () => boolean, onLine?: (line: string) => void): void {
  const lines = readline.createInterface({ input: from, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!quiet()) to.write(`${label}${line}\n`);
    onLine?.(line);
  });
}
