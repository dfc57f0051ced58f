import { randomUUID } from 'node:crypto';
import test from 'ava';
import type { Knex } from 'knex';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import { API_DB_LIMITS, createDb } from '../../lib/db';
import { connectTemporalClient } from '../../lib/temporal';
import { testDataConverter } from '../helpers/payload-keys';
import { learnerJourneyId } from '../../workflows/ids';
import { assertError, httpClient } from '../helpers/http';
import { eventually } from '../helpers/journeys';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

// Outages answered well: an API whose Temporal, PostgreSQL and SMTP are reached through proxies the tests break
// (the shared servers keep running for everyone else). The worker reaches Temporal and PostgreSQL directly.

let stack: TestStack;
let proxies: { temporal: TcpProxy; postgres: TcpProxy; smtp: TcpProxy };
let apiDb: Knex;
let apiTemporal: Client;
let apiUrl = '';
const call = httpClient(() => apiUrl);

const hostPort = (address: string) => {
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  return { host: url.hostname, port: Number(url.port) };
};

test.before(async () => {
  stack = await startTestStack();
  proxies = {
    temporal: await startTcpProxy(hostPort(process.env.TEMPORAL_ADDRESS!)),
    postgres: await startTcpProxy(hostPort(stack.databaseUrl)),
    smtp: await startTcpProxy(hostPort(stack.apiDeps.smtpUrl)),
  };
  const viaProxy = new URL(stack.databaseUrl);
  viaProxy.port = String(proxies.postgres.port);
  apiDb = createDb(viaProxy.toString(), undefined, API_DB_LIMITS);
  apiTemporal = await connectTemporalClient({ address: proxies.temporal.address, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default', dataConverter: testDataConverter });
  apiUrl = (await stack.serveApi({ db: apiDb, temporal: apiTemporal, smtpUrl: `smtp://${proxies.smtp.address}` })).url;
});

// Each test starts with everything back: the proxies forward, and the API has reconnected (it says it is ready).
test.afterEach.always(async () => {
  for (const proxy of Object.values(proxies ?? {})) await proxy.restore();
  await eventually(async () => (await call('GET', '/api/health')).status === 200, 'the API to be healthy again', 15_000);
});

test.after.always(async () => {
  await apiDb?.destroy();
  await apiTemporal?.connection.close();
  for (const proxy of Object.values(proxies ?? {})) await proxy.close();
  await stack?.stop();
});

const ANNA = { code: '321178-40215', name: 'Anna Bērziņa' };
const JANIS = { code: '150690-11223', name: 'Jānis Kalniņš' };

const registration = (programme: string, requestId = randomUUID()) => ({
  requestId, programme, email: 'learner@example.lv', language: 'lv', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION,
});

async function register(person: { code: string; name: string }, body: Record<string, unknown>) {
  const token = await stack.tokenFor('learner', person.code, person.name);
  const began = Date.now();
  const answer = await call('POST', '/api/learner/journeys', { token, json: body });
  return { answer, ms: Date.now() - began };
}

async function workflowExists(workflowId: string): Promise<boolean> {
  try {
    await stack.temporal.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

test.serial('a start while Temporal is unreachable is a 503 with Retry-After within 5 s, and leaves nothing behind', async (t) => {
  await proxies.temporal.refuse();
  const body = registration('DPP');
  const { answer, ms } = await register(JANIS, body);
  const error = assertError(t, answer, 503, 'service_unavailable');
  t.true(ms <= 5_000, `answered after ${ms} ms`);
  t.truthy(answer.headers.get('retry-after'));
  t.like(error.details[0], { dependency: 'temporal' });
  t.regex(error.message, /Temporal/);

  await proxies.temporal.restore();
  t.falsy(await stack.db('cases').where({ id: body.requestId }).first(), 'no case row');
  t.falsy(await stack.db('journeyReservations').where({ caseId: body.requestId }).first(), 'no reservation holds the programme');
  t.false(await workflowExists(learnerJourneyId(body.requestId)), 'no workflow');
  // The place is free: once the API says it is ready again (its client reconnects within seconds), trying again works.
  await eventually(async () => (await call('GET', '/api/ready')).status === 200, 'the API to be ready again', 15_000);
  const again = await register(JANIS, registration('DPP'));
  t.true([201, 202].includes(again.answer.status), again.answer.text);
});

test.serial('a start whose answer is lost after the journey started is answered with its case id, and the journey runs', async (t) => {
  // Requests reach Temporal, answers never come back (and new connections are just as mute).
  proxies.temporal.mute();
  const body = registration('IMK');
  const { answer, ms } = await register(ANNA, body);
  t.true([201, 202].includes(answer.status), answer.text);
  t.true(ms <= 5_000, `answered after ${ms} ms`);
  t.is((answer.json as { caseId: string }).caseId, body.requestId);
  await proxies.temporal.restore();
  const approved = await eventually(() => stack.db('cases').where({ id: body.requestId, stage: 'imk_approved' }).first(), 'the journey to approve the account');
  t.truthy(approved.serviceCaseId);
});

test.serial('PostgreSQL unreachable is a 503 naming the database (API and pages), not a 500', async (t) => {
  const token = await stack.tokenFor('learner', JANIS.code, JANIS.name);
  await proxies.postgres.refuse();
  const began = Date.now();
  const read = await call('GET', '/api/learner/journeys', { token });
  t.true(Date.now() - began <= 5_000);
  const error = assertError(t, read, 503, 'service_unavailable');
  t.like(error.details[0], { dependency: 'postgresql' });
  t.truthy(read.headers.get('retry-after'));

  const { answer, ms } = await register(JANIS, registration('MN'));
  assertError(t, answer, 503, 'service_unavailable');
  t.true(ms <= 5_000, `answered after ${ms} ms`);

  const page = await call('GET', '/learner', { token, html: true });
  t.is(page.status, 503);
  t.regex(page.text, /Datubāze neatbild/);
  const english = await call('GET', '/learner?lang=en', { token, html: true });
  t.regex(english.text, /The database is not answering/);
});

test.serial('PostgreSQL that takes requests and never answers is a 503 within 5 s too', async (t) => {
  const token = await stack.tokenFor('learner', JANIS.code, JANIS.name);
  proxies.postgres.mute();
  const began = Date.now();
  const read = await call('GET', '/api/learner/journeys', { token });
  t.true(Date.now() - began <= 5_000, `answered after ${Date.now() - began} ms`);
  const error = assertError(t, read, 503, 'service_unavailable');
  t.like(error.details[0], { dependency: 'postgresql' });
});

test.serial('many requests while PostgreSQL is mute are every one a 503, none a 500', async (t) => {
  proxies.postgres.mute();
  // More requests than the pool has connections: some wait for the pool, others for their own connection attempt,
  // and the two timeouts race; either way the answer is that the database is away.
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call('GET', `/api/catalogue?q=x${i}`)));
  t.deepEqual([...new Set(answers.map((a) => a.status))], [503], answers.map((a) => `${a.status} ${a.text.slice(0, 80)}`).join('\n'));
  for (const answer of answers) t.truthy(answer.headers.get('retry-after'));
});

test.serial('/api/health and /api/ready report each dependency, and a down one', async (t) => {
  for (const path of ['/api/health', '/api/ready']) {
    const up = await call('GET', path);
    t.is(up.status, 200, up.text);
    t.like(up.json, { status: 'ok', dependencies: { temporal: { status: 'ok' }, postgresql: { status: 'ok' }, smtp: { status: 'ok' } } });
  }

  await proxies.temporal.refuse();
  for (const path of ['/api/health', '/api/ready']) {
    const began = Date.now();
    const down = await call('GET', path);
    t.true(Date.now() - began <= 5_000);
    t.is(down.status, 503, down.text);
    t.like(down.json, { status: 'down', dependencies: { temporal: { status: 'down' }, postgresql: { status: 'ok' }, smtp: { status: 'ok' } } });
    t.truthy(down.headers.get('retry-after'));
  }
  await proxies.temporal.restore();
  await eventually(async () => (await call('GET', '/api/health')).status === 200, 'Temporal to be back', 15_000);

  await proxies.postgres.refuse();
  for (const path of ['/api/health', '/api/ready']) {
    const down = await call('GET', path);
    t.is(down.status, 503, down.text);
    t.like(down.json, { dependencies: { postgresql: { status: 'down' }, temporal: { status: 'ok' } } });
  }
  await proxies.postgres.restore();
  await eventually(async () => (await call('GET', '/api/health')).status === 200, 'PostgreSQL to be back', 15_000);

  // The mail server: the system is not healthy (no e-mail leaves), but this API still serves requests.
  await proxies.smtp.refuse();
  const health = await call('GET', '/api/health');
  t.is(health.status, 503, health.text);
  t.like(health.json, { dependencies: { smtp: { status: 'down' } } });
  const ready = await call('GET', '/api/ready');
  t.is(ready.status, 200, ready.text);
  t.like(ready.json, { status: 'ok', dependencies: { smtp: { status: 'down' } } });
});

test.serial('the console shows each process and service, and which one is down (Latvian and English)', async (t) => {
  const token = await stack.adminToken();
  const row = (page: string, name: string) => new RegExp(`<tr class="health-(\\w+)" data-process="${name}">([\\s\\S]*?)</tr>`).exec(page);

  const up = await call('GET', '/admin/registries', { token, html: true });
  t.is(up.status, 200, up.text);
  for (const name of ['api', 'worker', 'temporal', 'postgresql', 'smtp']) t.is(row(up.text, name)?.[1], 'ok', name);
  t.regex(row(up.text, 'worker')![2]!, /pēdējais pieprasījums/, 'the worker seen polling, with its last poll');
  for (const registry of ['population-register', 'sopa', 'viis', 'enterprise-register']) t.truthy(row(up.text, registry), registry);
  t.regex(up.text, /Procesi un pakalpojumi/);

  await proxies.temporal.refuse();
  const down = await call('GET', '/admin/registries?lang=en', { token, html: true });
  t.is(down.status, 200, down.text);
  t.is(row(down.text, 'temporal')?.[1], 'down');
  t.regex(row(down.text, 'temporal')![2]!, /Not answering/);
  t.is(row(down.text, 'worker')?.[1], 'down', 'nobody can say the workers poll');
  t.is(row(down.text, 'postgresql')?.[1], 'ok');
  t.regex(down.text, /Processes and services/);

  const json = await call('GET', '/api/admin/health', { token });
  t.is(json.status, 200, json.text);
  const processes = (json.json as { processes: { name: string; status: string }[] }).processes;
  t.deepEqual(processes.map((p) => [p.name, p.status]), [['api', 'ok'], ['worker', 'down'], ['temporal', 'down'], ['postgresql', 'ok'], ['smtp', 'ok']]);
});

test.serial('the console\'s stuck view while Temporal is unreachable shows the stuck index within 5 s and says Temporal does not answer', async (t) => {
  const token = await stack.adminToken();
  await proxies.temporal.refuse();
  const began = Date.now();
  const page = await call('GET', '/admin/stuck', { token, html: true });
  t.true(Date.now() - began <= 5_000, `answered after ${Date.now() - began} ms`);
  // Issue 17: the list comes from PostgreSQL (the stuck index), so it is there when Temporal is not.
  t.is(page.status, 200, page.text);
  t.regex(page.text, /Lietu dzinējs \(Temporal\) neatbild/);
});

test.serial('a journey whose start was answered 202 is "being opened" at its address until the worker opens the case, and only for its owner', async (t) => {
  // No worker polls this queue: the case row never comes, as while Temporal or the worker is down.
  let queueUrl = '';
  const unpolled = httpClient(() => queueUrl);
  queueUrl = (await stack.serveApi({ taskQueue: `unpolled-${randomUUID()}` })).url;
  // Not Anna: this journey never opens, so its reservation holds DPP for its person to the end of the file.
  const token = await stack.tokenFor('learner', '220288-10458', 'Marta Zariņa');
  const body = registration('DPP');
  const started = await unpolled('POST', '/api/learner/journeys', { token, json: body });
  t.is(started.status, 202, started.text);
  const location = (started.json as { location: string }).location;

  const asked = await unpolled('GET', location, { token });
  t.is(asked.status, 202, asked.text);
  t.deepEqual(asked.json, { caseId: body.requestId, stage: 'opening' });
  t.is(asked.headers.get('retry-after'), '2');
  const stranger = await stack.tokenFor('learner', '010309-21234', 'Līga Ozola');
  assertError(t, await unpolled('GET', location, { token: stranger }), 404, 'journey_not_found');
});

test.serial('a journey that started is answered with its case id even when the database goes away while the API waits for the case', async (t) => {
  // No worker polls this queue, so the API waits for a case row that does not come; the database goes meanwhile.
  const slow = httpClient(() => slowUrl);
  let slowUrl = '';
  slowUrl = (await stack.serveApi({ db: apiDb, temporal: apiTemporal, taskQueue: `unpolled-${randomUUID()}` })).url;
  const token = await stack.tokenFor('learner', ANNA.code, ANNA.name);
  const body = registration('DPP');
  const answering = slow('POST', '/api/learner/journeys', { token, json: body });
  await eventually(() => workflowExists(learnerJourneyId(body.requestId)), 'the journey to start', 5_000);
  await proxies.postgres.refuse();
  const answer = await answering;
  t.is(answer.status, 202, answer.text);
  t.is((answer.json as { caseId: string }).caseId, body.requestId);
});
