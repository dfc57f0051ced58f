import test from 'ava';
import { randomUUID } from 'node:crypto';
import { checkConsistency } from '../../api/services/consistency';
import { stuckGroups } from '../../api/services/stuck-view';
import { learnerJourney } from '../../workflows/learner-journey';
import { sealMessage } from '../../lib/stuck-index';
import { sweepStuckIndex } from '../../worker/stuck-sweep';
import { assertError, httpClient } from '../helpers/http';
import { adultMaker, eventually, startLearnerJourney, untilStage } from '../helpers/journeys';
import { testDataConverter } from '../helpers/payload-keys';
import { startTestStack, type TestStack } from '../helpers/stack';

// Issue 17 item 1: the stuck view reads the stuck index the worker's activity interceptor keeps, not Temporal.
// A Population Register outage puts journeys into it as their lookups fail and takes them out when a lookup
// succeeds; a stuck journey terminated from the console leaves it at once, one terminated behind the console's back
// at the sweep; and the consistency check catches a row Temporal does not bear out.

let stack: TestStack;
let admin: string;
const call = httpClient(() => stack.appUrl);
const newPerson = adultMaker(() => stack.registry, { prefix: '36', lastName: 'Iestrēdze', birthDate: '1985-05-05', note: 'stuck index test' });

test.before(async () => {
  stack = await startTestStack();
  admin = await stack.adminToken();
});
test.after.always(async () => {
  stack?.registry.setDown(false);
  await stack?.stop();
});

interface StuckAnswer {
  total: number; leftOut: number;
  groups: { cause: string; count: number; leftOut: number; workflows: { workflowId: string; activityType: string | null; attempt: number; lastFailure: string; nextRetryAt: string | null }[] }[];
}

async function stuckView(): Promise<StuckAnswer> {
  const answer = await call('GET', '/api/admin/stuck', { token: admin });
  if (answer.status !== 200) throw new Error(`stuck view: HTTP ${answer.status} ${answer.text}`);
  return answer.json as StuckAnswer;
}

const listed = (view: StuckAnswer, workflowId: string) => view.groups.flatMap((g) => g.workflows).find((w) => w.workflowId === workflowId);

/** Journeys held up by the register's outage, each listed in the stuck view. */
async function stuckJourneys(names: string[]) {
  stack.registry.setDown(true);
  const journeys: Awaited<ReturnType<typeof startLearnerJourney>>[] = [];
  for (const name of names) journeys.push(await startLearnerJourney(stack.temporal, stack.taskQueue, newPerson(name).code));
  await eventually(async () => {
    const view = await stuckView();
    return journeys.every((j) => listed(view, j.handle.workflowId)) || null;
  }, 'the journeys in the stuck view', 30_000);
  return journeys;
}

test.serial('a registry outage puts journeys in the stuck view from the index, and they leave it when the register is back', async (t) => {
  const journeys = await stuckJourneys(['Ilma', 'Oskars']);
  const view = await stuckView();
  const group = view.groups.find((g) => listed({ ...view, groups: [g] }, journeys[0]!.handle.workflowId))!;
  t.regex(group.cause, /^Population Register: connection (dropped|refused)$/);
  t.true(group.count >= 2);
  t.is(group.leftOut, 0, 'nothing left out of a small group');
  const shown = listed(view, journeys[0]!.handle.workflowId)!;
  t.is(shown.activityType, 'lookupPerson');
  t.true(shown.attempt >= 3, 'the pending attempt, as Temporal counts it');
  t.true(shown.lastFailure.startsWith('Population Register'), 'the message, decrypted');
  t.truthy(shown.nextRetryAt, 'the next retry, from the retry policy');

  // The rows are the worker's: one per journey, its message stored encrypted as Temporal holds it.
  const rows = await stack.db('stuckIndex').whereIn('workflowId', journeys.map((j) => j.handle.workflowId)).whereNull('resolvedAt');
  t.is(rows.length, 2);
  t.false(Buffer.from(rows[0].message).toString('latin1').includes('Population Register'), 'the message is not stored in clear');
  // A group lists at most its limit and counts the rest as left out (here a limit of 1 instead of GROUP_LISTED).
  const narrow = await stuckGroups(stack.apiDeps, {}, 1);
  t.true(narrow.groups.every((g) => g.workflows.length === 1 && g.leftOut === g.count - 1));
  t.is(narrow.leftOut, narrow.total - narrow.groups.length);
  // The page says where the answer comes from and shows the group.
  const page = await call('GET', '/admin/stuck?lang=en', { token: admin, html: true });
  t.true(page.text.includes(group.cause));
  t.regex(page.text, /failing steps, read from the stuck index/);

  stack.registry.setDown(false);
  for (const j of journeys) await untilStage(stack.db, j.handle, j.caseId, 'imk_approved');
  const after = await stuckView();
  t.false(journeys.some((j) => listed(after, j.handle.workflowId)), 'out of the stuck view once the lookup succeeded');
  const resolved = await stack.db('stuckIndex').whereIn('workflowId', journeys.map((j) => j.handle.workflowId)).select('resolution');
  t.deepEqual(resolved.map((r) => r.resolution), ['succeeded', 'succeeded']);
});

