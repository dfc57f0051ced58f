import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { ApplicationFailure } from '@temporalio/common';
import { createSopaActivities, createSopaClient, type SopaOperator } from '../../activities/registries/sopa';
import { FailureType } from '../../domain/failures';
import { seedSocialStatuses } from '../../dev/seed-social-status';
import { createSopaStub } from '../../dev/stubs/sopa';
import { clientTlsFiles } from '../../dev/tls';
import type { ClientTlsFiles } from '../../lib/mtls';
import { startTestStack, TEST_SOPA_OPERATOR, type TestStack } from '../helpers/stack';
import { makeTestTls, type TestTls } from '../helpers/tls';
import { AuditEntry } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { createRegistryStatsRecorder } from '../../lib/registry-stats';
import { registryHealth } from '../../api/services/registry-health';
import { eventually } from '../helpers/journeys';

const operator: SopaOperator = { firstName: 'Ilze', lastName: 'Priede', personCode: '010180-10006' };

/** The stub over mutual TLS and a client presenting `clientTls` (the checkout's good client certificate by default). */
async function startSopa(t: ExecutionContext, timeoutMs = 2_000, clientTls?: ClientTlsFiles) {
  const stub = createSopaStub({ statuses: seedSocialStatuses, tls: tls!.good });
  const server = await stub.listen(0);
  t.teardown(() => server.close());
  return { control: stub.control, url: server.url, client: createSopaClient({ baseUrl: server.url, tls: clientTls ?? clientTlsFiles(tls!.good), timeoutMs }) };
}

// The audit test needs a migrated Postgres database; the stack gives each test file its own.
let stack: TestStack | undefined;
let tls: TestTls | undefined;
test.before(async () => {
  tls = makeTestTls();
  stack = await startTestStack();
});
test.after.always(async () => {
  tls?.remove();
  await stack?.stop();
});

test('a client certificate SOPA does not accept is a plain (retried) Error naming SOPA, and no query is read', async (t) => {
  for (const [name, files] of [['another CA', tls!.foreignCa], ['expired', tls!.expired]] as const) {
    const { client, control } = await startSopa(t, 2_000, files);
    const err = await t.throwsAsync(client.getStatuses({ personCode: '150690-11223', dateFrom: '2026-03-01', dateTill: '2026-03-01', operator }));
    t.false(err instanceof ApplicationFailure, name);
    t.regex(err.message, /^SOPA: /, name);
    t.is(control.requests, 0, name);
    t.is(control.refusedClients.length, 1, name);
  }
});

test.serial('the registry health panel counts SOPA answers over mutual TLS, and a refused certificate as an error', async (t) => {
  const metrics = createRegistryStatsRecorder(stack!.db, createLogger('test', 'warn'));
  const { url } = await startSopa(t);
  const ask = (files: ClientTlsFiles) => createSopaClient({ baseUrl: url, tls: files, timeoutMs: 2_000, metrics })
    .getStatuses({ personCode: '150690-11223', dateFrom: '2026-03-01', dateTill: '2026-03-01', operator });
  await ask(clientTlsFiles(tls!.good));
  await t.throwsAsync(ask(tls!.expired));
  const sopa = async () => (await registryHealth({ db: stack!.db })).registries.find((r) => r.registry === 'sopa')!.last15;
  const seen = await eventually(async () => ((await sopa()).calls >= 2 ? sopa() : undefined), 'the SOPA calls in the panel');
  t.like(seen, { calls: 2, errors: 1 });
});

