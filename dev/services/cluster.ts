/**
 * Temporal's own server on PostgreSQL, as production runs it: a fresh PostgreSQL, the schema steps of
 * dev/cluster/temporal-schema.sh, the configuration dev/cluster/temporal-server.yaml, and the frontend, history,
 * matching and internal worker services each in a process of its own, then the namespace step of
 * dev/cluster/temporal-namespace.sh. docker-compose.yml runs the same three files; test/dev/compose.test.ts checks it.
 * `make test-cluster` (dev/test-cluster.ts) uses it; so may a benchmark that wants the production shape.
 */
import fs from 'node:fs';
import path from 'node:path';
import { searchAttributeTypes } from '../../workflows/ids';
import { assertPortsFree, type WantedPort } from './net';
import { startPostgres } from './postgres';
import { runCommand, stopStrays, superviseService, unlessExited, type SupervisedService } from './processes';
import { connectWhenReady, ensureTemporalCli, runEnsureScript } from './temporal';

/** The Temporal services, each started as its own `temporal-server start --service X` process. */
export const CLUSTER_SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
/** One of CLUSTER_SERVICES. */
export type ClusterService = (typeof CLUSTER_SERVICES)[number];

/** The ports a cluster listens on, all on 127.0.0.1. */
export interface ClusterPorts {
  postgres: number;
  /** Each service's gRPC port (the frontend's is the address clients use). */
  grpc: Record<ClusterService, number>;
  /** Each service's membership (ringpop) port. */
  membership: Record<ClusterService, number>;
  /** The frontend's HTTP API. */
  frontendHttp: number;
}

/**
 * The ports of `make test-cluster` (its own range, beside `make run` and `make test`): PostgreSQL 57433, the frontend
 * on 7633, the other services on 7634, 7635 and 7639, HTTP on 7643, membership on 6933-6939.
 */
export const DEFAULT_CLUSTER_PORTS: ClusterPorts = {
  postgres: 57433,
  grpc: { frontend: 7633, history: 7634, matching: 7635, worker: 7639 },
  membership: { frontend: 6933, history: 6934, matching: 6935, worker: 6939 },
  frontendHttp: 7643,
};

/** A running cluster started by startCluster; stopAll() (dev/services/processes.ts) stops it too. */
export interface RunningCluster {
  /** The frontend's gRPC address, host:port. */
  address: string;
  namespace: string;
  /** A PostgreSQL URL of the cluster's server (database `postgres`), where callers may create their own databases. */
  adminDatabaseUrl: string;
  /** The supervised Temporal service processes (a crashed one is started again). */
  services: Record<ClusterService, SupervisedService>;
  /** Stops the Temporal services, then PostgreSQL. */
  stop(): Promise<void>;
}

const NAMESPACE = 'default';
const START_TIMEOUT_MS = 120_000;

/**
 * Starts a fresh cluster under `dataDir` (default `<root>/.data/cluster`, wiped first) on `ports`: PostgreSQL,
 * the schemas, the four Temporal services, the namespace with our retention and search attributes. Resolves once a
 * client can start workflows in the namespace.
 */
