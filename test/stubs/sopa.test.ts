import fs from 'node:fs';
import https from 'node:https';
import test, { type ExecutionContext } from 'ava';
import { seedSocialStatuses } from '../../dev/seed-social-status';
import { createSopaStub } from '../../dev/stubs/sopa';
import { clientTlsFiles } from '../../dev/tls';
import { clientTlsAgent, tlsRequest, type ClientTlsFiles } from '../../lib/mtls';
import { makeTestTls, type TestTls } from '../helpers/tls';

const operator = { userName: 'Ilze', userSecondName: 'Priede', userPersonCode: '010180-10006' };

let tls: TestTls;
test.before(() => {
  tls = makeTestTls();
});
test.after.always(() => tls?.remove());

/** A request to the stub over mutual TLS (the checkout's client certificate unless `agent` says otherwise). */
type Send = (path: string, body?: unknown, agent?: https.Agent) => Promise<{ status: number; json(): Promise<unknown> }>;

async function startStub(t: ExecutionContext) {
  const stub = createSopaStub({ statuses: seedSocialStatuses, tls: tls.good });
  const server = await stub.listen(0);
  const goodAgent = clientTlsAgent(clientTlsFiles(tls.good));
  t.teardown(() => {
    goodAgent.destroy();
    return server.close();
  });
  const send: Send = async (path, body, agent = goodAgent) => {
    const answer = await tlsRequest(`${server.url}${path}`, {
      agent, method: body === undefined ? 'GET' : 'POST', headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body), timeoutMs: 5_000,
    });
    return { status: answer.status, json: async () => JSON.parse(answer.text) as unknown };
  };
  const ask = (body: Record<string, unknown>) => send('/status', body);
  return { control: stub.control, url: server.url, ask, send };
}

/** An agent presenting `files`, or no client certificate at all (null); it trusts the stub's CA either way. */
function agentWith(t: ExecutionContext, files: ClientTlsFiles | null): https.Agent {
  const agent = files ? clientTlsAgent(files) : new https.Agent({ ca: fs.readFileSync(tls.good.caCert) });
  t.teardown(() => agent.destroy());
  return agent;
}

test('serves HTTPS only to a client whose certificate our CA signed; refuses none, another CA\'s, an expired one', async (t) => {
  const { url, send, control } = await startStub(t);
  t.true(url.startsWith('https://127.0.0.1:'));
  const question = { PersonCode: '150690-11223', dateFrom: '2026-03-01', dateTill: '2026-03-01', ...operator };
  const refusals: [string, https.Agent, RegExp][] = [
    ['no certificate', agentWith(t, null), /^no client certificate$/],
    ['another CA', agentWith(t, tls.foreignCa), /UNABLE_TO_VERIFY_LEAF_SIGNATURE/],
    ['expired', agentWith(t, tls.expired), /CERT_HAS_EXPIRED/],
  ];
  for (const [name, agent] of refusals) {
    await t.throwsAsync(send('/status', question, agent), undefined, name);
  }
  // Refused in the handshake: no request was read, and the stub says why each one was refused.
  t.is(control.requests, 0);
  t.deepEqual(control.lastRequests, []);
  t.is(control.refusedClients.length, 3);
  refusals.forEach(([name, , reason], i) => t.regex(control.refusedClients[i], reason, name));
  // The good certificate is answered.
  t.is((await send('/status', question)).status, 200);
  t.is(control.requests, 1);
});

test('returns the records overlapping the period', async (t) => {
  const { ask } = await startStub(t);
  const res = await ask({ PersonCode: '15069011223', dateFrom: '2026-03-01', dateTill: '2026-03-01', ...operator });
  t.is(res.status, 200);
  t.deepEqual(await res.json(), {
    PKods: '150690-11223',
    statusi: [{ Statuss: 2, DatumsNo: '2026-01-01', DatumsLidz: '2026-12-31', Pasvaldiba: '90000012345' }],
  });
  // A period that only touches the last day still overlaps.
  const edge = (await (await ask({ PersonCode: '220288-10458', dateFrom: '2025-06-30', dateTill: '2025-09-01', ...operator })).json()) as {
    statusi: { Statuss: number }[];
  };
  t.deepEqual(edge.statusi.map((s) => s.Statuss), [1]);
});

test('several records come back in date order; records outside the period do not', async (t) => {
  const { ask, control } = await startStub(t);
  control.setStatuses('321178-40215', [
    { status: 2, validFrom: '2025-07-01', validTo: '2025-12-31', municipality: '90000000001' },
    { status: 1, validFrom: '2025-01-01', validTo: '2025-06-30', municipality: '90000000001' },
    { status: 2, validFrom: '2027-01-01', validTo: '2027-12-31', municipality: '90000000001' },
  ]);
  const body = (await (await ask({ PersonCode: '321178-40215', dateFrom: '2025-01-01', dateTill: '2026-06-30', ...operator })).json()) as {
    statusi: { Statuss: number; DatumsNo: string }[];
  };
  t.deepEqual(body.statusi.map((s) => [s.Statuss, s.DatumsNo]), [[1, '2025-01-01'], [2, '2025-07-01']]);
});

