/**
 * docker-compose.yml supervises like `make run` does, checked by reading the file (no Docker engine runs here, and
 * the docker CLI may lack the compose plugin): restarts, health checks, start order on healthy dependencies, and a
 * clean stop for the API and the worker.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
// A YAML parser, not a hand-made reading of the file.
import yaml from 'js-yaml';
import { CLUSTER_SERVICES, namespaceSettings, serverArgs } from '../../dev/services/cluster';

type HealthCheck = { test?: unknown; interval?: string; retries?: number; start_period?: string };
type ComposeService = {
  command?: string[];
  entrypoint?: string[];
  image?: string;
  volumes?: string[];
  environment?: Record<string, string>;
  restart?: string;
  healthcheck?: HealthCheck;
  depends_on?: Record<string, { condition?: string }> | string[];
  stop_grace_period?: string;
};

const compose = yaml.load(fs.readFileSync(path.join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;
/** Services that run once and end; every other one is long-running. */
const ONE_SHOT = ['migrate', 'temporal-schema', 'temporal-namespace'];
const longRunning = Object.keys(services).filter((name) => !ONE_SHOT.includes(name));

/** Seconds in a compose duration such as "40s" or "1m30s". */
function seconds(duration: string | undefined): number {
  if (!duration) return 0;
  let total = 0;
  for (const [, value, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(value) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as Record<string, number>)[unit!]!;
  }
  return total;
}

test('the stack has the services the README names', (t) => {
  t.deepEqual(Object.keys(services).sort(), [
    'api', 'mailpit', 'migrate', 'postgres', 'temporal', 'temporal-history', 'temporal-matching', 'temporal-namespace', 'temporal-schema',
    'temporal-ui', 'temporal-worker', 'worker',
  ]);
});

test('every long-running service is restarted when it dies and has a health check', (t) => {
  for (const name of longRunning) {
    const service = services[name]!;
    t.true(['always', 'unless-stopped', 'on-failure'].includes(service.restart ?? ''), `${name}: restart is ${service.restart}`);
    const check = service.healthcheck;
    t.truthy(check, `${name} has no healthcheck`);
    t.true(Array.isArray(check?.test) && (check.test as unknown[]).length > 1, `${name}: healthcheck test is a command`);
    t.true(seconds(check?.interval) > 0 && (check?.retries ?? 0) > 0, `${name}: healthcheck has an interval and retries`);
  }
});

test('the one-shot steps are not restarted, and what needs them waits for their success', (t) => {
  for (const name of ONE_SHOT) t.is(services[name]!.restart, 'no', name);
  for (const name of ['api', 'worker']) {
    const dependsOn = services[name]!.depends_on as Record<string, { condition?: string }>;
    t.is(dependsOn.migrate?.condition, 'service_completed_successfully', `${name} waits for the migration`);
    t.is(dependsOn['temporal-namespace']?.condition, 'service_completed_successfully', `${name} waits for the namespace step`);
  }
});

test('every service starts only once its dependencies are healthy (or, for the migration, done)', (t) => {
  for (const [name, service] of Object.entries(services)) {
    if (service.depends_on === undefined) continue;
    t.false(Array.isArray(service.depends_on), `${name}: depends_on names conditions, not just services`);
    for (const [dependency, { condition }] of Object.entries(service.depends_on as Record<string, { condition?: string }>)) {
      t.truthy(services[dependency], `${name} depends on unknown ${dependency}`);
      if (ONE_SHOT.includes(dependency)) {
        t.is(condition, 'service_completed_successfully', `${name} → ${dependency}`);
      } else {
        t.is(condition, 'service_healthy', `${name} → ${dependency}`);
        t.truthy(services[dependency]!.healthcheck, `${dependency} needs a healthcheck for ${name} to wait on`);
      }
    }
  }
  const needs = (name: string): string[] => Object.keys(services[name]!.depends_on ?? {});
  t.true(needs('api').includes('temporal') && needs('worker').includes('temporal'));
  t.true(needs('temporal-schema').includes('postgres'));
  for (const name of ['temporal', 'temporal-history', 'temporal-matching', 'temporal-worker']) t.true(needs(name).includes('temporal-schema'), name);
  // The frontend starts first, alone, as in the launcher (dev/services/cluster.ts says why).
  for (const name of ['temporal-history', 'temporal-matching', 'temporal-worker']) t.true(needs(name).includes('temporal'), `${name} waits for the frontend`);
  t.true(needs('temporal-namespace').includes('temporal'));
});

