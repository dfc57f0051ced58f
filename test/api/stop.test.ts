/**
 * api/main.ts stops cleanly on SIGTERM (what `make run`, Docker and process managers send), against the real
 * PostgreSQL and Temporal: no new connection is taken, and a request that never completes cannot hold the stop
 * up past the grace period, so the process ends by itself with code 0 instead of being killed.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import { waitForListener } from '../../dev/services/net';
import { spawnService, stopAll } from '../../dev/services/processes';
import { freePort } from '../../dev/services/net';

const root = path.join(__dirname, '..', '..');


test.after.always(async () => {
  await stopAll();
});

test('the API serves metrics off its public port; on SIGTERM it takes no new connection, cuts a stuck request after its grace period and exits 0', async (t) => {
  const port = await freePort();
  const metricsPort = await freePort();
  const nowhere = 'http://127.0.0.1:9';
  const env = {
    ...process.env,
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    PORT: String(port), METRICS_PORT: String(metricsPort),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SESSION_SECRET: randomBytes(32).toString('base64url'), LINK_SECRET: randomBytes(32).toString('base64url'),
    PAYLOAD_KEYS: `k1:${randomBytes(32).toString('base64')}`, PAYLOAD_KEY_ID: 'k1',
    SMTP_URL: 'smtp://127.0.0.1:9',
    POPULATION_REGISTER_URL: nowhere, SOPA_URL: 'https://127.0.0.1:9', VIIS_URL: nowhere, ENTERPRISE_REGISTER_URL: nowhere, SSO_ISSUER: nowhere,
    SERVICE_PLATFORM_URL: nowhere, E_ADDRESS_URL: nowhere,
    SSO_CLIENT_ID: 'learning-accounts', SSO_CLIENT_SECRET: 'secret',
    SOPA_OPERATOR_FIRST_NAME: 'Ilze', SOPA_OPERATOR_LAST_NAME: 'Priede', SOPA_OPERATOR_PERSON_CODE: '010180-10007',
    AGENCY_INBOX_EMAIL: 'agency@test.invalid',
  };
  const lines: string[] = [];
  const api = spawnService('api', process.execPath, ['--import', 'tsx', 'api/main.ts'], { env, cwd: root, oneShot: true, onLine: (l) => lines.push(l) });
  await waitForListener(api.pid!, port, 90_000);
  t.is((await fetch(`http://127.0.0.1:${port}/api/ready`)).status, 200);
  // Its metrics are on a port of their own (127.0.0.1 by default), not on the public one.
  await waitForListener(api.pid!, metricsPort, 10_000);
  t.is((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404);
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  t.is(metrics.status, 200);
  t.true((await metrics.text()).includes('http_request_duration_seconds_count{'));

  // A login whose body never arrives in full: the request stays in hand.
  const stuck = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => stuck.once('connect', () => resolve()));
  stuck.write('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user');
  const stuckClosed = new Promise<void>((resolve) => stuck.once('close', () => resolve()));
  stuck.on('error', () => undefined);
  await new Promise((resolve) => setTimeout(resolve, 300));

  const started = Date.now();
  process.kill(api.pid!, 'SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 300));
  await t.throwsAsync(fetch(`http://127.0.0.1:${port}/api/ready`), undefined, 'no new connection once stopping');

  const status = await Promise.race([api.exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 9_000))]);
  const elapsed = Date.now() - started;
  t.deepEqual(status, { code: 0, signal: null }, `ended by itself within 9 s (${elapsed} ms)`);
  t.true(elapsed >= 4_500, `waited for the request in hand first (${elapsed} ms)`);
  await stuckClosed;
  t.true(lines.some((line) => line.includes('"msg":"stopping"')) && lines.some((line) => line.includes('"msg":"stopped"')));
});
