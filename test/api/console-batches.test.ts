import { randomUUID } from 'node:crypto';
import test from 'ava';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { causeOf } from '../../lib/workflow-failures';
import { decodeDescribed } from '../../lib/payload-decoding';
import type { learnerJourney } from '../../workflows/learner-journey';
import { consoleBatch } from '../../workflows/console-batch';
import { consoleBatchId } from '../../workflows/ids';
import { eventually, openTaskOf, startLearnerJourney, untilStage } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { assertError, fieldsOf, httpClient } from '../helpers/http';

// Batch retry and terminate from the administrators' console, over HTTP against the real dev server, Postgres and
// worker: journeys stuck on an unreachable Population Register are retried in one batch, and the batch reports per
// workflow whether the failure actually cleared.

let stack: TestStack;
let adminToken: string;
const call = httpClient(() => stack.appUrl);

test.before(async () => {
  stack = await startTestStack();
  adminToken = await stack.adminToken();
});
test.after.always(async () => { await stack?.stop(); });

const ADMIN_NAME = 'Andris Priede';

interface Preview { action: string; cause: string | null; count: number; workflows: { workflowId: string; activityType: string | null; attempt: number | null }[] }
interface Counts { pending: number; sent: number; failed: number; cleared: number; stillFailing: number; notFound: number; unverified: number }
interface BatchAnswer {
  batch: { id: string; state: string; total: number; expectedCount: number; reason: string; startedByName: string; counts: Counts };
  items: { workflowId: string; status: string; verified: string | null; detail: string | null }[];
}

/** Twenty adults the Population Register knows (new-format codes), each eligible for IMK. */
const PEOPLE = Array.from({ length: 20 }, (_, i) => ({
  personCode: `32${String(1100 + i).padStart(4, '0')}-${String(50_000 + i)}`,
  firstName: `Batch${i}`, lastName: 'Pārbaude', birthDate: '1984-05-10', deceased: false,
  address: 'Brīvības iela 1, Rīga, LV-1001', municipality: 'Rīga', note: 'console batch test',
}));

// Decoded as the console reads it: Temporal holds the failure messages encrypted (lib/payload-decoding.ts).
async function describe(workflowId: string) {
  return decodeDescribed(stack.temporal.options.loadedDataConverter,
    await stack.temporal.workflowService.describeWorkflowExecution({ namespace: stack.temporal.options.namespace, execution: { workflowId } }));
}

async function batchOf(batchId: string): Promise<BatchAnswer> {
  const answer = await call('GET', `/api/admin/batches/${batchId}`, { token: adminToken });
  if (answer.status !== 200) throw new Error(`batch ${batchId}: HTTP ${answer.status} ${answer.text}`);
  return answer.json as BatchAnswer;
}

async function finished(batchId: string, timeoutMs = 60_000): Promise<BatchAnswer> {
  return eventually(async () => {
    const batch = await batchOf(batchId);
    return batch.batch.state === 'finished' ? batch : null;
  }, `batch ${batchId} to finish`, timeoutMs);
}

