import { randomUUID } from 'node:crypto';
import test from 'ava';
import { insertProvider, insertProviderTask } from '../helpers/catalogue';
import { httpClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

// Issue 16 item 5: the officer searches the inbox by name, person code (audited) and case number, downloads the
// view as CSV, and prints a case's file. Rows are seeded in SQL (the journeys themselves are not the point).

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
let staff: string;
let staffId: string;

const ZANE = '010190-12345';
const JANIS = '020285-11111';
const ANNA = '030375-12222';
/** Task ids by learner and case. */
const tasks = { zaneImk: [] as string[], zaneDpp: [] as string[], janis: [] as string[], anna: [] as string[], provider: '' };

test.before(async () => {
  stack = await startTestStack();
  staff = await stack.staffToken('staff');
  staffId = (await stack.db('users').where({ username: 'staff' }).first<{ id: string }>('id')).id;
  const zane = await learner(ZANE, 'Zane', 'Bērziņa');
  const janis = await learner(JANIS, 'Jānis', 'Bērziņš');
  const anna = await learner(ANNA, 'Anna', 'Kalniņa');
  const zaneImk = await learnerCase(zane, 'IMK-2026-900001', 'IMK');
  tasks.zaneImk = [
    await task(zaneImk, { state: 'decided', decision: 'approve', decidedByName: 'Ilze Lēmēja', comment: 'Viss kārtībā', facts: { eligibility: { rule: 'age-25-64', facts: { age: 36 } } } }),
    await task(zaneImk, {}),
  ];
  tasks.zaneDpp = [await task(await learnerCase(zane, 'DPP-2026-900002', 'DPP'), {})];
  tasks.janis = [await task(await learnerCase(janis, 'IMK-2026-900003', 'IMK'), {})];
  tasks.anna = [await task(await learnerCase(anna, 'MN-2026-900004', 'MN'), {})];
  // A provider whose name looks like the learners': a name search is about learners only.
  tasks.provider = await insertProviderTask(stack.db, { type: 'approve-provider', providerId: await insertProvider(stack.db, { name: 'Bērziņu mācību centrs SIA' }) });
  await stack.db('caseEvents').insert([
    { caseId: zaneImk, step: 'registered', kind: 'registered', stage: 'registered', actorRole: 'learner', actorName: null, channel: 'e-service', details: '{}' },
    { caseId: zaneImk, step: 'approved', kind: 'imk_approved', stage: 'imk_approved', actorRole: 'staff', actorName: 'Ilze Lēmēja', channel: 'staff', details: '{}' },
  ]);
  await stack.db('emailOutbox').insert({
    caseId: zaneImk, step: 'approved-mail', template: 'imk-approved', language: 'lv', recipient: 'zane@example.lv',
    subject: 'Jūsu IMK ir apstiprināts', status: 'sent', dedupeKey: `case:${zaneImk}:approved-mail`, sentAt: new Date(),
  });
});
test.after.always(async () => { await stack?.stop(); });

async function learner(personCode: string, firstName: string, lastName: string): Promise<string> {
  const [row] = await stack.db('learners').insert({
    personCode, firstName, lastName, email: `${randomUUID().slice(0, 8)}@example.lv`, language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning('id');
  return (row as { id: string }).id;
}

async function learnerCase(learnerId: string, serviceCaseId: string, programme: string): Promise<string> {
  const id = randomUUID();
  await stack.db('cases').insert({ id, serviceCaseId, workflowId: `test-search:${id}`, learnerId, programme, stage: 'awaiting_approval', channel: 'e-service' });
  return id;
}

let n = 0;
async function task(caseId: string, fields: { state?: string; decision?: string; decidedByName?: string; comment?: string; facts?: Record<string, unknown> }) {
  n += 1;
  const id = randomUUID();
  await stack.db('tasks').insert({
    id, caseId, workflowId: `test-search:${caseId}`, step: `approval-${n}`, type: 'approve-imk', state: fields.state ?? 'open',
    facts: JSON.stringify(fields.facts ?? {}), dueAt: new Date(Date.now() + n * 86_400_000), createdAt: new Date(Date.now() - (100 - n) * 60_000),
    decision: fields.decision ?? null, decidedByName: fields.decidedByName ?? null, comment: fields.comment ?? null,
    decidedAt: fields.decision ? new Date() : null,
  });
  return id;
}

interface Page { tasks: { id: string; serviceCaseId: string | null; learnerName: string | null }[]; total: number; counts: { state: Record<string, number> }; search: { kind: string; value: string } | null }

async function search(query: string): Promise<Page> {
  const answer = await call('GET', `/api/staff/tasks?${query.includes('state=') ? '' : 'state=all&'}${query}`, { token: staff });
  if (answer.status !== 200) throw new Error(`${query}: HTTP ${answer.status} ${answer.text}`);
  return answer.json as Page;
}

const decode = (html: string) => html.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
const sorted = (ids: string[]) => [...ids].sort();
// Tests in this file run at once: each looks at the audit rows of its own person codes.
const personSearches = (...codes: string[]) => stack.db('auditLog').where({ action: 'inbox.search-person' }).whereIn('subjectPersonCode', codes).orderBy('id');

test('each search key finds exactly the tasks of its cases, and nothing of other cases', async (t) => {
  const zaneAll = [...tasks.zaneImk, ...tasks.zaneDpp];
  const cases: [query: string, expected: string[], kind: string][] = [
    [`q=${ZANE}`, zaneAll, 'personCode'],
    ['q=01019012345', zaneAll, 'personCode'],
    ['q=IMK-2026-900001', tasks.zaneImk, 'caseNumber'],
    ['q=imk-2026-900001', tasks.zaneImk, 'caseNumber'],
    ['q=berzin', [...zaneAll, ...tasks.janis], 'name'],
    [`q=${encodeURIComponent('BĒRZIŅ')}`, [...zaneAll, ...tasks.janis], 'name'],
    [`q=${encodeURIComponent('zane bērz')}`, zaneAll, 'name'],
    [`q=${encodeURIComponent('Jānis')}`, tasks.janis, 'name'],
    ['q=kaln', tasks.anna, 'name'],
    ['q=nobody', [], 'name'],
    ['q=IMK-2026-999999', [], 'caseNumber'],
    ['q=%25', [], 'name'],
  ];
  for (const [query, expected, kind] of cases) {
    const page = await search(query);
    t.deepEqual(sorted(page.tasks.map((x) => x.id)), sorted(expected), query);
    t.is(page.total, expected.length, `${query}: total`);
    t.is(page.search?.kind, kind, `${query}: understood as ${kind}`);
  }
  // Combined with the filters and their counts: Zane's open tasks only, the counts per state of her tasks.
  const open = await search(`q=${ZANE}&state=open`);
  t.deepEqual(sorted(open.tasks.map((x) => x.id)), sorted([tasks.zaneImk[1]!, ...tasks.zaneDpp]));
  t.like(open.counts.state, { open: 2, decided: 1, all: 3 });
  t.is((await search(`q=${ZANE}&programme=DPP`)).total, 1);
  // Without a search the provider's task and everyone's are there.
  t.is((await search('')).total, 6);
});

test('a search by person code is audited (who, for whom, why, with which filters); a bad code names the field', async (t) => {
  await search(`q=${JANIS}&programme=IMK`);
  const rows = await personSearches(JANIS, ANNA);
  t.is(rows.length, 1);
  t.like(rows.at(-1), { actorRole: 'staff', actorId: staffId, subjectPersonCode: JANIS, purpose: 'staff inbox: tasks of a person' });
  t.like(rows.at(-1).result, { filter: { programme: 'IMK', state: 'all' } });
  // The page audits its search too; names and case numbers are not audited.
  await call('GET', `/staff/tasks?q=${ANNA}`, { token: staff, html: true });
  await search('q=berzin');
  await search('q=IMK-2026-900003');
  t.deepEqual((await personSearches(JANIS, ANNA)).map((r: { subjectPersonCode: string }) => r.subjectPersonCode), [JANIS, ANNA]);

  const bad = await call('GET', '/api/staff/tasks?q=019090-12345', { token: staff });
  t.is(bad.status, 400);
  t.is((bad.json as { error: { details: { field: string }[] } }).error.details[0]?.field, 'q');
  const page = await call('GET', '/staff/tasks?q=019090-12345', { token: staff, html: true });
  t.is(page.status, 400);
  t.true(page.text.includes('Personas kodam jābūt 11 cipariem formā DDMMGG-NNNNN ar īstu datumu.'));
  t.is((await stack.db('auditLog').where({ action: 'inbox.search-person', subjectPersonCode: '019090-12345' })).length, 0, 'a refused search looked at no one');
});

test('the page shows the search and how it was understood, in Latvian and in English', async (t) => {
  const lv = await call('GET', '/staff/tasks?q=IMK-2026-900001&state=all', { token: staff, html: true });
  t.is(lv.status, 200);
  t.true(lv.text.includes('Uzdevumi lietā IMK-2026-900001.'));
  t.true(lv.text.includes('value="IMK-2026-900001"'), 'the field keeps the search');
  t.true(lv.text.includes('Lejupielādēt šo skatu CSV formātā'));
  t.true(decode(lv.text).includes('href="/staff/tasks.csv?q=IMK-2026-900001&state=all"'));
  const en = await call('GET', '/staff/tasks?q=berz&lang=en', { token: staff, html: true });
  t.true(en.text.includes('Tasks of people whose first or last name begins with “berz”.'));
  t.true(en.text.includes('Download this view as CSV'));
  t.false(en.text.includes('Lejupielādēt'));
});

test('the CSV holds exactly the view (every page, its order) and its export is audited', async (t) => {
  const view = await search(`q=${ZANE}`);
  const answer = await call('GET', `/staff/tasks.csv?state=all&q=${ZANE}`, { token: staff, html: true });
  t.is(answer.status, 200);
  t.regex(answer.headers.get('content-type') ?? '', /^text\/csv/);
  t.regex(answer.headers.get('content-disposition') ?? '', /uzdevumi-\d{4}-\d\d-\d\d\.csv/);
  const bytes = new Uint8Array(await (await fetch(`${stack.appUrl}/staff/tasks.csv?state=all&q=${ZANE}`, { headers: { authorization: `Bearer ${staff}` } })).arrayBuffer());
  t.deepEqual([...bytes.slice(0, 3)], [0xef, 0xbb, 0xbf], 'a byte order mark, so Excel reads UTF-8');
  const [header, ...rows] = answer.text.replace(/^\uFEFF/, '').trimEnd().split('\r\n').map((line) => line.split(';').map((cell) => cell.slice(1, -1)));
  t.deepEqual(header!.slice(0, 3), ['Lieta', 'Kas vai par ko', 'Uzdevums']);
  t.deepEqual(rows.map((r) => r.at(-1)), view.tasks.map((x) => x.id), 'the same tasks in the same order');
  t.deepEqual(rows.map((r) => [r[0], r[1]]), view.tasks.map((x) => [x.serviceCaseId, x.learnerName]));
  t.true(rows.some((r) => r.includes('apstiprināts') && r.includes('Ilze Lēmēja')), 'the decision and who took it');
  const audit = await stack.db('auditLog').where({ action: 'inbox.export' }).orderBy('id', 'desc').first();
  t.like(audit, { actorId: staffId, subjectPersonCode: ZANE });
  t.like(audit.result, { export: 'inbox', rows: 3 });

  const en = await call('GET', '/staff/tasks.csv?q=berzin&lang=en', { token: staff, html: true });
  t.true(en.text.replace(/^\uFEFF/, '').startsWith('"Case";"Who or what";"Task"'));
  t.is(en.text.trimEnd().split('\r\n').length, 1 + 3, 'header and the three open tasks');
  const bad = await call('GET', '/staff/tasks.csv?state=nonsense', { token: staff, html: true });
  t.is(bad.status, 400);
  t.true(bad.text.includes('Filtros ir kļūda'));
});

test('the case file shows the case, every decision with its facts, the history and the documents', async (t) => {
  const task = await call('GET', `/staff/tasks/${tasks.zaneImk[1]}`, { token: staff, html: true });
  t.true(task.text.includes(`href="/staff/tasks/${tasks.zaneImk[1]}/file"`), 'linked from the task page');

  const before = await stack.db('auditLog').where({ action: 'case-file.view' }).count<{ count: string }[]>('* as count');
  const lv = await call('GET', `/staff/tasks/${tasks.zaneImk[1]}/file`, { token: staff, html: true });
  t.is(lv.status, 200);
  for (const text of ['Lietas materiāli: IMK-2026-900001', 'Zane Bērziņa', ZANE, 'Lēmumi un to fakti', 'apstiprināts', 'Ilze Lēmēja', 'Viss kārtībā',
    'age-25-64', 'Vēsture', 'Dokumenti', 'Jūsu IMK ir apstiprināts', 'nosūtīta']) {
    t.true(lv.text.includes(text), `shows ${text}`);
  }
  t.is(lv.text.match(/data-testid="decision"/g)?.length, 2, 'both tasks of the case');
  t.true(lv.text.includes('<script src="/static/print-button.js" defer></script>') && lv.text.includes('data-print hidden>Drukāt</button>'), 'a print button');
  t.false(lv.text.includes('DPP-2026-900002'), 'nothing of the learner\'s other case');
  t.false(lv.text.includes('Bērziņš'), 'nothing of another learner');
  const after = await stack.db('auditLog').where({ action: 'case-file.view' }).orderBy('id', 'desc').first();
  t.like(after, { actorId: staffId, caseId: (await stack.db('tasks').where({ id: tasks.zaneImk[1] }).first()).caseId });
  t.is(Number(before[0]!.count) + 1, await stack.db('auditLog').where({ action: 'case-file.view' }).count<{ count: string }[]>('* as count').then((r) => Number(r[0]!.count)));

  const en = await call('GET', `/staff/tasks/${tasks.zaneImk[1]}/file?lang=en`, { token: staff, html: true });
  for (const text of ['Case file: IMK-2026-900001', 'Decisions and their facts', 'approved', 'History', 'Letters sent']) t.true(en.text.includes(text), `shows ${text}`);
  const provider = await call('GET', `/staff/tasks/${tasks.provider}/file`, { token: staff, html: true });
  t.is(provider.status, 200);
  t.true(provider.text.includes('Bērziņu mācību centrs SIA'));
  t.is((await call('GET', `/staff/tasks/${randomUUID()}/file`, { token: staff, html: true })).status, 404);
});

test('learners and providers are refused the search, the export and the case file', async (t) => {
  const provider = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  const callers = [
    await stack.tokenFor('learner', ZANE, 'Zane Bērziņa'),
    await stack.signIn({ role: 'provider', subject: provider!.id, name: provider!.displayName, providerId: provider!.providerId, providerRole: 'admin' }),
  ];
  for (const token of callers) {
    t.is((await call('GET', `/api/staff/tasks?q=${ZANE}`, { token })).status, 403);
    t.is((await call('GET', `/staff/tasks.csv?q=${ZANE}`, { token, html: true })).status, 403);
    t.is((await call('GET', `/staff/tasks/${tasks.zaneImk[0]}/file`, { token, html: true })).status, 403);
  }
  t.is((await stack.db('auditLog').where({ action: 'inbox.search-person' }).whereIn('actorRole', ['learner', 'provider'])).length, 0, 'no search happened');
});
