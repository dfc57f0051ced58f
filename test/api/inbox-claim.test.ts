import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import { insertOffer, insertProvider, insertProviderTask } from '../helpers/catalogue';
import { assertError, fieldsOf, httpClient } from '../helpers/http';
import { eventually } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';

// Claiming, releasing and assigning inbox tasks: who may, what a colleague is told, the history rows with the
// staff member's name, two staff claiming at once, and decisions on a claimed task (through the real workflow).

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
let tokens: { staff: string; staff2: string; lead: string; admin: string };
let users: Record<'staff' | 'staff2' | 'lead' | 'admin', { id: string; displayName: string }>;

test.before(async () => {
  stack = await startTestStack({ manualApproval: ['IMK'] });
  tokens = { staff: await stack.staffToken('staff'), staff2: await stack.staffToken('staff2'), lead: await stack.staffToken('lead'), admin: await stack.adminToken() };
  const rows = await stack.db('users').whereIn('username', ['staff', 'staff2', 'lead', 'admin']).select('id', 'displayName', 'username');
  users = Object.fromEntries(rows.map((u: { id: string; displayName: string; username: string }) => [u.username, { id: u.id, displayName: u.displayName }])) as typeof users;
});
test.after.always(async () => { await stack?.stop(); });

interface TaskView { id: string; state: string; assigneeId: string | null; assigneeName: string | null; claimedAt: string | null }
interface Result { changed: boolean; task: TaskView }

const decode = (html: string) => html.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&').replace(/&#x27;/g, "'").replace(/&quot;/g, '"');
const act = (token: string, taskId: string, action: 'claim' | 'unclaim' | 'assign', json: Record<string, unknown> = {}) =>
  call('POST', `/api/staff/tasks/${taskId}/${action}`, { token, json });