test.serial('a batch retry over 20 journeys stuck on the Population Register clears every one, audited', async (t) => {
  t.timeout(180_000);
  for (const person of PEOPLE) stack.registry.setPerson(person);
  stack.registry.setDown(true);
  const journeys: { caseId: string; handle: WorkflowHandle<typeof learnerJourney>; personCode: string }[] = [];
  for (const person of PEOPLE) journeys.push({ ...(await startLearnerJourney(stack.temporal, stack.taskQueue, person.personCode)), personCode: person.personCode });
  const ids = journeys.map((j) => j.handle.workflowId).sort();

  // Stuck by the console's rule: the eligibility lookup has failed and is on its third attempt or later.
  const messages = await eventually(async () => {
    const described = await Promise.all(ids.map(describe));
    const lookups = described.map((d) => d.pendingActivities?.find((a) => a.activityType?.name === 'lookupPerson'));
    return lookups.every((a) => (a?.attempt ?? 0) >= 3 && a?.lastFailure?.message) ? lookups.map((a) => a!.lastFailure!.message!) : null;
  }, 'all 20 lookups to fail three times', 60_000);
  const cause = causeOf('lookupPerson', messages[0]);
  t.regex(cause, /^Population Register: /);
  t.true(messages.every((m) => causeOf('lookupPerson', m) === cause), 'one cause for all 20');

  // The preview: exactly these 20 under that cause (visibility may lag a moment behind the starts).
  const preview = await eventually(async () => {
    const answer = await call('POST', '/api/admin/batches/preview', { token: adminToken, json: { action: 'retry', cause } });
    t.is(answer.status, 200, answer.text);
    const body = answer.json as Preview;
    return body.count === 20 ? body : null;
  }, 'the preview to show 20 stuck journeys');
  t.deepEqual(preview.workflows.map((w) => w.workflowId).sort(), ids);
  t.true(preview.workflows.every((w) => w.activityType === 'lookupPerson' && (w.attempt ?? 0) >= 3));

  // The preview page, as the stuck view's "Retry all 20" form opens it: the count, the reason field, the confirm.
  const page = await call('POST', '/admin/batches/preview', { token: adminToken, html: true, form: { action: 'retry', cause } });
  t.is(page.status, 200, page.text);
  t.regex(page.text, /data-count="20"/);
  t.regex(page.text, /name="reason"/);
  t.regex(page.text, /name="expectedCount" value="20"/);
  t.true(page.text.includes(ids[0]), 'the first workflows are listed');

  // The registry comes back. Start the batch before the journeys' own next attempt would succeed by itself
  // (after attempt 3 fails the next one is 4 s away, then 8 s), so each journey is cleared by the batch.
  await eventually(async () => {
    const described = await Promise.all(ids.map(describe));
    const next = described.map((d) => Number(d.pendingActivities?.[0]?.nextAttemptScheduleTime?.seconds ?? 0) * 1000);
    return next.every((at) => at - Date.now() > 2_500) ? true : null;
  }, 'a quiet moment before the next automatic attempts', 30_000);
  stack.registry.setDown(false);
  const reason = 'Iedzīvotāju reģistrs atkal pieejams (incidents INC-42)';
  // The same confirmation sent twice (a double click) starts one batch: the second answer names the first.
  const confirmation = { action: 'retry', cause, reason, expectedCount: 20, batchId: randomUUID() };
  const [started, twice] = await Promise.all([0, 1].map(() => call('POST', '/api/admin/batches', { token: adminToken, json: confirmation })));
  t.is(started.status, 202, started.text);
  t.is(twice.status, 202, twice.text);
  const { batchId, count } = started.json as { batchId: string; count: number };
  t.is(batchId, confirmation.batchId);
  t.is((twice.json as { batchId: string }).batchId, batchId);
  t.is(count, 20);
  t.is((await stack.db('consoleBatches')).length, 1, 'one batch row');
  t.is((await stack.db('auditLog').where({ action: 'console.batch.retry.start' })).length, 1, 'one start in the audit log');

  // While it runs the page shows progress and refreshes itself.
  const running = await call('GET', `/admin/batches/${batchId}`, { token: adminToken, html: true });
  t.is(running.status, 200, running.text);
  t.regex(running.text, /data-auto-refresh="3"/);
  t.regex(running.text, /<progress id="applied" max="20"/);

  const done = await finished(batchId);
  t.like(done.batch, { total: 20, expectedCount: 20, reason, startedByName: ADMIN_NAME });
  t.like(done.batch.counts, { sent: 20, failed: 0, pending: 0, cleared: 20, stillFailing: 0, notFound: 0, unverified: 0 });
  t.true(done.items.every((i) => i.status === 'sent' && i.verified === 'cleared' && /lookupPerson/.test(i.detail ?? '')), JSON.stringify(done.items[0]));
  const finishedPage = await call('GET', `/admin/batches/${batchId}`, { token: adminToken, html: true });
  t.notRegex(finishedPage.text, /data-auto-refresh/, 'a finished batch stops refreshing');
  for (const id of ids) t.true(finishedPage.text.includes(`href="/admin/workflows/${id}"`), `links to ${id}`);
  t.is((await stack.temporal.workflow.getHandle(consoleBatchId(batchId)).result() as Counts).cleared, 20);

  // Every journey moved on (IMK approves eligible adults automatically) and each learner got exactly one e-mail.
  for (const j of journeys) t.is((await untilStage(stack.db, j.handle, j.caseId, 'imk_approved')).stage, 'imk_approved');
  for (const j of journeys) await stack.mail.waitFor((m) => m.to.includes(`${j.personCode}@example.lv`), 20_000);
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const j of journeys) t.is(stack.mail.messages().filter((m) => m.to.includes(`${j.personCode}@example.lv`)).length, 1, j.personCode);

  // Audited: who, what, which workflows, why, and what happened to each.
  const audits = await stack.db('auditLog').where('action', 'like', 'console.batch.retry%').orderBy('id')
    .select('action', 'actorRole', 'actorName', 'purpose', 'result') as { action: string; actorRole: string; actorName: string; purpose: string; result: { batchId: string; workflowIds: string[]; outcomes?: { status: string }[] } }[];
  const ours = audits.filter((a) => a.result.batchId === batchId);
  t.true(ours.every((a) => a.actorName === ADMIN_NAME && a.actorRole === 'admin' && a.purpose === reason));
  t.deepEqual(ours.find((a) => a.action === 'console.batch.retry.start')?.result.workflowIds.sort(), ids);
  const chunks = ours.filter((a) => a.action === 'console.batch.retry');
  t.is(chunks.length, 2, 'one row per chunk of 10');
  t.deepEqual(chunks.flatMap((a) => a.result.workflowIds).sort(), ids);
  t.true(chunks.every((a) => a.result.outcomes!.every((o) => o.status === 'sent')));

  const list = await call('GET', '/api/admin/batches', { token: adminToken });
  t.true((list.json as { batches: { id: string }[] }).batches.some((b) => b.id === batchId));
  const listPage = await call('GET', '/admin/batches', { token: adminToken, html: true });
  t.is(listPage.status, 200);
  t.true(listPage.text.includes(`href="/admin/batches/${batchId}"`));
  t.is((await call('GET', '/admin/batches/new', { token: adminToken, html: true })).status, 200);
});

