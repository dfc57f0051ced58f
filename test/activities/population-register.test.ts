/**
 * The Population Register contract (issue 17 item 5): the client the activities depend on, made by the factory
 * from configuration, against the register's stub. No database: the activity's audit is covered by the journeys.
 */
import test, { type ExecutionContext } from 'ava';
import { createPopulationRegisterClient } from '../../activities/registries/population-register';
import { seedPeople } from '../../dev/seed-people';
import { createPopulationRegisterStub } from '../../dev/stubs/population-register';

async function startRegister(t: ExecutionContext, timeoutMs = 2_000) {
  const stub = createPopulationRegisterStub({ people: seedPeople });
  const server = await stub.listen(0);
  t.teardown(() => server.close());
  return { control: stub.control, client: createPopulationRegisterClient({ protocol: 'json', baseUrl: server.url, timeoutMs }) };
}

test('the json client answers a known person with the contract\'s fields, an unknown code with null', async (t) => {
  const { client } = await startRegister(t);
  t.deepEqual(await client.getPerson('150690-11223'), {
    personCode: '150690-11223', firstName: 'Jānis', lastName: 'Kalniņš', birthDate: '1990-06-15', deceased: false, deceasedDate: null,
    address: 'Rīgas iela 22-4, Valmiera, Valmieras nov., LV-4201', municipality: 'Valmieras novads',
  });
  t.like(await client.getPerson('12034510001'), { personCode: '120345-10001', deceased: true, deceasedDate: '2025-01-10' });
  t.is(await client.getPerson('010101-99999'), null);
});

test('a failing, unreachable or slow register is an Error naming the Population Register (retried)', async (t) => {
  const { client, control } = await startRegister(t, 300);
  control.failNext(1, 503);
  await t.throwsAsync(client.getPerson('150690-11223'), { message: /^Population Register: answered HTTP 503/ });
  control.setDown(true);
  await t.throwsAsync(client.getPerson('150690-11223'), { message: /^Population Register: / });
  control.setDown(false);
  control.setDelay(1_000);
  await t.throwsAsync(client.getPerson('150690-11223'), { message: /^Population Register: / });
});

test('the factory refuses a protocol it has no adapter for, naming the variable and the known ones', (t) => {
  t.throws(() => createPopulationRegisterClient({ protocol: 'xroad', baseUrl: 'http://127.0.0.1:9' }), {
    message: 'POPULATION_REGISTER_PROTOCOL must be one of: json; got "xroad" (no adapter for it in this build)',
  });
});