export async function startCluster(root: string, ports: ClusterPorts = DEFAULT_CLUSTER_PORTS, options: { dataDir?: string } = {}): Promise<RunningCluster> {
  const dataDir = path.resolve(options.dataDir ?? path.join(root, '.data', 'cluster'));
  const configRoot = path.join(dataDir, 'temporal');
  // Services a killed run left behind: recognised by this checkout's configuration directory on their command line.
  await stopStrays('temporal-server', (argv) => argv.includes(configRoot));
  await assertPortsFree(clusterWantedPorts(ports));

  const [serverDir, cli] = await Promise.all([ensureTemporalServer(root), ensureTemporalCli(root)]);
  const postgres = await startPostgres({
    dataDir: path.join(dataDir, 'postgres'), port: ports.postgres, user: 'ila', database: 'postgres', fresh: true, fsyncOff: true,
  });
  const sqlEnv = { ...process.env, SQL_HOST: '127.0.0.1', SQL_PORT: String(ports.postgres), SQL_USER: 'ila', SQL_PASSWORD: '' };
  const schemaExit = await runCommand('temporal-schema', 'sh', [path.join(root, 'dev', 'cluster', 'temporal-schema.sh')], {
    env: { ...sqlEnv, TEMPORAL_SQL_TOOL: path.join(serverDir, 'temporal-sql-tool'), TEMPORAL_SCHEMA_DIR: path.join(serverDir, 'schema') },
  });
  if (schemaExit !== 0) throw new Error(`dev/cluster/temporal-schema.sh failed with exit code ${schemaExit} (its output is above)`);

  writeServerConfig(root, configRoot);
  const serverEnv = serverEnvironment(ports);
  const services = {} as Partial<Record<ClusterService, SupervisedService>>;
  const startService = (service: ClusterService): SupervisedService => (services[service] = superviseService(
    `temporal-${service}`, path.join(serverDir, 'temporal-server'), serverArgs(configRoot, service),
    // The history service drains its shards on SIGTERM; it gets time, then SIGKILL.
    { env: serverEnv, cwd: configRoot, quietWhenStopping: true, killAfterMs: 20_000 },
  ));
  const address = `127.0.0.1:${ports.grpc.frontend}`;
  const stop = async (): Promise<void> => {
    for (const service of [...CLUSTER_SERVICES].reverse()) await services[service]?.stop();
    await postgres.stop();
  };
  try {
    // The frontend first, alone: every service writes the cluster's metadata record at its first start, and on an
    // empty database those that lose the race exit ("SaveClusterMetadata encountered version mismatch"). Once the
    // frontend answers, the record exists and the others only read it.
    const frontend = startService('frontend');
    await unlessExited(frontend.current, waitForFrontend(address, START_TIMEOUT_MS));
    for (const service of CLUSTER_SERVICES.filter((name) => name !== 'frontend')) startService(service);
    const namespaceExit = await runCommand('temporal-namespace', 'sh', [path.join(root, 'dev', 'cluster', 'temporal-namespace.sh')], {
      env: { ...clientOnlyEnv(), TEMPORAL_ADDRESS: address, TEMPORAL_CLI: cli, ...namespaceSettings() },
    });
    if (namespaceExit !== 0) throw new Error(`dev/cluster/temporal-namespace.sh failed with exit code ${namespaceExit} (its output is above)`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, namespace: NAMESPACE, adminDatabaseUrl: postgres.url, services: services as Record<ClusterService, SupervisedService>, stop };
}

/**
 * The command line of one service: the configuration is `<configRoot>/config/cluster.yaml`, a copy of
 * dev/cluster/temporal-server.yaml (docker-compose.yml mounts it there, with configRoot /etc/temporal).
 */
export function serverArgs(configRoot: string, service: ClusterService): string[] {
  return ['--root', configRoot, '--config', 'config', '--env', 'cluster', 'start', '--service', service];
}

/** The settings of dev/cluster/temporal-namespace.sh: our namespace, 30 days' retention, workflows/ids.ts' attributes. */
export function namespaceSettings(): Record<string, string> {
  return {
    TEMPORAL_NAMESPACE: NAMESPACE,
    TEMPORAL_NAMESPACE_RETENTION: '720h',
    TEMPORAL_SEARCH_ATTRIBUTES: Object.entries(searchAttributeTypes).map(([name, type]) => `${name}=${type}`).join(' '),
  };
}

/** Every port startCluster listens on, for a clear error when one is taken. */
function clusterWantedPorts(ports: ClusterPorts): WantedPort[] {
  return [
    { port: ports.postgres, what: 'the cluster\'s PostgreSQL' },
    ...CLUSTER_SERVICES.flatMap((service) => [
      { port: ports.grpc[service], what: `Temporal's ${service} service (gRPC)` },
      { port: ports.membership[service], what: `Temporal's ${service} service (membership)` },
    ]),
    { port: ports.frontendHttp, what: 'Temporal\'s frontend (HTTP)' },
  ];
}

/** The variables dev/cluster/temporal-server.yaml reads, for a cluster whose services share 127.0.0.1. */
function serverEnvironment(ports: ClusterPorts): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...clientOnlyEnv(),
    TEMPORAL_DB_HOST: '127.0.0.1', TEMPORAL_DB_PORT: String(ports.postgres), TEMPORAL_DB_USER: 'ila', TEMPORAL_DB_PASSWORD: '',
    TEMPORAL_BIND_ON_IP: '127.0.0.1', TEMPORAL_FRONTEND_HTTP_PORT: String(ports.frontendHttp),
    TEMPORAL_LOG_LEVEL: process.env.TEMPORAL_LOG_LEVEL ?? 'error',
  };
  for (const service of CLUSTER_SERVICES) {
    env[`TEMPORAL_${service.toUpperCase()}_PORT`] = String(ports.grpc[service]);
    env[`TEMPORAL_${service.toUpperCase()}_MEMBERSHIP_PORT`] = String(ports.membership[service]);
  }
  return env;
}

/** The environment without TEMPORAL_* variables, which would point the server or the CLI at someone else's server. */
function clientOnlyEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TEMPORAL_')));
}

/** Copies the shared server configuration and dynamic configuration to where `--root R --config config --env cluster` reads them. */
function writeServerConfig(root: string, configRoot: string): void {
  fs.rmSync(configRoot, { recursive: true, force: true });
  fs.mkdirSync(path.join(configRoot, 'config', 'dynamicconfig'), { recursive: true });
  fs.copyFileSync(path.join(root, 'dev', 'cluster', 'temporal-server.yaml'), path.join(configRoot, 'config', 'cluster.yaml'));
  fs.copyFileSync(path.join(root, 'dev', 'cluster', 'temporal-dynamic-config.yaml'), path.join(configRoot, 'config', 'dynamicconfig', 'cluster.yaml'));
}

/** Resolves once the frontend answers; the other services join through membership in the meantime. */
async function waitForFrontend(address: string, timeoutMs: number): Promise<void> {
  await (await connectWhenReady(address, timeoutMs)).close();
}

/**
 * Runs dev/ensure-temporal-server.sh and returns the directory with temporal-server, temporal-sql-tool and the
 * schemas; a first run builds them, which takes minutes.
 */
export async function ensureTemporalServer(root: string): Promise<string> {
  return runEnsureScript(path.join(root, 'dev', 'ensure-temporal-server.sh'));
}
