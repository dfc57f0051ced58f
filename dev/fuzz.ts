/**
 * The fuzz stage: the app's own OpenAPI document (JSON API, page forms and uploads) drives schemathesis against
 * the whole stack started as `make run` starts it, on ports and data of its own, anonymously and as each role.
 * It fails on any 5xx, any answer the document does not describe (status, content type, body, headers), any
 * exit of the API or the worker, and any violation the consistency check finds afterwards.
 *
 * `make fuzz` runs it with a longer budget; `make test` runs a bounded one after ava (runFuzzStage).
 * Variables for `make fuzz`: FUZZ_ROLES (comma-separated, default all), FUZZ_EXAMPLES (per operation and phase),
 * FUZZ_PHASES (schemathesis' phases, default coverage,fuzzing,stateful),
 * FUZZ_SEED, FUZZ_PATHS (comma-separated paths as in the document), FUZZ_KEEP=1 (keep the stack running after
 * the run, printing each role's session, to replay the printed curl lines; Ctrl-C stops it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runConsistencyCheck } from './services/consistency';
import { isRunning, stopAll, stopOnSignals } from './services/processes';
import type { RunningStack } from './services/stack';
import { FUZZ_ROLES, grantFuzzConsultant, sessionFor, type FuzzRole } from './fuzz/logins';
import { createDb } from '../lib/db';
import { ensureSchemathesis, runSchemathesis, type FuzzBudget, type FuzzResult } from './fuzz/schemathesis';
import { knownIds, writeIdConfig } from './fuzz/known-ids';
import { documentForRole, type OpenApiDocument } from './fuzz/roles';
import { fuzzDataDir, startFuzzStack } from './fuzz/stack';

const root = path.resolve(__dirname, '..');

/** The fixed seed: the same run sends the same requests (given the same document). */
export const FUZZ_SEED = 20261205;

/**
 * The phases: coverage (every documented boundary and every kind of wrong value, deterministically), fuzzing
 * (random values within and outside the schemas) and stateful (sequences along the links schemathesis infers from
 * the document, e.g. a registration's caseId into the journey's other routes). The examples phase is left out: the
 * document gives no examples. One worker: on Python 3.11 two threads break hypothesis' source parsing
 * ("AST constructor recursion depth mismatch"), and the machine has 2 cores for the whole stack anyway.
 */
const PHASES: FuzzBudget['phases'] = ['coverage', 'fuzzing', 'stateful'];
/**
 * Inside `make test`: the whole stage within about 2 minutes on 2 shared cores, about as long as the short drill
 * that runs beside it (see the README for the figures). The coverage phase still tries every documented boundary.
 */
export const TEST_BUDGET: FuzzBudget = { maxExamples: 3, phases: PHASES, workers: 1 };
/** `make fuzz`: many more cases per operation. */
export const LONG_BUDGET: FuzzBudget = { maxExamples: 150, phases: PHASES, workers: 1 };

/** One line of the stage's outcome: each role's run, the processes, the consistency check. */
export interface StageItem { name: string; ok: boolean; detail: string }

