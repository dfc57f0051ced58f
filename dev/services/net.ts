/** Waiting for local servers to come up, and checking that a port is still free before starting one. */
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves once `url` answers with a 2xx status; rejects after `timeoutMs` with the last answer or error. */
export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(250);
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s (${last})`);
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isPortOpen(port)) return;
    await sleep(200);
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs / 1000} s`);
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function isPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/**
 * The ports of `make run` and of the test servers: the kernel may hand one of them out while it is free (55432
 * lies in its ephemeral range), and a `make run` or `make test` started later would then find it taken.
 */
const DEFAULT_PORTS = new Set([3000, 9464, 9465, 55432, 55433, 7233, 7243, 8233, 8243, 1025, 8025, 4100, 4101, 4102, 4103, 4104]);

/**
 * A port nothing listens on right now (the kernel's choice), never one of the default ports above; with `pair`,
 * the next port is free too (the worker's metrics, and the Temporal SDK's on the next port).
 */
export async function freePort(pair = false): Promise<number> {
  for (;;) {
    const port = await listenOnce(0);
    if (DEFAULT_PORTS.has(port) || (pair && (port === 65535 || DEFAULT_PORTS.has(port + 1)))) continue;
    if (!pair || (await listenOnce(port + 1).then(() => true, () => false))) return port;
  }
}

/** Listens on `port` (0: any) on 127.0.0.1 and closes again; resolves with the port bound. */
function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

/** Throws a clear error when `port` is taken, naming what we wanted to start there. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  await assertPortsFree([{ port, what }]);
}

/** A port we are about to listen on: what listens there, and the variable that chooses the port, if any. */
export interface WantedPort {
  port: number;
  what: string;
  variable?: string;
}

/**
 * Throws one error naming every port of `wanted` that something else already listens on, with the variable that
 * moves it; checked before anything starts, so a busy port is never mistaken for our own server answering.
 */
export async function assertPortsFree(wanted: readonly WantedPort[]): Promise<void> {
  const taken: WantedPort[] = [];
  // Connecting finds a listener on 127.0.0.1 or any address; the socket table also finds one bound elsewhere.
  for (const entry of wanted) if (listeningInodes(entry.port).size > 0 || (await isPortOpen(entry.port))) taken.push(entry);
  if (taken.length === 0) return;
  const lines = taken.map(({ port, what, variable }) =>
    `  port ${port} (${what}${variable ? `; set ${variable} to use another port` : ''})`,
  );
  throw new Error(
    `${taken.length === 1 ? 'a port we need is' : 'ports we need are'} already in use:\n${lines.join('\n')}\n` +
      `Left running by an earlier run? \`ss -ltnp\` shows which process holds ${taken.length === 1 ? 'it' : 'them'}.`,
  );
}

/**
 * Resolves once process `pid` itself listens on TCP `port` (read from /proc, Linux only): a readiness check that
 * another process answering on the same port cannot satisfy. Rejects after `timeoutMs` or when `pid` is gone.
 */
export async function waitForListener(pid: number, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!fs.existsSync(`/proc/${pid}`)) throw new Error(`pid ${pid} ended before it listened on port ${port}`);
    if (isListeningBy(pid, port)) return;
    await sleep(200);
  }
  throw new Error(`pid ${pid} did not listen on port ${port} within ${timeoutMs / 1000} s`);
}

/** Whether process `pid` holds a socket listening on TCP `port` (IPv4 or IPv6, any address). */
export function isListeningBy(pid: number, port: number): boolean {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      return match !== null && inodes.has(match[1]!);
    } catch {
      return false;
    }
  });
}

/** The socket inodes in LISTEN state (0A) on `port`, from /proc/net/tcp and tcp6. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== '0A') continue;
      if (fields[1]!.split(':')[1] === hexPort) inodes.add(fields[9]!);
    }
  }
  return inodes;
}
