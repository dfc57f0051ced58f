/**
 * The production shape on Temporal's own server (`make test-cluster`, dev/test-cluster.ts): two worker processes
 * (worker/main.ts) and two API processes (api/main.ts) on one task queue, started as a deployment starts them, with
 * their whole configuration from the environment. Learners register through both APIs, both workers take tasks,
 * one worker is killed with SIGKILL while journeys wait for the Population Register, and every journey still ends
 * approved with one e-mail. test/cluster/processes.test.ts runs it under `make test-cluster` only.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { Client, Connection } from '@temporalio/client';
import { createDataConverter } from '../../lib/data-converter';
import { parsePayloadKeyring } from '../../lib/payload-codec';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import { learnerJourneyId } from '../../workflows/ids';
import { freePort, waitForHttp } from '../../dev/services/net';
import { ensureDevTls } from '../../dev/tls';
import { spawnService, unlessExited, type Service } from '../../dev/services/processes';
import { adultMaker, eventually, type TestPerson } from '../helpers/journeys';
import { httpClient } from '../helpers/http';
import { startTestStack, TEST_AGENCY_INBOX_EMAIL, TEST_SOPA_OPERATOR, type TestStack } from '../helpers/stack';

const root = path.resolve(__dirname, '..', '..');

let stack: TestStack;
const newPerson = adultMaker(() => stack.registry, { prefix: '41', lastName: 'Klasteris', birthDate: '1983-03-03', note: 'cluster test' });

/** A started process of ours and what the test knows about it. */
interface Started { service: Service; url: string }

/** The environment a deployment gives the worker and the API (lib/config.ts), pointing at this test's stack. */
function processEnv(taskQueue: string, secrets: Record<string, string>): NodeJS.ProcessEnv {
  const tls = ensureDevTls();
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TEMPORAL_')));
  return {
    ...env,
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE ?? 'default', TEMPORAL_TASK_QUEUE: taskQueue,
    SMTP_URL: `smtp://127.0.0.1:${stack.smtpPort}?ignoreTLS=true`,
    POPULATION_REGISTER_URL: stack.stubUrls.populationRegister, SOPA_URL: stack.stubUrls.sopa,
    // SOPA speaks mutual TLS: the worker presents the checkout's test client certificate (dev/tls.ts).
    SOPA_CLIENT_CERT: tls.clientCert, SOPA_CLIENT_KEY: tls.clientKey, SOPA_CA_CERT: tls.caCert,
    SERVICE_PLATFORM_URL: stack.stubUrls.servicePlatform, E_ADDRESS_URL: stack.stubUrls.eAddress,
    VIIS_URL: stack.stubUrls.viis, ENTERPRISE_REGISTER_URL: stack.stubUrls.enterpriseRegister,
    SOPA_OPERATOR_FIRST_NAME: TEST_SOPA_OPERATOR.firstName, SOPA_OPERATOR_LAST_NAME: TEST_SOPA_OPERATOR.lastName,
    SOPA_OPERATOR_PERSON_CODE: TEST_SOPA_OPERATOR.personCode, AGENCY_INBOX_EMAIL: TEST_AGENCY_INBOX_EMAIL,
    SSO_ISSUER: stack.stubUrls.sso, SSO_CLIENT_ID: stack.sso.clientId, SSO_CLIENT_SECRET: stack.sso.clientSecret,
    // Retries while the register is down are logged as warnings by design; errors are what matters here.
    LOG_LEVEL: 'error',
    // The bundle the test command made for every file; without it each worker bundles at start.
    ...(process.env.TEST_WORKFLOW_BUNDLE ? { WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE } : {}),
    ...secrets,
  };
}

/** Every process the test started, stopped at its end whatever happened. */
const started: Service[] = [];

/** Starts worker/main.ts as `node --import tsx`, as the launcher does; resolves once it polls (it serves /metrics then). */
async function startWorker(name: string, env: NodeJS.ProcessEnv): Promise<Started> {
  const metricsPort = await freePort(true);
  const service = spawnService(name, process.execPath, ['--import', 'tsx', path.join(root, 'worker', 'main.ts')], {
    env: { ...env, WORKER_METRICS_PORT: String(metricsPort) }, cwd: root, killAfterMs: 35_000,
  });
  started.push(service);
  const url = `http://127.0.0.1:${metricsPort}`;
  await unlessExited(service, waitForHttp(`${url}/metrics`, 120_000));
  return { service, url };
}

/** Starts api/main.ts on `port`; resolves once /api/ready answers. */
async function startApi(name: string, env: NodeJS.ProcessEnv, port: number): Promise<Started> {
  const url = `http://127.0.0.1:${port}`;
  const service = spawnService(name, process.execPath, ['--import', 'tsx', path.join(root, 'api', 'main.ts')], {
    env: { ...env, PORT: String(port), METRICS_PORT: String(await freePort()), PUBLIC_URL: url }, cwd: root, killAfterMs: 15_000,
  });
  started.push(service);
  await unlessExited(service, waitForHttp(`${url}/api/ready`, 120_000));
  return { service, url };
}

/** The worker identities (`pid@host`) that started the activities of a journey, from its history in Temporal. */
async function activityWorkers(temporal: Client, caseId: string): Promise<string[]> {
  const history = await temporal.workflow.getHandle(learnerJourneyId(caseId)).fetchHistory();
  return (history.events ?? []).flatMap((event) => (event.activityTaskStartedEventAttributes?.identity ? [event.activityTaskStartedEventAttributes.identity] : []));
}

