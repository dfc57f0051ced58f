/**
 * The drill's own stack: a fresh data directory, free ports for everything it listens on, the drill's people
 * for the register and sign-on stubs, and an offer with room for every learner who applies.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Knex } from 'knex';
import { rigaEndOfDay } from '../../domain/dates';
import { EXTRA_PEOPLE_VAR } from '../stubs/main';
import { MAIL_CATCHER_WEB, STUBS } from '../stubs/ports';
import { isRunning } from '../services/processes';
import type { DrillLearner } from './scenarios';

/**
 * Empties the drill's data directory for a fresh run, unless another drill still runs on it (its pid is in
 * drill.pid): wiping PostgreSQL's and Temporal's files under a running drill would wreck it.
 */
export function freshDataDir(dataDir: string): void {
  const pidFile = path.join(dataDir, 'drill.pid');
  const other = Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').trim() : 0);
  if (other > 0 && other !== process.pid && isRunning(other)) throw new Error(`another make drill (pid ${other}) is running on ${dataDir}; stop it first`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(pidFile, String(process.pid));
}

/**
 * The ports of `make run` and of the shared test servers: the kernel may hand out one of them while it is free
 * (55432 lies in its ephemeral range), and a `make run` started later would then find it taken.
 */
const RESERVED = new Set([3000, 9464, 9465, 55432, 55433, 7233, 7243, 8233, 8243, 1025, 8025, 4100, 4101, 4102, 4103, 4104]);

/** A port nothing listens on now (the kernel's choice); `pair` also needs the next one free (worker metrics). */
async function freePort(pair = false): Promise<number> {
  for (;;) {
    const port = await listenOnce(0);
    if (RESERVED.has(port) || (pair && RESERVED.has(port + 1))) continue;
    if (!pair || (await listenOnce(port + 1).then(() => true, () => false))) return port;
  }
}

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

/**
 * Variables that would point the stack at someone else's services (a `make run`, the test servers); the drill
 * always starts its own, so they are dropped from the environment it is given.
 */
const FOREIGN = [
  'DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TASK_QUEUE', 'TEMPORAL_UI_URL', 'PUBLIC_URL', 'SESSION_SECRET',
  'MAIL_CATCHER_URL', 'SSO_CLIENT_ID', 'SSO_CLIENT_SECRET', ...STUBS.map((s) => s.urlVar),
];

/** The environment for the drill's stack: every port free and its own, the drill's people for the stubs. */
export async function drillEnv(base: NodeJS.ProcessEnv, dataDir: string, learners: readonly DrillLearner[]): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(base).filter(([key]) => !FOREIGN.includes(key)));
  const peopleFile = path.join(dataDir, 'people.json');
  fs.writeFileSync(peopleFile, JSON.stringify(learners.map((l) => l.person)));
  env[EXTRA_PEOPLE_VAR] = peopleFile;
  for (const variable of ['PORT', 'POSTGRES_PORT', 'TEMPORAL_PORT', 'TEMPORAL_UI_PORT', MAIL_CATCHER_WEB.portVar, ...STUBS.map((s) => s.portVar)]) {
    env[variable] = String(await freePort());
  }
  env.WORKER_METRICS_PORT = String(await freePort(true));
  // Thousands of request lines would bury the drill's own account of what it does; warnings and errors still show.
  env.LOG_LEVEL = base.LOG_LEVEL?.trim() || 'warn';
  return env;
}

/** The demo provider's offer for the drill: published, applications open, one group with room for all. */
export async function insertDrillOffer(db: Knex): Promise<{ offerId: string; groupId: string }> {
  const provider = await db('providers').where({ registrationNumber: '40003000001' }).first<{ id: string }>('id');
  const offerId = randomUUID();
  const groupId = randomUUID();
  await db('offers').insert({
    id: offerId, providerId: provider.id, programme: 'IMK', titleLv: 'Drošības mācības (drill)', titleEn: 'Fault drill course',
    costCents: 20_000, published: true, applicationsOpenAt: '2026-01-01T00:00:00+02:00', applicationsCloseAt: rigaEndOfDay('2027-12-31'),
    groupFormationDeadline: rigaEndOfDay('2028-01-15'),
  });
  await db('offerGroups').insert({ id: groupId, offerId, place: 'Rīga (drill)', startsOn: '2028-02-01', endsOn: '2028-03-01', capacity: 10_000 });
  return { offerId, groupId };
}