/** Runs the whole stage: starts the stack, fuzzes as each role, checks the processes and the read model. */
export async function runFuzzStage(opts: {
  env: NodeJS.ProcessEnv;
  budget: FuzzBudget;
  seed?: number;
  roles?: readonly FuzzRole[];
  includePaths?: readonly string[];
  /** Schemathesis' own output: as it comes, or only for a role whose run failed (make test). */
  echo?: 'always' | 'on-failure';
  /** Called once the stage is done and before the stack stops (FUZZ_KEEP). */
  beforeStop?: (stack: RunningStack, sessions: Map<FuzzRole, string | null>) => Promise<void>;
}): Promise<StageItem[]> {
  const started = Date.now();
  const binary = await ensureSchemathesis(root);
  const stack = await startFuzzStack(root, opts.env);
  const items: StageItem[] = [];
  // The processes that must not die under the fuzzer: a restart (the supervisor's count) or a new pid means one did.
  const watched = [stack.api, stack.worker, ...(stack.stubs ? [stack.stubs] : [])].map((service) => ({ service, pid: service.current.pid }));
  process.stdout.write(`[fuzz] stack ready at ${stack.publicUrl} after ${seconds(started)}\n`);

  const document = await (await fetch(`${stack.publicUrl}/api/openapi.json`)).json() as OpenApiDocument;
  const schemaDir = path.join(fuzzDataDir(root), 'schemas');
  fs.mkdirSync(schemaDir, { recursive: true });
  const sessions = new Map<FuzzRole, string | null>();
  const results: FuzzResult[] = [];
  // Every role logs in before any fuzzing: the fuzzer's wrong passwords on the login routes (all from this address)
  // would otherwise reach the login throttle's per-address limit (api/throttle.ts) before the later roles log in.
  const loginFailures = new Map<FuzzRole, string>();
  const roles = opts.roles ?? FUZZ_ROLES;
  if (roles.includes('consultant')) {
    const db = createDb(stack.env.DATABASE_URL!, { min: 0, max: 1 });
    try { await grantFuzzConsultant(db); } finally { await db.destroy(); }
  }
  for (const role of opts.roles ?? FUZZ_ROLES) {
    try {
      sessions.set(role, await sessionFor(role, { appUrl: stack.publicUrl, ssoUrl: stack.env.SSO_ISSUER!, ssoClientId: stack.env.SSO_CLIENT_ID! }));
    } catch (error) {
      loginFailures.set(role, error instanceof Error ? error.message : String(error));
    }
  }
  for (const role of opts.roles ?? FUZZ_ROLES) {
    const failure = loginFailures.get(role);
    if (failure !== undefined) {
      items.push({ name: `fuzz as ${role}`, ok: false, detail: `could not log in: ${failure}` });
      continue;
    }
    const token = sessions.get(role) ?? null;
    const schemaFile = path.join(schemaDir, `${role}.json`);
    fs.writeFileSync(schemaFile, JSON.stringify(documentForRole(document, role), null, 1));
    // Read again before each role: the journeys, tasks and applications the roles before made are real ids too.
    const configFile = writeIdConfig(path.join(schemaDir, `${role}.toml`), await knownIds(stack.env.DATABASE_URL!));
    process.stdout.write(`\n[fuzz] --- as ${role}\n`);
    const result = await runSchemathesis({
      binary, label: role, schemaFile, baseUrl: stack.publicUrl, token, seed: opts.seed ?? FUZZ_SEED, budget: opts.budget,
      reportDir: path.join(fuzzDataDir(root), 'reports', role), includePaths: opts.includePaths, echo: opts.echo ?? 'always', configFile,
    });
    process.stdout.write(`[fuzz] --- as ${role}: ${describe(result)}\n`);
    results.push(result);
    const ok = result.exitCode === 0 && result.failures.length === 0 && result.errors.length === 0;
    items.push({ name: `fuzz as ${role}`, ok, detail: describe(result) });
  }

  const processes = watched.map(({ service, pid }) => {
    const alive = service.current.pid === pid && pid !== undefined && isRunning(pid);
    return service.restarts === 0 && alive ? null : `${service.name} exited (restarts: ${service.restarts})`;
  }).filter((problem): problem is string => problem !== null);
  items.push({ name: 'fuzz: API, worker and stubs kept running', ok: processes.length === 0, detail: processes.join('; ') || 'no exit, no restart' });

  items.push(await consistencyCheck(stack));
  printSummary(results, items, started);
  if (opts.beforeStop) await opts.beforeStop(stack, sessions);
  return items;
}

/**
 * The consistency check over the fuzzed stack (dev/consistency-check.ts), over everything the fuzzer did: the
 * check's usual two minutes' grace for rows still being written would leave out most of a two-minute stage, so
 * only 10 s. Journeys the fuzzer started may still be between two steps, so a violation is only believed if it is
 * still there after the workflows had time to move on: up to three looks, 5 s apart.
 */
