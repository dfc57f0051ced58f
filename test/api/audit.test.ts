import { randomUUID } from 'node:crypto';
import test from 'ava';
import { startTestStack, type TestStack } from '../helpers/stack';
import { assertError, httpClient } from '../helpers/http';
import { openTaskOf, startLearnerJourney } from '../helpers/journeys';
import { approvedProvider, insertDocument } from '../helpers/providers';
import { OFFER_DOCUMENT_KINDS } from '../../dev/seed-calls';
import { rigaDate } from '../../domain/dates';
import { ensureSchedules, workerScheduleIds } from '../../worker/schedules';
import { auditPurge } from '../../workflows/audit-purge';
import { auditPurgeScheduleId } from '../../workflows/ids';

// The audit's life against the real stack: what is audited (logins, views, downloads, searches), the
// administrators' search and a municipality's SOPA export, and the scheduled purge of what is kept no longer.

const JANIS = '150690-11223'; // declared in Valmieras novads (dev/seed-people.ts)
const MARTA = '220288-10458'; // declared in Daugavpils
const ANNA = '321178-40215'; // declared in Rīga

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
let admin: string;
let staff: string;

test.before(async () => {
  // Staff approve IMK accounts by hand here, so each journey opens a task after its registry queries.
  stack = await startTestStack({ manualApproval: ['IMK'] });
  admin = await stack.adminToken();
  staff = await stack.staffToken();
});
test.after.always(async () => {
  await stack?.stop();
});

interface AuditRow {
  id: string; at: Date; actorRole: string; actorId: string | null; actorName: string | null; action: string; subjectPersonCode: string | null;
  caseId: string | null; municipality: string | null; purpose: string; result: Record<string, unknown>; keepUntil: string;
}
const rowsOf = (where: Record<string, unknown>) => stack.db('auditLog').where(where).orderBy('id')
  .select('*', stack.db.raw(`to_char(keep_until, 'YYYY-MM-DD') AS keep_until`)) as Promise<AuditRow[]>;

/** Inserts an audit row directly (the search and purge are about rows, not the journeys that wrote them). */
async function insertAudit(row: Partial<Omit<AuditRow, 'at'>> & { at?: string }): Promise<string> {
  const [inserted] = await stack.db('auditLog').insert({
    actorRole: 'staff', actorId: randomUUID(), actorName: 'Test Operator', action: 'test.row', purpose: 'test', result: {},
    keepUntil: '2099-01-01', ...row,
  }).returning<{ id: string }[]>('id');
  return String(inserted!.id);
}

const today = () => rigaDate(new Date());
const dayOffset = (days: number) => {
  const [y, m, d] = today().split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
};

// The day n months from today (the 31st falls back to the month's last day), as the SOPA lookback counts.
function dayOffsetMonths(months: number): string {
  const [y, m, d] = today().split('-').map(Number);
  const target = new Date(Date.UTC(y, m - 1 + months, 1));
  target.setUTCDate(Math.min(d, new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate()));
  return target.toISOString().slice(0, 10);
}

test('a failed and a successful login are audited with the account tried, the address and the reason, never the password', async (t) => {
  const wrong = await call('POST', '/api/auth/login', { json: { username: 'staff2', password: 'Wrong#Password1' } });
  assertError(t, wrong, 401, 'bad_credentials');
  const failed = (await rowsOf({ action: 'login.failed' })).filter((r) => r.result.account === 'staff2');
  t.is(failed.length, 1);
  t.like(failed[0], { actorRole: 'anonymous', actorName: 'staff2', purpose: 'login' });
  t.like(failed[0].result, { method: 'password', account: 'staff2', reason: 'bad_credentials' });
  t.truthy(failed[0].result.address, 'the address the attempt came from');
  t.false(JSON.stringify(failed[0]).includes('Wrong#Password1'), 'no password in the audit');
  // Logins are kept 12 months, not the 24 of registry queries.
  t.is(failed[0].keepUntil.slice(0, 4), String(Number(today().slice(0, 4)) + 1));

  const right = await call('POST', '/api/auth/login', { json: { username: 'staff2', password: 'Kolegis#2026' } });
  t.is(right.status, 200, right.text);
  const user = await stack.db('users').where({ username: 'staff2' }).first<{ id: string }>('id');
  const succeeded = await rowsOf({ action: 'login.succeeded', actorId: user.id });
  t.is(succeeded.length, 1);
  t.like(succeeded[0], { actorRole: 'staff', actorName: 'Jānis Bērziņš' });
  t.like(succeeded[0].result, { method: 'password', account: 'staff2' });
  t.false(JSON.stringify(succeeded[0]).includes('Kolegis#2026'));

  // The login page is audited the same way, with an account name nobody has.
  const page = await call('POST', '/staff/login', { form: { username: 'nobody-here', password: 'Whatever#2026' }, html: true });
  t.is(page.status, 401);
  const typed = (await rowsOf({ action: 'login.failed' })).filter((r) => r.result.account === 'nobody-here');
  t.like(typed, [{ actorName: 'nobody-here', result: { method: 'password', reason: 'bad_credentials' } }]);

  // The administrator finds both by the operator's name.
  const found = await call('GET', `/api/admin/audit?operator=${encodeURIComponent('staff2')}`, { token: admin });
  t.is(found.status, 200, found.text);
  t.true((found.json as { entries: { action: string }[] }).entries.some((e) => e.action === 'login.failed'));
});

