import { randomUUID } from 'node:crypto';
import test from 'ava';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { MY_DATA_SECTIONS, NOT_A_LEARNERS_DATA, PERSON_TIE_COLUMNS } from '../../api/services/my-data';
import { workingDaysDeadline } from '../../domain/working-days';
import { dataSubjectRequestId, retentionScheduleId } from '../../workflows/ids';
import { dataSubjectRequest } from '../../workflows/data-subject-request';
import { ensureRetentionSchedule } from '../../worker/schedules';
import { adultMaker, eventually, registerThroughApi, untilStage } from '../helpers/journeys';
import { startTestStack, TEST_AGENCY_INBOX_EMAIL, type TestStack } from '../helpers/stack';
import { assertError, httpClient, type Answer } from '../helpers/http';

// Data-subject rights (issue 14 part 3) over HTTP against the real app, PostgreSQL and Temporal worker: a learner's
// own data, retention rules applied by their workflow, erasure and correction requests decided in the inbox.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const newPerson = adultMaker(() => stack.registry, { prefix: '36', lastName: 'Datiņa', birthDate: '1984-04-04', note: 'test adult (data-subject rights)' });

interface Export { generatedAt: string; personCode: string; sections: Record<string, Record<string, unknown>[]> }

test('the export has a section for every table that ties a row to a person (checked against the schema)', async (t) => {
  const person = newPerson('Anna');
  const token = await stack.tokenFor('learner', person.code, person.name);
  const answer = await call('GET', '/api/learner/my-data', { token });
  t.is(answer.status, 200, answer.text);
  const sections = Object.keys((answer.json as Export).sections);
  const tables = await stack.db.raw<{ rows: { name: string }[] }>(
    `SELECT DISTINCT table_name AS name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = ANY(?) ORDER BY table_name`,
    [[...PERSON_TIE_COLUMNS]]);
  const personal = tables.rows.map((r) => r.name);
  t.true(personal.length >= 10, `tables found: ${personal.join(', ')}`);
  const uncovered = personal.filter((table) => !sections.includes(table) && !(table in NOT_A_LEARNERS_DATA));
  t.deepEqual(uncovered, [], 'a table holding personal data is neither in the export nor listed as not a learner\'s data');
  t.deepEqual(sections, [...MY_DATA_SECTIONS]);
});

test('a learner downloads their profile, case, events, e-mails, registry queries and who viewed the case; the download is audited', async (t) => {
  const person = newPerson('Baiba');
  const other = newPerson('Cilda');
  const token = await stack.tokenFor('learner', person.code, person.name);
  const { caseId, handle } = await registerThroughApi(call, stack.temporal, token, person);
  await untilStage(stack.db, handle, caseId, 'imk_approved');
  const otherToken = await stack.tokenFor('learner', other.code, other.name);
  await registerThroughApi(call, stack.temporal, otherToken, other);
  // A member of staff looked at the case.
  await stack.db('auditLog').insert({
    actorRole: 'staff', actorId: 'staff-1', actorName: 'Līga Skatītāja', action: 'case.view', subjectPersonCode: person.code, caseId,
    purpose: 'inbox: deciding a task', result: {}, keepUntil: '2030-01-01',
  });

  const answer = await call('GET', '/api/learner/my-data', { token });
  t.is(answer.status, 200, answer.text);
  const data = answer.json as Export;
  t.is(data.personCode, person.code);
  t.is(data.sections.learners.length, 1);
  t.is(data.sections.learners[0].email, `${person.code}@example.lv`);
  t.deepEqual(data.sections.cases.map((c) => c.id), [caseId]);
  t.true(data.sections.case_events.length > 0 && data.sections.case_events.every((e) => e.caseId === caseId));
  t.true(data.sections.email_outbox.some((e) => e.template === 'imk-approved'), JSON.stringify(data.sections.email_outbox));
  t.false(JSON.stringify(data.sections.email_outbox).includes('dedupeKey'));
  t.true(data.sections.audit_log.some((a) => a.action === 'population-register.get-person'), 'the registry query about them');
  t.true(data.sections.audit_log.some((a) => a.action === 'case.view' && a.actorName === 'Līga Skatītāja' && a.actorRole === 'staff'));
  t.true(data.sections.sessions.length >= 1);
  t.false(answer.text.includes('tokenHash') || answer.text.includes('token_hash'), 'no session secrets');
  t.false(answer.text.includes(other.code), 'nothing of another learner');

  const page = await call('GET', '/account/my-data', { token, html: true });
  t.is(page.status, 200);
  t.true(page.text.includes('Dati, ko par Jums glabājam'));
  t.true(page.text.includes('Līga Skatītāja'));
  t.true(page.text.includes('@media print') || page.text.includes('site.css'));
  const english = await call('GET', '/account/my-data?lang=en', { token, html: true });
  t.true(english.text.includes('The data we hold about you') && english.text.includes('Registry queries made about you'));
  const file = await call('GET', '/account/my-data.json', { token });
  t.is(file.status, 200);
  t.regex(file.headers.get('content-disposition') ?? '', /attachment/);
  t.is((file.json as Export).personCode, person.code);

  const audited = await stack.db('auditLog').where({ action: 'my_data.export', subjectPersonCode: person.code }).select('actorId', 'result');
  t.is(audited.length, 4, 'each download is audited');
  t.true(audited.every((a: { actorId: string }) => a.actorId === person.code));
});

