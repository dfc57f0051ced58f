import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiDeps } from '../api/deps';
import { inboxQuery } from '../api/schemas';
import { inboxMoment, taskPage } from '../api/services/tasks';
import { startTestStack, type TestStack } from '../test/helpers/stack';
import { seedInboxTasks } from '../test/helpers/inbox-seed';
import { percentile } from './measure';

// Issue 17 item 2: the staff inbox with its counts per filter option must stay within 2× of the bare page query
// (the same page of the same view, no counts) at 100,000 and 1,000,000 open tasks. Both are measured side by side
// in one run, over HTTP, alternating request by request, so the machine's noise falls on both alike:
// - "with counts": GET /api/staff/tasks as staff use it (session, filters, page and every count);
// - "bare page": a plain HTTP server in this process answering the same page of the same view from the same
//   service function (taskPage), with no session and no counts.
// The counts come from the summary kept by triggers (api/services/inbox-counts.ts), except for a search, which
// counts the tasks it narrows to: the case-number search (one case) has the goal too; a name that all 300 seeded
// learners share narrows to a third of all tasks and is printed for information, without a goal.
//
// INBOX_BENCH_OPEN=10000,100000 measures other sizes (e.g. a tenth while developing).

const GOAL = 2;
const RUNS = 20;
/** The seed's share of open tasks (70 %; the rest decided or withdrawn): seeded = open / OPEN_SHARE. */
const OPEN_SHARE = 0.7;
const SIZES = (process.env.INBOX_BENCH_OPEN ?? '100000,1000000').split(',').map(Number);

const VIEWS: { name: string; query: string; goal: boolean }[] = [
  { name: 'default (open, by due date)', query: '', goal: true },
  { name: 'everything, by age', query: 'state=all&sort=age', goal: true },
  { name: 'my tasks due this week', query: 'assignee=mine&due=week', goal: true },
  { name: 'offer evaluations of one call, overdue', query: 'type=evaluate-offer&due=overdue&call=CALL', goal: true },
  { name: 'page 20 of unassigned tasks', query: 'assignee=unassigned&page=20', goal: true },
  { name: 'search by case number', query: 'q=SEED-000123', goal: true },
  { name: 'search by a name 300 learners share', query: `q=${encodeURIComponent('sēklis')}`, goal: false },
];

// The bare page: the view's query string parsed as the API parses it, one page from taskPage, as JSON.
async function bareServer(stack: TestStack, viewerId: string): Promise<{ url: string; close: () => Promise<void> }> {
  const deps = { db: stack.db } as ApiDeps;
  const server = http.createServer((req, res) => {
    const params = Object.fromEntries(new URL(req.url ?? '/', 'http://bench').searchParams);
    taskPage(deps, inboxQuery.parse(params), viewerId, inboxMoment()).then((tasks) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ tasks }));
    }, (err: unknown) => { res.writeHead(500).end(String(err)); });
  });
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => { server.close(() => resolve()); }),
  };
}

async function get(url: string, token?: string): Promise<void> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}`, accept: 'application/json' } : {} });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

const ms = (n: number) => n.toFixed(1).padStart(7);

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function measureSize(open: number): Promise<boolean> {
  const stack = await startTestStack();
  let bare: Awaited<ReturnType<typeof bareServer>> | undefined;
  try {
    const started = Date.now();
    const seeded = await seedInboxTasks(stack.db, { count: Math.round(open / OPEN_SHARE) });
    await stack.db.raw('VACUUM ANALYZE tasks, inbox_counts');
    const [{ n: openTasks }] = (await stack.db.raw<{ rows: { n: number }[] }>("SELECT count(*)::int AS n FROM tasks WHERE state = 'open'")).rows;
    const [{ n: summaryRows }] = (await stack.db.raw<{ rows: { n: number }[] }>('SELECT count(*)::int AS n FROM inbox_counts')).rows;
    process.stdout.write(`\n${seeded.count.toLocaleString('en')} tasks, ${openTasks!.toLocaleString('en')} open, seeded in ${((Date.now() - started) / 1000).toFixed(0)} s; `
      + `the summary holds ${summaryRows!.toLocaleString('en')} rows\n`);
    const token = await stack.staffToken('staff');
    bare = await bareServer(stack, seeded.users.staff);
    let ok = true;
    for (const view of VIEWS) {
      const query = view.query.replace('CALL', seeded.callIds[0]);
      const full = `${stack.appUrl}/api/staff/tasks?${query}`;
      const page = `${bare.url}/?${query}`;
      // Alternating, each request timed on its own: with counts first, then bare; the next pair the other way round.
      const withCounts: number[] = [];
      const barePage: number[] = [];
      await get(full, token);
      await get(page);
      for (let i = 0; i < RUNS; i += 1) {
        if (i % 2 === 0) withCounts.push(await timed(() => get(full, token)));
        barePage.push(await timed(() => get(page)));
        if (i % 2 === 1) withCounts.push(await timed(() => get(full, token)));
      }
      const [c50, c95, b50, b95] = [percentile(withCounts, 50), percentile(withCounts, 95), percentile(barePage, 50), percentile(barePage, 95)];
      const r50 = c50 / b50;
      const r95 = c95 / b95;
      const met = r50 <= GOAL;
      if (view.goal) ok = met && ok;
      const verdict = view.goal ? (met ? 'ok  ' : 'MISS') : 'info';
      process.stdout.write(`${verdict} ${`${(open / 1000).toLocaleString('en')}k open: ${view.name}`.padEnd(52)} with counts p50 ${ms(c50)} p95 ${ms(c95)} ms; `
        + `bare page p50 ${ms(b50)} p95 ${ms(b95)} ms; ratio p50 ${r50.toFixed(2)}× p95 ${r95.toFixed(2)}× `
        + `${view.goal ? `(goal p50 ≤ ${GOAL}×)` : '(a search counts the tasks it finds: no goal)'}\n`);
    }
    return ok;
  } finally {
    await bare?.close();
    await stack.stop();
  }
}

async function main(): Promise<boolean> {
  let ok = true;
  for (const open of SIZES) ok = (await measureSize(open)) && ok;
  return ok;
}

main().then((ok) => process.exit(ok ? 0 : 1), (err: unknown) => { console.error(err); process.exit(1); });
