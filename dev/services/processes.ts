/**
 * A tiny process supervisor for the dev launcher and the test harness: starts child processes with their output
 * prefixed by name, and stops every one of them, newest first, on Ctrl-C, SIGTERM or when asked.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/** How a supervised process ended: its exit code, or the signal that ended it. */
export type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

/** A child process started by spawnService. */
export interface Service {
  readonly name: string;
  readonly pid: number | undefined;
  /** Settles once the process has ended (or could not be started, then with code 127). */
  readonly exited: Promise<ExitStatus>;
  /** Asks the process to stop, escalating to SIGKILL after 10 s; resolves once it has ended. */
  stop(): Promise<void>;
}

/** Options for spawnService. */
export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The signal that asks this program for a clean stop; PostgreSQL's fast shutdown is SIGINT. */
  stopSignal?: NodeJS.Signals;
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

const KILL_AFTER_MS = 10_000;
const running: Service[] = [];
let shuttingDown = false;

/** Starts a supervised child process; its output is copied line by line to ours. */
export function spawnService(name: string, cmd: string, args: readonly string[], options: SpawnOptions = {}): Service {
  const { env = process.env, cwd, stopSignal = 'SIGTERM', uid, gid, prefix = true, onLine, oneShot = false, quietWhenStopping = false } = options;
  // Each child leads its own process group: a terminal's Ctrl-C then reaches only us, so we stop the services in
  // order (API before database), and signalling the group also reaches grandchildren such as tsx's node process.
  const child = spawn(cmd, args, { env, cwd, uid, gid, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stopping = false;
  const label = prefix ? `[${name}] ` : '';
  const quiet = (): boolean => quietWhenStopping && stopping;
  copyLines(child.stdout, process.stdout, label, quiet, onLine);
  copyLines(child.stderr, process.stderr, label, quiet);

  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('error', (error) => {
      process.stderr.write(`[${name}] could not start ${cmd}: ${error.message}\n`);
      resolve({ code: 127, signal: null });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  void exited.then((status) => {
    const index = running.indexOf(service);
    if (index >= 0) running.splice(index, 1);
    if (!stopping && !shuttingDown && !oneShot) {
      process.stderr.write(`\n!!! [${name}] exited unexpectedly (${describeExit(status)})\n\n`);
    }
  });

  const signalGroup = (signal: NodeJS.Signals): void => {
    if (child.pid !== undefined) signalPid(-child.pid, signal);
  };
  const service: Service = {
    name,
    pid: child.pid,
    exited,
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      signalGroup(stopSignal);
      const timer = setTimeout(() => {
        process.stderr.write(`[${name}] did not stop within ${KILL_AFTER_MS / 1000} s, killing it\n`);
        signalGroup('SIGKILL');
      }, KILL_AFTER_MS);
      await exited;
      clearTimeout(timer);
      // Members of the group can outlive its leader (seen: an ava worker forked as the signal arrived); sweep them.
      signalGroup('SIGKILL');
    },
  };
  running.push(service);
  return service;
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

/** Stops every supervised process, newest first, so dependants stop before what they depend on. */
export async function stopAll(): Promise<void> {
  shuttingDown = true;
  for (const service of [...running].reverse()) await service.stop();
}

/**
 * Stops processes that an earlier run left behind when it was killed too hard to clean up (SIGKILL, a CI time
 * limit), recognised by their command line; they would hold our ports and data files. A process whose parent
 * is still a node process belongs to a run that is alive, and is left alone.
 */
export async function stopStrays(name: string, matches: (argv: string[]) => boolean, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const argv = processArgs(pid);
    if (!argv || !matches(argv) || path.basename(processArgs(parentPid(pid))?.[0] ?? '') === 'node') continue;
    process.stderr.write(`[${name}] stopping pid ${pid}, left running by an earlier run\n`);
    signalPid(pid, signal);
    const deadline = Date.now() + KILL_AFTER_MS;
    while (processArgs(pid) && Date.now() < deadline) await sleep(100);
    signalPid(pid, 'SIGKILL');
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

let handlersInstalled = false;

/** On Ctrl-C, SIGTERM or SIGHUP: stop every supervised process, then exit with the conventional 128+n code. */
export function stopOnSignals(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  let received = false;
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    process.on(signal, () => {
      // npm and tsx relay the terminal's signal to us a second time: one shutdown is enough.
      if (received) return;
      received = true;
      process.stderr.write(`\n${signal} received: stopping ${[...running].reverse().map((s) => s.name).join(', ') || 'nothing'}…\n`);
      void stopAll().finally(() => process.exit(128 + number));
    });
  }
}

/** A one-line description of how a process ended. */
function describeExit({ code, signal }: ExitStatus): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

function copyLines(from: Readable, to: Writable, label: string, quiet: () => boolean, onLine?: (line: string) => void): void {
  const lines = readline.createInterface({ input: from, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!quiet()) to.write(`${label}${line}\n`);
    onLine?.(line);
  });
}
