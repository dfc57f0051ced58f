/**
 * The drill's own stack: a fresh data directory, free ports for everything it listens on, the drill's people
 * for the register and sign-on stubs, and an offer with room for every learner who applies.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { rigaEndOfDay } from '../../domain/dates';
import { EXTRA_PEOPLE_VAR } from '../stubs/main';
import { secondStackEnv } from '../services/stack';
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

/** The environment for the drill's stack: every port free and its own, the drill's people for the stubs. */
export async function drillEnv(base: NodeJS.ProcessEnv, dataDir: string, learners: readonly DrillLearner[]): Promise<NodeJS.ProcessEnv> {
  const env = await secondStackEnv(base);
  const peopleFile = path.join(dataDir, 'people.json');
  fs.writeFileSync(peopleFile, JSON.stringify(learners.map((l) => l.person)));
  env[EXTRA_PEOPLE_VAR] = peopleFile;
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
