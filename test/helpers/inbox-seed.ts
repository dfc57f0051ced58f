import type { Knex } from 'knex';
import { rigaDate, rigaEndOfDay } from '../../domain/dates';
import { insertCall } from '../../dev/seed-calls';
import { rebuildCounts } from '../../api/services/inbox-counts';

/** What seedInboxTasks wrote: how many tasks, the instant the due dates were laid around, and the ids it used. */
export interface InboxSeed {
  count: number;
  now: Date;
  users: { staff: string; staff2: string; lead: string };
  callIds: [string, string];
}

const DAY = 86_400_000;

/**
 * A large inbox written straight into Postgres with generate_series: `count` tasks over 300 learners' cases
 * (programmes IMK, DPP, MN), 20 providers and 40 offers (programmes IMK and MN, in two calls or none). Every third
 * task is each of approve-imk, approve-provider and evaluate-offer; state (70 % open, 20 % decided, 10 % cancelled),
 * assignee (none, staff, staff2, lead), due date (long overdue and escalated or not, just overdue, later today, later
 * this week, next week, in two months) and age are spread by hashing the task number, so the dimensions do not move
 * together. Every task has its own workflow id.
 */
export async function seedInboxTasks(db: Knex, opts: { count?: number; now?: Date } = {}): Promise<InboxSeed> {
  const count = opts.count ?? 10_020;
  const now = opts.now ?? new Date();
  const users = await db('users').whereIn('username', ['staff', 'staff2', 'lead']).select<{ id: string; username: string }[]>('id', 'username');
  const userId = (name: string) => users.find((u) => u.username === name)!.id;

  const phases = {
    submissionOpensAt: new Date(now.getTime() - 30 * DAY), submissionClosesAt: new Date(now.getTime() - 10 * DAY),
    evaluationEndsAt: new Date(now.getTime() + 10 * DAY), publicationAt: new Date(now.getTime() + 11 * DAY),
    applicationsOpenAt: new Date(now.getTime() + 12 * DAY), applicationsCloseAt: new Date(now.getTime() + 40 * DAY),
    groupFormationAt: new Date(now.getTime() + 45 * DAY), teachingEndsAt: new Date(now.getTime() + 200 * DAY),
  };
  const callIds: [string, string] = [await insertCall(db, 'SEED-A', phases), await insertCall(db, 'SEED-B', phases)];

  await db.raw(`
    INSERT INTO learners (person_code, first_name, last_name, email, language, terms_version, terms_accepted_at)
    SELECT 'SEED-' || lpad(g::text, 6, '0'), 'Sēklis', 'Nr' || g, 'seed' || g || '@example.lv', 'lv', 'test', now()
    FROM generate_series(0, 299) g`);
  // Cases 0-99 are IMK, 100-199 DPP, 200-299 MN.
  await db.raw(`
    INSERT INTO cases (id, service_case_id, workflow_id, learner_id, programme, stage, channel)
    SELECT gen_random_uuid(), 'SEED-' || lpad(n::text, 6, '0'), 'seed-case:' || n, id,
      (ARRAY['IMK', 'DPP', 'MN'])[1 + n / 100], 'awaiting_approval', 'e-service'
    FROM (SELECT id, (substr(person_code, 6))::int AS n FROM learners WHERE person_code LIKE 'SEED-%') l`);
  await db.raw(`
    INSERT INTO providers (name, registration_number, status)
    SELECT 'Sēklas mācību centrs ' || g || ' SIA', 'SEED-PRV-' || g, 'approved' FROM generate_series(0, 19) g`);
  // Offer k: provider k % 20, programme IMK for k < 20 else MN, call none / A / B by k % 3.
  await db.raw(`
    INSERT INTO offers (provider_id, programme, title_lv, title_en, cost_cents, applications_open_at, applications_close_at,
      group_formation_deadline, state, published, call_id)
    SELECT p.id, CASE WHEN k < 20 THEN 'IMK' ELSE 'MN' END, 'Sēklas kurss ' || k, 'Seed course ' || k, 32000,
      now(), now() + interval '30 days', now() + interval '40 days', 'in_evaluation', false,
      (ARRAY[NULL, ?::uuid, ?::uuid])[1 + k % 3]
    FROM generate_series(0, 39) k JOIN providers p ON p.registration_number = 'SEED-PRV-' || (k % 20)`, callIds);

  const endOfToday = rigaEndOfDay(rigaDate(now));
  let sunday = rigaDate(now);
  while (new Date(`${sunday}T12:00:00Z`).getUTCDay() !== 0) sunday = new Date(Date.parse(`${sunday}T12:00:00Z`) + DAY).toISOString().slice(0, 10);
  const endOfWeek = rigaEndOfDay(sunday);
  // Later this week: halfway between the end of today and the end of Sunday (on a Sunday, next week instead).
  const laterThisWeek = endOfWeek > endOfToday ? new Date((endOfToday.getTime() + endOfWeek.getTime()) / 2) : new Date(endOfWeek.getTime() + 2 * DAY);
  const laterToday = new Date((now.getTime() + endOfToday.getTime()) / 2);

  // The tasks in one statement with the per-row triggers off (foreign key checks, a few hundred microseconds a row:
  // the ids come from the rows just written), then the inbox's counts recounted from the rows, as the migration's
  // backfill does, so a million tasks take seconds, not minutes. (The counts' own triggers are tested with
  // changes of every kind in test/api/inbox-counts.test.ts.)
  await db.transaction(async (trx) => {
    await trx.raw('SET LOCAL session_replication_role = replica');
    await insertTasks(trx, count, now, { laterToday, laterThisWeek, endOfWeek }, users);
    await trx.raw('SET LOCAL session_replication_role = origin');
    await rebuildCounts(trx);
  });
  await db.raw('ANALYZE tasks, cases, offers, learners, providers, inbox_counts');
  return { count, now, users: { staff: userId('staff'), staff2: userId('staff2'), lead: userId('lead') }, callIds };
}