test('the API and the worker get SIGTERM themselves and time to stop cleanly', (t) => {
  // api/main.ts stops within 10 s, worker/main.ts within 30 s (their hard timeouts).
  for (const [name, hardTimeout] of [['api', 10], ['worker', 30]] as const) {
    const service = services[name]!;
    t.is(service.command?.[0], 'node', `${name} runs node itself, not a wrapper that may not pass signals on`);
    t.true(seconds(service.stop_grace_period) > hardTimeout, `${name}: stop_grace_period ${service.stop_grace_period}`);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Secrets and what is published

const composeText = fs.readFileSync(path.join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8');
/** The secrets a deployment must give; the file has no default for any of them. */
// PAYLOAD_KEY_ID is no secret, but like the keys it has no default: a made-up one would not match them.
const SECRETS = ['POSTGRES_PASSWORD', 'SESSION_SECRET', 'LINK_SECRET', 'SSO_CLIENT_SECRET', 'PAYLOAD_KEYS', 'PAYLOAD_KEY_ID'];
/** Values for every secret, as a deployment would give them. */
const GIVEN = Object.fromEntries(SECRETS.map((name, i) => [name, `${name.toLowerCase()}-${i}-0123456789abcdefghijklmnopqrstuvwxyz`]));

/**
 * The file as `docker compose config` interpolates it (${VAR}, ${VAR:-default}, ${VAR:?message}, $$), so the
 * check does not depend on a docker CLI with the compose plugin; each missing required variable is one error.
 */
function interpolate(text: string, env: Record<string, string | undefined>): { text: string; errors: string[] } {
  const errors: string[] = [];
  const out = text.replace(/\$\$|\$\{([A-Z0-9_]+)(?:(:-|:\?)([^}]*))?\}/g, (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (whole === '$$') return '$';
    const value = env[name!];
    if (value) return value;
    if (op === ':?') errors.push(`required variable ${name} is missing a value: ${arg}`);
    return op === ':-' ? arg! : '';
  });
  return { text: out, errors };
}

test('no secret has a default: the file cannot be used without each one, and the message names it', (t) => {
  for (const name of SECRETS) {
    const uses = [...composeText.matchAll(new RegExp(`\\$\\{${name}(:[-?][^}]*)?\\}`, 'g'))];
    t.true(uses.length > 0, `${name} is used`);
    for (const [use, rest] of uses) t.true(rest?.startsWith(':?') && rest.includes(name), `${use} requires ${name} and names it`);
  }
  t.false(/change-?me/i.test(interpolate(composeText, GIVEN).text), 'no placeholder secret is left');
  t.false(composeText.includes('this-default-is-public'), 'the former public session key is gone');
});

test('the file resolves only with every secret given, and passes them to the API and the worker', (t) => {
  const without = interpolate(composeText, {});
  for (const name of SECRETS) t.true(without.errors.some((e) => e.includes(name)), `without ${name} it fails naming it`);
  for (const name of SECRETS) {
    const oneMissing = interpolate(composeText, { ...GIVEN, [name]: undefined });
    t.true(oneMissing.errors.length > 0 && oneMissing.errors.every((e) => e.includes(name)), `only ${name} missing: ${oneMissing.errors.join('; ')}`);
  }
  const given = interpolate(composeText, GIVEN);
  t.deepEqual(given.errors, []);
  const resolved = yaml.load(given.text) as { services: Record<string, { environment?: Record<string, string> }> };
  for (const name of ['api', 'worker']) {
    const env = resolved.services[name]!.environment!;
    t.is(env.SESSION_SECRET, GIVEN.SESSION_SECRET);
    t.is(env.LINK_SECRET, GIVEN.LINK_SECRET);
    t.not(env.SESSION_SECRET, env.LINK_SECRET);
    t.true(env.DATABASE_URL!.includes(GIVEN.POSTGRES_PASSWORD!));
    t.is(env.PAYLOAD_KEYS, GIVEN.PAYLOAD_KEYS);
    t.is(env.PAYLOAD_KEY_ID, GIVEN.PAYLOAD_KEY_ID);
  }
  // The Web UI decodes through the API's codec endpoint, sending the session cookie.
  const ui = resolved.services['temporal-ui']!.environment!;
  t.is(ui.TEMPORAL_CODEC_ENDPOINT, 'http://localhost:3000/api/codec');
  t.is(String(ui.TEMPORAL_CODEC_INCLUDE_CREDENTIALS), 'true');
});

test('Temporal\'s frontend is not published and its Web UI only on the host\'s loopback', (t) => {
  const raw = compose as unknown as { services: Record<string, { ports?: string[] }> };
  t.deepEqual(raw.services.temporal!.ports ?? [], [], 'the frontend (7233) is reached on the stack\'s network only');
  for (const port of raw.services['temporal-ui']!.ports ?? []) t.true(String(port).startsWith('127.0.0.1:'), `Web UI published as ${port}`);
  // Metrics ports are never published either.
  for (const [name, service] of Object.entries(raw.services)) {
    for (const port of service.ports ?? []) t.false(/:(9463|9464|9465)$/.test(String(port)), `${name} publishes a metrics port (${port})`);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// --- cluster: Temporal is set up as `make test-cluster` sets it up (dev/services/cluster.ts), from the same files

const repo = path.join(__dirname, '..', '..');
/** The server version dev/ensure-temporal-server.sh builds, e.g. 1.29.1. */
const serverVersion = /^version=v(\S+)$/m.exec(fs.readFileSync(path.join(repo, 'dev', 'ensure-temporal-server.sh'), 'utf8'))?.[1];
/** The compose service that runs each Temporal service (the frontend keeps the name clients use: temporal:7233). */
const composeName = (service: string): string => (service === 'frontend' ? 'temporal' : `temporal-${service}`);
/** The volume mounting `file` of this repository, as `./file:target[:ro]`; its target. */
const mountTarget = (service: ComposeService, file: string): string | undefined =>
  service.volumes?.map((volume) => volume.split(':')).find(([source]) => source === `./${file}`)?.[1];

test('the schema and namespace steps run the launcher\'s scripts, in admin-tools of the server\'s version', (t) => {
  t.truthy(serverVersion);
  for (const [name, script] of [['temporal-schema', 'dev/cluster/temporal-schema.sh'], ['temporal-namespace', 'dev/cluster/temporal-namespace.sh']] as const) {
    const service = services[name]!;
    t.is(service.image, `temporalio/admin-tools:${serverVersion}`, `${name} image`);
    const target = mountTarget(service, script);
    t.truthy(target, `${name} mounts ${script}`);
    t.deepEqual(service.entrypoint, ['sh', target], `${name} runs ${script}`);
  }
  // The schema step reaches this stack's PostgreSQL with its password, and the schemas where admin-tools keeps them.
  const schemaEnv = services['temporal-schema']!.environment!;
  t.is(schemaEnv.SQL_HOST, 'postgres');
  t.is(schemaEnv.TEMPORAL_SCHEMA_DIR, '/etc/temporal/schema');
  t.regex(schemaEnv.SQL_PASSWORD!, /POSTGRES_PASSWORD/);
});

test('the namespace step registers the namespace, retention and search attributes of workflows/ids.ts', (t) => {
  const env = services['temporal-namespace']!.environment!;
  for (const [name, value] of Object.entries(namespaceSettings())) t.is(String(env[name]), value, name);
  t.is(env.TEMPORAL_ADDRESS, 'temporal:7233');
});

test('frontend, history, matching and worker each run in a container of their own, with the launcher\'s command and configuration', (t) => {
  const template = fs.readFileSync(path.join(repo, 'dev', 'cluster', 'temporal-server.yaml'), 'utf8');
  for (const service of CLUSTER_SERVICES) {
    const name = composeName(service);
    const container = services[name]!;
    t.is(container.image, `temporalio/server:${serverVersion}`, `${name} image`);
    // The same arguments startCluster gives each process, with the image's /etc/temporal as the root.
    const command = container.entrypoint?.at(-1) ?? '';
    t.true(command.endsWith(`exec temporal-server ${serverArgs('/etc/temporal', service).join(' ')}`), `${name}: ${command}`);
    t.is(mountTarget(container, 'dev/cluster/temporal-server.yaml'), '/etc/temporal/config/cluster.yaml', `${name} reads the shared configuration`);
    t.is(mountTarget(container, 'dev/cluster/temporal-dynamic-config.yaml'), '/etc/temporal/config/dynamicconfig/cluster.yaml', `${name} reads the shared dynamic configuration`);
    // Its health check probes the port the configuration gives the service by default (one service per container).
    const port = new RegExp(`TEMPORAL_${service.toUpperCase()}_PORT" \\| default "(\\d+)"`).exec(template)?.[1];
    t.truthy(port, `the template names ${service}'s port`);
    t.true(JSON.stringify(container.healthcheck?.test).includes(` ${port}`), `${name} health check probes ${port}`);
  }
  // The settings that define the cluster are in the shared file, not in either launcher.
  t.regex(template, /^ {2}numHistoryShards: \d+$/m);
  t.regex(template, /pluginName: postgres12/);
  t.false(composeText.includes('auto-setup'), 'no auto-setup image: its own schema steps and settings would differ');
});

// --- registries (issue 17) ---
test('only the worker holds the SOPA client certificate, mounted read-only; each registry\'s protocol is configurable', (t) => {
  const resolved = yaml.load(interpolate(composeText, GIVEN).text) as {
    services: Record<string, { environment?: Record<string, string>; volumes?: string[] }>;
  };
  const worker = resolved.services.worker!;
  t.is(worker.environment!.SOPA_CLIENT_CERT, '/run/sopa-tls/client.crt');
  t.is(worker.environment!.SOPA_CLIENT_KEY, '/run/sopa-tls/client.key');
  t.true((worker.volumes ?? []).includes('./.data/tls:/run/sopa-tls:ro'), JSON.stringify(worker.volumes));
  t.is(worker.environment!.SESSION_SECRET, GIVEN.SESSION_SECRET, 'the shared settings are still there');
  const api = resolved.services.api!.environment!;
  t.false('SOPA_CLIENT_KEY' in api, 'the API does not ask SOPA');
  for (const env of [worker.environment!, api]) {
    t.is(env.POPULATION_REGISTER_PROTOCOL, 'json');
    t.is(env.SOPA_PROTOCOL, 'json');
    t.regex(env.SOPA_URL!, /^https:\/\//);
  }
});