test.serial('a stuck journey terminated from the console leaves the stuck view at once; one terminated behind its back, at the sweep', async (t) => {
  const [byConsole, outside] = await stuckJourneys(['Velta', 'Ansis']);
  const terminated = await call('POST', `/api/admin/workflows/${encodeURIComponent(byConsole!.handle.workflowId)}/actions`, {
    token: admin, json: { action: 'terminate', reason: 'duplicate application' },
  });
  t.is(terminated.status, 200, terminated.text);
  t.falsy(listed(await stuckView(), byConsole!.handle.workflowId), 'gone as soon as the console answers');

  await outside!.handle.terminate('ended with the Temporal CLI');
  t.truthy(listed(await stuckView(), outside!.handle.workflowId), 'the index cannot know yet');
  const swept = await sweepStuckIndex({ db: stack.db, temporal: stack.apiDeps.temporal, taskQueue: stack.taskQueue, logger: stack.apiDeps.logger });
  t.true(swept.resolved >= 1);
  t.falsy(listed(await stuckView(), outside!.handle.workflowId), 'the sweep found it ended');
  const row = await stack.db('stuckIndex').where({ workflowId: outside!.handle.workflowId }).first();
  t.is(row.resolution, 'workflow_closed');
  stack.registry.setDown(false);
});

test.serial('the consistency check flags a forged stuck-index row, and its repair takes the row out of the stuck view once', async (t) => {
  const workflowId = `learner-journey:${randomUUID()}`;
  const runId = randomUUID();
  await stack.db('stuckIndex').insert({
    workflowId, runId, kind: 'activity', activityId: '1', taskQueue: stack.taskQueue, workflowType: 'learnerJourney', activityType: 'lookupPerson',
    attempt: 7, cause: 'Population Register: connection refused', message: await sealMessage(testDataConverter.payloadCodecs!, 'forged'),
    firstFailedAt: new Date(Date.now() - 3_600_000), lastFailedAt: new Date(Date.now() - 3_600_000),
  });
  t.truthy(listed(await stuckView(), workflowId), 'the view trusts the index');
  const report = await checkConsistency({ db: stack.db, temporal: stack.apiDeps.temporal, taskQueue: stack.taskQueue });
  const found = report.violations.find((v) => v.rule === 'stuck_index_disagrees' && v.workflowId === workflowId);
  t.truthy(found, JSON.stringify(report.violations));
  t.is(found!.repair, 'resolve_stuck_row');
  t.regex(found!.message.en, /lists step lookupPerson as failing .* Temporal no longer shows it failing \(workflow: unknown to Temporal\)/);
  t.true(found!.message.lv.length > 0);
  t.true(report.counts.stuckRows >= 1);

  const repair = () => call('POST', '/api/admin/consistency/repairs', { token: admin, json: { rule: found!.rule, subject: found!.subject.id, reason: 'forged by the test' } });
  const first = await repair();
  t.is(first.status, 200, first.text);
  t.true((first.json as { repaired: boolean }).repaired);
  t.false(((await repair()).json as { repaired: boolean }).repaired, 'a second repair changes nothing');
  t.falsy(listed(await stuckView(), workflowId));
  const after = await checkConsistency({ db: stack.db, temporal: stack.apiDeps.temporal, taskQueue: stack.taskQueue });
  t.deepEqual(after.violations.filter((v) => v.rule.startsWith('stuck_')).map((v) => v.subject.id), []);
});

test.serial('a journey whose workflow code fails is found by the sweep among the newest running workflows, and listed by its cause', async (t) => {
  // No input at all: the journey's code throws a TypeError on its first line, so every workflow task fails.
  const broken = await stack.temporal.workflow.start(learnerJourney, { workflowId: `learner-journey:${randomUUID()}`, taskQueue: stack.taskQueue, args: [null as never] });
  const deps = { db: stack.db, temporal: stack.apiDeps.temporal, taskQueue: stack.taskQueue, logger: stack.apiDeps.logger };
  await eventually(async () => (await sweepStuckIndex(deps)).workflowTasks > 0 || null, 'the sweep to find the failing workflow task', 30_000);
  const shown = await eventually(async () => listed(await stuckView(), broken.workflowId), 'the journey in the stuck view');
  t.is(shown.activityType, null);
  t.true(shown.attempt >= 2);
  const group = (await stuckView()).groups.find((g) => g.workflows.some((w) => w.workflowId === broken.workflowId))!;
  t.regex(group.cause, /^learnerJourney: workflow code fails/);
  await broken.terminate('test finished');
  await sweepStuckIndex(deps);
  t.falsy(listed(await stuckView(), broken.workflowId), 'resolved once the run ended');
});

test.serial('a terminate by filter says how many running workflows it leaves out beyond its limit', async (t) => {
  const preview = await call('POST', '/api/admin/batches/preview', { token: admin, json: { action: 'terminate', filter: { type: 'learnerJourney' } } });
  t.is(preview.status, 200, preview.text);
  const body = preview.json as { count: number; leftOut: number; selectLimit: number };
  t.is(body.leftOut, 0);
  t.is(body.selectLimit, 5_000);
  assertError(t, await call('POST', '/api/admin/batches/preview', { token: admin, json: { action: 'retry' } }), 400, 'invalid_request');
});
