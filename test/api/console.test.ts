import test from 'ava';
import { WorkflowExecutionStatusName } from '@temporalio/client';
import { learnerJourney } from '../../workflows/learner-journey';
import { startTestStack, type TestStack } from '../helpers/stack';
import { assertError, fieldsOf, httpClient } from '../helpers/http';
import { eventually, startLearnerJourney, untilStage } from '../helpers/journeys';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';

// The administrators' workflow console against the real dev server, Postgres and API: the stuck view finds a
// journey the Population Register outage holds up, retry now clears it once the register is back (one e-mail),
// terminate takes a reason, and only administrators get in.

const ANNA = '321178-40215';
const JANIS = '150690-11223';
const MARTA = '220288-10458';
const PETERIS = '120345-10001';

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
let admin: string;

test.before(async () => {
  stack = await startTestStack();
  admin = await stack.adminToken();
});
test.after.always(async () => {
  await stack?.stop();
});

interface StuckAnswer {
  scanned: number;
  groups: { cause: string; count: number; workflows: { workflowId: string; activityType: string; attempt: number; lastFailure: string; nextRetryAt: string | null }[] }[];
  overdueTasks: unknown[];
}

test.serial('a journey stuck on the Population Register is found by cause, retried once the register is back, and finishes with one e-mail', async (t) => {
  stack.registry.setDown(true);
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, ANNA);
  try {
    const group = await eventually(async () => {
      const answer = await call('GET', '/api/admin/stuck', { token: admin });
      t.is(answer.status, 200);
      return (answer.json as StuckAnswer).groups.find((g) => g.workflows.some((w) => w.workflowId === handle.workflowId));
    }, 'the journey in the stuck view', 30_000);
    t.regex(group.cause, /^Population Register: connection (dropped|refused)$/);
    const stuck = group.workflows.find((w) => w.workflowId === handle.workflowId)!;
    t.is(stuck.activityType, 'lookupPerson');
    t.true(stuck.attempt >= 3);
    t.true(stuck.lastFailure.startsWith('Population Register'));
    t.truthy(stuck.nextRetryAt, 'the next retry time is shown');

    // The page shows the same group, the workflow links to its own page with the failure and the history.
    const page = await call('GET', '/admin/stuck', { token: admin, html: true });
    t.is(page.status, 200);
    t.true(page.text.includes(group.cause));
    const detail = await call('GET', `/api/admin/workflows/${encodeURIComponent(handle.workflowId)}`, { token: admin });
    t.is(detail.status, 200);
    const body = detail.json as { workflow: { status: string; caseId: string }; failures: { cause: string }[]; events: { event: string; detail: string }[]; pending: { activityType: string }[] };
    t.is(body.workflow.status, 'running');
    t.is(body.workflow.caseId, caseId);
    t.is(body.failures[0].cause, group.cause);
    t.true(body.events.some((e) => e.event === 'activity task scheduled' && e.detail === 'lookupPerson'));

    stack.registry.setDown(false);
    const retried = await call('POST', `/api/admin/workflows/${encodeURIComponent(handle.workflowId)}/actions`, {
      token: admin, json: { action: 'retry', reason: 'Population Register is reachable again' },
    });
    t.is(retried.status, 200, retried.text);
    t.regex((retried.json as { outcome: string }).outcome, /activity restarted: lookupPerson/);

    await untilStage(stack.db, handle, caseId, 'imk_approved');
    await stack.mail.waitFor((m) => m.to.includes(`${ANNA}@example.lv`));
    // The retry resumed the journey; it did not start a second one or repeat its e-mail.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    t.is(stack.mail.messages().filter((m) => m.to.includes(`${ANNA}@example.lv`)).length, 1);
    const after = (await call('GET', '/api/admin/stuck', { token: admin })).json as StuckAnswer;
    t.false(after.groups.some((g) => g.workflows.some((w) => w.workflowId === handle.workflowId)), 'no longer in the stuck view');

    const audit = await stack.db('auditLog').where({ action: 'console.retry' }).first();
    t.like(audit, { actorRole: 'admin', actorName: 'Andris Priede', purpose: 'Population Register is reachable again' });
    t.deepEqual(audit.result.workflowIds, [handle.workflowId]);
  } finally {
    stack.registry.setDown(false);
  }
});

// Each test uses its own person: one person has one open case.
test.serial('retry on a workflow with nothing failing is refused, and the refusal is audited too', async (t) => {
  const { handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, JANIS);
  await eventually(() => stack.db('cases').where({ workflowId: handle.workflowId }).first(), 'the case');
  const answer = await call('POST', `/api/admin/workflows/${encodeURIComponent(handle.workflowId)}/actions`, {
    token: admin, json: { action: 'retry', reason: 'checking whether it moves' },
  });
  assertError(t, answer, 409, 'nothing_to_retry');
  const audit = await stack.db('auditLog').where({ action: 'console.retry', purpose: 'checking whether it moves' }).first();
  t.regex(audit.result.outcome, /^refused: Nothing in this workflow is failing/);
  await handle.terminate('test cleanup');
});

