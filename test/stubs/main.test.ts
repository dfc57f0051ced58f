/** dev/stubs/main.ts serves only the stubs it is given, and the launcher gives it only those whose URL is not set. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { isListeningBy, waitForListener } from '../../dev/services/net';
import { spawnService, stopAll } from '../../dev/services/processes';
import { STUBS, stubsWithoutUrl } from '../../dev/stubs/ports';
import { freePort } from '../helpers/ports';

const root = path.join(__dirname, '..', '..');


test.afterEach.always(async () => {
  await stopAll();
});

test('make run starts only the stubs whose real service has no URL', (t) => {
  t.deepEqual(stubsWithoutUrl({}).map((s) => s.name), STUBS.map((s) => s.name));
  const names = stubsWithoutUrl({ SOPA_URL: 'https://sopa.example', SMTP_URL: 'smtp://mail.example:25', VIIS_URL: '  ' }).map((s) => s.name);
  t.deepEqual(names, ['population-register', 'viis', 'enterprise-register', 'sso']);
});

test.serial('the stubs process listens only for the stubs named on its command line', async (t) => {
  const ports: Record<string, number> = {};
  for (const variable of [...STUBS.map((s) => s.portVar), 'MAIL_CATCHER_PORT']) ports[variable] = await freePort();
  const env = { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) };
  const stubs = spawnService('stubs', process.execPath, ['--import', 'tsx', 'dev/stubs/main.ts', 'sopa', 'viis'], { env, cwd: root });
  await waitForListener(stubs.pid!, ports.SOPA_PORT!, 60_000);
  await waitForListener(stubs.pid!, ports.VIIS_PORT!, 60_000);
  // The SOPA stub answers (any HTTP answer: it is a server, not just an open port).
  const response = await fetch(`http://127.0.0.1:${ports.SOPA_PORT}/`);
  t.true(response.status > 0);
  for (const variable of ['POPULATION_REGISTER_PORT', 'ENTERPRISE_REGISTER_PORT', 'SSO_PORT', 'SMTP_PORT', 'MAIL_CATCHER_PORT']) {
    t.false(isListeningBy(stubs.pid!, ports[variable]!), `${variable} is not served`);
  }
});

test('an unknown stub name is refused, naming the known ones', async (t) => {
  const error = await t.throwsAsync(
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'dev/stubs/main.ts', 'sopa', 'nonsense'], { cwd: root, timeout: 60_000 }),
  );
  t.is((error as { code?: number }).code, 1);
  t.regex((error as { stderr?: string }).stderr ?? '', /unknown stub nonsense; known: population-register, sopa, viis, enterprise-register, sso, mail-catcher/);
});
