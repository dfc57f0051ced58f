/**
 * A private PostgreSQL server from the machine's own binaries (Debian's, found via PATH or
 * /usr/lib/postgresql/N/bin), with its own data directory and port, for the dev stack and the tests.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { knex } from 'knex';
import { assertPortFree } from './net';
import { isRunning, processArgs, processCwd, stopStrays, superviseService, unlessExited } from './processes';

const execFileAsync = promisify(execFile);

/** Options for startPostgres. */
export interface PostgresOptions {
  dataDir: string;
  port: number;
  /** The superuser that initdb creates; connections from 127.0.0.1 are trusted, so it needs no password. */
  user: string;
  /** Created if missing. */
  database: string;
  /** Throw the data away and start from an empty cluster (the test instance). */
  fresh?: boolean;
  /** Skip fsync: faster, but a crash can corrupt the cluster, so only for throwaway test instances. */
  fsyncOff?: boolean;
}

/** A running server started by startPostgres. */
export interface RunningPostgres {
  url: string;
  /** Fast shutdown (SIGINT): clients are disconnected and the data is kept consistent for the next start. */
  stop(): Promise<void>;
}

/** An OS user to run the server as: PostgreSQL refuses to run as root. */
type RunAs = { uid: number; gid: number } | undefined;

/** Initialises the data directory on first use, starts the server, waits for it and creates the database. */
export async function startPostgres(options: PostgresOptions): Promise<RunningPostgres> {
  const { port, user, database, fresh = false, fsyncOff = false } = options;
  const bin = findPostgresBinDir();
  const runAs = await postgresUserIfRoot();
  const dataDir = await reachableDataDir(path.resolve(options.dataDir), runAs);
  // Before anything touches the directory: a server still using it must not lose its files underneath it.
  await clearStalePid(dataDir);
  await assertPortFree(port, 'PostgreSQL');

  if (fresh) fs.rmSync(dataDir, { recursive: true, force: true });
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    // No PG_VERSION means no cluster, or an initdb that was interrupted: start that directory over.
    fs.rmSync(dataDir, { recursive: true, force: true });
    prepareDir(dataDir, runAs);
    const started = Date.now();
    const initArgs = ['-D', dataDir, '-U', user, '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-instructions'];
    if (fsyncOff) initArgs.push('--no-sync');
    try {
      await execFileAsync(path.join(bin, 'initdb'), initArgs, { ...runAs, cwd: dataDir });
    } catch (error) {
      const detail = (error as { stderr?: string }).stderr?.trim() || String(error);
      throw new Error(`initdb failed for ${dataDir}: ${detail}`);
    }
    process.stderr.write(`[postgres] initialised ${dataDir} in ${Date.now() - started} ms\n`);
  }

  // Startup, checkpoint and shutdown chatter is LOG level, which ranks above ERROR here: keep only FATAL and PANIC.
  const args = ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', dataDir, '-c', 'log_min_messages=fatal'];
  if (fsyncOff) args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  // Supervised: a crashed server is started again (it recovers from its WAL); the API and the worker reconnect.
  const server = superviseService('postgres', path.join(bin, 'postgres'), args, {
    ...runAs, cwd: dataDir, stopSignal: 'SIGINT', stopLast: true, killAfterMs: 30_000,
  });

  const adminUrl = `postgres://${user}@127.0.0.1:${port}/postgres`;
  try {
    await unlessExited(server.current, waitForReady(dataDir, server.current.pid, 30_000));
    await ensureDatabase(adminUrl, database);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { url: `postgres://${user}@127.0.0.1:${port}/${database}`, stop: () => server.stop() };
}

/** The directory holding initdb and postgres: PATH first, else the newest /usr/lib/postgresql/N/bin. */
function findPostgresBinDir(): string {
  const hasBoth = (dir: string): boolean =>
    ['initdb', 'postgres'].every((name) => {
      try {
        fs.accessSync(path.join(dir, name), fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  const onPath = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).find(hasBoth);
  if (onPath) return onPath;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).filter((v) => hasBoth(path.join(root, v, 'bin'))).sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error('PostgreSQL server binaries (initdb, postgres) not found on PATH or in /usr/lib/postgresql/*/bin');
  }
  return path.join(root, versions[0]!, 'bin');
}

async function postgresUserIfRoot(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const id = async (flag: string): Promise<number> => Number((await execFileAsync('id', [flag, 'postgres'])).stdout.trim());
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    throw new Error('running as root, PostgreSQL needs the `postgres` OS user (Debian\'s postgresql package creates it)');
  }
}

