import test from 'ava';
import { lastRigaDayOf, rigaDate, rigaEndOfDay } from '../../domain/dates';
import { assertError, fieldsOf, httpClient } from '../helpers/http';
import { seedInboxTasks, type InboxSeed } from '../helpers/inbox-seed';
import { startTestStack, type TestStack } from '../helpers/stack';

// The staff inbox over a seeded set of 10,020 tasks: every filter, the counts per filter option, paging and both
// orders, checked against a model of the rows computed here in JavaScript (not by the service's SQL).

let stack: TestStack;
let seed: InboxSeed;
let staff: string;
const call = httpClient(() => stack.appUrl);

test.before(async () => {
  stack = await startTestStack();
  seed = await seedInboxTasks(stack.db, { count: 10_020 });
  staff = await stack.staffToken('staff');
});
test.after.always(async () => { await stack?.stop(); });

interface Row { id: string; type: string; state: string; programme: string | null; callId: string | null; assigneeId: string | null; dueAt: number; escalated: boolean; createdAt: number }
interface TaskView { id: string; type: string; state: string; programme: string | null; callId: string | null; assigneeId: string | null; dueAt: string; createdAt: string; overdue: boolean; dueInWorkingDays: number }
interface Page { tasks: TaskView[]; total: number; page: number; pageSize: number; counts: Record<string, Record<string, number>> }
type Filter = Partial<Record<'type' | 'programme' | 'call' | 'state' | 'assignee' | 'due' | 'sort', string>>;

const decode = (html: string) => html.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&').replace(/&#x27;/g, "'").replace(/&quot;/g, '"');

async function allRows(): Promise<Row[]> {
  const rows = await stack.db('tasks').leftJoin('cases', 'cases.id', 'tasks.caseId').leftJoin('offers', 'offers.id', 'tasks.offerId')
    .select('tasks.id', 'tasks.type', 'tasks.state', 'cases.programme as caseProgramme', 'offers.programme as offerProgramme', 'offers.callId',
      'tasks.assigneeId', 'tasks.dueAt', 'tasks.escalatedAt', 'tasks.createdAt');
  return rows.map((r: Record<string, unknown>) => ({
    id: r.id as string, type: r.type as string, state: r.state as string, programme: (r.caseProgramme ?? r.offerProgramme ?? null) as string | null,
    callId: (r.callId ?? null) as string | null, assigneeId: (r.assigneeId ?? null) as string | null, dueAt: (r.dueAt as Date).getTime(),
    escalated: r.escalatedAt !== null, createdAt: (r.createdAt as Date).getTime(),
  }));
}

