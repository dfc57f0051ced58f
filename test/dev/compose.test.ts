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

type HealthCheck = { test?: unknown; interval?: string; retries?: number; start_period?: string };
type ComposeService = {
  command?: string[];
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
const ONE_SHOT = ['migrate'];
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
  t.deepEqual(Object.keys(services).sort(), ['api', 'mailpit', 'migrate', 'postgres', 'temporal', 'temporal-ui', 'worker']);
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

test('the one-shot migration is not restarted, and what needs it waits for its success', (t) => {
  t.is(services.migrate!.restart, 'no');
  for (const name of ['api', 'worker']) {
    const dependsOn = services[name]!.depends_on as Record<string, { condition?: string }>;
    t.is(dependsOn.migrate?.condition, 'service_completed_successfully', `${name} waits for the migration`);
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
  t.true(needs('temporal').includes('postgres'));
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
