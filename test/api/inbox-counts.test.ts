import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { createTaskActivities } from '../../activities/tasks';
import { rigaDate, rigaEndOfDay } from '../../domain/dates';
import { shift } from '../../domain/holidays';
import type { ApiDeps } from '../../api/deps';
import { inboxQuery } from '../../api/schemas';
import { countCombos, countsDrift, facetCounts } from '../../api/services/inbox-counts';
import { countTaskRows, inboxMoment } from '../../api/services/tasks';
import { httpClient } from '../helpers/http';
import { seedInboxTasks, type InboxSeed } from '../helpers/inbox-seed';
import { startTestStack, type TestStack } from '../helpers/stack';

// Issue 17 item 2: the inbox's counts come from a summary that triggers keep in the same transaction as every task
// row change. Here every kind of change the system makes (claims, releases and assignments over HTTP; decisions,
// withdrawals, escalations and new tasks through the activities; due dates moved, a case's programme and an offer's
// call changed, rows deleted, several rows in one statement) is made at random, and after each round the counts of
// many views, at moments on and around minute, hour and day boundaries, must equal a count over the task rows.

let stack: TestStack;
let seed: InboxSeed;
const call = httpClient(() => stack.appUrl);
let tokens: Record<'staff' | 'staff2' | 'lead', string>;

test.before(async () => {
  stack = await startTestStack();
  seed = await seedInboxTasks(stack.db, { count: 300 });
  tokens = { staff: await stack.staffToken('staff'), staff2: await stack.staffToken('staff2'), lead: await stack.staffToken('lead') };
});
test.after.always(async () => { await stack?.stop(); });

const MINUTE = 60_000;
const HOUR = 3_600_000;

// The moments the counts are compared at: the seed's now, the minute, hour and Riga day it falls in (exactly on
// each boundary), and a millisecond after each.
function moments(now: Date): Date[] {
  const minute = Math.floor(now.getTime() / MINUTE) * MINUTE;
  const hour = Math.floor(now.getTime() / HOUR) * HOUR;
  const day = rigaEndOfDay(shift(rigaDate(now), -1)).getTime();
  return [now.getTime(), minute, minute + 1, hour, day, day - 1].map((t) => new Date(t));
}

// Due times right at and around those moments, where the buckets meet.
function dueTimes(now: Date): Date[] {
  return moments(now).flatMap((m) => [0, -1, 1, -20_000, 20_000, -45 * MINUTE].map((d) => new Date(m.getTime() + d)));
}

function views(callId: string) {
  const raw: Record<string, string>[] = [
    {}, { state: 'all' }, { state: 'decided', assignee: 'mine' }, { assignee: 'unassigned', due: 'today' },
    { due: 'overdue' }, { due: 'week' }, { state: 'all', due: 'overdue' }, { type: 'evaluate-offer', call: callId },
    { programme: 'IMK', assignee: 'mine', due: 'week' }, { programme: 'MN', due: 'overdue', type: 'approve-imk' },
  ];
  return raw.map((r) => inboxQuery.parse(r));
}

