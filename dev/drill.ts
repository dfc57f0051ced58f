/**
 * `make drill`: the fault drill. Starts a stack of its own (own ports, own data in .data/drill), drives learner
 * journeys through the API while, one at a time, the worker is killed, Temporal and PostgreSQL are stopped, the
 * SMTP server stalls and refuses an address, and the Population Register is down; probes the API every second
 * throughout; then checks that every journey reached its expected stage, that every e-mail arrived exactly once,
 * and that the consistency check finds nothing. Prints a table of figures, writes it to .data/drill/report.md,
 * and exits non-zero when a target is missed. `--journeys N` (default 200), `--short` (20, two faults).
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { createDb } from '../lib/db';
import { stopAll, stopOnSignals, stopRequested } from './services/processes';
import { runConsistencyCheck } from './services/consistency';
import { startStack } from './services/stack';
import { Phases, drillClient, until } from './drill/client';
import { countMail, type CaughtMail, type ExpectedMail, type OutboxRow } from './drill/emails';
import { ALL_FAULTS, SHORT_FAULTS, type FaultDeps } from './drill/faults';
import { driveLearner, type DrivenJourney, type LearnerDeps } from './drill/learners';
import { parseDrillOptions } from './drill/options';
import { driveProviderFlows } from './drill/providers';
import { renderReport } from './drill/report';
import { drillLearners } from './drill/scenarios';
import { drillEnv, freshDataDir, insertDrillOffer } from './drill/setup';
import { giveEAddresses, readPlatform, type PlatformCount } from './drill/platform';

const dataDir = path.resolve(__dirname, '..', '.data', 'drill');
/** Normal traffic before the first fault and between two faults. */
const CALM_MS = 10_000;
/** How long every journey may take, after the last fault, to reach its expected stage. */
const SETTLE_MS = 8 * 60_000;