test('a person without records, or without records in the period, is status 0', async (t) => {
  const { ask } = await startStub(t);
  const notFound = { Statuss: 0, DatumsNo: null, DatumsLidz: null, Pasvaldiba: null };
  // Anna Bērziņa has no records at all; Marta Zariņa's status expired on 2025-06-30.
  t.deepEqual(await (await ask({ PersonCode: '321178-40215', dateFrom: '2026-03-01', dateTill: '2026-03-01', ...operator })).json(), {
    PKods: '321178-40215', statusi: [notFound],
  });
  t.deepEqual(await (await ask({ PersonCode: '220288-10458', dateFrom: '2026-03-01', dateTill: '2026-03-01', ...operator })).json(), {
    PKods: '220288-10458', statusi: [notFound],
  });
});

test('operator identity is required (401) and recorded for every request', async (t) => {
  const { ask, control } = await startStub(t);
  const question = { PersonCode: '150690-11223', dateFrom: '2026-03-01', dateTill: '2026-03-01' };
  for (const missing of ['userName', 'userSecondName', 'userPersonCode'] as const) {
    const res = await ask({ ...question, ...operator, [missing]: ' ' });
    t.is(res.status, 401, missing);
    t.deepEqual(await res.json(), { error: 'operator_identity_required' });
  }
  t.is((await ask({ ...question, ...operator })).status, 200);
  t.is(control.lastRequests.length, 4);
  t.deepEqual(control.lastRequests.at(-1), { ...question, ...operator });
});

test('malformed person code or dates are 400 naming the field', async (t) => {
  const { ask } = await startStub(t);
  const good = { PersonCode: '150690-11223', dateFrom: '2026-03-01', dateTill: '2026-03-01', ...operator };
  for (const [field, value] of [
    ['PersonCode', '15069-011223x'], ['dateFrom', '2026-02-30'], ['dateTill', '01.03.2026'], ['dateTill', '2026-02-28'],
  ] as const) {
    const res = await ask({ ...good, [field]: value });
    t.is(res.status, 400, `${field}=${value}`);
    t.deepEqual(await res.json(), { error: 'invalid_field', field });
  }
});

test('failNext with a status, then answers again; all requests counted', async (t) => {
  const { ask, control } = await startStub(t);
  const question = { PersonCode: '150690-11223', dateFrom: '2026-03-01', dateTill: '2026-03-01', ...operator };
  control.failNext(2, 503);
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await ask(question)).status);
  t.deepEqual(statuses, [503, 503, 200]);
  t.is(control.requests, 3);
  // Failed requests are still recorded: the operator identity was sent either way.
  t.is(control.lastRequests.length, 3);
});

test('down destroys the connection; delay slows answers; reset clears switches and the request log', async (t) => {
  const { ask, control, send } = await startStub(t);
  const question = { PersonCode: '150690-11223', dateFrom: '2026-03-01', dateTill: '2026-03-01', ...operator };
  control.setDown(true);
  await t.throwsAsync(ask(question), { message: /socket hang up|ECONNRESET/ });
  control.setDown(false);
  control.setDelay(150);
  const started = Date.now();
  t.is((await ask(question)).status, 200);
  t.true(Date.now() - started >= 140);
  control.reset();
  t.is(control.requests, 0);
  t.deepEqual(control.lastRequests, []);
  t.deepEqual(await (await send('/__control')).json(), { requests: 0, failNext: 0, delayMs: 0, down: false });
});

test('lastRequests keeps the last 50', async (t) => {
  const { ask, control } = await startStub(t);
  for (let i = 0; i < 55; i++) {
    await ask({ PersonCode: '150690-11223', dateFrom: '2026-03-01', dateTill: '2026-03-01', ...operator, userName: `Op${i}` });
  }
  t.is(control.lastRequests.length, 50);
  t.is(control.lastRequests[0].userName, 'Op5');
  t.is(control.lastRequests[49].userName, 'Op54');
});

test('HTTP control: failNext with status and reset', async (t) => {
  const { send, ask, control } = await startStub(t);
  const post = (path: string, body?: unknown) => send(path, body ?? {});
  t.is((await post('/__control', { failNext: 1, failStatus: 400 })).status, 200);
  t.is((await ask({ PersonCode: '150690-11223', dateFrom: '2026-03-01', dateTill: '2026-03-01', ...operator })).status, 400);
  t.is((await post('/__control', { down: 'yes' })).status, 400);
  await post('/__control/reset');
  t.is(control.requests, 0);
});