// A small deterministic random source, so a failure can be replayed.
function random(seedValue: number) {
  let a = seedValue;
  return () => {
    a = (a + 0x6D2B79F5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function compare(t: ExecutionContext, label: string) {
  const deps = { db: stack.db } as ApiDeps;
  const viewer = seed.users.staff;
  t.deepEqual(await countsDrift(stack.db), [], `${label}: the summary equals a recount of the rows`);
  for (const at of moments(seed.now)) {
    const m = inboxMoment(at);
    const combos = await countCombos(stack.db, m);
    for (const filter of views(seed.callIds[0])) {
      const fromSummary = facetCounts(combos.map((c) => ({ ...c })), filter, viewer);
      t.deepEqual(fromSummary, await countTaskRows(deps, filter, viewer, m), `${label}, at ${at.toISOString()}, ${JSON.stringify(filter)}`);
    }
  }
}

test.serial('the summary\'s counts equal a count over the task rows through random claims, decisions, reassignments, escalations, moves and deletions', async (t) => {
  const rnd = random(17_002);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const activities = createTaskActivities({ db: stack.db });
  const cases = await stack.db('cases').where('serviceCaseId', 'like', 'SEED-%').pluck('id') as string[];
  const offers = await stack.db('offers').where('titleEn', 'like', 'Seed course %').select<{ id: string; providerId: string }[]>('id', 'providerId');
  const due = dueTimes(seed.now);
  const openTask = async (opts: { assigned?: boolean } = {}) => stack.db('tasks').where('state', 'open')
    .where((w) => { if (opts.assigned === false) void w.whereNull('assigneeId'); if (opts.assigned) void w.whereNotNull('assigneeId'); })
    .orderByRaw('random()').first<{ id: string; workflowId: string } | undefined>('id', 'workflowId');
  const anyTask = async () => stack.db('tasks').orderByRaw('random()').first<{ id: string }>('id');

  const operations: Record<string, () => Promise<unknown>> = {
    claim: async () => {
      const task = await openTask({ assigned: false });
      if (task) await call('POST', `/api/staff/tasks/${task.id}/claim`, { token: pick([tokens.staff, tokens.staff2]) });
    },
    release: async () => {
      const task = await openTask({ assigned: true });
      if (task) await call('POST', `/api/staff/tasks/${task.id}/unclaim`, { token: tokens.lead });
    },
    reassign: async () => {
      const task = await openTask();
      if (task) await call('POST', `/api/staff/tasks/${task.id}/assign`, { token: tokens.lead, json: { assigneeId: pick([seed.users.staff, seed.users.staff2]) } });
    },
    decide: async () => {
      const task = await openTask();
      if (task) await activities.closeTask({ taskId: task.id, decision: 'approve', comment: '', decidedBy: { role: 'staff', id: seed.users.lead, name: 'Vadītāja', channel: 'staff' }, decidedAt: new Date().toISOString() });
    },
    withdraw: async () => {
      const task = await openTask();
      if (task) await activities.cancelTask({ taskId: task.id });
    },
    escalate: async () => {
      const task = await openTask();
      if (task) await activities.escalateTask({ taskId: task.id });
    },
    open: async () => {
      const kind = pick(['learner', 'offer', 'provider'] as const);
      const offer = pick(offers);
      await activities.openTask({
        taskId: randomUUID(), workflowId: `counts-test:${randomUUID()}`, step: 'approval', facts: {}, dueAt: pick(due).toISOString(),
        ...(kind === 'learner' ? { caseId: pick(cases), type: 'approve-imk' }
          : kind === 'offer' ? { offerId: offer.id, providerId: offer.providerId, type: 'evaluate-offer' } : { providerId: offer.providerId, type: 'approve-provider' }),
      });
    },
    moveDue: async () => {
      const task = await openTask();
      if (task) await stack.db('tasks').where('id', task.id).update({ dueAt: pick(due) });
    },
    // As the call's evaluation end moving does: several rows in one statement.
    moveManyDue: () => stack.db('tasks').where({ type: 'evaluate-offer', state: 'open' }).whereIn('offerId', [pick(offers).id, pick(offers).id])
      .update({ dueAt: pick(due) }),
    withdrawWorkflow: async () => {
      const task = await openTask();
      if (task) await stack.db('tasks').where({ workflowId: task.workflowId, state: 'open' }).update({ state: 'cancelled' });
    },
    delete: async () => stack.db('tasks').where('id', (await anyTask()).id).delete(),
    caseProgramme: () => stack.db('cases').where('id', pick(cases)).update({ programme: pick(['IMK', 'DPP', 'MN']) }),
    offerCall: () => stack.db('offers').where('id', pick(offers).id).update({ callId: pick([null, ...seed.callIds]) }),
    offerProgramme: () => stack.db('offers').where('id', pick(offers).id).update({ programme: pick(['IMK', 'MN']) }),
  };
  const names = Object.keys(operations);
  await compare(t, 'after seeding');
  for (let round = 1; round <= 3; round += 1) {
    for (let i = 0; i < 30; i += 1) await operations[pick(names)]!();
    // Two at once: the triggers of concurrent transactions add up.
    await Promise.all([operations[pick(names)]!(), operations[pick(names)]!(), operations[pick(names)]!()]);
    await compare(t, `round ${round}`);
  }
});

test.serial('the migration\'s backfill counts the tasks already there, and its down removes the summary', async (t) => {
  const name = '20261210020000_inbox_counts.ts';
  await stack.db.migrate.down({ name });
  const exists = async () => (await stack.db.raw<{ rows: { t: string | null }[] }>("SELECT to_regclass('inbox_counts')::text AS t")).rows[0]!.t !== null;
  t.false(await exists(), 'down drops the summary');
  // Rows written while there is no summary (as before the migration) are counted by its backfill.
  const task = await stack.db('tasks').where('state', 'open').first<{ id: string }>('id');
  await stack.db('tasks').where('id', task.id).update({ state: 'decided', decision: 'approve' });
  await stack.db('tasks').where('state', 'open').whereNull('assigneeId').limit(5).update({ escalatedAt: seed.now });
  await stack.db.migrate.up({ name });
  t.deepEqual(await countsDrift(stack.db), []);
  const { rows } = await stack.db.raw<{ rows: { n: number }[] }>("SELECT coalesce(sum(n), 0)::int AS n FROM inbox_counts WHERE grain = 'day'");
  t.is(rows[0]!.n, Number((await stack.db('tasks').count<{ count: string }[]>('* as count'))[0]!.count));
  await compare(t, 'after the backfill');
});

test.serial('tasks written while their offer moves to another call, or their case to another programme, in another transaction, are counted where they now belong', async (t) => {
  const activities = createTaskActivities({ db: stack.db });
  const offer = await stack.db('offers').where('titleEn', 'like', 'Seed course %').whereNotNull('callId').first<{ id: string; providerId: string; callId: string }>('id', 'providerId', 'callId');
  const otherCall = seed.callIds.find((c) => c !== offer.callId)!;
  const offerTask = await stack.db('tasks').where({ offerId: offer.id, state: 'open' }).first<{ id: string }>('id');
  const pause = () => new Promise((resolve) => { setTimeout(resolve, 300); });

  // The move first: the task writes on other connections wait for it, then count under the new call.
  const move = await stack.db.transaction();
  let writes: Promise<unknown> = Promise.resolve();
  try {
    await move('offers').where('id', offer.id).update({ callId: otherCall });
    writes = Promise.all([
      activities.openTask({ taskId: randomUUID(), workflowId: `counts-test:${randomUUID()}`, step: 'approval', type: 'evaluate-offer',
        offerId: offer.id, providerId: offer.providerId, facts: {}, dueAt: seed.now.toISOString() }),
      stack.db('tasks').where('id', offerTask.id).update({ assigneeId: seed.users.staff2 }),
    ]);
    writes.catch(() => undefined); // awaited below; failing meanwhile is not an unhandled rejection
    await pause();
    await move.commit();
  } finally {
    // A failure must not leave the transaction holding its locks: every later test and the stack's stop would wait.
    if (!move.isCompleted()) await move.rollback();
  }
  await writes;
  t.deepEqual(await countsDrift(stack.db), [], 'writes after the move');

  // A task change first, still open when the case's programme changes: the move waits for it and moves it as it is.
  const learnerTask = await stack.db('tasks').whereNotNull('caseId').where('state', 'open').first<{ id: string; caseId: string }>('id', 'caseId');
  const programme = (await stack.db('cases').where('id', learnerTask.caseId).first<{ programme: string }>('programme')).programme;
  const change = await stack.db.transaction();
  let caseMove: Promise<unknown> = Promise.resolve();
  try {
    await change('tasks').where('id', learnerTask.id).update({ state: 'decided', decision: 'approve' });
    caseMove = stack.db('cases').where('id', learnerTask.caseId).update({ programme: programme === 'MN' ? 'DPP' : 'MN' }).then(() => undefined);
    caseMove.catch(() => undefined);
    await pause();
    await change.commit();
  } finally {
    if (!change.isCompleted()) await change.rollback();
  }
  await caseMove;
  t.deepEqual(await countsDrift(stack.db), [], 'a write before the move');
});

test.serial('the consistency check finds counts that disagree with the tasks, and its repair recounts them (audited)', async (t) => {
  const admin = await stack.adminToken();
  const drift = () => call('GET', '/api/admin/consistency', { token: admin })
    .then((r) => (r.json as { violations: { rule: string; subject: { id: string }; repair: string | null; message: { lv: string; en: string } }[] }).violations
      .filter((v) => v.rule === 'inbox_counts_drift'));
  // A row changed behind the triggers' back.
  await stack.db.raw("UPDATE inbox_counts SET n = n + 2 WHERE ctid = (SELECT ctid FROM inbox_counts WHERE grain = 'day' AND state = 'open' LIMIT 1)");
  const [found] = await drift();
  t.like(found, { subject: { id: 'inbox_counts' }, repair: 'rebuild_inbox_counts' });
  t.regex(found!.message.en, /^The inbox's counts disagree with the tasks in 1 summary rows \(e\.g\. open [a-z-]+: \d+ counted, \d+ tasks\)\.$/);
  t.regex(found!.message.lv, /^Iesūtnes skaitītāji nesakrīt ar uzdevumiem 1 kopsavilkuma rindās/);
  const repaired = await call('POST', '/api/admin/consistency/repairs', { token: admin, json: { rule: 'inbox_counts_drift', subject: 'inbox_counts', reason: 'counts edited by hand' } });
  t.is(repaired.status, 200);
  t.like(repaired.json, { repaired: true, before: { inboxCountRowsDiffering: 1 }, after: { inboxCountRowsDiffering: 0 } });
  t.deepEqual(await countsDrift(stack.db), []);
  const audit = await stack.db('auditLog').where({ action: 'consistency.rebuild_inbox_counts' }).select('purpose');
  t.deepEqual(audit, [{ purpose: 'counts edited by hand' }]);
});
