import { randomUUID } from 'node:crypto';
import test from 'ava';
import { ScheduleNotFoundError } from '@temporalio/client';
import { decideApprovalUpdate } from '../../workflows/learner-journey';
import { populationRecheck, type PopulationRecheckInput } from '../../workflows/population-recheck';
import { populationRecheckId } from '../../workflows/ids';
import { RECHECK_PURPOSE } from '../../activities/learners';
import { ensureSchedules, recheckPlan, workerScheduleIds } from '../../worker/schedules';
import { seedPeople } from '../../dev/seed-people';
import { startTestStack, type TestStack } from '../helpers/stack';
import { openTaskOf, startLearnerJourney, untilStage } from '../helpers/journeys';

// The periodic Population Register re-check, against the real Temporal dev server and Postgres. The re-check
// workflow is started directly (not by its schedule) with a short interval, so the test runs in seconds.
let stack: TestStack;
test.before(async () => { stack = await startTestStack({ manualApproval: ['IMK'] }); });
test.after.always(async () => { await stack?.stop(); });

const staff = { role: 'staff' as const, id: 'staff-1', name: 'Inese Kļaviņa', channel: 'staff' as const };
const JANIS = '150690-11223';
const ANNA = '321178-40215';
const MARTA = '220288-10458';
const LIGA = '010309-21234';
const UNKNOWN = '010180-12345';
const INTERVAL_MS = 1_500;

const seedPerson = (personCode: string) => seedPeople.find((p) => p.personCode === personCode)!;
const learner = (personCode: string) => stack.db('learners').where({ personCode }).first();
const runRecheck = (input: PopulationRecheckInput) => stack.temporal.workflow.execute(populationRecheck, {
  workflowId: populationRecheckId(`test-${randomUUID()}`), taskQueue: stack.taskQueue, args: [input],
});

test.serial('the six-month re-check deactivates a deceased person and closes their journeys; others are only marked checked', async (t) => {
  // Jānis waits for approval; Marta's journey ended approved (workflow finished, case still open); Anna waits too.
  const janis = await startLearnerJourney(stack.temporal, stack.taskQueue, JANIS);
  const janisTask = await openTaskOf(stack.db, janis.caseId);
  const marta = await startLearnerJourney(stack.temporal, stack.taskQueue, MARTA);
  const martaTask = await openTaskOf(stack.db, marta.caseId);
  await marta.handle.executeUpdate(decideApprovalUpdate, { args: [{ taskId: martaTask.id, decision: 'approve', comment: '', decidedBy: staff }] });
  t.is((await untilStage(stack.db, marta.handle, marta.caseId, 'imk_approved')).stage, 'imk_approved');
  const anna = await startLearnerJourney(stack.temporal, stack.taskQueue, ANNA);
  const annaTask = await openTaskOf(stack.db, anna.caseId);

  stack.registry.setPerson({ ...seedPerson(JANIS), deceased: true, deceasedDate: '2026-11-01' });
  stack.registry.setPerson({ ...seedPerson(MARTA), deceased: true, deceasedDate: '2026-10-15' });
  // Everyone registered above is older than the interval once it has passed.
  await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
  // Līga registered long ago, but the register confirmed her a moment ago: she is not due.
  await stack.db('learners').insert({
    personCode: LIGA, email: 'liga@example.lv', language: 'lv', termsVersion: '2025-09', termsAcceptedAt: new Date(),
    createdAt: new Date('2025-01-01T00:00:00Z'), registerCheckedAt: new Date(),
  });
  const ligaBefore = await learner(LIGA);
  // A learner the register does not know (any more): due, but that is no evidence of death.
  await stack.db('learners').insert({
    personCode: UNKNOWN, email: 'unknown@example.lv', language: 'lv', termsVersion: '2025-09', termsAcceptedAt: new Date(),
    createdAt: new Date('2025-01-01T00:00:00Z'),
  });
  const requestsBefore = stack.registry.requests;

  // One learner per page and two pages per run: four due learners take two continueAsNew on the way.
  const result = await runRecheck({ intervalMs: INTERVAL_MS, batchSize: 1, batchesPerRun: 2 });
  t.deepEqual(result, { checked: 4, deceased: 2, notFound: 1, journeysClosed: 2 });
  t.is(stack.registry.requests - requestsBefore, 4, 'Jānis, Marta, Anna and the unknown asked about once each; Līga not at all');

  // Jānis: account deactivated; his waiting journey took the signal and closed itself, withdrawing the task.
  t.like(await learner(JANIS), { active: false, deactivatedReason: 'deceased' });
  t.truthy((await learner(JANIS)).deactivatedAt);
  t.is((await janis.handle.result()).stage, 'closed');
  const janisCase = await stack.db('cases').where({ id: janis.caseId }).first();
  t.like(janisCase, { stage: 'closed', outcomeReason: 'deceased' });
  t.truthy(janisCase.closedAt);
  t.is((await stack.db('tasks').where({ id: janisTask.id }).first()).state, 'cancelled');

  // Marta: her journey had finished, so the re-check closed the case row itself, with the same event.
  t.like(await learner(MARTA), { active: false, deactivatedReason: 'deceased' });
  const martaCase = await stack.db('cases').where({ id: marta.caseId }).first();
  t.like(martaCase, { stage: 'closed', outcomeReason: 'deceased' });
  t.truthy(martaCase.closedAt);
  const closedEvent = await stack.db('caseEvents').where({ caseId: marta.caseId, step: 'closed' }).first();
  t.like(closedEvent, { kind: 'closed', actorRole: 'system', details: { reason: 'deceased', detail: 'Population Register: deceased 2026-10-15' } });

  // Anna: alive, nothing changed but the date of her check.
  const annaRow = await learner(ANNA);
  t.like(annaRow, { active: true, deactivatedAt: null, deactivatedReason: null });
  t.truthy(annaRow.registerCheckedAt);
  t.like(await stack.db('cases').where({ id: anna.caseId }).first(), { stage: 'awaiting_approval', closedAt: null });
  t.is((await stack.db('tasks').where({ id: annaTask.id }).first()).state, 'open');

  // The unknown learner: still active, marked checked (so not asked about every day), audited as not found.
  t.like(await learner(UNKNOWN), { active: true, deactivatedReason: null });
  t.truthy((await learner(UNKNOWN)).registerCheckedAt);
  t.like(await stack.db('auditLog').where({ subjectPersonCode: UNKNOWN }).first(), { purpose: RECHECK_PURPOSE, result: { found: false } });

  // Līga: not due, untouched.
  t.deepEqual(await learner(LIGA), ligaBefore);

  // Every register query is audited with its purpose.
  const audited = await stack.db('auditLog').where({ purpose: RECHECK_PURPOSE }).select<{ subjectPersonCode: string }[]>('subjectPersonCode');
  t.deepEqual(audited.map((a) => a.subjectPersonCode).sort(), [MARTA, JANIS, ANNA, UNKNOWN].sort());

  // The next run finds nobody due: everyone was just checked (and the deceased are inactive).
  const again = stack.registry.requests;
  t.deepEqual(await runRecheck({ intervalMs: 60_000, batchSize: 10 }), { checked: 0, deceased: 0, notFound: 0, journeysClosed: 0 });
  t.is(stack.registry.requests, again, 'no register query for learners checked recently');
});

