import { createServer } from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { createViisClient } from '../../activities/registries/viis';
import { demoProvider } from '../../dev/seed';
import { SAMPLE_COMPANIES, SAMPLE_INSTITUTIONS, seedCompanies, seedInstitutions } from '../../dev/seed-institutions';
import { demoOffers } from '../../dev/seed-offers';
import { listenHttp, sendJson } from '../../dev/stubs/http';
import { createViisStub } from '../../dev/stubs/viis';

async function startStub(t: ExecutionContext) {
  const stub = createViisStub({ institutions: seedInstitutions });
  const server = await stub.listen(0);
  t.teardown(() => server.close());
  return { control: stub.control, url: server.url };
}

/** Records what the client reports to metrics, as `name:outcome`. */
function recordingMetrics() {
  const calls: string[] = [];
  return { calls, metrics: { start: (name: string) => (outcome: string) => void calls.push(`${name}:${outcome}`) } };
}

test('returns an institution by registration number, without the seed note', async (t) => {
  const { url } = await startStub(t);
  const res = await fetch(`${url}/institutions/${SAMPLE_INSTITUTIONS.second}`);
  t.is(res.status, 200);
  t.deepEqual(await res.json(), {
    registrationNumber: '3360800002',
    name: 'Kurzemes digitālo prasmju skola (paraugs)',
    companyRegistrationNumber: '40003000002',
    accredited: true,
    registeredSince: '2018-02-15',
    placesOfDelivery: [{ address: 'Liepāja, Graudu iela 20 (paraugs)' }, { address: 'Rīga, Krišjāņa Barona iela 30 (paraugs)' }],
    licences: [
      { number: 'P-00011 (paraugs)', programme: 'Datorsistēmu tehniķis (paraugs)', hours: 160 },
      { number: 'P-00012 (paraugs)', programme: 'Tīmekļa programmēšana (paraugs)', hours: 120 },
    ],
  });
});

test('unknown institution is 404 not_found', async (t) => {
  const { url } = await startStub(t);
  const res = await fetch(`${url}/institutions/${SAMPLE_INSTITUTIONS.unknown}`);
  t.is(res.status, 404);
  t.deepEqual(await res.json(), { error: 'not_found' });
});

test('a number that is not 10 digits is 400 invalid_registration_number', async (t) => {
  const { url, control } = await startStub(t);
  // A company number (11 digits) in the wrong field is the likeliest mistake.
  for (const bad of [SAMPLE_COMPANIES.demo, '336080000', 'abcdefghij', '33608%2000001']) {
    const res = await fetch(`${url}/institutions/${bad}`);
    t.is(res.status, 400, bad);
    t.deepEqual(await res.json(), { error: 'invalid_registration_number' });
  }
  t.is(control.requests, 4);
});

test('failNext(2) fails two requests then succeeds, all counted', async (t) => {
  const { url, control } = await startStub(t);
  control.failNext(2, 503);
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await fetch(`${url}/institutions/${SAMPLE_INSTITUTIONS.demo}`)).status);
  t.deepEqual(statuses, [503, 503, 200]);
  t.deepEqual(control.state(), { requests: 3, failNext: 0, delayMs: 0, down: false });
});

test('down destroys the connection without a response; back up afterwards', async (t) => {
  const { url, control } = await startStub(t);
  control.setDown(true);
  await t.throwsAsync(fetch(`${url}/institutions/${SAMPLE_INSTITUTIONS.demo}`), { instanceOf: TypeError });
  control.setDown(false);
  t.is((await fetch(`${url}/institutions/${SAMPLE_INSTITUTIONS.demo}`)).status, 200);
  t.is(control.requests, 2);
});

test('setInstitution adds or replaces at runtime and refuses impossible data', async (t) => {
  const { url, control } = await startStub(t);
  const young = seedInstitutions.find((i) => i.registrationNumber === SAMPLE_INSTITUTIONS.young)!;
  control.setInstitution({ ...young, accredited: false });
  t.false(((await (await fetch(`${url}/institutions/${SAMPLE_INSTITUTIONS.young}`)).json()) as { accredited: boolean }).accredited);
  t.throws(() => control.setInstitution({ ...young, registrationNumber: '40003000004' }), { instanceOf: RangeError });
  t.throws(() => control.setInstitution({ ...young, registeredSince: '2024-02-30' }), { instanceOf: RangeError });
  t.throws(() => control.setInstitution({ ...young, licences: [{ number: 'P-1', programme: 'x', hours: 0 }] }), { instanceOf: RangeError });
  control.reset();
  t.is((await fetch(`${url}/institutions/${SAMPLE_INSTITUTIONS.young}`)).status, 200);
});