test('staff opening a task of a case, an administrator opening the case, a document download and a console search are audited', async (t) => {
  const { caseId, handle } = await startLearnerJourney(stack.temporal, stack.taskQueue, ANNA);
  const task = await openTaskOf(stack.db, caseId);
  const staffUser = await stack.db('users').where({ username: 'staff' }).first<{ id: string }>('id');

  t.is((await call('GET', `/api/staff/tasks/${task.id}`, { token: staff })).status, 200);
  t.is((await call('GET', `/staff/tasks/${task.id}`, { token: staff, html: true })).status, 200);
  const views = await rowsOf({ action: 'task.view', caseId });
  t.is(views.length, 2, 'the API and the page each audited once');
  t.like(views[0], { actorRole: 'staff', actorId: staffUser.id, actorName: 'Inese Kļaviņa' });
  t.like(views[0].result, { taskId: task.id, taskType: 'approve-imk' });

  t.is((await call('GET', `/admin/workflows/${encodeURIComponent(handle.workflowId)}`, { token: admin, html: true })).status, 200);
  t.like((await rowsOf({ action: 'case.view', caseId }))[0], { actorRole: 'admin', result: { workflowId: handle.workflowId, workflowType: 'learnerJourney' } });

  // The person's code finds the views of their case (the rows name the case) as well as the queries about them.
  const byPerson = await call('GET', `/api/admin/audit?personCode=${ANNA}`, { token: admin });
  t.is(byPerson.status, 200, byPerson.text);
  const actions = (byPerson.json as { entries: { action: string }[] }).entries.map((e) => e.action);
  for (const action of ['task.view', 'case.view', 'sopa.get-statuses', 'population-register.get-person']) t.true(actions.includes(action), action);

  const providerId = await approvedProvider(stack.db, 'demo');
  await insertDocument(stack.db, providerId, null, 'declaration');
  const document = await stack.db('documents').where({ providerId, kind: 'declaration' }).orderBy('uploadedAt', 'desc')
    .first<{ id: string; sha256: string }>('id', 'sha256');
  t.is((await call('GET', `/staff/documents/${document.id}`, { token: staff })).status, 200);
  const download = (await rowsOf({ action: 'document.download' })).find((r) => r.result.documentId === document.id);
  t.like(download, { actorId: staffUser.id, result: { kind: 'declaration', filename: 'declaration.pdf', sha256: document.sha256 } });

  // A provider downloading a document of its own offer is audited the same way.
  const offer = await stack.db('offers').where({ providerId }).first<{ id: string }>('id');
  await insertDocument(stack.db, providerId, offer.id, OFFER_DOCUMENT_KINDS[0]);
  const providerUser = await stack.signIn({ role: 'provider', subject: randomUUID(), name: 'Dace Vītola', providerId, providerRole: 'admin' });
  const own = await call('GET', `/provider/offers/${offer.id}/documents/${OFFER_DOCUMENT_KINDS[0]}`, { token: providerUser });
  t.is(own.status, 200, own.text);
  const providerDownload = (await rowsOf({ action: 'document.download', actorRole: 'provider' })).find((r) => r.result.offerId === offer.id);
  t.like(providerDownload, { actorName: 'Dace Vītola', result: { kind: OFFER_DOCUMENT_KINDS[0] } });

  const stage = `stage-${randomUUID().slice(0, 8)}`;
  t.is((await call('GET', `/api/admin/workflows?stage=${stage}`, { token: admin })).status, 200);
  const searches = (await rowsOf({ action: 'console.search' })).filter((r) => (r.result.filter as { stage?: string }).stage === stage);
  t.is(searches.length, 1);
  t.like(searches[0].result, { view: 'list' });
});