test.serial('ensureSchedules creates one schedule, changes nothing when run again, and follows a new interval', async (t) => {
  const idSuffix = `test-${randomUUID()}`;
  // A task queue no worker polls: should the schedule fire during the test, its run does nothing here.
  const taskQueue = `unpolled-${randomUUID()}`;
  const client = stack.temporal;
  let scheduleId: string | undefined;
  t.teardown(async () => {
    if (!scheduleId) return;
    // ensureSchedules makes the worker's other schedules too (audit purge, retention): they go as well.
    for (const id of workerScheduleIds(idSuffix)) {
      const handle = client.schedule.getHandle(id);
      const running = await handle.describe().then((d) => d.info.runningActions).catch(() => []);
      await handle.delete().catch((err: unknown) => { if (!(err instanceof ScheduleNotFoundError)) throw err; });
      for (const action of running) await client.workflow.getHandle(action.workflow.workflowId).terminate('test cleanup').catch(() => undefined);
    }
  });

  const first = await ensureSchedules({ client, taskQueue, recheckIntervalMs: 180 * 86_400_000, idSuffix });
  scheduleId = first.populationRecheck.scheduleId;
  t.is(first.populationRecheck.outcome, 'created');
  const second = await ensureSchedules({ client, taskQueue, recheckIntervalMs: 180 * 86_400_000, idSuffix });
  t.deepEqual(second.populationRecheck, { scheduleId, outcome: 'unchanged' });

  const described = await client.schedule.getHandle(scheduleId).describe();
  t.deepEqual(described.spec.intervals?.map((i) => i.every), [86_400_000], 'the 180-day interval runs daily');
  t.is(described.policies.overlap, 'SKIP');
  t.like(described.action, { workflowType: 'populationRecheck', taskQueue });
  t.deepEqual(described.action.args, [{ intervalMs: 179 * 86_400_000, batchSize: 20 }]);

  // Exactly one re-check schedule of this suffix exists (the list is eventually consistent: poll).
  let listed: string[] = [];
  const otherSchedules = workerScheduleIds(idSuffix).filter((id) => id !== scheduleId);
  for (let attempt = 0; attempt < 50 && listed.length === 0; attempt += 1) {
    listed = [];
    for await (const s of client.schedule.list()) if (s.scheduleId.includes(idSuffix) && !otherSchedules.includes(s.scheduleId)) listed.push(s.scheduleId);
    if (listed.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.deepEqual(listed, [scheduleId]);

  // A changed RECHECK_INTERVAL updates the same schedule.
  const changed = await ensureSchedules({ client, taskQueue, recheckIntervalMs: 9 * 86_400_000, idSuffix });
  t.deepEqual(changed.populationRecheck, { scheduleId, outcome: 'updated' });
  const plan = recheckPlan(9 * 86_400_000);
  const updated = await client.schedule.getHandle(scheduleId).describe();
  t.deepEqual(updated.spec.intervals?.map((i) => i.every), [plan.everyMs]);
  t.deepEqual(updated.action.args, [{ intervalMs: plan.dueAfterMs, batchSize: 20 }]);
  t.is((await ensureSchedules({ client, taskQueue, recheckIntervalMs: 9 * 86_400_000, idSuffix })).populationRecheck.outcome, 'unchanged');
});
