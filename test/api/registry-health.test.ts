import test from 'ava';
import { eventually, startLearnerJourney, untilStage } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { assertError, httpClient } from '../helpers/http';

// The registry health panel over HTTP: the worker's registry clients count every call per minute in Postgres,
// and the administrators' panel reports calls, error rate and latency per registry.

let stack: TestStack;
let adminToken: string;
const call = httpClient(() => stack.appUrl);

test.before(async () => {
  stack = await startTestStack();
  adminToken = await stack.adminToken();
});
test.after.always(async () => { await stack?.stop(); });

interface Window { minutes: number; calls: number; errors: number; errorRatePercent: number | null; avgMs: number | null; maxMs: number | null; noCalls: boolean }
interface Row { registry: string; status: string; last15: Window; lastHour: Window }

async function health(): Promise<Row[]> {
  const answer = await call('GET', '/api/admin/registries/health', { token: adminToken });
  if (answer.status !== 200) throw new Error(`health: HTTP ${answer.status} ${answer.text}`);
  return (answer.json as { registries: Row[] }).registries;
}

test.serial('the panel reports the Population Register\'s calls, error rate and latency after failing and slow calls', async (t) => {
  t.timeout(90_000);
  const before = await health();
  t.deepEqual(before.map((r) => r.registry), ['population-register', 'sopa', 'viis', 'enterprise-register', 'service-platform', 'e-address']);
  t.true(before.every((r) => r.status === 'no_calls' && r.last15.noCalls && r.lastHour.noCalls), 'a fresh system has no calls');

  // One slow, successful lookup ...
  stack.registry.setDelay(300);
  const anna = await startLearnerJourney(stack.temporal, stack.taskQueue, '321178-40215');
  await untilStage(stack.db, anna.handle, anna.caseId, 'imk_approved');
  stack.registry.setDelay(0);
  // ... then a lookup the register refuses three times (HTTP 500) before it answers.
  stack.registry.failNext(3, 500);
  const marta = await startLearnerJourney(stack.temporal, stack.taskQueue, '220288-10458');
  await untilStage(stack.db, marta.handle, marta.caseId, 'imk_approved');

  const rows = await eventually(async () => {
    const now = await health();
    return now[0].last15.calls === 5 ? now : null;
  }, 'five Population Register calls in the panel');
  const register = rows.find((r) => r.registry === 'population-register')!;
  t.like(register.last15, { minutes: 15, calls: 5, errors: 3, errorRatePercent: 60, noCalls: false });
  t.like(register.lastHour, { minutes: 60, calls: 5, errors: 3, errorRatePercent: 60 });
  t.true(register.last15.maxMs! >= 300, `the slow call shows as the slowest: ${register.last15.maxMs} ms`);
  t.true(register.last15.avgMs! >= 60 && register.last15.avgMs! < register.last15.maxMs!, `average ${register.last15.avgMs} ms`);
  t.is(register.status, 'down', '60 % errors over 15 minutes');
  t.is(rows.find((r) => r.registry === 'viis')!.status, 'no_calls');
  if (stack.sopa.requests === 0) t.true(rows.find((r) => r.registry === 'sopa')!.last15.noCalls);

  // The page shows the same, with "no calls" where there were none.
  const page = await call('GET', '/admin/registries', { token: adminToken, html: true });
  t.is(page.status, 200, page.text);
  const registerRow = /<tr class="health-down" data-registry="population-register">([\s\S]*?)<\/tr>/.exec(page.text)?.[1] ?? '';
  t.regex(registerRow, /<td>5 <span class="muted">\(3 /);
  t.regex(registerRow, /60 %/);
  t.regex(page.text, /data-registry="viis">[\s\S]*?nav pieprasījumu/);
});

test.serial('calls older than 15 minutes count only in the hour; older than an hour not at all', async (t) => {
  const minute = (ago: number) => new Date(Math.floor(Date.now() / 60_000) * 60_000 - ago * 60_000);
  await stack.db('registryCallStats').insert([
    { registry: 'viis', minute: minute(20), calls: 4, errors: 1, totalMs: 400, maxMs: 250 },
    { registry: 'viis', minute: minute(90), calls: 100, errors: 100, totalMs: 100, maxMs: 9_000 },
    { registry: 'enterprise-register', minute: minute(0), calls: 2, errors: 0, totalMs: 50, maxMs: 30 },
  ]);
  const rows = await health();
  const viis = rows.find((r) => r.registry === 'viis')!;
  t.true(viis.last15.noCalls);
  t.like(viis.lastHour, { calls: 4, errors: 1, errorRatePercent: 25, avgMs: 100, maxMs: 250 });
  t.is(viis.status, 'no_calls', 'the status is judged on the last 15 minutes');
  t.like(rows.find((r) => r.registry === 'enterprise-register')!, { status: 'ok', last15: { calls: 2, errors: 0, errorRatePercent: 0, avgMs: 25, maxMs: 30 } });
});

test.serial('only administrators see the panel', async (t) => {
  assertError(t, await call('GET', '/api/admin/registries/health', { token: await stack.staffToken('staff') }), 403, 'forbidden');
  assertError(t, await call('GET', '/api/admin/registries/health'), 401, 'not_logged_in');
  t.is((await call('GET', '/admin/registries', { token: await stack.staffToken('staff'), html: true })).status, 403);
});