/** The scenario of test/cluster/processes.test.ts. */
export async function twoOfEach(t: ExecutionContext): Promise<void> {
  t.timeout(5 * 60_000);
  stack = await startTestStack();
  const taskQueue = `cluster-${randomUUID()}`;
  const apiPorts = [await freePort(), await freePort()];
  const payloadKeys = `k1:${randomBytes(32).toString('base64')}`;
  const env = processEnv(taskQueue, {
    // The workers' links in e-mails point at the first API, as at a load balancer's address.
    PUBLIC_URL: `http://127.0.0.1:${apiPorts[0]}`,
    SESSION_SECRET: randomBytes(36).toString('base64'), LINK_SECRET: randomBytes(36).toString('base64'), PAYLOAD_KEYS: payloadKeys, PAYLOAD_KEY_ID: 'k1',
  });
  // The test reads histories with the processes' own key.
  const keyring = parsePayloadKeyring(payloadKeys, 'k1');
  if ('problems' in keyring) throw new Error(keyring.problems.join('; '));
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const temporal = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default', dataConverter: createDataConverter(keyring.keyring) });
  t.teardown(async () => {
    for (const service of started.reverse()) await service.stop();
    for await (const running of temporal.workflow.list({ query: `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"` })) {
      await temporal.workflow.getHandle(running.workflowId).terminate('test finished').catch(() => undefined);
    }
    await connection.close();
    await stack.stop();
  });

  const [workerA, workerB, apiA, apiB] = await Promise.all([
    startWorker('worker-a', env), startWorker('worker-b', env), startApi('api-a', env, apiPorts[0]!), startApi('api-b', env, apiPorts[1]!),
  ]);
  const apis = [httpClient(() => apiA!.url), httpClient(() => apiB!.url)];
  const identityOf = (worker: Started): string => `${worker.service.pid}@`;

  /** Registers a new adult for IMK through API number `via`; returns the case id and the learner's token. */
  const register = async (person: TestPerson, via: number): Promise<{ caseId: string; token: string; person: TestPerson }> => {
    const token = await stack.signIn({ role: 'learner', subject: person.code, name: person.name });
    const answer = await apis[via % 2]!('POST', '/api/learner/journeys', {
      token, json: { requestId: randomUUID(), email: `${person.code}@example.lv`, language: 'lv', acceptTerms: true, termsVersion: CURRENT_TERMS_VERSION },
    });
    t.true([201, 202].includes(answer.status), `registration through API ${via % 2}: HTTP ${answer.status} ${answer.text}`);
    return { caseId: (answer.json as { caseId: string }).caseId, token, person };
  };
  /** Waits until the learner's page, read through the other API, says the account is approved. */
  const untilApproved = (journey: { caseId: string; token: string }, via: number) =>
    eventually(async () => {
      const answer = await apis[via % 2]!('GET', `/api/learner/journeys/${journey.caseId}`, { token: journey.token });
      return answer.status === 200 && (answer.json as { stage: string }).stage === 'imk_approved';
    }, `case ${journey.caseId} approved`, 120_000);

  // Eight journeys, started alternately through the two APIs and each read back through the other one.
  const first = await Promise.all(Array.from({ length: 8 }, (_, i) => register(newPerson(`Pirmais${i}`), i)));
  await Promise.all(first.map((journey, i) => untilApproved(journey, i + 1)));
  const identities = new Set((await Promise.all(first.map((journey) => activityWorkers(temporal, journey.caseId)))).flat());
  t.true([...identities].some((id) => id.startsWith(identityOf(workerA!))), `worker A took activity tasks (${[...identities].join(', ')})`);
  t.true([...identities].some((id) => id.startsWith(identityOf(workerB!))), `worker B took activity tasks (${[...identities].join(', ')})`);

  // Eight more while the Population Register is down: their eligibility checks retry; then worker A dies.
  stack.registry.setDown(true);
  const asked = stack.registry.state().requests;
  const second = await Promise.all(Array.from({ length: 8 }, (_, i) => register(newPerson(`Otrais${i}`), i)));
  await eventually(async () => stack.registry.state().requests >= asked + 8, 'every journey to have asked the register', 60_000);
  process.kill(workerA!.service.pid!, 'SIGKILL');
  await workerA!.service.exited;
  stack.registry.setDown(false);
  await Promise.all(second.map((journey, i) => untilApproved(journey, i + 1)));

  // Each of the sixteen learners got one approval e-mail, killed worker or not (it is sent just after the stage).
  const everyone = [...first, ...second];
  await Promise.all(everyone.map(({ person }) => stack.mail.waitFor((message) => message.to.includes(`${person.code}@example.lv`), 60_000)));
  for (const { person } of everyone) {
    const mails = stack.mail.messages().filter((message) => message.to.includes(`${person.code}@example.lv`));
    t.is(mails.length, 1, `${person.name}: ${mails.map((m) => m.subject).join(' | ')}`);
  }
  // After the kill, only worker B can have finished the second journeys' checks.
  const lastChecks = await Promise.all(second.map(async (journey) => (await activityWorkers(temporal, journey.caseId)).at(-1)));
  t.true(lastChecks.every((id) => id?.startsWith(identityOf(workerB!))), `the last activities ran on worker B: ${lastChecks.join(', ')}`);
}