test('only the learner themselves: staff, coordinators, providers and anonymous callers are refused', async (t) => {
  const person = newPerson('Dace');
  const staff = await stack.staffToken();
  const today = new Date().toISOString().slice(0, 10);
  await stack.db('roleGrants').insert({
    personCode: person.code, role: 'coordinator', municipality: 'Rīga', municipalityCode: '90000068977', validFrom: today, validUntil: '2099-12-31', grantedBy: 'test',
  });
  const coordinator = await stack.signIn({ role: 'coordinator', subject: person.code, name: person.name, municipality: 'Rīga' });
  const provider = await stack.signIn({ role: 'provider', subject: 'provider-user', providerRole: 'admin' });
  for (const token of [staff, coordinator, provider]) {
    assertError(t, await call('GET', '/api/learner/my-data', { token }), 403, 'forbidden');
    t.is((await call('GET', '/account/my-data', { token, html: true })).status, 403);
  }
  t.is((await call('GET', '/api/learner/my-data')).status, 401);
});

// ----- retention rules -----

const MONTH_MS = 30.5 * 86_400_000;
const monthsAgo = (months: number) => new Date(Date.now() - months * MONTH_MS);

/** A learner with one case per given closing time (null: still open), an e-mail, an event and a registry query per case. */
async function learnerWithCases(firstName: string, closed: (Date | null)[]) {
  const person = newPerson(firstName);
  const [learner] = await stack.db('learners').insert({
    personCode: person.code, firstName, lastName: 'Datiņa', email: `${person.code}@example.lv`, phone: '+37120000000', language: 'lv',
    termsVersion: '1', termsAcceptedAt: monthsAgo(80), createdAt: monthsAgo(80),
  }).returning('id') as { id: string }[];
  const caseIds: string[] = [];
  for (const closedAt of closed) {
    const id = randomUUID();
    caseIds.push(id);
    await stack.db('cases').insert({
      id, serviceCaseId: `T-${id.slice(0, 8)}`, workflowId: `test-retention:${id}`, learnerId: learner.id, programme: 'IMK',
      stage: closedAt ? 'study_completed' : 'imk_approved', channel: 'e-service', balanceCents: 18_000, createdAt: monthsAgo(80), closedAt,
    });
    await stack.db('caseEvents').insert({ caseId: id, step: 'registered', kind: 'registered', stage: 'registered', actorRole: 'learner', actorId: person.code, actorName: person.name, channel: 'e-service', details: { email: `${person.code}@example.lv` } });
    await stack.db('emailOutbox').insert({ caseId: id, step: 'imk-approved', template: 'imk-approved', language: 'lv', recipient: `${person.code}@example.lv`, subject: `${firstName}, konts apstiprināts`, status: 'sent', dedupeKey: `case:${id}:imk-approved` });
    await stack.db('auditLog').insert({ actorRole: 'system', action: 'population-register.get-person', subjectPersonCode: person.code, caseId: id, purpose: 'test', result: {}, keepUntil: '2030-01-01' });
  }
  return { person, learnerId: learner.id, caseIds };
}

