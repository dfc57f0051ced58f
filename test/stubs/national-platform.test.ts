/**
 * The national service platform's contract (docs/contracts/service-accounting.md) between our client and our stubs:
 * service accounting keeps one status per key and each case's statuses in order; the e-address delivers once per
 * key and says when a person has no e-address; both have the registry stubs' switches.
 */
import test, { type ExecutionContext } from 'ava';
import { createEAddressClient, createServiceAccountingClient, type ServiceStatus } from '../../activities/registries/national-platform';
import { createEAddressStub } from '../../dev/stubs/e-address';
import { createServicePlatformStub } from '../../dev/stubs/service-platform';

async function platform(t: ExecutionContext) {
  const stub = createServicePlatformStub();
  const server = await stub.listen(0);
  t.teardown(() => server.close());
  const calls: string[] = [];
  const client = createServiceAccountingClient({ baseUrl: server.url, timeoutMs: 1_000, metrics: { start: (name) => (outcome) => void calls.push(`${name}:${outcome}`) } });
  return { control: stub.control, url: server.url, client, calls };
}

const status = (sequence: number, over: Partial<ServiceStatus> = {}): ServiceStatus => ({
  idempotencyKey: `case-1:${sequence}`, serviceCode: 'VIAA-IMK', caseId: 'IMK-2026-000001', sequence, status: sequence === 1 ? 'registered' : 'imk_approved',
  channel: 'e-service', occurredAt: '2026-12-05T10:00:00.000Z', ...over,
});

test('service accounting: a status is kept once per key; a repeat is acknowledged as a duplicate', async (t) => {
  const { client, control, url, calls } = await platform(t);
  t.deepEqual(await client.publish(status(1)), { duplicate: false });
  t.deepEqual(await client.publish(status(1)), { duplicate: true });
  t.deepEqual(await client.publish(status(2)), { duplicate: false });
  t.deepEqual(control.statusesOf('IMK-2026-000001').map((s) => [s.sequence, s.status]), [[1, 'registered'], [2, 'imk_approved']]);
  t.is(control.duplicates, 1);
  const listed = await (await fetch(`${url}/service-accounting/v1/cases/IMK-2026-000001/statuses`)).json() as { statuses: { sequence: number }[] };
  t.deepEqual(listed.statuses.map((s) => s.sequence), [1, 2]);
  t.deepEqual(calls, Array(3).fill('service-platform:ok'));
});

test('service accounting: a known case takes only its next status (409 out_of_order); a bad field is a 400 naming it', async (t) => {
  const { client, control, url } = await platform(t);
  await client.publish(status(1));
  await t.throwsAsync(client.publish(status(3)), { message: /^Service platform: answered HTTP 409 .*out_of_order/ });
  t.is(control.outOfOrder, 1);
  // A case the platform does not know starts where we start it.
  t.deepEqual(await client.publish(status(4, { caseId: 'IMK-2026-000002', idempotencyKey: 'case-2:4' })), { duplicate: false });
  const bad = await fetch(`${url}/service-accounting/v1/statuses`, { method: 'POST', body: JSON.stringify({ ...status(2), channel: 'fax' }) });
  t.is(bad.status, 400);
  t.regex(((await bad.json()) as { message: string }).message, /^channel must be one of/);
});

test('service accounting: down, failing and slow answers are errors naming the platform (the publisher retries them)', async (t) => {
  const { client, control, calls } = await platform(t);
  control.setDown(true);
  await t.throwsAsync(client.publish(status(1)), { message: /^Service platform: / });
  control.setDown(false);
  control.failNext(1, 503);
  await t.throwsAsync(client.publish(status(1)), { message: /^Service platform: answered HTTP 503/ });
  // The failed answer's status was kept: sent again, it is a duplicate, not a second status.
  t.deepEqual(await client.publish(status(1)), { duplicate: true });
  control.setDelay(1_500);
  await t.throwsAsync(client.publish(status(2)), { message: /^Service platform: .*(timeout|aborted)/i });
  t.deepEqual(calls, ['service-platform:error', 'service-platform:error', 'service-platform:ok', 'service-platform:error']);
});

test('e-address: delivered once per key to a holder; a person without one is "no e-address" (null); the switches work', async (t) => {
  const stub = createEAddressStub({ holders: ['321178-40215'] });
  const server = await stub.listen(0);
  t.teardown(() => server.close());
  const client = createEAddressClient({ baseUrl: server.url, timeoutMs: 1_000 });
  const message = { idempotencyKey: 'case:1:imk-approved', personCode: '321178-40215', subject: 'IMK apstiprināts', body: 'Labdien', caseId: 'IMK-2026-000001' };
  const first = await client.deliver(message);
  t.regex(first?.messageId ?? '', /^EA-\d{8}$/);
  t.deepEqual(await client.deliver(message), first, 'a repeat is the same message');
  t.is(stub.control.messagesTo('32117840215').length, 1);
  t.is(await client.deliver({ ...message, idempotencyKey: 'case:2:imk-approved', personCode: '150690-11223' }), null);
  t.is((await fetch(`${server.url}/e-address/v1/persons/150690-11223`)).status, 404);
  t.is((await fetch(`${server.url}/e-address/v1/persons/321178-40215`)).status, 200);

  const holders = await fetch(`${server.url}/__control/holders`, { method: 'POST', body: JSON.stringify({ personCodes: ['150690-11223'] }) });
  t.is(holders.status, 200);
  t.truthy(await client.deliver({ ...message, idempotencyKey: 'case:3:imk-approved', personCode: '150690-11223' }));
  stub.control.setDown(true);
  await t.throwsAsync(client.deliver({ ...message, idempotencyKey: 'case:4:imk-approved' }), { message: /^E-address: / });
});