// The model: what each filter means, written out plainly.
function bounds(now = Date.now()) {
  const today = rigaDate(new Date(now));
  let sunday = today;
  while (new Date(`${sunday}T12:00:00Z`).getUTCDay() !== 0) sunday = new Date(Date.parse(`${sunday}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return { now, endOfToday: rigaEndOfDay(today).getTime(), endOfWeek: rigaEndOfDay(sunday).getTime() };
}
const isOverdue = (r: Row, b: ReturnType<typeof bounds>) => r.state === 'open' && (r.escalated || r.dueAt < b.now);

function expected(rows: Row[], f: Filter, viewer: string): Row[] {
  const b = bounds();
  const state = f.state ?? 'open';
  const assignee = f.assignee ?? 'anyone';
  const due = f.due ?? 'any';
  const kept = rows.filter((r) => (state === 'all' || r.state === state)
    && (!f.type || r.type === f.type) && (!f.programme || r.programme === f.programme) && (!f.call || r.callId === f.call)
    && (assignee === 'anyone' || (assignee === 'mine' ? r.assigneeId === viewer : r.assigneeId === null))
    && (due === 'any' || (due === 'overdue' ? isOverdue(r, b)
      : r.state === 'open' && (r.escalated || r.dueAt <= (due === 'today' ? b.endOfToday : b.endOfWeek)))));
  const byId = (a: Row, c: Row) => (a.id < c.id ? -1 : a.id > c.id ? 1 : 0);
  if (f.sort === 'age') return kept.sort((a, c) => a.createdAt - c.createdAt || byId(a, c));
  return kept.sort((a, c) => Number(isOverdue(c, b)) - Number(isOverdue(a, b)) || a.dueAt - c.dueAt || a.createdAt - c.createdAt || byId(a, c));
}

const queryOf = (f: Filter, page?: number) => new URLSearchParams({ ...f, ...(page ? { page: String(page) } : {}) } as Record<string, string>).toString();

async function list(f: Filter, page?: number): Promise<Page> {
  const answer = await call('GET', `/api/staff/tasks?${queryOf(f, page)}`, { token: staff });
  if (answer.status !== 200) throw new Error(`${queryOf(f, page)}: HTTP ${answer.status} ${answer.text}`);
  return answer.json as Page;
}

test('the seeded inbox has 10,020 tasks of every type, state, assignee and due bucket', async (t) => {
  const rows = await allRows();
  t.is(rows.length, seed.count);
  t.true(rows.length >= 10_000);
  for (const type of ['approve-imk', 'approve-provider', 'evaluate-offer']) t.is(rows.filter((r) => r.type === type).length, seed.count / 3);
  const b = bounds();
  t.true(rows.some((r) => r.state === 'decided') && rows.some((r) => r.state === 'cancelled'));
  t.true(rows.some((r) => r.escalated) && rows.some((r) => isOverdue(r, b) && !r.escalated));
  t.true(rows.some((r) => r.state === 'open' && !isOverdue(r, b) && r.dueAt <= b.endOfToday), 'some are due later today');
  t.true(rows.some((r) => r.dueAt > b.endOfWeek), 'some are due after this week');
  t.is(new Set(rows.map((r) => r.callId)).size, 3, 'two calls and offers in none');
});

test('each filter on its own gives exactly the tasks the model says, in order', async (t) => {
  const rows = await allRows();
  const filters: Filter[] = [
    {}, { state: 'all' }, { state: 'decided' }, { state: 'cancelled' },
    { type: 'approve-imk' }, { type: 'approve-provider' }, { type: 'evaluate-offer' },
    { programme: 'IMK' }, { programme: 'DPP' }, { programme: 'MN' }, { programme: 'XYZ' },
    { call: seed.callIds[0] }, { call: seed.callIds[1] },
    { assignee: 'mine' }, { assignee: 'unassigned' }, { assignee: 'anyone' },
    { due: 'overdue' }, { due: 'today' }, { due: 'week' }, { due: 'any' },
    { sort: 'age' }, { state: 'all', sort: 'age' },
  ];
  for (const f of filters) {
    const want = expected(rows, f, seed.users.staff);
    const got = await list(f);
    t.is(got.total, want.length, `total for ${queryOf(f)}`);
    t.deepEqual(got.tasks.map((x) => x.id), want.slice(0, 50).map((r) => r.id), `first page for ${queryOf(f)}`);
  }
});

test('combined filters give exactly the tasks the model says', async (t) => {
  const rows = await allRows();
  const filters: Filter[] = [
    { type: 'evaluate-offer', call: seed.callIds[0], due: 'week', assignee: 'unassigned' },
    { type: 'evaluate-offer', programme: 'MN', state: 'all', sort: 'age' },
    { programme: 'IMK', assignee: 'mine', due: 'overdue' },
    { type: 'approve-imk', programme: 'DPP', state: 'decided' },
    { type: 'approve-provider', programme: 'IMK' },
    { state: 'cancelled', due: 'today' },
  ];
  for (const f of filters) {
    const want = expected(rows, f, seed.users.staff);
    const got = await list(f);
    t.is(got.total, want.length, `total for ${queryOf(f)}`);
    t.deepEqual(got.tasks.map((x) => x.id), want.slice(0, 50).map((r) => r.id), `first page for ${queryOf(f)}`);
  }
  t.is((await list({ type: 'approve-provider', programme: 'IMK' })).total, 0, 'provider approvals belong to no programme');
  t.is((await list({ state: 'cancelled', due: 'today' })).total, 0, 'only open tasks are due');
});

test('counts per filter option match the model and add up', async (t) => {
  const rows = await allRows();
  for (const f of [{}, { type: 'evaluate-offer', due: 'week' }, { state: 'all', assignee: 'mine', programme: 'IMK' }] as Filter[]) {
    const { counts, total } = await list(f);
    const count = (change: Filter) => expected(rows, { ...f, ...change }, seed.users.staff).length;
    for (const type of ['approve-imk', 'approve-provider', 'evaluate-offer']) t.is(counts.type[type], count({ type }), `type ${type} with ${queryOf(f)}`);
    t.is(counts.type.any, count({ type: undefined }));
    t.is(counts.type['approve-imk'] + counts.type['approve-provider'] + counts.type['evaluate-offer'], counts.type.any, 'types add up');
    for (const programme of ['IMK', 'DPP', 'MN']) t.is(counts.programme[programme] ?? 0, count({ programme }), `programme ${programme}`);
    const withoutProgramme = expected(rows, { ...f, programme: undefined }, seed.users.staff).filter((r) => r.programme === null).length;
    t.is((counts.programme.IMK ?? 0) + (counts.programme.DPP ?? 0) + (counts.programme.MN ?? 0) + withoutProgramme, counts.programme.any, 'programmes add up');
    for (const id of seed.callIds) t.is(counts.call[id] ?? 0, count({ call: id }), 'per call');
    for (const state of ['open', 'decided', 'cancelled', 'all']) t.is(counts.state[state], count({ state }), `state ${state}`);
    t.is(counts.state.open + counts.state.decided + counts.state.cancelled, counts.state.all, 'states add up');
    for (const assignee of ['mine', 'unassigned', 'anyone']) t.is(counts.assignee[assignee], count({ assignee }), `assignee ${assignee}`);
    for (const due of ['overdue', 'today', 'week', 'any']) t.is(counts.due[due], count({ due }), `due ${due}`);
    t.true(counts.due.overdue <= counts.due.today && counts.due.today <= counts.due.week && counts.due.week <= counts.due.any, 'due buckets nest');
    // The option chosen in each dimension is the list's own total.
    t.is(counts.state[f.state ?? 'open'], total);
    t.is(counts.due[f.due ?? 'any'], total);
    t.is(counts.assignee[f.assignee ?? 'anyone'], total);
  }
});

test('paging walks every open task once, in due order with the overdue first', async (t) => {
  const rows = await allRows();
  const want = expected(rows, {}, seed.users.staff);
  const seen: TaskView[] = [];
  for (let page = 1; ; page += 1) {
    const got = await list({}, page);
    t.is(got.pageSize, 50);
    seen.push(...got.tasks);
    if (got.tasks.length < 50) break;
  }
  t.is(seen.length, want.length);
  t.is(new Set(seen.map((x) => x.id)).size, seen.length, 'no task twice');
  t.deepEqual(seen.map((x) => x.id), want.map((r) => r.id));
  const firstOnTime = seen.findIndex((x) => !x.overdue);
  t.true(firstOnTime > 0 && seen.slice(firstOnTime).every((x) => !x.overdue), 'every overdue task comes before every task on time');
  for (let i = firstOnTime + 1; i < seen.length; i += 1) t.true(Date.parse(seen[i - 1].dueAt) <= Date.parse(seen[i].dueAt));
  const beyond = await list({}, Math.ceil(want.length / 50) + 1);
  t.deepEqual(beyond.tasks, []);
  t.is(beyond.total, want.length);
});

test('sorting by age walks every approval task oldest first; due order is different', async (t) => {
  const rows = await allRows();
  const f: Filter = { type: 'approve-imk', state: 'all', sort: 'age' };
  const want = expected(rows, f, seed.users.staff);
  const seen: TaskView[] = [];
  for (let page = 1; seen.length < want.length; page += 1) {
    const got = await list(f, page);
    if (got.tasks.length === 0) break;
    seen.push(...got.tasks);
  }
  t.deepEqual(seen.map((x) => x.id), want.map((r) => r.id));
  for (let i = 1; i < seen.length; i += 1) t.true(Date.parse(seen[i - 1].createdAt) <= Date.parse(seen[i].createdAt));
  const byDue = await list({ ...f, sort: 'due' });
  t.notDeepEqual(byDue.tasks.map((x) => x.id), seen.slice(0, 50).map((x) => x.id));
});

test('working days to the due day skip weekends and public holidays', async (t) => {
  const holidays = new Set((await stack.db('publicHolidays').select(stack.db.raw("to_char(day, 'YYYY-MM-DD') AS day"))).map((r: { day: string }) => r.day));
  const today = rigaDate(new Date());
  const workingDays = (from: string, to: string) => {
    let n = 0;
    const [a, b, sign] = from <= to ? [from, to, 1] : [to, from, -1];
    for (let d = Date.parse(`${a}T12:00:00Z`) + 86_400_000; d <= Date.parse(`${b}T12:00:00Z`); d += 86_400_000) {
      const day = new Date(d).toISOString().slice(0, 10);
      const weekday = new Date(d).getUTCDay();
      if (weekday !== 0 && weekday !== 6 && !holidays.has(day)) n += 1;
    }
    return sign * n;
  };
  for (const f of [{ due: 'overdue' }, { sort: 'age' }, { state: 'all', sort: 'age' }] as Filter[]) {
    for (const task of (await list(f)).tasks) t.is(task.dueInWorkingDays, workingDays(today, lastRigaDayOf(new Date(task.dueAt))), task.dueAt);
  }
  const overdue = (await list({ due: 'overdue' })).tasks;
  t.true(overdue.every((x) => x.overdue && x.dueInWorkingDays <= 0));
});

test('a bad filter value is a 400 naming the field; an unknown parameter too', async (t) => {
  for (const [query, field] of [
    ['state=closed', 'state'], ['type=approve-everything', 'type'], ['programme=imk', 'programme'], ['call=not-a-call', 'call'],
    ['assignee=someone', 'assignee'], ['due=tomorrow', 'due'], ['sort=name', 'sort'], ['page=0', 'page'], ['colour=red', 'colour'],
  ]) {
    const error = assertError(t, await call('GET', `/api/staff/tasks?${query}`, { token: staff }), 400, 'invalid_request');
    t.deepEqual(fieldsOf(error), [field], query);
    t.true(error.message.includes(`${field}:`), error.message);
  }
  // An empty value means "any", as the page's select sends it.
  t.is((await call('GET', '/api/staff/tasks?type=&programme=&call=&due=&assignee=', { token: staff })).status, 200);
});

test('the page shows a bad filter value next to that filter, keeps the others and lists nothing', async (t) => {
  const page = await call('GET', '/staff/tasks?due=tomorrow&type=evaluate-offer', { token: staff, html: true });
  t.is(page.status, 400);
  const html = decode(page.text);
  t.regex(html, /<select id="due" name="due" aria-invalid="true" aria-describedby="due-error">/);
  t.regex(html, /<p class="field-error" id="due-error">Termiņš: izvēlieties vienu no piedāvātajām iespējām.<\/p>/, 'the rule in the page\'s language');
  t.regex(html, /<option value="evaluate-offer" selected>/);
  t.false(html.includes('<table'), 'no list for a bad filter');
});

test('the page keeps every filter in its paging links, marks the current page and shows counts per option', async (t) => {
  const rows = await allRows();
  const f: Filter = { programme: 'IMK', due: 'week', assignee: 'unassigned', sort: 'age', state: 'all' };
  const want = expected(rows, f, seed.users.staff);
  t.true(want.length > 100, `enough rows for three pages (${want.length})`);
  const page = await call('GET', `/staff/tasks?${queryOf(f, 2)}&lang=en`, { token: staff, html: true });
  t.is(page.status, 200);
  const html = decode(page.text);
  for (const href of [...html.matchAll(/<nav aria-label="Pages" class="paging">([\s\S]*?)<\/nav>/g)][0][1].matchAll(/href="([^"]+)"/g)) {
    t.true(href[1].startsWith('/staff/tasks?'), href[1]);
    const params = new URL(href[1], stack.appUrl).searchParams;
    for (const [key, value] of Object.entries(f)) t.is(params.get(key), value, `${key} kept in ${href[1]}`);
  }
  t.regex(html, /rel="prev"/);
  t.regex(html, /rel="next"/);
  t.regex(html, /<a href="\/staff\/tasks\?[^"]*page=2[^"]*" aria-label="Page 2" aria-current="page">2<\/a>/);
  t.regex(html, new RegExp(`<caption>Tasks: page 2 of ${Math.ceil(want.length / 50)}, ${want.length} in all</caption>`));
  t.regex(html, /<option value="IMK" selected>IMK — [^<]+ \(\d+\)<\/option>/);
  t.regex(html, /<option value="week" selected>Due by the end of this week \(\d+\)<\/option>/);
  t.regex(html, /<option value="age" selected>Age \(oldest first\)<\/option>/);
  t.regex(html, /<th scope="col">/);
  const claimForm = /<input type="hidden" name="back" value="([^"]*)">/.exec(html);
  t.truthy(claimForm, 'claim buttons carry the view to come back to');
  t.is(new URLSearchParams(claimForm![1]).get('due'), 'week');
});

test('the list with counts over 10,000 tasks: timing (logged, not asserted)', async (t) => {
  const timings: string[] = [];
  for (const f of [{}, { state: 'all' }, { state: 'all', sort: 'age' }, { type: 'evaluate-offer', call: seed.callIds[0], due: 'week' }, { programme: 'IMK', assignee: 'mine' }] as Filter[]) {
    await list(f);
    const runs: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const started = process.hrtime.bigint();
      await list(f, 3);
      runs.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    runs.sort((a, b) => a - b);
    timings.push(`${queryOf(f) || '(default)'}: median ${runs[2].toFixed(1)} ms, max ${runs[4].toFixed(1)} ms`);
  }
  t.log(timings.join('\n'));
  t.pass();
});

test('the language switch keeps the inbox filters (issue 16: it dropped them)', async (t) => {
  const page = await call('GET', '/staff/tasks?type=approve-imk&due=overdue&lang=lv', { token: await stack.staffToken(), html: true });
  t.is(page.status, 200);
  const html = page.text.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
  t.regex(html, /href="\?type=approve-imk&due=overdue&lang=en" lang="en"/);
});

test('after a decision the inbox says it is recorded and links the next open task of the view', async (t) => {
  const token = await stack.staffToken();
  const page = await call('GET', '/staff/tasks?done=decided&lang=en', { token, html: true });
  t.is(page.status, 200);
  t.regex(page.text, /The decision is recorded\./);
  const list = (await call('GET', '/api/staff/tasks', { token })).json as { tasks: { id: string; state: string }[] };
  const first = list.tasks.find((task) => task.state === 'open')!;
  t.regex(page.text, new RegExp(`href="/staff/tasks/${first.id}" data-testid="next-step">Next task: `));
});