test.serial('a batch terminate over a filtered set terminates exactly those, with the reason in Temporal', async (t) => {
  // Three journeys wait for staff (MN is approved by hand): the filter "learnerJourney in awaiting_approval".
  const people = ['150690-11223', '220288-10458', '321178-40215'];
  const journeys = [];
  for (const code of people) {
    const j = await startLearnerJourney(stack.temporal, stack.taskQueue, code, { programme: 'MN' });
    await openTaskOf(stack.db, j.caseId);
    journeys.push(j);
  }
  const ids = journeys.map((j) => j.handle.workflowId).sort();
  const filter = { type: 'learnerJourney', stage: 'awaiting_approval' };
  const preview = await eventually(async () => {
    const answer = await call('POST', '/api/admin/batches/preview', { token: adminToken, json: { action: 'terminate', filter } });
    t.is(answer.status, 200, answer.text);
    const body = answer.json as Preview;
    return body.count === 3 ? body : null;
  }, 'the preview to show the 3 waiting journeys');
  t.deepEqual(preview.workflows.map((w) => w.workflowId).sort(), ids);

  // A terminate whose set grew since the preview is refused: termination cannot be undone.
  const grown = await call('POST', '/api/admin/batches', { token: adminToken, json: { action: 'terminate', filter, reason: 'Testa lietas', expectedCount: 2 } });
  assertError(t, grown, 409, 'count_changed');

  // Through the pages: the preview form, then the confirmation, which redirects to the batch page.
  const previewPage = await call('POST', '/admin/batches/preview', { token: adminToken, html: true, form: { action: 'terminate', ...filter } });
  t.is(previewPage.status, 200, previewPage.text);
  t.regex(previewPage.text, /data-count="3"/);
  const reason = 'Testa lietas, reģistrētas kļūdas pēc';
  const confirmed = await call('POST', '/admin/batches', { token: adminToken, html: true, form: { action: 'terminate', ...filter, reason, expectedCount: '3' } });
  t.is(confirmed.status, 303, confirmed.text);
  const batchId = /\/admin\/batches\/([0-9a-f-]{36})$/.exec(confirmed.headers.get('location') ?? '')?.[1];
  t.truthy(batchId);

  const done = await finished(batchId!);
  t.like(done.batch.counts, { sent: 3, failed: 0, cleared: 3, stillFailing: 0 });
  for (const id of ids) {
    const described = await describe(id);
    t.is(described.workflowExecutionInfo?.status, temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED);
    const history = await stack.temporal.workflowService.getWorkflowExecutionHistoryReverse({
      namespace: stack.temporal.options.namespace, execution: { workflowId: id }, maximumPageSize: 1,
    });
    t.is(history.history?.events?.[0]?.workflowExecutionTerminatedEventAttributes?.reason, `${reason} (by ${ADMIN_NAME})`);
  }
  const audit = await stack.db('auditLog').where({ action: 'console.batch.terminate' }).first() as { actorName: string; purpose: string; result: { workflowIds: string[] } };
  t.like(audit, { actorName: ADMIN_NAME, purpose: reason });
  t.deepEqual([...audit.result.workflowIds].sort(), ids);
});

