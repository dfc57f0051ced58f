/** dev/stubs/main.ts serves only the stubs it is given, and the launcher gives it only those whose URL is not set. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { isListeningBy, waitForListener } from '../../dev/services/net';
import { spawnService, stopAll } from '../../dev/services/processes';
import { seedPeople } from '../../dev/seed-people';
import { EXTRA_PEOPLE_VAR, peopleToServe, STUB_TLS_DIR_VAR } from '../../dev/stubs/main';
import { clientTlsFiles, ensureDevTls } from '../../dev/tls';
import { clientTlsAgent, tlsRequest } from '../../lib/mtls';
import { STUBS, stubsWithoutUrl } from '../../dev/stubs/ports';
import { freePort } from '../../dev/services/net';

const root = path.join(__dirname, '..', '..');


test.afterEach.always(async () => {
  await stopAll();
});

test('make run starts only the stubs whose real service has no URL', (t) => {
  t.deepEqual(stubsWithoutUrl({}).map((s) => s.name), STUBS.map((s) => s.name));
  const names = stubsWithoutUrl({ SOPA_URL: 'https://sopa.example', SMTP_URL: 'smtp://mail.example:25', VIIS_URL: '  ' }).map((s) => s.name);
  t.deepEqual(names, ['population-register', 'viis', 'enterprise-register', 'sso', 'service-platform', 'e-address']);
});

test.serial('the stubs process listens only for the stubs named on its command line', async (t) => {
  const ports: Record<string, number> = {};
  for (const variable of [...STUBS.map((s) => s.portVar), 'MAIL_CATCHER_PORT']) ports[variable] = await freePort();
  const tls = ensureDevTls();
  const env = { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), [STUB_TLS_DIR_VAR]: tls.dir };
  const stubs = spawnService('stubs', process.execPath, ['--import', 'tsx', 'dev/stubs/main.ts', 'sopa', 'viis'], { env, cwd: root });
  await waitForListener(stubs.pid!, ports.SOPA_PORT!, 60_000);
  await waitForListener(stubs.pid!, ports.VIIS_PORT!, 60_000);
  // The SOPA stub answers over HTTPS to our client certificate (any HTTP answer: it is a server, not just an open port).
  const agent = clientTlsAgent(clientTlsFiles(tls));
  t.teardown(() => agent.destroy());
  const response = await tlsRequest(`${STUBS.find((s) => s.name === 'sopa')!.url(ports.SOPA_PORT!)}/`, { agent, timeoutMs: 10_000 });
  t.is(response.status, 404);
  for (const variable of ['POPULATION_REGISTER_PORT', 'ENTERPRISE_REGISTER_PORT', 'SSO_PORT', 'SMTP_PORT', 'MAIL_CATCHER_PORT']) {
    t.false(isListeningBy(stubs.pid!, ports[variable]!), `${variable} is not served`);
  }
});

test('an unknown stub name is refused, naming the known ones', async (t) => {
  const error = await t.throwsAsync(
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'dev/stubs/main.ts', 'sopa', 'nonsense'], { cwd: root, timeout: 60_000 }),
  );
  t.is((error as { code?: number }).code, 1);
  t.regex((error as { stderr?: string }).stderr ?? '', /unknown stub nonsense; known: population-register, sopa, viis, enterprise-register, sso, mail-catcher, service-platform, e-address/);
});

test('people from STUB_EXTRA_PEOPLE_FILE are added to the demo people; a bad file is refused, naming it', (t) => {
  t.is(peopleToServe({}), seedPeople);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stub-people-'));
  const file = path.join(dir, 'people.json');
  const extra = { personCode: '327700-00001', firstName: 'Drill', lastName: 'Learner', birthDate: '1986-05-01', deceased: false, address: 'Rīga', note: 'drill' };
  fs.writeFileSync(file, JSON.stringify([extra]));
  t.deepEqual(peopleToServe({ [EXTRA_PEOPLE_VAR]: file }), [...seedPeople, extra]);
  fs.writeFileSync(file, JSON.stringify([{ firstName: 'No code' }]));
  t.throws(() => peopleToServe({ [EXTRA_PEOPLE_VAR]: file }), { message: /STUB_EXTRA_PEOPLE_FILE: .*people\.json must be a JSON list of people/ });
  t.throws(() => peopleToServe({ [EXTRA_PEOPLE_VAR]: path.join(dir, 'missing.json') }), { message: /STUB_EXTRA_PEOPLE_FILE: cannot read/ });
});

test.serial('the Population Register stub started with an extra people file knows those people', async (t) => {
  const port = await freePort();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'stub-people-')), 'people.json');
  fs.writeFileSync(file, JSON.stringify([{ personCode: '327700-00042', firstName: 'Drill', lastName: 'Learner', birthDate: '1986-05-01', deceased: false, address: 'Rīga', note: 'drill' }]));
  const env = { ...process.env, POPULATION_REGISTER_PORT: String(port), [EXTRA_PEOPLE_VAR]: file };
  const stubs = spawnService('stubs', process.execPath, ['--import', 'tsx', 'dev/stubs/main.ts', 'population-register'], { env, cwd: root });
  await waitForListener(stubs.pid!, port, 60_000);
  const extra = await fetch(`http://127.0.0.1:${port}/persons/327700-00042`);
  t.is(extra.status, 200);
  t.like(await extra.json(), { personCode: '327700-00042', birthDate: '1986-05-01' });
  t.is((await fetch(`http://127.0.0.1:${port}/persons/321178-40215`)).status, 200, 'the demo people are still there');
});
