import { createServer } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { createEnterpriseRegisterClient } from '../../activities/registries/enterprise-register';
import { SAMPLE_COMPANIES, SAMPLE_INSTITUTIONS, seedCompanies } from '../../dev/seed-institutions';
import { createEnterpriseRegisterStub } from '../../dev/stubs/enterprise-register';
import { listenHttp, sendJson } from '../../dev/stubs/http';

async function startStub(t: ExecutionContext) {
  const stub = createEnterpriseRegisterStub({ companies: seedCompanies });
  const server = await stub.listen(0);
  t.teardown(() => server.close());
  return { control: stub.control, url: server.url };
}

/** Records what the client reports to metrics, as `name:outcome`. */
function recordingMetrics() {
  const calls: string[] = [];
  return { calls, metrics: { start: (name: string) => (outcome: string) => void calls.push(`${name}:${outcome}`) } };
}

test('returns a company by registration number, without the seed note', async (t) => {
  const { url } = await startStub(t);
  const res = await fetch(`${url}/companies/${SAMPLE_COMPANIES.demo}`);
  t.is(res.status, 200);
  t.deepEqual(await res.json(), {
    registrationNumber: '40003000001', name: 'SIA "Digitālās prasmes" (paraugs)', status: 'active', registeredOn: '2014-03-12',
  });
  const liquidated = (await (await fetch(`${url}/companies/${SAMPLE_COMPANIES.liquidated}`)).json()) as { status: string };
  t.is(liquidated.status, 'liquidated');
  const insolvent = (await (await fetch(`${url}/companies/${SAMPLE_COMPANIES.insolvent}`)).json()) as { status: string };
  t.is(insolvent.status, 'insolvent');
});

test('unknown company is 404 not_found', async (t) => {
  const { url } = await startStub(t);
  const res = await fetch(`${url}/companies/${SAMPLE_COMPANIES.unknown}`);
  t.is(res.status, 404);
  t.deepEqual(await res.json(), { error: 'not_found' });
});

test('a number that is not 11 digits is 400 invalid_registration_number', async (t) => {
  const { url, control } = await startStub(t);
  // An education-institution number (10 digits) in the wrong field is the likeliest mistake.
  for (const bad of [SAMPLE_INSTITUTIONS.demo, '400030000011', 'LV40003000001', '4000300%2001']) {
    const res = await fetch(`${url}/companies/${bad}`);
    t.is(res.status, 400, bad);
    t.deepEqual(await res.json(), { error: 'invalid_registration_number' });
  }
  t.is(control.requests, 4);
});

test('failNext(2) fails two requests then succeeds, all counted', async (t) => {
  const { url, control } = await startStub(t);
  control.failNext(2);
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await fetch(`${url}/companies/${SAMPLE_COMPANIES.demo}`)).status);
  t.deepEqual(statuses, [500, 500, 200]);
  t.deepEqual(control.state(), { requests: 3, failNext: 0, delayMs: 0, down: false });
});

test('down destroys the connection without a response; back up afterwards', async (t) => {
  const { url, control } = await startStub(t);
  control.setDown(true);
  await t.throwsAsync(fetch(`${url}/companies/${SAMPLE_COMPANIES.demo}`), { instanceOf: TypeError });
  control.setDown(false);
  t.is((await fetch(`${url}/companies/${SAMPLE_COMPANIES.demo}`)).status, 200);
  t.is(control.requests, 2);
});

test('setCompany changes a company at runtime and refuses impossible data', async (t) => {
  const { url, control } = await startStub(t);
  const second = seedCompanies.find((c) => c.registrationNumber === SAMPLE_COMPANIES.second)!;
  control.setCompany({ ...second, status: 'insolvent' });
  t.is(((await (await fetch(`${url}/companies/${SAMPLE_COMPANIES.second}`)).json()) as { status: string }).status, 'insolvent');
  t.throws(() => control.setCompany({ ...second, registrationNumber: SAMPLE_INSTITUTIONS.second }), { instanceOf: RangeError });
  t.throws(() => control.setCompany({ ...second, registeredOn: '2017-13-01' }), { instanceOf: RangeError });
  t.throws(() => control.setCompany({ ...second, status: 'dormant' as 'active' }), { instanceOf: RangeError });
});