test.serial('only administrators may use batches and the health panel; anonymous API callers get 401', async (t) => {
  const body = { action: 'retry', cause: 'Population Register: connection dropped' };
  for (const role of ['staff', 'learner', 'provider', 'coordinator'] as const) {
    // Marta Zariņa holds the seeded coordinator grant of Daugavpils (a coordinator session needs a live grant).
    const token = role === 'coordinator'
      ? await stack.signIn({ role, subject: '220288-10458', name: 'Marta Zariņa', municipality: 'Daugavpils' })
      : await stack.tokenFor(role, role === 'learner' ? '321178-40215' : 'someone', 'Not Admin');
    assertError(t, await call('POST', '/api/admin/batches/preview', { token, json: body }), 403, 'forbidden');
    assertError(t, await call('POST', '/api/admin/batches', { token, json: { ...body, reason: 'because', expectedCount: 1 } }), 403, 'forbidden');
    assertError(t, await call('GET', '/api/admin/batches', { token }), 403, 'forbidden');
    assertError(t, await call('GET', '/api/admin/registries/health', { token }), 403, 'forbidden');
    t.is((await call('GET', '/admin/registries', { token, html: true })).status, 403);
    t.is((await call('POST', '/admin/batches/preview', { token, html: true, form: body })).status, 403);
  }
  assertError(t, await call('POST', '/api/admin/batches/preview', { json: body }), 401, 'not_logged_in');
  assertError(t, await call('GET', '/api/admin/batches'), 401, 'not_logged_in');
  assertError(t, await call('GET', '/api/admin/registries/health'), 401, 'not_logged_in');
  const page = await call('GET', '/admin/batches', { html: true });
  t.is(page.status, 302);
  t.regex(page.headers.get('location') ?? '', /^\/staff\/login/);
});