test.serial('terminate needs a reason; with one the workflow is terminated, the reason is in Temporal and in the audit log', async (t) => {
  // Pēteris's journey ends as not eligible (deceased), but only after the register answers; terminate it first.
  stack.registry.setDown(true);
  const { handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, PETERIS);
  const path = `/api/admin/workflows/${encodeURIComponent(handle.workflowId)}/actions`;
  const missing = await call('POST', path, { token: admin, json: { action: 'terminate', reason: '' } });
  t.deepEqual(fieldsOf(assertError(t, missing, 400, 'invalid_request')), ['reason']);
  t.is((await handle.describe()).status.name, 'RUNNING', 'nothing happened without a reason');

  const done = await call('POST', path, { token: admin, json: { action: 'terminate', reason: 'Duplicate registration made by mistake' } });
  t.is(done.status, 200, done.text);
  const described = await handle.describe();
  t.is(described.status.name, 'TERMINATED' as WorkflowExecutionStatusName);
  const history = await handle.fetchHistory();
  const terminated = history.events?.find((e) => e.workflowExecutionTerminatedEventAttributes);
  t.is(terminated?.workflowExecutionTerminatedEventAttributes?.reason, 'Duplicate registration made by mistake (by Andris Priede)');
  const audit = await stack.db('auditLog').where({ action: 'console.terminate' }).first();
  t.like(audit, { actorName: 'Andris Priede', purpose: 'Duplicate registration made by mistake' });
  // Terminate is followed by the cleanup of the read model (issue 11); the outcome says what it closed.
  t.deepEqual(audit.result.workflowIds, [handle.workflowId]);
  t.regex(audit.result.outcome, /^terminated; read model closed \((case|nothing)\)$/);

  const again = await call('POST', path, { token: admin, json: { action: 'terminate', reason: 'once more, to be sure' } });
  assertError(t, again, 409, 'not_running');
  stack.registry.setDown(false);
});

test.serial('the list filters by type, status, case and person; another system\'s workflow is not found', async (t) => {
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, MARTA);
  await eventually(() => stack.db('cases').where({ id: caseId }).first(), 'the case row');
  const list = async (query: string) => {
    const answer = await call('GET', `/api/admin/workflows?${query}`, { token: admin });
    t.is(answer.status, 200, answer.text);
    return answer.json as { workflows: { workflowId: string; type: string; status: string }[]; total: number };
  };
  // Visibility is eventually consistent: wait until the new workflow is listed.
  await eventually(async () => (await list(`caseId=${caseId}`)).total === 1 || null, 'the workflow in visibility');
  t.deepEqual((await list(`caseId=${caseId}`)).workflows.map((w) => w.workflowId), [handle.workflowId]);
  const byPerson = await list(`personCode=${MARTA.replace('-', '')}`);
  t.true(byPerson.workflows.some((w) => w.workflowId === handle.workflowId));
  // Looking a person up is a look at their data: audited with whose.
  t.like(await stack.db('auditLog').where({ action: 'console.search-person' }).first(), { subjectPersonCode: MARTA, actorName: 'Andris Priede' });
  assertError(t, await call('GET', '/api/admin/workflows?pageToken=bm90LWEtdG9rZW4', { token: admin }), 400, 'invalid_request');
  const running = await list('type=learnerJourney&status=running');
  t.true(running.workflows.every((w) => w.type === 'learnerJourney' && w.status === 'running'));
  t.true(running.workflows.some((w) => w.workflowId === handle.workflowId));
  const terminated = await list('status=terminated');
  t.false(terminated.workflows.some((w) => w.workflowId === handle.workflowId));
  t.deepEqual(fieldsOf(assertError(t, await call('GET', '/api/admin/workflows?status=sleeping', { token: admin }), 400, 'invalid_request')), ['status']);
  t.deepEqual(fieldsOf(assertError(t, await call('GET', '/api/admin/workflows?personCode=12', { token: admin }), 400, 'invalid_request')), ['personCode']);

  // A workflow on another task queue belongs to some other system: the console does not show or touch it.
  const foreign = await stack.temporal.workflow.start(learnerJourney, {
    workflowId: `learner-journey:${crypto.randomUUID()}`, taskQueue: `${stack.taskQueue}-elsewhere`,
    args: [{ caseId: crypto.randomUUID(), personCode: JANIS, programme: 'IMK', registration: { email: 'x@example.lv', phone: null, language: 'lv', termsVersion: CURRENT_TERMS_VERSION, termsAcceptedAt: new Date().toISOString() }, actor: { role: 'learner', id: JANIS, name: 'x', channel: 'e-service' }, timing: { approvalDue: '1 day' } }],
  });
  try {
    assertError(t, await call('GET', `/api/admin/workflows/${encodeURIComponent(foreign.workflowId)}`, { token: admin }), 404, 'workflow_not_found');
    assertError(t, await call('POST', `/api/admin/workflows/${encodeURIComponent(foreign.workflowId)}/actions`, { token: admin, json: { action: 'terminate', reason: 'not ours at all' } }), 404, 'workflow_not_found');
  } finally {
    await foreign.terminate('test cleanup');
    await handle.terminate('test cleanup');
  }
});

test.serial('only administrators use the console: staff and learners get 403, nobody logged in 401', async (t) => {
  const staff = await stack.staffToken('staff');
  const learner = await stack.tokenFor('learner', ANNA);
  for (const [method, path] of [['GET', '/api/admin/workflows'], ['GET', '/api/admin/stuck'], ['GET', '/api/admin/workflows/x'], ['POST', '/api/admin/workflows/x/actions']] as const) {
    const json = method === 'POST' ? { action: 'terminate', reason: 'should not work' } : undefined;
    assertError(t, await call(method, path, { token: staff, json }), 403, 'forbidden');
    assertError(t, await call(method, path, { token: learner, json }), 403, 'forbidden');
    assertError(t, await call(method, path, { json }), 401, 'not_logged_in');
  }
  for (const path of ['/admin/stuck', '/admin/workflows']) {
    t.is((await call('GET', path, { token: staff, html: true })).status, 403);
    t.is((await call('GET', path, { token: admin, html: true })).status, 200);
  }
  t.is((await stack.db('auditLog').where({ actorRole: 'staff' }).whereLike('action', 'console.%')).length, 0);
});