/** Runs the retention workflow to its end on the test's worker and returns the runs it recorded, by rule. */
async function runRetention(): Promise<Record<string, { mode: string; count: number }>> {
  const admin = await stack.adminToken();
  const started = await call('POST', '/api/admin/retention/runs', { token: admin });
  if (started.status !== 202) throw new Error(`retention run: HTTP ${started.status} ${started.text}`);
  const { workflowId } = started.json as { workflowId: string };
  await stack.temporal.workflow.getHandle(workflowId).result();
  const rows = await stack.db('retentionRuns').where({ workflowId }).select<{ ruleCode: string; mode: string; count: number }[]>('ruleCode', 'mode', 'count');
  return Object.fromEntries(rows.map((r) => [r.ruleCode, { mode: r.mode, count: r.count }]));
}

test.serial('retention: a dry run counts exactly the due rows and changes nothing; apply changes exactly those; a second run does nothing', async (t) => {
  const admin = await stack.adminToken();
  const due = await learnerWithCases('Elza', [monthsAgo(62), monthsAgo(70)]);
  const recent = await learnerWithCases('Frīda', [monthsAgo(58)]);
  const stillOpen = await learnerWithCases('Gita', [monthsAgo(70), null]);
  const provider = await stack.db('providers').first<{ id: string }>('id');
  const [oldDoc] = await stack.db('documents').insert({ providerId: provider.id, kind: 'retention-old', filename: 'deklaracija.pdf', contentType: 'application/pdf', sizeBytes: 3, sha256: 'a'.repeat(64), content: Buffer.from('old'), uploadedAt: monthsAgo(61) }).returning('id') as { id: string }[];
  const [newDoc] = await stack.db('documents').insert({ providerId: provider.id, kind: 'retention-new', filename: 'jauna.pdf', contentType: 'application/pdf', sizeBytes: 3, sha256: 'b'.repeat(64), content: Buffer.from('new'), uploadedAt: monthsAgo(1) }).returning('id') as { id: string }[];
  const snapshot = async () => ({
    learners: await stack.db('learners').orderBy('id').select('*'), cases: await stack.db('cases').orderBy('id').select('*'),
    outbox: await stack.db('emailOutbox').orderBy('id').select('*'), documents: await stack.db('documents').orderBy('id').select('id', 'filename', 'content', 'deletedAt'),
    audit: await stack.db('auditLog').whereNot('action', 'like', 'retention.%').orderBy('id').select('subjectPersonCode', 'actorId'),
  });

  // Apply is refused before a dry run has counted.
  const early = await call('POST', '/api/admin/retention/rules/closed_case_pseudonymise', { token: admin, json: { mode: 'apply' } });
  const refusal = assertError(t, early, 409, 'dry_run_required');
  t.is(refusal.details[0].field, 'mode');

  const before = await snapshot();
  const dry = await runRetention();
  t.deepEqual(dry, { closed_case_pseudonymise: { mode: 'dry_run', count: 1 }, documents_delete: { mode: 'dry_run', count: 1 } });
  t.deepEqual(await snapshot(), before, 'a dry run changes nothing');
  const listed = (await call('GET', '/api/admin/retention', { token: admin })).json as { rules: { code: string; lastDryRun: { count: number } | null; canApply: boolean }[] };
  t.deepEqual(listed.rules.map((r) => [r.code, r.lastDryRun?.count, r.canApply]), [['closed_case_pseudonymise', 1, true], ['documents_delete', 1, true]]);
  const page = await call('GET', '/admin/retention', { token: admin, html: true });
  t.is(page.status, 200);
  t.true(page.text.includes('Datu glabāšanas noteikumi') && page.text.includes('Pēdējais izmēģinājums: 1'));

  for (const code of ['closed_case_pseudonymise', 'documents_delete']) {
    const switched = await call('POST', `/api/admin/retention/rules/${code}`, { token: admin, json: { mode: 'apply' } });
    t.is(switched.status, 200, switched.text);
    t.is((switched.json as { mode: string }).mode, 'apply');
  }
  t.is(await stack.db('auditLog').where({ action: 'retention.rule_changed' }).count<{ count: string }[]>('* as count').then((r) => Number(r[0].count)), 2, 'each switch is audited');

  const applied = await runRetention();
  t.deepEqual(applied, { closed_case_pseudonymise: { mode: 'apply', count: 1 }, documents_delete: { mode: 'apply', count: 1 } });
  const after = await snapshot();
  // The due learner: identifiers replaced by a stable pseudonym everywhere; amounts, dates and stages kept.
  const pseudonymised = after.learners.find((l: { id: string }) => l.id === due.learnerId);
  t.regex(pseudonymised.personCode, /^PSN-[0-9a-f]{24}$/);
  t.like(pseudonymised, { firstName: null, lastName: null, phone: null });
  t.false(JSON.stringify(after).includes(due.person.code), 'the person code is nowhere any more');
  t.false(JSON.stringify(after).includes('Elza'), 'nor the name');
  t.deepEqual(after.cases.filter((c: { learnerId: string }) => c.learnerId === due.learnerId), before.cases.filter((c: { learnerId: string }) => c.learnerId === due.learnerId), 'cases keep their amounts, dates and stages');
  t.true(after.audit.some((a: { subjectPersonCode: string }) => a.subjectPersonCode === pseudonymised.personCode));
  const events = await stack.db('caseEvents').whereIn('caseId', due.caseIds).select('actorId', 'actorName', 'details');
  t.true(events.every((e: { actorId: string; actorName: string | null }) => e.actorId === pseudonymised.personCode && e.actorName === null));
  // Everyone and everything else unchanged.
  for (const other of [recent, stillOpen]) {
    t.deepEqual(after.learners.find((l: { id: string }) => l.id === other.learnerId), before.learners.find((l: { id: string }) => l.id === other.learnerId));
  }
  t.deepEqual(after.outbox.filter((o: { caseId: string }) => !due.caseIds.includes(o.caseId)), before.outbox.filter((o: { caseId: string }) => !due.caseIds.includes(o.caseId)));
  const docs = new Map(after.documents.map((d: { id: string; deletedAt: Date | null }) => [d.id, d]));
  t.like(docs.get(oldDoc.id), { content: null, filename: '(deleted)' });
  t.truthy(docs.get(oldDoc.id)?.deletedAt, 'a tombstone is kept');
  t.deepEqual(docs.get(newDoc.id), before.documents.find((d: { id: string }) => d.id === newDoc.id));
  const gone = await call('GET', `/staff/documents/${oldDoc.id}`, { token: await stack.staffToken() });
  assertError(t, gone, 410, 'document_deleted');

  const again = await runRetention();
  t.deepEqual(again, { closed_case_pseudonymise: { mode: 'apply', count: 0 }, documents_delete: { mode: 'apply', count: 0 } });
  t.deepEqual(await snapshot(), after, 'a second run changes nothing');
});