async function consistencyCheck(stack: RunningStack): Promise<StageItem> {
  let code = 2;
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    process.stdout.write(`\n[fuzz] --- consistency check (look ${attempt} of 3)\n`);
    code = (await runConsistencyCheck(stack.env, 10)).exitCode;
    if (code === 0 || code === 2) break;
    if (attempt < 3) await sleep(5_000);
  }
  const detail = code === 0 ? 'no violations' : code === 1 ? 'violations (listed above)' : `could not check (exit code ${code})`;
  return { name: 'fuzz: consistency check of the fuzzed stack', ok: code === 0, detail };
}

function describe(result: FuzzResult): string {
  const head = `${result.operations} operations, ${result.examples} cases, ${result.seconds.toFixed(0)} s`;
  const problems = [
    ...result.failures.map((f) => `${f.title} (${f.code}) ×${f.count}: ${f.operations.join(', ')}`),
    ...result.errors.map((e) => `error: ${e}`),
    ...(result.exitCode !== 0 && result.failures.length === 0 && result.errors.length === 0 ? [`schemathesis exit code ${result.exitCode}`] : []),
  ];
  return problems.length === 0 ? `${head}, no failures` : `${head}; ${problems.join('; ')}`;
}

function printSummary(results: FuzzResult[], items: StageItem[], started: number): void {
  const lines = ['', `fuzz stage: ${seconds(started)} in all`];
  for (const item of items) lines.push(`  ${item.ok ? 'ok  ' : 'FAIL'} ${item.name}: ${item.detail}`);
  if (items.some((item) => !item.ok) && results.some((r) => r.failures.length > 0)) {
    lines.push(
      '',
      'To reproduce a failure: each one is printed above with its curl line (the session is filtered out of it).',
      `Run \`FUZZ_ROLES=<role> FUZZ_PATHS=<path> FUZZ_KEEP=1 make fuzz\` to fuzz that route again with the same seed and`,
      'keep the stack running; it prints the session to put into the curl line as `-H "Authorization: Bearer <session>"`.',
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function seconds(since: number): string {
  return `${Math.round((Date.now() - since) / 1000)} s`;
}

/** `make fuzz`. */
async function main(): Promise<void> {
  stopOnSignals();
  const list = (value: string | undefined) => value?.split(',').map((v) => v.trim()).filter(Boolean);
  const roles = list(process.env.FUZZ_ROLES) as FuzzRole[] | undefined;
  const unknown = roles?.filter((role) => !(FUZZ_ROLES as readonly string[]).includes(role)) ?? [];
  if (unknown.length > 0) throw new Error(`FUZZ_ROLES: unknown role ${unknown.join(', ')}; the roles are ${FUZZ_ROLES.join(', ')}`);
  const examples = Number(process.env.FUZZ_EXAMPLES || LONG_BUDGET.maxExamples);
  const phases = (list(process.env.FUZZ_PHASES) ?? LONG_BUDGET.phases) as FuzzBudget['phases'];
  const items = await runFuzzStage({
    env: process.env,
    budget: { ...LONG_BUDGET, maxExamples: examples, phases },
    seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : FUZZ_SEED,
    roles, includePaths: list(process.env.FUZZ_PATHS),
    beforeStop: process.env.FUZZ_KEEP === '1' ? keepRunning : undefined,
  });
  const failed = items.filter((item) => !item.ok).length;
  await stopAll();
  process.stdout.write(`${items.length - failed} passed, ${failed} failed\n`);
  process.exit(failed > 0 ? 1 : 0);
}

/** FUZZ_KEEP=1: the stack stays up for replaying curl lines until Ctrl-C (the signal handler stops everything). */
async function keepRunning(stack: RunningStack, sessions: Map<FuzzRole, string | null>): Promise<void> {
  const lines = [`\nThe fuzzed stack keeps running at ${stack.publicUrl} (Ctrl-C stops it). Sessions:`];
  for (const [role, token] of sessions) if (token) lines.push(`  ${role.padEnd(12)} -H "Authorization: Bearer ${token}"`);
  process.stdout.write(`${lines.join('\n')}\n`);
  await new Promise<never>(() => undefined);
}

if (require.main === module) {
  main().catch(async (error: unknown) => {
    process.stderr.write(`\nmake fuzz failed: ${error instanceof Error ? error.message : String(error)}\n`);
    await stopAll();
    process.exit(1);
  });
}
