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