test('retention: a bad period is a 400 naming the field in Latvian and English; only administrators', async (t) => {
  const admin = await stack.adminToken();
  const bad = await call('POST', '/api/admin/retention/rules/documents_delete', { token: admin, json: { periodMonths: 0 } });
  const error = assertError(t, bad, 400, 'invalid_request');
  t.is(error.details[0].field, 'periodMonths');
  t.deepEqual((error.details[0] as { words?: unknown }).words, { lv: 'Norādiet veselu mēnešu skaitu no 1 līdz 600.', en: 'Give a whole number of months from 1 to 600.' });
  const page = await call('POST', '/admin/retention/rules/documents_delete', { token: admin, html: true, form: { periodMonths: 'abc', mode: 'dry_run' } });
  t.is(page.status, 400);
  t.true(page.text.includes('Norādiet veselu mēnešu skaitu'));
  assertError(t, await call('POST', '/api/admin/retention/rules/nothing', { token: admin, json: { periodMonths: 12 } }), 400, 'invalid_request');
  assertError(t, await call('GET', '/api/admin/retention', { token: await stack.staffToken() }), 403, 'forbidden');
});

// ----- erasure and correction requests -----

interface RequestView { id: string; kind: string; state: string; outcome: string | null; outcomeReason: string | null; dueAt: string; createdAt: string }