test('client: institution, null on 404, metrics under "viis"', async (t) => {
  const { url } = await startStub(t);
  const { calls, metrics } = recordingMetrics();
  const client = createViisClient({ baseUrl: `${url}/`, metrics });
  const demo = await client.getInstitution(SAMPLE_INSTITUTIONS.demo);
  t.is(demo?.companyRegistrationNumber, SAMPLE_COMPANIES.demo);
  t.is(demo?.licences.length, 2);
  t.is(await client.getInstitution(SAMPLE_INSTITUTIONS.unknown), null);
  t.deepEqual(calls, ['viis:ok', 'viis:not_found']);
});

test('client: 5xx, 400, a dropped connection and a timeout throw errors starting "VIIS: "', async (t) => {
  const { url, control } = await startStub(t);
  const { calls, metrics } = recordingMetrics();
  // A patient client for the answers (a busy machine may take longer than a short timeout to answer at all), and an
  // impatient one for the timeout.
  const client = createViisClient({ baseUrl: url, metrics });
  const impatient = createViisClient({ baseUrl: url, timeoutMs: 200, metrics });
  control.failNext(1, 500);
  await t.throwsAsync(client.getInstitution(SAMPLE_INSTITUTIONS.demo), { message: 'VIIS: answered HTTP 500' });
  await t.throwsAsync(client.getInstitution(SAMPLE_COMPANIES.demo), { message: 'VIIS: answered HTTP 400' });
  control.setDown(true);
  await t.throwsAsync(client.getInstitution(SAMPLE_INSTITUTIONS.demo), { message: /^VIIS: / });
  control.setDown(false);
  control.setDelay(1_000);
  await t.throwsAsync(impatient.getInstitution(SAMPLE_INSTITUTIONS.demo), { message: /^VIIS: .*timeout/ });
  t.deepEqual(calls, ['viis:error', 'viis:error', 'viis:error', 'viis:error']);
});

test('client: an answer about another institution or of the wrong shape is an error, not data', async (t) => {
  const demo = seedInstitutions.find((i) => i.registrationNumber === SAMPLE_INSTITUTIONS.demo)!;
  let body: unknown = demo;
  // A fake VIIS that answers whatever the test sets, since the stub itself only ever answers correctly.
  const server = await listenHttp(createServer((_req, res) => sendJson(res, 200, body)), 0, '127.0.0.1');
  t.teardown(() => server.close());
  const client = createViisClient({ baseUrl: server.url });
  await t.throwsAsync(client.getInstitution(SAMPLE_INSTITUTIONS.second), { message: 'VIIS: answered about a different registration number' });
  body = { ...demo, accredited: 'yes' };
  await t.throwsAsync(client.getInstitution(SAMPLE_INSTITUTIONS.demo), { message: 'VIIS: answered with a malformed institution' });
  body = { ...demo, licences: [{ number: 'P-1', programme: 'x' }] };
  await t.throwsAsync(client.getInstitution(SAMPLE_INSTITUTIONS.demo), { message: 'VIIS: answered with a malformed institution' });
  // Fields outside the contract are dropped rather than carried into workflow history.
  body = { ...demo, director: 'Jānis Paraugs' };
  t.false('director' in ((await client.getInstitution(SAMPLE_INSTITUTIONS.demo)) ?? {}));
});

test('seed: the demo provider is the demo institution, whose places cover every demo offer group', (t) => {
  const demo = seedInstitutions.find((i) => i.registrationNumber === SAMPLE_INSTITUTIONS.demo)!;
  t.is(demo.companyRegistrationNumber, demoProvider.registrationNumber);
  t.is(demo.name, demoProvider.name);
  t.true(demo.accredited);
  t.true(demo.registeredSince.startsWith('2015-'));
  const addresses = demo.placesOfDelivery.map((p) => p.address);
  for (const group of demoOffers.flatMap((o) => o.groups)) t.true(addresses.includes(group.place), group.place);
  // Every institution has two licences and a company the Enterprise Register stub knows.
  for (const i of seedInstitutions) {
    t.is(i.licences.length, 2, i.registrationNumber);
    t.truthy(seedCompanies.find((c) => c.registrationNumber === i.companyRegistrationNumber), i.registrationNumber);
  }
});