const log = (line: string): void => {
  process.stdout.write(`[drill ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

async function main(): Promise<number> {
  stopOnSignals();
  const options = parseDrillOptions(process.argv.slice(2));
  const faults = options.short ? SHORT_FAULTS : ALL_FAULTS;
  const started = Date.now();
  freshDataDir(dataDir);
  const learners = drillLearners(options.journeys);
  const env = await drillEnv(process.env, dataDir, learners);
  log(`starting the drill's own stack in ${dataDir} (API on port ${env.PORT})`);
  const stack = await startStack({ dataDir, env, freshPostgres: true });
  log(`stack ready after ${Math.round((Date.now() - started) / 1000)} s: ${options.journeys} journeys, faults: ${faults.map((f) => f.name).join('; ')}`);

  const db = createDb(stack.env.DATABASE_URL!, { min: 0, max: 2 });
  try {
    const offer = await insertDrillOffer(db);
    // Every other learner has an official e-address: their decisions go there too (issue 17 item 6).
    await giveEAddresses(stack.env.E_ADDRESS_URL!, learners.filter((l) => l.index % 2 === 0).map((l) => l.person.personCode));
    const phases = new Phases();
    const call = drillClient(stack.publicUrl, phases);
    const login = (username: string, password: string) => sessionOf(call, username, password);
    const deps: LearnerDeps = {
      call, phases, ssoUrl: stack.env.SSO_ISSUER!, offer, staffToken: login('staff', 'Agentura#2026'), providerToken: login('provider', 'Provider#2026'),
    };

    // Journeys are released at a steady pace over the faults, so some start before, during and after each.
    const regular = learners.filter((l) => !l.refused);
    const refusedLearner = learners.find((l) => l.refused)!;
    const driving: Promise<DrivenJourney>[] = [];
    let next = 0;
    const plannedMs = CALM_MS + faults.length * (CALM_MS + 60_000);
    const releaser = setInterval(() => {
      if (next < regular.length) driving.push(driveLearner(deps, regular[next++]!));
    }, Math.max(50, Math.floor(plannedMs / regular.length)));
    const probing = probe(call, deps);
    const providerFlows = driveProviderFlows({
      call, mailCatcherUrl: stack.env.MAIL_CATCHER_URL!, staffToken: deps.staffToken, providerToken: deps.providerToken,
      providerIdByEmail: async (email) => (await db('providers').where({ email }).first<{ id: string } | undefined>('id'))?.id ?? null,
      providerStatus: async (id) => (await db('providers').where({ id }).first<{ status: string } | undefined>('status'))?.status ?? null,
    });

    const trafficStarted = Date.now();
    await sleep(CALM_MS);
    const workerKills: number[] = [];
    const faultDeps: FaultDeps = {
      stack, log, workerKills, refused: { address: refusedLearner.email, start: () => driving.push(driveLearner(deps, refusedLearner)) },
    };
    for (const fault of faults) {
      log(`fault: ${fault.name}`);
      const phase = phases.begin(fault.name);
      const faultStarted = Date.now();
      await fault.run(faultDeps);
      phase.durationMs = Date.now() - faultStarted;
      phases.end();
      log(`fault over after ${Math.round(phase.durationMs / 1000)} s: ${phase.requests} requests, ${phase.byKind.unavailable} answered 503, ${phase.journeysStarted} journeys started`);
      await sleep(CALM_MS);
    }
    clearInterval(releaser);
    log(`releasing the ${regular.length - next} journeys not started yet`);
    while (next < regular.length) {
      driving.push(driveLearner(deps, regular[next++]!));
      await sleep(100);
    }
    const driven = await Promise.all(driving);
    const flows = await providerFlows;
    probing.stop();
    await probing.done;
    phases.outside.durationMs = Date.now() - trafficStarted - phases.faults.reduce((sum, p) => sum + p.durationMs, 0);
    for (const journey of driven.filter((j) => j.error)) log(`learner ${journey.learner.index} (${journey.learner.scenario.name}) could not be driven: ${journey.error}`);

    log('waiting for every journey to reach its expected stage');
    const stages = await settle(db, driven);
    const flowStages = await Promise.all(flows.map(async (flow) => ({ flow, stage: await flow.stage() })));
    const flowsOff = flowStages.filter(({ flow, stage }) => stage !== flow.expected)
      .map(({ flow, stage }) => `${flow.name}: ${stage ?? 'none'} (expected ${flow.expected})${flow.error ? `; ${flow.error}` : ''}`);
    for (const line of flowsOff) log(`provider flow off stage: ${line}`);
    log('counting e-mails');
    const mail = await settleMail(db, stack.env.MAIL_CATCHER_URL!, driven, workerKills);
    for (const key of mail.duplicateKeys) log(`duplicate e-mail: ${key}`);
    for (const key of [...mail.missing, ...mail.unexpected, ...mail.outboxMismatches].slice(0, 20)) log(`e-mail problem: ${key}`);
    log('checking the national platform');
    const platform = await settlePlatform(db, stack.env, driven);
    for (const line of platform.off.slice(0, 20)) log(`national platform: ${line}`);
    log('running the consistency check');
    // Every journey is at rest by now: a few seconds' settling is enough.
    const consistency = await runConsistencyCheck(stack.env, 10);

    const offStage = driven.filter((j) => stages.get(j.learner.index) !== j.learner.scenario.expectedStage)
      .map((j) => `learner ${j.learner.index} (${j.learner.scenario.name}): ${stages.get(j.learner.index) ?? 'no case'} (expected ${j.learner.scenario.expectedStage})${j.error ? `; ${j.error}` : ''}`);
    for (const line of offStage.slice(0, 30)) log(`off stage: ${line}`);
    for (const phase of [...phases.faults, phases.outside]) for (const example of phase.examples) log(`${phase.name}: ${example}`);
    const title = `Fault drill, ${new Date().toISOString().slice(0, 10)}: ${options.journeys} journeys and 1 whose address the SMTP server refuses${options.short ? ' (short version)' : ''}`;
    const report = renderReport(title, [...phases.faults, phases.outside], {
      journeys: driven.length, atExpectedStage: driven.length - offStage.length, offStage, mail, consistency,
      workerRestarts: stack.worker.restarts, providerFlows: { atExpected: flows.length - flowsOff.length, total: flows.length, off: flowsOff }, platform,
      totalMs: Date.now() - started,
    });
    fs.writeFileSync(path.join(dataDir, 'report.md'), report.markdown);
    process.stdout.write(`\n${report.text}\n\nMarkdown: ${path.join(dataDir, 'report.md')}\n`);
    return report.missed.length === 0 ? 0 : 1;
  } finally {
    await db.destroy();
  }
}

/** A bearer token for a staff or provider user, logged in through the API once and kept. */
function sessionOf(call: ReturnType<typeof drillClient>, username: string, password: string): () => Promise<string> {
  let token: Promise<string> | undefined;
  return () => {
    token ??= until(`login of ${username}`, () => call('POST', '/api/auth/login', { json: { username, password } }), (a) => (a.status === 200 ? (a.json as { token: string }).token : undefined))
      .catch((err: unknown) => {
        token = undefined;
        throw err;
      });
    return token;
  };
}

/**
 * Every second: a page (the catalogue reads PostgreSQL), the readiness check, and a learner's own API list (a
 * signed-in read). Their answers count in the figures of whatever phase is going on.
 */
function probe(call: ReturnType<typeof drillClient>, deps: LearnerDeps) {
  let stopped = false;
  const done = (async () => {
    const token = await deps.staffToken();
    while (!stopped) {
      await Promise.all([
        call('GET', '/catalogue', { html: true }),
        call('GET', '/api/ready'),
        call('GET', '/api/staff/tasks?type=approve-imk', { token }),
      ]);
      await sleep(1_000);
    }
  })();
  return { done, stop: () => { stopped = true; } };
}

/** Waits (bounded) until every journey's case shows its expected stage; returns the stages read last. */
async function settle(db: Knex, driven: readonly DrivenJourney[]): Promise<Map<number, string>> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const rows = await db('cases').whereIn('id', driven.flatMap((j) => (j.caseId ? [j.caseId] : []))).select<{ id: string; stage: string }[]>('id', 'stage');
    const stageOf = new Map(rows.map((r) => [r.id, r.stage]));
    const stages = new Map(driven.flatMap((j) => (j.caseId && stageOf.has(j.caseId) ? [[j.learner.index, stageOf.get(j.caseId)!] as const] : [])));
    const waiting = driven.filter((j) => stages.get(j.learner.index) !== j.learner.scenario.expectedStage).length;
    if (waiting === 0 || Date.now() > deadline) return stages;
    log(`${waiting} journeys not at their expected stage yet`);
    await sleep(5_000);
  }
}