async function insertTasks(db: Knex.Transaction, count: number, now: Date, at: { laterToday: Date; laterThisWeek: Date; endOfWeek: Date },
  users: { id: string; username: string }[]) {
  const userId = (name: string) => users.find((u) => u.username === name)!.id;
  const { laterToday, laterThisWeek, endOfWeek } = at;
  await db.raw(`
    WITH cases_n AS (SELECT id, (substr(service_case_id, 6))::int AS n FROM cases WHERE service_case_id LIKE 'SEED-%'),
    providers_n AS (SELECT id, (substr(registration_number, 10))::int AS n FROM providers WHERE registration_number LIKE 'SEED-PRV-%'),
    offers_n AS (SELECT id, provider_id, (substr(title_en, 13))::int AS n FROM offers WHERE title_en LIKE 'Seed course %'),
    numbered AS (
      SELECT i, i % 3 AS kind,
        (hashint4(i * 7 + 1)::bigint + 2147483648) % 10 AS state_n,
        (hashint4(i * 7 + 2)::bigint + 2147483648) % 4 AS assignee_n,
        (hashint4(i * 7 + 3)::bigint + 2147483648) % 7 AS due_n,
        (hashint4(i * 7 + 4)::bigint + 2147483648) % 300 AS subject_n,
        (hashint4(i * 7 + 5)::bigint + 2147483648) % 3000000 AS age_seconds
      FROM generate_series(1, ?) i
    )
    INSERT INTO tasks (id, case_id, provider_id, offer_id, workflow_id, step, type, state, facts, due_at, escalated_at,
      assignee_id, claimed_at, decision, decided_by_name, decided_at, created_at)
    SELECT gen_random_uuid(),
      CASE WHEN kind = 0 THEN case_ids[1 + subject_n] END,
      CASE WHEN kind = 1 THEN provider_ids[1 + subject_n % 20]
           WHEN kind = 2 THEN offer_provider_ids[1 + subject_n % 40] END,
      CASE WHEN kind = 2 THEN offer_ids[1 + subject_n % 40] END,
      'seed-task:' || i, 'approval', (ARRAY['approve-imk', 'approve-provider', 'evaluate-offer'])[1 + kind],
      CASE WHEN state_n < 7 THEN 'open' WHEN state_n < 9 THEN 'decided' ELSE 'cancelled' END,
      '{}'::jsonb,
      CASE due_n
        WHEN 0 THEN ?::timestamptz - interval '10 days' - i * interval '1 second'
        WHEN 1 THEN ?::timestamptz - interval '10 days' - i * interval '1 second'
        WHEN 2 THEN ?::timestamptz - interval '30 minutes'
        WHEN 3 THEN ?::timestamptz
        WHEN 4 THEN ?::timestamptz
        WHEN 5 THEN ?::timestamptz + interval '3 days' + i * interval '1 second'
        ELSE ?::timestamptz + interval '60 days'
      END,
      CASE WHEN due_n = 0 AND state_n < 7 THEN ?::timestamptz - interval '9 days' END,
      (ARRAY[NULL, ?::uuid, ?::uuid, ?::uuid])[1 + assignee_n],
      CASE WHEN assignee_n > 0 THEN ?::timestamptz - interval '1 day' END,
      CASE WHEN state_n BETWEEN 7 AND 8 THEN 'approve' END,
      CASE WHEN state_n BETWEEN 7 AND 8 THEN 'Sēklas lēmējs' END,
      CASE WHEN state_n BETWEEN 7 AND 8 THEN ?::timestamptz - interval '1 hour' END,
      ?::timestamptz - age_seconds * interval '1 second'
    -- The subjects by number, looked up once (not per task), so a million tasks take seconds.
    FROM numbered, (SELECT ARRAY(SELECT id FROM cases_n ORDER BY n) AS case_ids, ARRAY(SELECT id FROM providers_n ORDER BY n) AS provider_ids,
      ARRAY(SELECT id FROM offers_n ORDER BY n) AS offer_ids, ARRAY(SELECT provider_id FROM offers_n ORDER BY n) AS offer_provider_ids) subjects`,
  [count, now, now, now, laterToday, laterThisWeek, endOfWeek, now, now, userId('staff'), userId('staff2'), userId('lead'), now, now, now]);
}