/**
 * When we are root the server runs as `postgres`, which must be able to reach the data directory. A clone under
 * a private home (/root is mode 700) is out of its reach: then the data lives under /var/tmp, keyed by the path.
 */
async function reachableDataDir(dataDir: string, runAs: RunAs): Promise<string> {
  if (!runAs) return dataDir;
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  try {
    await execFileAsync('test', ['-x', path.dirname(dataDir)], runAs);
    return dataDir;
  } catch {
    const key = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
    const elsewhere = path.join('/var/tmp', `learning-accounts-${key}`, path.basename(dataDir));
    process.stderr.write(`[postgres] ${path.dirname(dataDir)} is not reachable by the postgres user; using ${elsewhere}\n`);
    fs.mkdirSync(path.dirname(elsewhere), { recursive: true, mode: 0o755 });
    return elsewhere;
  }
}

function prepareDir(dir: string, runAs: RunAs): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (runAs) fs.chownSync(dir, runAs.uid, runAs.gid);
}

/**
 * Stops a PostgreSQL server that a killed `make run` or `make test` left running on this data directory, so the
 * next run can start. Servers of other data directories (another checkout, the other command) are left alone.
 */
export async function stopLeftoverPostgres(dataDir: string): Promise<void> {
  await clearStalePid(await reachableDataDir(path.resolve(dataDir), await postgresUserIfRoot()));
}

/**
 * postmaster.pid survives a crash or a killed launcher, and PostgreSQL refuses to start while the pid in it is
 * alive, even when an unrelated process reused the number. A postgres still serving this data directory is
 * either left over from a killed run (stopped here, cleanly: SIGINT is the fast shutdown) or belongs to a run
 * that is still going (its parent is that run's node launcher), which must keep it.
 */
async function clearStalePid(dataDir: string): Promise<void> {
  // The postmaster names its data directory on its command line (we start it so) and works in it (chdir): the
  // second also recognises one started otherwise, e.g. by pg_ctl with a relative path. Backends have another name.
  const servesDataDir = (argv: string[], pid: number): boolean =>
    path.basename(argv[0] ?? '') === 'postgres' && (argv.includes(dataDir) || processCwd(pid) === dataDir);
  await stopStrays('postgres', servesDataDir, 'SIGINT');
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const pid = Number(readIfExists(pidFile).split('\n')[0]);
  const argv = pid > 0 && isRunning(pid) ? processArgs(pid) : null;
  if (argv && servesDataDir(argv, pid)) {
    throw new Error(`PostgreSQL already runs on ${dataDir} (pid ${pid}) for another make run or make test; stop that one first`);
  }
  fs.rmSync(pidFile, { force: true });
}

/** Polls postmaster.pid for the "ready" status the server writes there, as `pg_ctl -w` does. */
async function waitForReady(dataDir: string, pid: number | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Connecting instead would make the server log a FATAL "starting up" line for every early attempt.
  while (Date.now() < deadline) {
    const lines = readIfExists(path.join(dataDir, 'postmaster.pid')).split('\n');
    if (lines[0] === String(pid) && lines[7]?.trim() === 'ready') return;
    await sleep(50);
  }
  throw new Error(`postgres did not become ready within ${timeoutMs / 1000} s`);
}

function readIfExists(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Creates `database` unless it exists. */
async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const db = knex({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  try {
    const { rows } = await db.raw<{ rows: unknown[] }>('select 1 from pg_database where datname = ?', [database]);
    if (rows.length === 0) await db.raw('create database ??', [database]);
  } finally {
    await db.destroy();
  }
}

/** A new, empty database named `<prefix>_<random>` on the server at `adminUrl`; returns its URL. */
export async function createDatabase(adminUrl: string, prefix: string): Promise<string> {
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  await ensureDatabase(adminUrl, name);
  return databaseUrlOf(adminUrl, name);
}

/**
 * A new database named `<prefix>_<random>`, a copy of `template` (a database nobody is connected to); returns its
 * URL. PostgreSQL copies the files, so a migrated and seeded database is ready in a fraction of the seeding's time.
 */
export async function copyDatabase(adminUrl: string, template: string, prefix: string): Promise<string> {
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  const db = knex({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  try {
    await db.raw('create database ?? template ??', [name, template]);
  } finally {
    await db.destroy();
  }
  return databaseUrlOf(adminUrl, name);
}

/** The URL of `database` on the server at `adminUrl`. */
export function databaseUrlOf(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