test('a correction request becomes an inbox task due in 5 working days; staff decide it; the learner sees the outcome and gets an e-mail', async (t) => {
  const person = newPerson('Helēna');
  const token = await stack.tokenFor('learner', person.code, person.name);
  const { caseId, handle } = await registerThroughApi(call, stack.temporal, token, person);
  await untilStage(stack.db, handle, caseId, 'imk_approved');

  const requestId = randomUUID();
  const body = { requestId, kind: 'correction', text: 'Mans tālrunis ir mainījies.', field: 'phone', correctValue: '+37129999999' };
  const filed = await call('POST', '/api/learner/data-requests', { token, json: body });
  t.is(filed.status, 201, filed.text);
  const request = filed.json as RequestView;
  // The same form sent twice is one request.
  const again = await call('POST', '/api/learner/data-requests', { token, json: body });
  t.is(again.status, 200, again.text);
  t.is((again.json as RequestView).id, request.id);
  t.is(await stack.db('dataSubjectRequests').where({ personCode: person.code }).count<{ count: string }[]>('* as count').then((r) => Number(r[0].count)), 1);

  // The inbox task, due at the end of the fifth working day (Riga calendar, public holidays skipped).
  const task = await eventually(() => stack.db('tasks').where({ workflowId: dataSubjectRequestId(request.id) }).first<{ id: string; type: string; dueAt: Date; state: string }>(), 'the request\'s task');
  const created = new Date(request.createdAt);
  const holidays = await stack.db('publicHolidays').select<{ day: string }[]>(stack.db.raw("to_char(day, 'YYYY-MM-DD') AS day"));
  const expectedDue = workingDaysDeadline(created, 5, new Set(holidays.map((h) => h.day)));
  t.is(new Date(task.dueAt).toISOString(), expectedDue.toISOString());
  t.is(request.dueAt, expectedDue.toISOString());
  t.is(task.type, 'data-subject-request');
  const staff = await stack.staffToken();
  const inbox = await call('GET', '/api/staff/tasks?type=data-subject-request', { token: staff });
  t.is(inbox.status, 200, inbox.text);
  t.like((inbox.json as { tasks: { id: string; subject: string }[] }).tasks.find((x) => x.id === task.id), { subject: person.name });
  const taskPage = await call('GET', `/staff/tasks/${task.id}`, { token: staff, html: true });
  t.true(taskPage.text.includes(`/staff/data-requests/${request.id}`), 'the task page links to the request');
  assertError(t, await call('POST', `/api/staff/tasks/${task.id}/decision`, { token: staff, json: { decision: 'approve' } }), 409, 'decide_on_request_page');
  const requestPage = await call('GET', `/staff/data-requests/${request.id}`, { token: staff, html: true });
  t.is(requestPage.status, 200);
  t.true(requestPage.text.includes(person.code) && requestPage.text.includes('+37129999999'), 'staff see whom and what');
  t.truthy(await stack.db('auditLog').where({ action: 'data_request.view', subjectPersonCode: person.code }).first(), 'opening the request is audited');

  // A refusal or partial outcome needs a reason, named in both languages.
  const noReason = assertError(t, await call('POST', `/api/staff/data-requests/${request.id}/decision`, { token: staff, json: { outcome: 'partly' } }), 400, 'invalid_request');
  t.deepEqual(noReason.details.map((d) => d.field), ['reason']);
  t.deepEqual((noReason.details[0] as { words?: unknown }).words, { lv: 'Norādiet iemeslu: persona to izlasīs.', en: 'Give the reason: the person will read it.' });
  const decided = await call('POST', `/api/staff/data-requests/${request.id}/decision`, { token: staff, json: { outcome: 'partly', reason: 'Tālrunis izlabots; pārējais nav mainīts.' } });
  t.is(decided.status, 200, decided.text);
  t.like(decided.json as RequestView, { state: 'decided', outcome: 'partly', outcomeReason: 'Tālrunis izlabots; pārējais nav mainīts.' });
  assertError(t, await call('POST', `/api/staff/data-requests/${request.id}/decision`, { token: staff, json: { outcome: 'done' } }), 409, 'already_decided');
  t.like(await stack.db('tasks').where({ id: task.id }).first(), { state: 'decided', decision: 'partly' });
  t.truthy(await stack.db('auditLog').where({ action: 'data_request.decided', subjectPersonCode: person.code }).first(), 'the outcome is audited');

  // The learner sees the outcome, on the API and the page, and is told by e-mail (once, through the outbox).
  const mine = (await call('GET', '/api/learner/data-requests', { token })).json as { requests: RequestView[] };
  t.like(mine.requests[0], { id: request.id, outcome: 'partly' });
  const page = await call('GET', '/account/data-requests', { token, html: true });
  t.true(page.text.includes('Izpildīts daļēji') && page.text.includes('Tālrunis izlabots'), 'the page shows the outcome and reason');
  const mail = await stack.mail.waitFor((m) => m.to.includes(`${person.code}@example.lv`) && m.subject.includes('izpildīts daļēji'));
  t.true(mail.text.includes('Tālrunis izlabots'));
  t.is(await stack.db('emailOutbox').where({ template: 'data-request-decided', recipient: `${person.code}@example.lv` }).count<{ count: string }[]>('* as count').then((r) => Number(r[0].count)), 1);
  // The export has the request too.
  const exported = (await call('GET', '/api/learner/my-data', { token })).json as Export;
  t.is(exported.sections.data_subject_requests.length, 1);
  t.true(exported.sections.email_outbox.some((e) => e.template === 'data-request-decided'));
  t.true(exported.sections.tasks.some((x) => x.type === 'data-subject-request'));
  t.true(exported.sections.audit_log.some((a) => a.action === 'data_request.view' && a.actorRole === 'staff'), 'the person sees who opened their request');
});