let n = 0;
// An open learner task as the journey's activity writes it, on a case of its own, at stage awaiting_approval.
async function learnerTask(): Promise<{ taskId: string; caseId: string }> {
  n += 1;
  const [learner] = await stack.db('learners').insert({
    personCode: `CLAIM-${n}-${randomUUID().slice(0, 6)}`, firstName: 'Ilga', lastName: `Ņemšana${n}`, email: `claim${n}@example.lv`,
    language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning('id');
  const caseId = randomUUID();
  await stack.db('cases').insert({
    id: caseId, serviceCaseId: `CLAIM-${caseId.slice(0, 8)}`, workflowId: `test-claim:${caseId}`, learnerId: (learner as { id: string }).id,
    programme: 'IMK', stage: 'awaiting_approval', channel: 'e-service',
  });
  const taskId = randomUUID();
  await stack.db('tasks').insert({
    id: taskId, caseId, workflowId: `test-claim:${caseId}`, step: 'approval', type: 'approve-imk', state: 'open', facts: '{}',
    dueAt: new Date(Date.now() + 86_400_000),
  });
  return { taskId, caseId };
}

async function caseHistory(caseId: string) {
  return stack.db('caseEvents').where({ caseId }).whereLike('kind', 'task_%').orderBy('id')
    .select('step', 'kind', 'stage', 'actorRole', 'actorId', 'actorName', 'channel', 'details');
}

function ok(t: ExecutionContext, answer: { status: number; text: string; json: unknown }): Result {
  t.is(answer.status, 200, answer.text);
  return answer.json as Result;
}

test('a staff member claims an open task; a colleague is told who has it; claiming again changes nothing', async (t) => {
  const { taskId, caseId } = await learnerTask();
  const claimed = ok(t, await act(tokens.staff, taskId, 'claim'));
  t.like(claimed, { changed: true, task: { id: taskId, assigneeId: users.staff.id, assigneeName: users.staff.displayName } });
  t.truthy(claimed.task.claimedAt);

  const refused = assertError(t, await act(tokens.staff2, taskId, 'claim'), 409, 'claimed_by_other');
  t.is(refused.message, `Claimed by ${users.staff.displayName}`);
  t.deepEqual(refused.details, [{ assigneeId: users.staff.id, assigneeName: users.staff.displayName }]);

  t.like(ok(t, await act(tokens.staff, taskId, 'claim')), { changed: false, task: { assigneeId: users.staff.id } });
  const history = await caseHistory(caseId);
  t.is(history.length, 1, 'one history row: the claim that changed something');
  t.like(history[0], {
    step: `task-claimed:${taskId}:1`, kind: 'task_claimed', stage: 'awaiting_approval', actorRole: 'staff', actorId: users.staff.id,
    actorName: users.staff.displayName, channel: 'staff', details: { taskId, taskType: 'approve-imk', assigneeId: users.staff.id, assigneeName: users.staff.displayName },
  });
});

test('the learner does not see the agency\'s inbox work in their own journey; staff see it in the case history', async (t) => {
  const { taskId, caseId } = await learnerTask();
  ok(t, await act(tokens.staff, taskId, 'claim'));
  const personCode = (await stack.db('cases').join('learners', 'learners.id', 'cases.learnerId').where('cases.id', caseId).first('learners.personCode')).personCode as string;
  const learner = await stack.tokenFor('learner', personCode);
  const own = await call('GET', `/api/learner/journeys/${caseId}`, { token: learner });
  t.is(own.status, 200, own.text);
  t.false(own.text.includes('task_claimed'), 'no inbox events in the learner\'s view');
  t.is((await caseHistory(caseId)).length, 1, 'the claim is in the case history');
  const page = await call('GET', `/staff/tasks/${taskId}`, { token: tokens.staff2, html: true });
  t.true(decode(page.text).includes(users.staff.displayName));
});

test('only the assignee or a team lead releases a task; each release is in the history with the name', async (t) => {
  const { taskId, caseId } = await learnerTask();
  ok(t, await act(tokens.staff, taskId, 'claim'));
  const refused = assertError(t, await act(tokens.staff2, taskId, 'unclaim'), 403, 'not_your_task');
  t.true(refused.message.includes(users.staff.displayName), refused.message);

  t.like(ok(t, await act(tokens.staff, taskId, 'unclaim')), { changed: true, task: { assigneeId: null, assigneeName: null, claimedAt: null } });
  t.like(ok(t, await act(tokens.staff2, taskId, 'unclaim')), { changed: false }, 'releasing an unassigned task changes nothing');
  ok(t, await act(tokens.staff2, taskId, 'claim'));
  t.like(ok(t, await act(tokens.lead, taskId, 'unclaim')), { changed: true, task: { assigneeId: null } }, 'a team lead releases a colleague\'s task');

  const history = await caseHistory(caseId);
  t.deepEqual(history.map((e: { step: string }) => e.step), [
    `task-claimed:${taskId}:1`, `task-unclaimed:${taskId}:1`, `task-claimed:${taskId}:2`, `task-unclaimed:${taskId}:2`,
  ]);
  t.deepEqual(history.map((e: { actorName: string }) => e.actorName), [users.staff.displayName, users.staff.displayName, users.staff2.displayName, users.lead.displayName]);
  t.like(history[3], { details: { previousAssigneeId: users.staff2.id, previousAssigneeName: users.staff2.displayName } });
});

test('only team leads assign, and only to an active member of the agency staff', async (t) => {
  const { taskId, caseId } = await learnerTask();
  const notLead = assertError(t, await act(tokens.staff, taskId, 'assign', { assigneeId: users.staff2.id }), 403, 'team_lead_only');
  t.regex(notLead.message, /team lead/);
  assertError(t, await act(tokens.admin, taskId, 'assign', { assigneeId: users.staff2.id }), 403, 'team_lead_only');

  const provider = await stack.db('users').where({ username: 'provider' }).first('id');
  const [inactive] = await stack.db('users').insert({ username: `gone-${randomUUID().slice(0, 6)}`, displayName: 'Bijusī Darbiniece', role: 'staff', passwordHash: 'x', active: false }).returning('id');
  for (const assigneeId of [provider.id, (inactive as { id: string }).id, randomUUID(), 'not-a-user', undefined]) {
    const error = assertError(t, await act(tokens.lead, taskId, 'assign', assigneeId === undefined ? {} : { assigneeId }), 400, 'invalid_request');
    t.deepEqual(fieldsOf(error), ['assigneeId'], String(assigneeId));
    t.true(error.message.includes('assigneeId:'), error.message);
  }

  ok(t, await act(tokens.staff, taskId, 'claim'));
  t.like(ok(t, await act(tokens.lead, taskId, 'assign', { assigneeId: users.staff2.id })),
    { changed: true, task: { assigneeId: users.staff2.id, assigneeName: users.staff2.displayName } }, 'a team lead takes a task from one colleague to another');
  t.like(ok(t, await act(tokens.lead, taskId, 'assign', { assigneeId: users.staff2.id })), { changed: false });
  t.like(ok(t, await act(tokens.lead, taskId, 'assign', { assigneeId: users.admin.id })), { changed: true, task: { assigneeId: users.admin.id } }, 'administrators take tasks too');

  const history = await caseHistory(caseId);
  t.deepEqual(history.map((e: { kind: string }) => e.kind), ['task_claimed', 'task_assigned', 'task_assigned']);
  t.like(history[1], {
    step: `task-assigned:${taskId}:1`, actorName: users.lead.displayName,
    details: { assigneeId: users.staff2.id, assigneeName: users.staff2.displayName, previousAssigneeId: users.staff.id, previousAssigneeName: users.staff.displayName },
  });

  await stack.db('tasks').where({ id: taskId }).update({ state: 'cancelled' });
  assertError(t, await act(tokens.lead, taskId, 'assign', { assigneeId: users.staff.id }), 409, 'task_not_open');
  assertError(t, await act(tokens.staff, taskId, 'claim'), 409, 'task_not_open');
  assertError(t, await act(tokens.admin, taskId, 'unclaim'), 409, 'task_not_open');
  assertError(t, await act(tokens.staff, randomUUID(), 'claim'), 404, 'task_not_found');
  t.deepEqual(fieldsOf(assertError(t, await act(tokens.staff, 'abc', 'claim'), 400, 'invalid_request')), ['taskId']);
});

test('a claimed or decided task cannot be claimed; a session whose user was deactivated cannot claim', async (t) => {
  const { taskId } = await learnerTask();
  await stack.db('tasks').where({ id: taskId }).update({ state: 'decided', decision: 'approve', decidedByName: 'Inese Kļaviņa', decidedAt: new Date() });
  const error = assertError(t, await act(tokens.staff2, taskId, 'claim'), 409, 'already_decided');
  t.true(error.message.includes('Inese Kļaviņa'));
  // Every session of a password user is read with its user row, so one without an active user ends at once.
  const strangerId = randomUUID();
  const stranger = await stack.tokenFor('staff', strangerId, 'Nav Lietotāja');
  await stack.db('users').where({ id: strangerId }).update({ active: false });
  assertError(t, await act(stranger, (await learnerTask()).taskId, 'claim'), 401, 'session_ended');
  assertError(t, await act(await stack.tokenFor('learner', '010180-10007'), taskId, 'claim'), 403, 'forbidden');
});

test('claims on provider and offer tasks go into the provider\'s or the offer\'s history at its current state', async (t) => {
  const providerId = await insertProvider(stack.db, { status: 'awaiting_approval' });
  const providerTask = await insertProviderTask(stack.db, { type: 'approve-provider', providerId });
  const offer = await insertOffer(stack.db, { providerId, state: 'in_evaluation' });
  const offerTask = await insertProviderTask(stack.db, { type: 'evaluate-offer', providerId, offerId: offer.offerId });

  ok(t, await act(tokens.staff, providerTask, 'claim'));
  ok(t, await act(tokens.lead, offerTask, 'assign', { assigneeId: users.staff2.id }));
  const events = await stack.db('providerEvents').where({ providerId }).whereLike('kind', 'task_%').orderBy('id');
  t.is(events.length, 2);
  t.like(events[0], { offerId: null, workflowId: `test-approve-provider:${providerTask}`, step: `task-claimed:${providerTask}:1`, kind: 'task_claimed', state: 'awaiting_approval', actorName: users.staff.displayName });
  t.like(events[1], { offerId: offer.offerId, step: `task-assigned:${offerTask}:1`, kind: 'task_assigned', state: 'in_evaluation', actorName: users.lead.displayName });

  // The task page's history shows them in words with the names.
  const page = decode((await call('GET', `/staff/tasks/${offerTask}?lang=en`, { token: tokens.staff, html: true })).text);
  t.true(page.includes(`Task assigned to ${users.staff2.displayName} (was with —)`), 'the history names the new assignee');
});

test('two staff claiming the same task at once: exactly one wins, the other is told who', async (t) => {
  for (let round = 0; round < 10; round += 1) {
    const { taskId, caseId } = await learnerTask();
    const answers = await Promise.all([act(tokens.staff, taskId, 'claim'), act(tokens.staff2, taskId, 'claim')]);
    t.deepEqual(answers.map((a) => a.status).sort(), [200, 409], answers.map((a) => a.text).join(' / '));
    const winner = answers[0].status === 200 ? users.staff : users.staff2;
    const loser = answers[0].status === 200 ? answers[1] : answers[0];
    t.is(assertError(t, loser, 409, 'claimed_by_other').message, `Claimed by ${winner.displayName}`);
    t.like(await stack.db('tasks').where({ id: taskId }).first(), { assigneeId: winner.id });
    const history = await caseHistory(caseId);
    t.is(history.length, 1, 'one claim in the history');
    t.is(history[0].actorName, winner.displayName);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Decisions through the real workflow

async function journeyTask(code: string, lastName: string): Promise<{ taskId: string; caseId: string }> {
  stack.registry.setPerson({ personCode: code, firstName: 'Laimdota', lastName, birthDate: '1984-03-02', deceased: false, address: 'Rīga', note: 'test' });
  const token = await stack.tokenFor('learner', code, `Laimdota ${lastName}`);
  const created = await call('POST', '/api/learner/journeys', {
    token, json: { requestId: randomUUID(), email: `journey-${code}@example.lv`, language: 'lv', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION },
  });
  if (created.status !== 201) throw new Error(created.text);
  const { caseId } = created.json as { caseId: string };
  const taskId = await eventually(async () => (await stack.db('tasks').where({ caseId, state: 'open' }).first('id'))?.id as string | undefined, 'the approval task');
  return { taskId, caseId };
}

test('a decision on a task a colleague claimed is refused naming them; deciding an unclaimed task makes the decider its assignee', async (t) => {
  const claimed = await journeyTask('020384-10001', 'Pirmā');
  ok(t, await act(tokens.staff2, claimed.taskId, 'claim'));
  const refused = assertError(t, await call('POST', `/api/staff/tasks/${claimed.taskId}/decision`, { token: tokens.staff, json: { decision: 'approve' } }), 409, 'claimed_by_other');
  t.is(refused.message, `Claimed by ${users.staff2.displayName}`);
  t.like(await stack.db('tasks').where({ id: claimed.taskId }).first(), { state: 'open', decision: null }, 'nothing changed');
  const page = decode((await call('GET', `/staff/tasks/${claimed.taskId}`, { token: tokens.staff, html: true })).text);
  t.false(page.includes(`action="/staff/tasks/${claimed.taskId}/decision"`), 'no decision form on a colleague\'s task');
  t.true(page.includes(`Šo uzdevumu ir paņēmis(-usi) ${users.staff2.displayName}`));
  const decided = await call('POST', `/api/staff/tasks/${claimed.taskId}/decision`, { token: tokens.staff2, json: { decision: 'approve' } });
  t.is(decided.status, 200, decided.text);

  const unclaimed = await journeyTask('020384-10002', 'Otrā');
  const byStaff = await call('POST', `/api/staff/tasks/${unclaimed.taskId}/decision`, { token: tokens.staff, json: { decision: 'approve' } });
  t.is(byStaff.status, 200, byStaff.text);
  t.like(await stack.db('tasks').where({ id: unclaimed.taskId }).first(), { state: 'decided', assigneeId: users.staff.id, decidedByName: users.staff.displayName });
  assertError(t, await act(tokens.staff2, unclaimed.taskId, 'claim'), 409, 'already_decided');
});

// ---------------------------------------------------------------------------------------------------------------
// The pages

test('the list\'s claim button claims and comes back to the same view with a status message', async (t) => {
  const { taskId } = await learnerTask();
  const list = decode((await call('GET', '/staff/tasks?sort=age&type=approve-imk', { token: tokens.staff, html: true })).text);
  t.regex(list, new RegExp(`<form method="post" action="/staff/tasks/${taskId}/claim" class="inline"><input type="hidden" name="_csrf" value="[^"]+"><input type="hidden" name="back" value="type=approve-imk&sort=age">`));
  const posted = await call('POST', `/staff/tasks/${taskId}/claim`, { token: tokens.staff, html: true, form: { back: 'type=approve-imk&sort=age' } });
  t.is(posted.status, 303);
  t.is(posted.headers.get('location'), '/staff/tasks?type=approve-imk&sort=age&done=claimed');
  const after = decode((await call('GET', '/staff/tasks?type=approve-imk&sort=age&done=claimed&lang=en', { token: tokens.staff, html: true })).text);
  t.regex(after, /<div role="status" class="status-message"><p class="notice panel">The task is yours now.<\/p><\/div>/);
  t.regex(after, new RegExp(`<strong>${users.staff.displayName} \\(you\\)</strong>`));

  // A back value that is not a view of the inbox goes to the task instead (no redirect elsewhere).
  const other = await learnerTask();
  const odd = await call('POST', `/staff/tasks/${other.taskId}/claim`, { token: tokens.staff, html: true, form: { back: '//evil.example/x' } });
  t.is(odd.headers.get('location'), `/staff/tasks/${other.taskId}?done=claimed`);

  // A colleague's click on the same task shows the task with who has it.
  const late = await call('POST', `/staff/tasks/${taskId}/claim`, { token: tokens.staff2, html: true, form: {} });
  t.is(late.status, 409);
  t.regex(decode(late.text), new RegExp(`<p class="form-error" role="alert">Šo uzdevumu jau ir paņēmis\\(-usi\\) ${users.staff.displayName}.</p>`), 'said in the page\'s language');
});

test('the task page offers claim, release and (to team leads) assignment as real buttons and forms', async (t) => {
  const { taskId } = await learnerTask();
  const page = (token: string) => call('GET', `/staff/tasks/${taskId}?lang=en`, { token, html: true }).then((a) => decode(a.text));
  const fresh = await page(tokens.staff);
  t.true(fresh.includes('Nobody has claimed this task yet.'));
  t.regex(fresh, new RegExp(`<form method="post" action="/staff/tasks/${taskId}/claim" class="inline"><input type="hidden" name="_csrf" value="[^"]+"><button type="submit">Claim this task</button></form>`));
  t.false(fresh.includes(`/staff/tasks/${taskId}/assign`), 'no assignment form for staff who are not team leads');

  const asLead = await page(tokens.lead);
  t.regex(asLead, /<label for="assigneeId">Assign to a colleague<\/label>/);
  t.true(asLead.includes(`<option value="${users.staff2.id}" >${users.staff2.displayName}</option>`));

  const assigned = await call('POST', `/staff/tasks/${taskId}/assign`, { token: tokens.lead, html: true, form: { assigneeId: users.staff2.id } });
  t.is(assigned.status, 303);
  t.is(assigned.headers.get('location'), `/staff/tasks/${taskId}?done=assigned`);
  const mine = await call('GET', `/staff/tasks/${taskId}?done=assigned&lang=en`, { token: tokens.staff2, html: true }).then((a) => decode(a.text));
  t.true(mine.includes('The task has been assigned.'));
  t.true(mine.includes(`Claimed by you (${users.staff2.displayName})`));
  t.regex(mine, /<button type="submit" class="secondary">Release the task<\/button>/);
  t.true(mine.includes(`action="/staff/tasks/${taskId}/decision"`), 'the assignee decides');

  const bad = await call('POST', `/staff/tasks/${taskId}/assign`, { token: tokens.lead, html: true, form: { assigneeId: randomUUID() } });
  t.is(bad.status, 400);
  t.regex(decode(bad.text), /<p class="field-error" id="assigneeId-error">Kolēģis: jābūt aktīvam aģentūras darbiniekam.<\/p>/);
});