test('the municipality export holds exactly that municipality\'s SOPA queries in the period, as formula-safe UTF-8 CSV, and is audited', async (t) => {
  const janis = await startLearnerJourney(stack.temporal, stack.taskQueue, JANIS);
  const marta = await startLearnerJourney(stack.temporal, stack.taskQueue, MARTA);
  await openTaskOf(stack.db, janis.caseId);
  await openTaskOf(stack.db, marta.caseId);
  // Each SOPA query is audited under the person's declared municipality, with the period asked.
  const [martaQuery] = await rowsOf({ action: 'sopa.get-statuses', caseId: marta.caseId });
  t.is(martaQuery.municipality, 'Daugavpils');
  t.like(martaQuery.result, { dateFrom: dayOffsetMonths(-12), dateTill: today(), recordCount: 0 });
  const [janisQuery] = await rowsOf({ action: 'sopa.get-statuses', caseId: janis.caseId });
  t.is(janisQuery.municipality, 'Valmieras novads');
  // The registration number of the municipality that granted the status SOPA returned (dev/seed-social-status.ts).
  t.like(janisQuery.result, { municipalities: ['90000012345'] });

  // Before the period, and a query whose purpose would be a formula in a spreadsheet.
  await insertAudit({ action: 'sopa.get-statuses', municipality: 'Daugavpils', at: '2026-01-10T10:00:00Z', subjectPersonCode: '010101-10001' });
  await insertAudit({ action: 'sopa.get-statuses', municipality: 'daugavpils', subjectPersonCode: '020202-10002', purpose: '=HYPERLINK("http://x.test")' });

  const from = dayOffset(-1);
  const answer = await call('GET', `/admin/audit/sopa-export?municipality=Daugavpils&from=${from}&to=${today()}&lang=lv`, { token: admin, html: true });
  t.is(answer.status, 200, answer.text);
  t.regex(answer.headers.get('content-type') ?? '', /^text\/csv; charset=utf-8/);
  t.regex(answer.headers.get('content-disposition') ?? '', /^attachment; filename="sopa-audit-Daugavpils-/);
  const bytes = Buffer.from(await (await fetch(`${stack.appUrl}/admin/audit/sopa-export?municipality=Daugavpils&from=${from}&to=${today()}&lang=lv`, {
    headers: { authorization: `Bearer ${admin}` },
  })).arrayBuffer());
  t.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 with a byte order mark');
  const lines = answer.text.replace(/^\uFEFF/, '').trim().split('\r\n');
  t.true(lines[0]!.includes('"Operatora personas kods"'), 'Latvian headers, Latvian letters intact');
  const rows = lines.slice(1);
  t.is(rows.length, 2, rows.join('\n'));
  t.true(rows.some((r) => r.includes(`"${MARTA}"`) && r.includes('"010180-10007"') && r.includes('"Ilze Priede"')), 'the operator SOPA was given');
  t.false(rows.some((r) => r.includes(JANIS)), 'not another municipality\'s query');
  t.false(rows.some((r) => r.includes('010101-10001')), 'not a query before the period');
  t.true(rows.some((r) => r.includes('"\'=HYPERLINK(""http://x.test"")"')), 'a formula is shown as text');

  const exported = (await rowsOf({ action: 'audit.export' })).find((r) => (r.result as { from?: string }).from === from);
  t.like(exported, { actorRole: 'admin', result: { municipality: 'Daugavpils', to: today(), rows: 2 } });
});

test('each search filter narrows the audit: person, operator, municipality, period; newest first, paged', async (t) => {
  const marker = randomUUID().slice(0, 8);
  const operatorId = randomUUID();
  const municipality = `Testa novads ${marker}`;
  const person = '321111-11111';
  const ids = {
    person: await insertAudit({ subjectPersonCode: person, at: '2025-03-01T10:00:00Z' }),
    operator: await insertAudit({ actorId: operatorId, actorName: `Operators ${marker}`, at: '2025-03-02T10:00:00Z' }),
    municipality: await insertAudit({ municipality, at: '2025-03-03T10:00:00Z' }),
    // 23:30 UTC on 3 March is already 4 March in Riga.
    lateEvening: await insertAudit({ municipality, at: '2025-03-03T23:30:00Z' }),
  };
  const search = async (query: string) => {
    const answer = await call('GET', `/api/admin/audit?${query}`, { token: admin });
    t.is(answer.status, 200, answer.text);
    return answer.json as { entries: { id: string; action: string }[]; hasNext: boolean; page: number };
  };
  // Searching by person is itself audited about that person (audit.search), so those rows come back too.
  t.deepEqual((await search(`personCode=${person}`)).entries.filter((e) => e.action !== 'audit.search').map((e) => e.id), [ids.person]);
  t.deepEqual((await search(`operator=${operatorId}`)).entries.map((e) => e.id), [ids.operator]);
  t.deepEqual((await search(`operator=${encodeURIComponent(`operators ${marker}`)}`)).entries.map((e) => e.id), [ids.operator], 'part of the name, any case');
  t.deepEqual((await search(`municipality=${encodeURIComponent(municipality.toUpperCase())}`)).entries.map((e) => e.id), [ids.lateEvening, ids.municipality], 'newest first');
  const period = `from=2025-03-02&to=2025-03-03`;
  t.deepEqual((await search(`${period}&municipality=${encodeURIComponent(municipality)}`)).entries.map((e) => e.id), [ids.municipality], 'Riga days');
  t.true((await search(period)).entries.some((e) => e.id === ids.operator));
  t.false((await search(period)).entries.some((e) => e.id === ids.person));

  // Paging: one more row than a page of 50 in the period.
  const day = '2024-06-01';
  for (let i = 0; i < 51; i += 1) await insertAudit({ municipality: `Lapu novads ${marker}`, at: `${day}T08:${String(i % 60).padStart(2, '0')}:00Z` });
  const first = await search(`municipality=${encodeURIComponent(`Lapu novads ${marker}`)}`);
  t.is(first.entries.length, 50);
  t.true(first.hasNext);
  const second = await search(`municipality=${encodeURIComponent(`Lapu novads ${marker}`)}&page=2`);
  t.is(second.entries.length, 1);
  t.false(second.hasNext);

  // The page shows the same rows; the search itself is audited.
  const page = await call('GET', `/admin/audit?personCode=${person}&lang=en`, { token: admin, html: true });
  t.is(page.status, 200);
  t.true(page.text.includes(person));
  t.true((await rowsOf({ action: 'audit.search', subjectPersonCode: person })).length >= 2);
});

test('bad filters are a 400 naming the field and the rule, in Latvian and English', async (t) => {
  const api = await call('GET', '/api/admin/audit?from=2026-02-30&personCode=123', { token: admin });
  const error = assertError(t, api, 400, 'invalid_request');
  t.deepEqual(error.details.map((d) => d.field).sort(), ['from', 'personCode']);
  const order = await call('GET', '/api/admin/audit?from=2026-03-02&to=2026-03-01', { token: admin });
  t.deepEqual(assertError(t, order, 400, 'invalid_request').details.map((d) => d.field), ['to']);

  const lv = await call('GET', '/admin/audit?from=nav-datums&lang=lv', { token: admin, html: true });
  t.is(lv.status, 400);
  t.true(lv.text.includes('jābūt datumam, GGGG-MM-DD, no 2000. līdz 2999. gadam (perioda pirmā diena)'));
  const en = await call('GET', '/admin/audit/sopa-export?from=2026-03-01&to=2026-03-31&lang=en', { token: admin, html: true });
  t.is(en.status, 400);
  t.true(en.text.includes('is required, at most 100 characters'), 'the municipality is named next to its field');
  const json = await call('GET', '/admin/audit/sopa-export?municipality=R%C4%ABga&from=2026-03-31&to=2026-03-01', { token: admin });
  const problem = assertError(t, json, 400, 'invalid_request').details[0] as { field: string; words: { lv: string; en: string } };
  t.is(problem.field, 'to');
  t.is(problem.words.lv, 'nedrīkst būt pirms perioda pirmās dienas');

  // The widest period the audit takes is an answer; days beyond it are a 400, not a failure.
  t.is((await call('GET', '/api/admin/audit?from=2000-01-01&to=2999-12-31&operator=%5C%25_', { token: admin })).status, 200);
  const far = assertError(t, await call('GET', '/api/admin/audit?from=0000-01-01&to=9999-12-31', { token: admin }), 400, 'invalid_request');
  t.deepEqual(far.details.map((d) => d.field), ['from', 'to']);
});

test('only administrators read the audit: staff get 403, anonymous 401', async (t) => {
  for (const path of ['/api/admin/audit', '/api/admin/audit/purges', '/admin/audit', '/admin/audit/sopa-export?municipality=R%C4%ABga&from=2026-01-01&to=2026-01-31']) {
    t.is((await call('GET', path, { token: staff })).status, 403, path);
    t.is((await call('GET', path)).status, 401, path);
  }
});

test.serial('the purge removes exactly the rows kept until before today, in batches; a second run removes nothing', async (t) => {
  const marker = `purge-${randomUUID()}`;
  const keep = async (keepUntil: string) => insertAudit({ purpose: marker, keepUntil });
  const expired = [await keep(dayOffset(-1)), await keep(dayOffset(-1)), await keep(dayOffset(-30)), await keep(dayOffset(-400)), await keep('2020-01-01')];
  const kept = [await keep(today()), await keep(dayOffset(1))];
  // Registry call counts: 91 days old go, yesterday's stay.
  const old = new Date(Date.now() - 91 * 86_400_000);
  old.setUTCSeconds(0, 0);
  await stack.db('registryCallStats').insert([
    { registry: 'sopa', minute: old, calls: 3 }, { registry: 'viis', minute: old, calls: 1 },
    { registry: 'sopa', minute: new Date(Math.floor((Date.now() - 86_400_000) / 60_000) * 60_000), calls: 2 },
  ]);

  // A batch of 2 rows: five expired rows take three statements.
  const run = () => stack.temporal.workflow.execute(auditPurge, { taskQueue: stack.taskQueue, workflowId: `audit-purge:test-${randomUUID()}`, args: [{ batchSize: 2 }] });
  const first = await run();
  t.deepEqual(first, { expiredBefore: today(), auditRemoved: 5, registryStatsRemoved: 2 });
  const left = (await rowsOf({ purpose: marker })).map((r) => String(r.id));
  t.deepEqual(left, kept);
  t.false(left.some((id) => expired.includes(id)));
  t.is((await stack.db('registryCallStats').where('minute', '<', new Date(Date.now() - 90 * 86_400_000))).length, 0);
  t.true((await stack.db('registryCallStats').where('minute', '>=', new Date(Date.now() - 2 * 86_400_000))).length >= 1);

  const second = await run();
  t.deepEqual(second, { expiredBefore: today(), auditRemoved: 0, registryStatsRemoved: 0 });

  // Both runs are recorded and shown to administrators.
  const runs = await call('GET', '/api/admin/audit/purges', { token: admin });
  t.is(runs.status, 200);
  t.like((runs.json as { runs: unknown[] }).runs, [{ auditRemoved: 0, registryStatsRemoved: 0 }, { auditRemoved: 5, registryStatsRemoved: 2, expiredBefore: today() }]);
  const page = await call('GET', '/admin/audit?lang=en', { token: admin, html: true });
  t.true(page.text.includes('Audit rows removed'));
});

test.serial('ensureSchedules creates the daily purge schedule beside the re-check, and changes nothing when run again', async (t) => {
  const idSuffix = `test-${randomUUID()}`;
  // A task queue no worker polls: should a schedule fire during the test, its run does nothing here.
  const taskQueue = `unpolled-${randomUUID()}`;
  const options = { client: stack.temporal, taskQueue, recheckIntervalMs: 180 * 86_400_000, idSuffix };
  try {
    const first = await ensureSchedules(options);
    t.deepEqual(first.auditPurge, { scheduleId: auditPurgeScheduleId(idSuffix), outcome: 'created' });
    t.is(first.populationRecheck.outcome, 'created');
    const described = await stack.temporal.schedule.getHandle(auditPurgeScheduleId(idSuffix)).describe();
    t.like(described.action, { workflowType: 'auditPurge', taskQueue });
    t.like(described.spec.intervals?.[0], { every: 86_400_000, offset: 3_600_000 });
    const again = await ensureSchedules(options);
    t.is(again.auditPurge.outcome, 'unchanged');
    t.is(again.populationRecheck.outcome, 'unchanged');
  } finally {
    for (const id of workerScheduleIds(idSuffix)) {
      await stack.temporal.schedule.getHandle(id).delete().catch(() => undefined);
    }
  }
});