test('a request with bad input is a 400 naming each field in Latvian and English; only the learner files, only staff decide', async (t) => {
  const person = newPerson('Ilze');
  const token = await stack.tokenFor('learner', person.code, person.name);
  const empty = assertError(t, await call('POST', '/api/learner/data-requests', { token, json: {} }), 400, 'invalid_request');
  t.deepEqual(empty.details.map((d) => d.field), ['requestId', 'kind', 'text']);
  t.true(empty.details.every((d) => typeof (d as { words?: { lv?: string; en?: string } }).words?.lv === 'string' && typeof (d as { words?: { en?: string } }).words?.en === 'string'));
  const correction = assertError(t, await call('POST', '/api/learner/data-requests', { token, json: { requestId: randomUUID(), kind: 'correction', text: 'Labot', field: 'shoe_size' } }), 400, 'invalid_request');
  t.deepEqual(correction.details.map((d) => d.field), ['field', 'correctValue']);
  const page = await call('POST', '/account/data-requests', { token, html: true, form: { requestId: randomUUID(), kind: 'erasure', text: '' } });
  t.is(page.status, 400);
  t.true(page.text.includes('Aprakstiet, ko lūdzat.'), 'the page names the problem in Latvian next to the field');
  const english = await call('POST', '/account/data-requests?lang=en', { token, html: true, form: { requestId: randomUUID(), kind: 'erasure', text: '' } });
  t.true(english.text.includes('Describe what you ask for.'));
  t.is(await stack.db('dataSubjectRequests').where({ personCode: person.code }).count<{ count: string }[]>('* as count').then((r) => Number(r[0].count)), 0);

  assertError(t, await call('POST', '/api/learner/data-requests', { token: await stack.staffToken(), json: {} }), 403, 'forbidden');
  assertError(t, await call('POST', `/api/staff/data-requests/${randomUUID()}/decision`, { token, json: { outcome: 'done' } }), 403, 'forbidden');
  assertError(t, await call('POST', `/api/staff/data-requests/${randomUUID()}/decision`, { token: await stack.staffToken(), json: { outcome: 'done' } }), 404, 'not_found');
});