test.serial('a batch needs a reason (400 naming it) and a target; nothing starts without them', async (t) => {
  const before = await stack.db('consoleBatches').count<{ n: string }[]>({ n: '*' });
  const cause = 'Population Register: connection dropped';
  t.deepEqual(fieldsOf(assertError(t, await call('POST', '/api/admin/batches', { token: adminToken, json: { action: 'retry', cause, expectedCount: 1 } }), 400, 'invalid_request')), ['reason']);
  t.deepEqual(fieldsOf(assertError(t, await call('POST', '/api/admin/batches', { token: adminToken, json: { action: 'retry', cause, reason: 'abc', expectedCount: 1 } }), 400, 'invalid_request')), ['reason']);
  t.deepEqual(fieldsOf(assertError(t, await call('POST', '/api/admin/batches/preview', { token: adminToken, json: { action: 'retry' } }), 400, 'invalid_request')), ['cause']);
  t.deepEqual(fieldsOf(assertError(t, await call('POST', '/api/admin/batches/preview', { token: adminToken, json: { action: 'terminate' } }), 400, 'invalid_request')), ['filter']);
  // The confirmation page without a reason comes back with the message next to the field, and nothing happens.
  // Any running workflow will do: an approved journey waits for its application.
  const person = { ...PEOPLE[0], personCode: '321300-60000', firstName: 'Gaida' };
  stack.registry.setPerson(person);
  const waiting = await startLearnerJourney(stack.temporal, stack.taskQueue, person.personCode);
  await untilStage(stack.db, waiting.handle, waiting.caseId, 'imk_approved');
  const form = { action: 'terminate', workflowId: waiting.handle.workflowId, expectedCount: '1' };
  await eventually(async () => {
    const answer = await call('POST', '/api/admin/batches/preview', { token: adminToken, json: { action: 'terminate', filter: { workflowId: form.workflowId } } });
    return (answer.json as { count: number }).count === 1 ? true : null;
  }, 'the waiting journey in the preview');
  const page = await call('POST', '/admin/batches', { token: adminToken, html: true, form: { ...form, reason: ' ' } });
  t.is(page.status, 400);
  t.regex(page.text, /<textarea id="reason"[^>]*aria-invalid="true"/);
  t.regex(page.text, /id="reason-error"/);
  t.regex(page.text, new RegExp(`name="workflowId" value="${form.workflowId}"`), 'the selection is kept');
  t.is((await waiting.handle.describe()).status.name, 'RUNNING');
  // Nothing matches: nothing to start.
  assertError(t, await call('POST', '/api/admin/batches', { token: adminToken, json: { action: 'retry', cause: 'Nothing: at all', reason: 'just checking', expectedCount: 0 } }), 409, 'nothing_to_do');
  t.deepEqual(await stack.db('consoleBatches').count<{ n: string }[]>({ n: '*' }), before);
  assertError(t, await call('GET', '/api/admin/batches/00000000-0000-4000-8000-000000000000', { token: adminToken }), 404, 'batch_not_found');
});

test.serial('a retry that does not help is verified as still failing, checked again, and the batch still finishes', async (t) => {
  // The batch workflow itself, with a short verification pause: the register is still down when it retries.
  const person = { ...PEOPLE[0], personCode: '321300-60001', firstName: 'Ilgonis' };
  stack.registry.setPerson(person);
  stack.registry.setDown(true);
  try {
    const stuck = await startLearnerJourney(stack.temporal, stack.taskQueue, person.personCode);
    await eventually(async () => ((await describe(stuck.handle.workflowId)).pendingActivities?.[0]?.attempt ?? 0) >= 3 ? true : null, 'the lookup to be stuck');
    const batchId = randomUUID();
    await stack.db('consoleBatches').insert({
      id: batchId, action: 'retry', reason: 'still down', filter: { cause: 'Population Register: connection dropped' }, total: 1,
      startedById: 'admin-test', startedByName: ADMIN_NAME,
    });
    await stack.db('consoleBatchItems').insert({ batchId, workflowId: stuck.handle.workflowId });
    const result = await stack.temporal.workflow.execute(consoleBatch, {
      workflowId: consoleBatchId(batchId), taskQueue: stack.taskQueue,
      args: [{ batchId, action: 'retry', reason: 'still down', workflowIds: [stuck.handle.workflowId], admin: { id: 'admin-test', name: ADMIN_NAME }, verifyAfterMs: 400 }],
    });
    t.like(result, { sent: 1, failed: 0, cleared: 0, stillFailing: 1 });
    const history = await stack.temporal.workflow.getHandle(consoleBatchId(batchId)).fetchHistory();
    const verifications = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'verifyConsoleItems');
    t.is(verifications.length, 4, 'checked once, then again three times');
    const answer = await batchOf(batchId);
    t.is(answer.batch.state, 'finished');
    t.like(answer.items[0], { status: 'sent', verified: 'still_failing' });
    const page = await call('GET', `/admin/batches/${batchId}`, { token: adminToken, html: true });
    t.regex(page.text, /data-verified="still_failing"/);
  } finally {
    stack.registry.setDown(false);
  }
});