/** Counts e-mails once every expected one has arrived, or after a bounded wait (e-mail retries back off). */
async function settleMail(db: Knex, mailCatcherUrl: string, driven: readonly DrivenJourney[], workerKills: number[]) {
  const expected: ExpectedMail[] = driven.flatMap((j) => (j.caseId ? j.learner.scenario.emails.map((step) => ({ caseId: j.caseId!, step, refused: j.learner.refused })) : []));
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const caught = (await (await fetch(`${mailCatcherUrl}/api/messages`)).json()) as CaughtMail[];
    const outbox = await db('emailOutbox').select<OutboxRow[]>('caseId', 'step', 'status', 'recipient');
    const count = countMail(expected, caught, outbox, workerKills);
    if ((count.missing.length === 0 && count.outboxMismatches.length === 0) || Date.now() > deadline) return count;
    log(`${count.missing.length} e-mails not arrived yet`);
    await sleep(5_000);
  }
}

/** Waits (bounded) until the national platform holds every status and every decision is settled, then compares. */
async function settlePlatform(db: Knex, env: NodeJS.ProcessEnv, driven: readonly DrivenJourney[]): Promise<PlatformCount> {
  const caseIds = driven.flatMap((j) => (j.caseId ? [j.caseId] : []));
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const count = await readPlatform(db, env, caseIds);
    if ((count.waiting === 0 && count.decisions.pending === 0) || Date.now() > deadline) return count;
    log(`${count.waiting} statuses and ${count.decisions.pending} e-address decisions not acknowledged yet`);
    await sleep(2_000);
  }
}

main().then(
  async (code) => {
    await stopAll();
    process.exit(code);
  },
  async (error: unknown) => {
    if (stopRequested()) return;
    process.stderr.write(`\nmake drill failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    await stopAll();
    process.exit(2);
  },
);