test('the answers of these JSON routes match their response schemas in the OpenAPI document', async (t) => {
  const document = (await call('GET', '/api/openapi.json')).json as { paths: Record<string, Record<string, { responses: Record<string, { content?: { 'application/json'?: { schema?: object } } }> }>> };
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const conforms = (method: string, path: string, answer: Answer) => {
    const schema = document.paths[path]?.[method]?.responses[String(answer.status)]?.content?.['application/json']?.schema;
    if (!schema) return t.fail(`${method} ${path} ${answer.status}: no response schema`);
    const validate = ajv.compile(schema);
    t.true(validate(answer.json), `${method} ${path} ${answer.status}: ${ajv.errorsText(validate.errors)}`);
  };
  const person = newPerson('Jana');
  const token = await stack.tokenFor('learner', person.code, person.name);
  const { caseId, handle } = await registerThroughApi(call, stack.temporal, token, person);
  await untilStage(stack.db, handle, caseId, 'imk_approved');
  const filed = await call('POST', '/api/learner/data-requests', { token, json: { requestId: randomUUID(), kind: 'erasure', text: 'Lūdzu dzēst manu tālruni.' } });
  conforms('post', '/api/learner/data-requests', filed);
  const id = (filed.json as RequestView).id;
  await eventually(() => stack.db('tasks').where({ workflowId: dataSubjectRequestId(id) }).first(), 'the task');
  const staff = await stack.staffToken();
  conforms('get', '/api/staff/data-requests/{requestId}', await call('GET', `/api/staff/data-requests/${id}`, { token: staff }));
  conforms('post', '/api/staff/data-requests/{requestId}/decision', await call('POST', `/api/staff/data-requests/${id}/decision`, { token: staff, json: { outcome: 'done' } }));
  conforms('get', '/api/learner/data-requests', await call('GET', '/api/learner/data-requests', { token }));
  conforms('get', '/api/learner/my-data', await call('GET', '/api/learner/my-data', { token }));
  const admin = await stack.adminToken();
  conforms('get', '/api/admin/retention', await call('GET', '/api/admin/retention', { token: admin }));
  conforms('post', '/api/admin/retention/rules/{code}', await call('POST', '/api/admin/retention/rules/documents_delete', { token: admin, json: { periodMonths: 61 } }));
});

