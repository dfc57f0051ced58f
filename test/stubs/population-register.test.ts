import test, { type ExecutionContext } from 'ava';
import { seedPeople } from '../../dev/seed-people';
import { createPopulationRegisterStub } from '../../dev/stubs/population-register';

async function startStub(t: ExecutionContext) {
  const stub = createPopulationRegisterStub({ people: seedPeople });
  const server = await stub.listen(0);
  t.teardown(() => server.close());
  return { control: stub.control, url: server.url };
}

test('returns a person by dashed or undashed code', async (t) => {
  const { url } = await startStub(t);
  for (const code of ['150690-11223', '15069011223']) {
    const res = await fetch(`${url}/persons/${code}`);
    t.is(res.status, 200);
    t.deepEqual(await res.json(), {
      personCode: '150690-11223',
      firstName: 'Jānis',
      lastName: 'Kalniņš',
      birthDate: '1990-06-15',
      deceased: false,
      deceasedDate: null,
      address: 'Rīgas iela 22-4, Valmiera, Valmieras nov., LV-4201',
      municipality: 'Valmieras novads',
    });
  }
  const deceased = (await (await fetch(`${url}/persons/120345-10001`)).json()) as { deceased: boolean; deceasedDate: string };
  t.true(deceased.deceased);
  t.is(deceased.deceasedDate, '2025-01-10');
});

test('unknown person is 404 not_found', async (t) => {
  const { url } = await startStub(t);
  const res = await fetch(`${url}/persons/010101-99999`);
  t.is(res.status, 404);
  t.deepEqual(await res.json(), { error: 'not_found' });
});

test('failNext(3) fails three requests then succeeds, all counted', async (t) => {
  const { url, control } = await startStub(t);
  control.failNext(3);
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${url}/persons/321178-40215`);
    statuses.push(res.status);
    const body = (await res.json()) as { error?: string };
    if (res.status !== 200) t.is(body.error, 'stub_failure');
  }
  t.deepEqual(statuses, [500, 500, 500, 200]);
  t.is(control.requests, 4);
});

test('HTTP control: failNext with status, state and reset', async (t) => {
  const { url, control } = await startStub(t);
  const post = (path: string, body?: unknown) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
  t.is((await post('/__control', { failNext: 1, failStatus: 503, delayMs: 0 })).status, 200);
  t.is((await fetch(`${url}/persons/321178-40215`)).status, 503);
  t.is((await fetch(`${url}/persons/321178-40215`)).status, 200);
  t.deepEqual(await (await fetch(`${url}/__control`)).json(), { requests: 2, failNext: 0, delayMs: 0, down: false });
  t.is((await post('/__control', { failNext: 'x' })).status, 400);
  await post('/__control/reset');
  t.is(control.requests, 0);
});

test('down destroys the connection without a response; back up afterwards', async (t) => {
  const { url, control } = await startStub(t);
  control.setDown(true);
  await t.throwsAsync(fetch(`${url}/persons/321178-40215`), { instanceOf: TypeError });
  control.setDown(false);
  t.is((await fetch(`${url}/persons/321178-40215`)).status, 200);
  t.is(control.requests, 2);
});

test('setDelay slows responses and setPerson adds people at runtime', async (t) => {
  const { url, control } = await startStub(t);
  control.setPerson({ ...seedPeople[0], personCode: '010101-12345', firstName: 'Ieva' });
  control.setDelay(150);
  const started = Date.now();
  const res = await fetch(`${url}/persons/01010112345`);
  t.true(Date.now() - started >= 140);
  t.is(((await res.json()) as { firstName: string }).firstName, 'Ieva');
});