test('the client refuses at creation an http:// address, a missing certificate file and an unknown protocol', async (t) => {
  const good = clientTlsFiles(tls!.good);
  t.throws(() => createSopaClient({ baseUrl: 'http://127.0.0.1:9', tls: good }), { message: /must be https:\/\// });
  t.throws(() => createSopaClient({ baseUrl: 'https://127.0.0.1:9', tls: { ...good, certPath: '/nonexistent/client.crt' } }), { message: /ENOENT/ });
  t.throws(() => createSopaClient({ protocol: 'xroad', baseUrl: 'https://127.0.0.1:9', tls: good }), {
    message: 'SOPA_PROTOCOL must be one of: json; got "xroad" (no adapter for it in this build)',
  });
});

test('client maps statuses and sends the operator identity', async (t) => {
  const { client, control } = await startSopa(t);
  const janis = await client.getStatuses({ personCode: '150690-11223', dateFrom: '2026-03-01', dateTill: '2026-03-01', operator });
  t.deepEqual(janis, {
    personCode: '150690-11223',
    records: [{ status: 'low_income', validFrom: '2026-01-01', validTo: '2026-12-31', municipality: '90000012345' }],
  });
  const marta = await client.getStatuses({ personCode: '220288-10458', dateFrom: '2025-03-01', dateTill: '2025-03-01', operator });
  t.deepEqual(marta.records.map((r) => r.status), ['poor']);
  t.deepEqual(control.lastRequests.at(-1), {
    PersonCode: '220288-10458', dateFrom: '2025-03-01', dateTill: '2025-03-01',
    userName: 'Ilze', userSecondName: 'Priede', userPersonCode: '010180-10006',
  });
});

test('status 0 (not found) maps to an empty list', async (t) => {
  const { client } = await startSopa(t);
  const anna = await client.getStatuses({ personCode: '321178-40215', dateFrom: '2026-03-01', dateTill: '2026-03-01', operator });
  t.deepEqual(anna, { personCode: '321178-40215', records: [] });
});

test('5xx, 429, a dropped connection and a timeout throw plain (retryable) Errors', async (t) => {
  // A patient client for the answers (a TLS handshake on a busy machine can take longer than 200 ms), a 200 ms one
  // only for the timeout.
  const { client, control, url } = await startSopa(t);
  const question = { personCode: '150690-11223', dateFrom: '2026-03-01', dateTill: '2026-03-01', operator };
  const ask = () => client.getStatuses(question);
  for (const status of [500, 503, 429]) {
    control.failNext(1, status);
    const err = await t.throwsAsync(ask());
    t.false(err instanceof ApplicationFailure, `HTTP ${status}`);
    t.regex(err.message, new RegExp(`HTTP ${status}`));
  }
  control.setDown(true);
  t.false((await t.throwsAsync(ask())) instanceof ApplicationFailure);
  control.setDown(false);
  control.setDelay(500);
  const impatient = createSopaClient({ baseUrl: url, tls: clientTlsFiles(tls!.good), timeoutMs: 200 });
  const timedOut = await t.throwsAsync(impatient.getStatuses(question));
  t.false(timedOut instanceof ApplicationFailure);
  t.regex(timedOut.message, /^SOPA: .*aborted/);
});

test('4xx throws a non-retryable SocialStatusRefused failure', async (t) => {
  const { client } = await startSopa(t);
  const err = await t.throwsAsync(
    client.getStatuses({ personCode: '150690-11223', dateFrom: '2026-03-01', dateTill: '2026-03-01', operator: { ...operator, personCode: '' } }),
    { instanceOf: ApplicationFailure },
  );
  t.is((err as ApplicationFailure).type, FailureType.SocialStatusRefused);
  t.true((err as ApplicationFailure).nonRetryable);
  t.regex(err.message, /HTTP 401 operator_identity_required/);
  const bad = await t.throwsAsync(
    client.getStatuses({ personCode: '150690-11223', dateFrom: '2026-03-31', dateTill: '2026-03-01', operator }),
    { instanceOf: ApplicationFailure },
  );
  t.regex(bad.message, /HTTP 400 invalid_field dateTill/);
});

test('lookupSocialStatus audits once under the operator identity, even when called twice with the same key', async (t) => {
  const { client, control } = await startSopa(t);
  const { lookupSocialStatus } = createSopaActivities({ db: stack!.db, sopa: client, sopaOperator: TEST_SOPA_OPERATOR });
  const auditKey = `sopa:${randomUUID()}`;
  const caseId = randomUUID();
  const input = {
    personCode: '150690-11223', onDate: '2026-03-01', caseId, purpose: 'IMK eligibility: social status',
    operator: { ...operator, role: 'staff' as const }, auditKey,
  };
  const first = await lookupSocialStatus(input);
  const second = await lookupSocialStatus(input);
  t.deepEqual(first.records.map((r) => r.status), ['low_income']);
  t.deepEqual(second, first);
  // Both calls reached SOPA with the operator and the one-day period.
  t.is(control.requests, 2);
  t.deepEqual(control.lastRequests.map((r) => [r.dateFrom, r.dateTill, r.userPersonCode]), [
    ['2026-03-01', '2026-03-01', '010180-10006'], ['2026-03-01', '2026-03-01', '010180-10006'],
  ]);

  const rows = await AuditEntry.query(stack!.db).where({ idempotencyKey: auditKey });
  t.is(rows.length, 1);
  const row = rows[0];
  t.like(row, {
    actorRole: 'staff', actorId: '010180-10006', actorName: 'Ilze Priede', action: 'sopa.get-statuses',
    subjectPersonCode: '150690-11223', caseId, purpose: 'IMK eligibility: social status',
  });
  // The period asked and the granting municipality's registration number (seed-social-status.ts) go with it.
  t.deepEqual(row.result, { dateFrom: '2026-03-01', dateTill: '2026-03-01', recordCount: 1, statuses: ['low_income'], municipalities: ['90000012345'] });
});

test('lookupSocialStatus audits a refused query and rethrows the failure', async (t) => {
  const { client, control } = await startSopa(t);
  const { lookupSocialStatus } = createSopaActivities({ db: stack!.db, sopa: client, sopaOperator: TEST_SOPA_OPERATOR });
  const auditKey = `sopa:${randomUUID()}`;
  control.failNext(1, 400);
  await t.throwsAsync(
    lookupSocialStatus({
      personCode: '321178-40215', onDate: '2026-03-01', caseId: randomUUID(), purpose: 'IMK eligibility: social status',
      operator: { ...operator, role: 'system' }, auditKey,
    }),
    { instanceOf: ApplicationFailure },
  );
  const rows = await AuditEntry.query(stack!.db).where({ idempotencyKey: auditKey });
  t.is(rows.length, 1);
  t.like(rows[0], { actorRole: 'system', actorId: '010180-10006', actorName: 'Ilze Priede' });
  t.deepEqual(rows[0].result, { dateFrom: '2026-03-01', dateTill: '2026-03-01', refused: true });
});