test('a request past its due date is flagged overdue in the inbox and still waits for the decision', async (t) => {
  const person = newPerson('Kristīne');
  const id = randomUUID();
  // Filed as the API files it, but due a moment from now (tests cannot wait 5 working days).
  await stack.db('dataSubjectRequests').insert({
    id, personCode: person.code, requestId: randomUUID(), kind: 'erasure', text: 'Dzēsiet mani.', dueAt: new Date(Date.now() + 1_000), workflowId: dataSubjectRequestId(id),
  });
  const handle = await stack.temporal.workflow.start(dataSubjectRequest, {
    workflowId: dataSubjectRequestId(id), taskQueue: stack.taskQueue, args: [{ requestId: id, taskId: id, dueAt: new Date(Date.now() + 1_000).toISOString() }],
  });
  await eventually(() => stack.db('tasks').where({ id }).whereNotNull('escalatedAt').first(), 'the task flagged overdue');
  const overdue = (await call('GET', '/api/staff/tasks?type=data-subject-request&due=overdue', { token: await stack.staffToken() })).json as { tasks: { id: string; subject: string }[] };
  t.like(overdue.tasks.find((x) => x.id === id), { subject: person.code }, 'a person with no learner row is named by their person code');
  const decided = await call('POST', `/api/staff/data-requests/${id}/decision`, { token: await stack.staffToken(), json: { outcome: 'refused', reason: 'Dati vajadzīgi līguma izpildei.' } });
  t.is(decided.status, 200, decided.text);
  t.deepEqual(await handle.result(), { outcome: 'refused' });
  await stack.mail.waitFor((m) => m.to.includes(TEST_AGENCY_INBOX_EMAIL) && m.subject.includes(`DSR-${id.slice(0, 8).toUpperCase()}`));
  t.is(await stack.db('emailOutbox').where('dedupeKey', `${dataSubjectRequestId(id)}:outcome`).count<{ count: string }[]>('* as count').then((r) => Number(r[0].count)), 0, 'no address on file: no e-mail');
});

test('the worker ensures the retention schedule once, daily, and changes nothing when run again', async (t) => {
  const idSuffix = `test-${randomUUID()}`;
  const taskQueue = `unpolled-${randomUUID()}`;
  const handle = stack.temporal.schedule.getHandle(retentionScheduleId(idSuffix));
  t.teardown(async () => { await handle.delete().catch(() => undefined); });
  t.deepEqual(await ensureRetentionSchedule({ client: stack.temporal, taskQueue, idSuffix }), { scheduleId: retentionScheduleId(idSuffix), outcome: 'created' });
  t.is((await ensureRetentionSchedule({ client: stack.temporal, taskQueue, idSuffix })).outcome, 'unchanged');
  const described = await handle.describe();
  t.deepEqual(described.spec.intervals?.map((i) => i.every), [86_400_000]);
  t.like(described.action, { workflowType: 'retention', taskQueue });
  t.is(described.policies.overlap, 'SKIP');
  t.is((await ensureRetentionSchedule({ client: stack.temporal, taskQueue, idSuffix }, { everyMs: 3_600_000, offsetMs: 0 })).outcome, 'updated');
});

test('a request cancelled from the console withdraws its task, and a decision is refused', async (t) => {
  const person = newPerson('Laura');
  const token = await stack.tokenFor('learner', person.code, person.name);
  const filed = await call('POST', '/api/learner/data-requests', { token, json: { requestId: randomUUID(), kind: 'erasure', text: 'Dzēsiet.' } });
  t.is(filed.status, 201, filed.text);
  const id = (filed.json as RequestView).id;
  await eventually(() => stack.db('tasks').where({ id, state: 'open' }).first(), 'the open task');
  await stack.temporal.workflow.getHandle(dataSubjectRequestId(id)).cancel();
  await eventually(() => stack.db('tasks').where({ id, state: 'cancelled' }).first(), 'the task withdrawn');
  assertError(t, await call('POST', `/api/staff/data-requests/${id}/decision`, { token: await stack.staffToken(), json: { outcome: 'done' } }), 409, 'task_not_open');
  // The learner reads that it ended without a decision, not that it still waits.
  t.like(await stack.db('dataSubjectRequests').where({ id }).first(), { state: 'cancelled', outcome: null });
  const page = await call('GET', '/account/data-requests?lang=en', { token, html: true });
  t.true(page.text.includes('Closed by the agency without a decision'), 'the page says it was closed');
  t.false(page.text.includes('Waiting for the agency'), 'and not that it waits');
});