test('client: company, null on 404, metrics under "enterprise-register"', async (t) => {
  const { url } = await startStub(t);
  const { calls, metrics } = recordingMetrics();
  const client = createEnterpriseRegisterClient({ baseUrl: `${url}/`, metrics });
  t.is((await client.getCompany(SAMPLE_COMPANIES.liquidated))?.status, 'liquidated');
  t.is(await client.getCompany(SAMPLE_COMPANIES.unknown), null);
  t.deepEqual(calls, ['enterprise-register:ok', 'enterprise-register:not_found']);
});

test('client: 5xx, 400, a dropped connection and a timeout throw errors starting "Enterprise Register: "', async (t) => {
  const { url, control } = await startStub(t);
  const { calls, metrics } = recordingMetrics();
  // A patient client for the answers (a busy machine may take longer than a short timeout to answer at all), and an
  // impatient one for the timeout.
  const client = createEnterpriseRegisterClient({ baseUrl: url, metrics });
  const impatient = createEnterpriseRegisterClient({ baseUrl: url, timeoutMs: 200, metrics });
  control.failNext(1, 503);
  await t.throwsAsync(client.getCompany(SAMPLE_COMPANIES.demo), { message: 'Enterprise Register: answered HTTP 503' });
  await t.throwsAsync(client.getCompany(SAMPLE_INSTITUTIONS.demo), { message: 'Enterprise Register: answered HTTP 400' });
  control.setDown(true);
  await t.throwsAsync(client.getCompany(SAMPLE_COMPANIES.demo), { message: /^Enterprise Register: / });
  control.setDown(false);
  control.setDelay(1_000);
  await t.throwsAsync(impatient.getCompany(SAMPLE_COMPANIES.demo), { message: /^Enterprise Register: .*timeout/ });
  t.deepEqual(calls, Array(4).fill('enterprise-register:error'));
});

test('client: an answer about another company or of the wrong shape is an error, not data', async (t) => {
  const demo = seedCompanies.find((c) => c.registrationNumber === SAMPLE_COMPANIES.demo)!;
  let body: unknown = demo;
  // A fake register that answers whatever the test sets, since the stub itself only ever answers correctly.
  const server = await listenHttp(createServer((_req, res) => sendJson(res, 200, body)), 0, '127.0.0.1');
  t.teardown(() => server.close());
  const client = createEnterpriseRegisterClient({ baseUrl: server.url });
  await t.throwsAsync(client.getCompany(SAMPLE_COMPANIES.second), { message: 'Enterprise Register: answered about a different registration number' });
  body = { ...demo, status: 'dormant' };
  await t.throwsAsync(client.getCompany(SAMPLE_COMPANIES.demo), { message: 'Enterprise Register: answered with a malformed company' });
  // Fields outside the contract are dropped rather than carried into workflow history.
  body = { ...demo, board: ['Jānis Paraugs'] };
  t.deepEqual(await client.getCompany(SAMPLE_COMPANIES.demo), {
    registrationNumber: demo.registrationNumber, name: demo.name, status: demo.status, registeredOn: demo.registeredOn,
  });
});

test('seed: the liquidated, insolvent and active companies the SAMPLE constants name', (t) => {
  const status = (n: string) => seedCompanies.find((c) => c.registrationNumber === n)?.status;
  t.is(status(SAMPLE_COMPANIES.liquidated), 'liquidated');
  t.is(status(SAMPLE_COMPANIES.insolvent), 'insolvent');
  for (const n of [SAMPLE_COMPANIES.demo, SAMPLE_COMPANIES.second, SAMPLE_COMPANIES.young, SAMPLE_COMPANIES.unaccredited]) t.is(status(n), 'active');
  t.is(status(SAMPLE_COMPANIES.unknown), undefined);
});
