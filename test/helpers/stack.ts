import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type WorkflowBundleOption } from '@temporalio/worker';
import { createApp } from '../../api/app';
import { createFormTokens } from '../../api/middleware/csrf';
import type { ApiDeps } from '../../api/deps';
import { connectTemporalClient } from '../../lib/temporal';
import { workflowBundleOptions } from '../../lib/data-converter';
import { testDataConverter } from './payload-keys';
import { createPopulationRegisterClient } from '../../activities/registries/population-register';
import { createSopaClient } from '../../activities/registries/sopa';
import { createViisClient } from '../../activities/registries/viis';
import { createEnterpriseRegisterClient } from '../../activities/registries/enterprise-register';
import { createDb, migrateLatest } from '../../lib/db';
import { loadEmailTemplates } from '../../lib/email-templates';
import { createLogger } from '../../lib/logger';
import { createMailTransport } from '../../lib/mailer';
import { createRegistryStatsRecorder } from '../../lib/registry-stats';
import { createMetrics } from '../../lib/metrics';
import { createLinkTokens } from '../../lib/links';
import { createServerKey } from '../../lib/server-key';
import { derivePseudonymKey } from '../../lib/pseudonyms';
import { createSession, resolveSession, SESSION_TIMEOUTS, type NewSession, type Session } from '../../lib/sessions';
import { createSsoClient } from '../../lib/sso';
import { createWorker, workflowsPath, type WorkerTuning } from '../../worker/create-worker';
import { seed } from '../../dev/seed';
import { seedPeople } from '../../dev/seed-people';
import { createMailCatcher } from '../../dev/stubs/mail-catcher';
import { createPopulationRegisterStub } from '../../dev/stubs/population-register';
import { createSsoStub } from '../../dev/stubs/sso';
import { createSopaStub } from '../../dev/stubs/sopa';
import { clientTlsFiles, ensureDevTls } from '../../dev/tls';
import { seedSocialStatuses } from '../../dev/seed-social-status';
import type { ProviderRegistrationInput } from '../../workflows/provider-registration';
import { createViisStub } from '../../dev/stubs/viis';
import { createEnterpriseRegisterStub } from '../../dev/stubs/enterprise-register';
import { seedCompanies, seedInstitutions } from '../../dev/seed-institutions';
import { copyDatabase, createDatabase } from '../../dev/services/postgres';
// --- platform (issue 17 item 6): the national service platform's stubs and the worker's publisher ---
import { createServicePlatformStub } from '../../dev/stubs/service-platform';
import { createEAddressStub } from '../../dev/stubs/e-address';
import { createEAddressClient, createServiceAccountingClient } from '../../activities/registries/national-platform';
import { createNationalPlatformPublisher, type PublisherTiming } from '../../worker/national-platform-publisher';

/** The publisher's timing in tests: quick rounds, short leases and back-off, so a restart or an outage takes seconds. */
export const TEST_PUBLISHER_TIMING: Partial<PublisherTiming> = { pollMs: 100, leaseMs: 2_000, retryBaseMs: 100, retryMaxMs: 1_000 };

/** The agency employee the system's SOPA queries are made in the name of, in tests (sample person). */
export const TEST_SOPA_OPERATOR = { firstName: 'Ilze', lastName: 'Priede', personCode: '010180-10007' };

/** The agency's shared mailbox in tests, where the worker sends escalation e-mails. */
export const TEST_AGENCY_INBOX_EMAIL = 'agency@test.invalid';

/**
 * The whole system for one test file: a fresh Postgres database, the registry (Population Register, SOPA, VIIS,
 * Enterprise Register), sign-on and mail stubs,
 * a worker on its own task queue against the real Temporal dev server, and the API on a free port.
 * The test command (make test) starts Postgres and Temporal and passes their addresses in the environment.
 */
export async function startTestStack(opts: {
  approvalDueMs?: number;
  /**
   * Programmes whose accounts agency staff approve by hand, as the agency may configure them. Tests of the staff
   * path use it on IMK, whose accounts are otherwise approved automatically when every check passes.
   */
  manualApproval?: string[];
  /** Provider registration timing the API passes to each registration workflow (tests shorten the deadlines). */
  providerRegistrationTiming?: ProviderRegistrationInput['timing'];
  /**
   * Whether the stack runs the national platform publisher as a worker does. Off by default: polling every 100 ms in
   * every test file's stack cost the test command time, and the platform's tests run (and restart) publishers of their own.
   */
  platformPublisher?: boolean;
  /** lean: other worker cache and slot sizes than WORKER_TUNING (benchmarks compare them). */
  workerTuning?: Partial<WorkerTuning>;
} = {}) {
  const adminUrl = requireEnv('TEST_DATABASE_URL');
  const temporalAddress = requireEnv('TEMPORAL_ADDRESS');
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const logger = createLogger('test', (process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'warn');

  installQuietRuntime();
  const databaseUrl = await seededDatabase(adminUrl);
  const db = createDb(databaseUrl);
  if (opts.manualApproval) {
    await db('programmes').whereIn('code', opts.manualApproval).update({ approval: 'manual' });
    // Journeys read the version of the rules in effect (programme_versions), so the seeded versions change too.
    await db('programmeVersions').whereIn('programme', opts.manualApproval).update({ approval: 'manual' });
  }

  const mail = createMailCatcher();
  const mailListening = await mail.listen();
  const registry = createPopulationRegisterStub({ people: seedPeople });
  const registryListening = await registry.listen();
  // SOPA speaks HTTPS with mutual TLS, as in production: the checkout's test PKI (dev/tls.ts, made once in .data/tls).
  const tls = ensureDevTls();
  const sopa = createSopaStub({ statuses: seedSocialStatuses, tls });
  const sopaListening = await sopa.listen();
  const viis = createViisStub({ institutions: seedInstitutions });
  const viisListening = await viis.listen();
  const enterpriseRegister = createEnterpriseRegisterStub({ companies: seedCompanies });
  const enterpriseRegisterListening = await enterpriseRegister.listen();
  // --- platform: the service-accounting and e-address stubs (nobody has an e-address until a test gives one) ---
  const servicePlatform = createServicePlatformStub();
  const servicePlatformListening = await servicePlatform.listen();
  const eAddress = createEAddressStub();
  const eAddressListening = await eAddress.listen();

  // The API's port must be known before the sign-on stub is told which redirect address to accept.
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sso = { clientId: 'learning-accounts-test', clientSecret: randomUUID(), redirectUri: `${appUrl}/auth/sso/callback` };
  const ssoListening = await createSsoStub({
    people: seedPeople, clients: [{ clientId: sso.clientId, clientSecret: sso.clientSecret, redirectUris: [sso.redirectUri] }],
  }).listen();

  const taskQueue = `test-${randomUUID()}`;
  // Two keys, as in production (lib/config.ts refuses one key for both).
  const sessionSecret = randomUUID() + randomUUID();
  const tokens = createServerKey(sessionSecret);
  const links = createLinkTokens(randomUUID() + randomUUID());
  const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
  const connection = await Connection.connect({ address: temporalAddress });
  // Every client and the worker encrypt as in production (lib/data-converter.ts), with the tests' fixed key.
  const temporal = new Client({ connection, namespace, dataConverter: testDataConverter });
  const registryStats = createRegistryStatsRecorder(db, logger);
  // lean: the worker's pooled SMTP transport, closed at stop() so no kept-open connection outlives the stack.
  const mailer = createMailTransport(`smtp://127.0.0.1:${mailListening.smtpPort}?ignoreTLS=true`);
  const workerOptions: Omit<Parameters<typeof createWorker>[0], 'connection'> = {
    namespace, taskQueue, dataConverter: testDataConverter,
    workflows: { workflowBundle: await workflowBundle() }, tuning: opts.workerTuning,
    deps: {
      db, logger, templates: await loadEmailTemplates(), mailFrom: 'IMK <imk@test.invalid>', publicUrl: appUrl,
      mailer,
      populationRegister: createPopulationRegisterClient({ baseUrl: registryListening.url, timeoutMs: 2_000, metrics: registryStats }),
      sopa: createSopaClient({ baseUrl: sopaListening.url, tls: clientTlsFiles(tls), timeoutMs: 2_000, metrics: registryStats }),
      sopaOperator: TEST_SOPA_OPERATOR, links, temporal,
      viis: createViisClient({ baseUrl: viisListening.url, timeoutMs: 2_000, metrics: registryStats }),
      enterpriseRegister: createEnterpriseRegisterClient({ baseUrl: enterpriseRegisterListening.url, timeoutMs: 2_000, metrics: registryStats }),
      agencyInboxEmail: TEST_AGENCY_INBOX_EMAIL, pseudonymKey: derivePseudonymKey(sessionSecret),
    },
  };
  const worker = await createWorker({ connection: nativeConnection, ...workerOptions });
  const workerRun = worker.run();
  // --- cluster: `make test-cluster` sets TEST_STACK_REPLICAS=2, and each further replica is one more worker on the
  // same task queue with a Temporal connection of its own, as another worker process would poll.
  const replicaWorkers = await Promise.all(Array.from({ length: replicas() - 1 }, async () => {
    const replicaConnection = await NativeConnection.connect({ address: temporalAddress });
    const replica = await createWorker({ connection: replicaConnection, ...workerOptions });
    return { connection: replicaConnection, worker: replica, run: replica.run() };
  }));
  // --- platform: the publisher, as worker/main.ts runs it beside the worker ---
  const platformDeps = {
    db, logger, serviceCode: 'TEST-IMK', timing: TEST_PUBLISHER_TIMING,
    serviceAccounting: createServiceAccountingClient({ baseUrl: servicePlatformListening.url, timeoutMs: 1_000, metrics: registryStats }),
    eAddress: createEAddressClient({ baseUrl: eAddressListening.url, timeoutMs: 1_000, metrics: registryStats }),
  };
  const publisher = opts.platformPublisher ? createNationalPlatformPublisher(platformDeps) : null;
  publisher?.start();

  // The API's own client, as api/main.ts makes it (every call with a deadline).
  const apiTemporal = await connectTemporalClient({ address: temporalAddress, namespace, dataConverter: testDataConverter });
  const apiDeps: ApiDeps = {
    db, temporal: apiTemporal, taskQueue, logger, tokens, formTokens: createFormTokens(sessionSecret), metrics: createMetrics('api-test'),
    sso: createSsoClient({ issuer: ssoListening.url, ...sso }),
    publicUrl: appUrl, temporalUiUrl: null, approvalDueMs: opts.approvalDueMs ?? 5 * 86_400_000,
    links, providerRegistrationTiming: opts.providerRegistrationTiming ?? { emailConfirmationValid: '72 hours', approvalWorkingDays: 1 },
    smtpUrl: `smtp://127.0.0.1:${mailListening.smtpPort}`,
    populationRegister: createPopulationRegisterClient({ baseUrl: registryListening.url, timeoutMs: 2_000 }),
    viis: createViisClient({ baseUrl: viisListening.url, timeoutMs: 2_000 }),
  };
  // --- cluster: with TEST_STACK_REPLICAS=2, requests alternate between API instances, each with its own Temporal
  // client, as behind a load balancer; so no test passes on state one instance kept in memory.
  const replicaClients = await Promise.all(Array.from({ length: replicas() - 1 }, () =>
    connectTemporalClient({ address: temporalAddress, namespace, dataConverter: testDataConverter })));
  const apiInstances = [apiDeps, ...replicaClients.map((client) => ({ ...apiDeps, temporal: client }))].map((deps) => createApp(deps).callback());
  let nextInstance = 0;
  server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
    const instance = apiInstances[nextInstance++ % apiInstances.length]!;
    void instance(request, response);
  });
  /**
   * A bearer token of a real session row, as the login routes would start it. A staff, admin or provider subject
   * that is not a user yet becomes one (active, with the role, provider and provider role given), because every
   * request reads the user row; a subject that is not a UUID gets a new user id. An administrator's session
   * counts as confirmed by a second factor only with `secondFactor: true`.
   */
  async function signIn(session: {
    role: Session['role']; subject: string; name?: string; providerId?: string | null; providerRole?: 'admin' | 'staff' | null;
    municipality?: string | null;
  }, opts: { secondFactor?: boolean } = {}): Promise<string> {
    const name = session.name ?? 'Test User';
    const input: NewSession = { role: session.role, subject: session.subject, name, municipality: session.municipality ?? null, secondFactorAt: opts.secondFactor ? new Date() : null };
    if (session.role === 'staff' || session.role === 'admin' || session.role === 'provider') {
      const id = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(session.subject) ? session.subject : randomUUID();
      await db('users').insert({
        id, username: `test-${id}`, passwordHash: 'none', displayName: name, role: session.role, status: 'active',
        providerId: session.providerId ?? null, providerRole: session.role === 'provider' ? session.providerRole ?? null : null,
      }).onConflict('id').ignore();
      Object.assign(input, { subject: id, userId: id });
    }
    return (await createSession(db, apiDeps.sessionTimeouts ?? SESSION_TIMEOUTS, input)).token;
  }

  /** A bearer token of the seeded user (staff by default); an administrator's only with `secondFactor: true`. */
  async function staffToken(username = 'staff', opts: { secondFactor?: boolean } = {}) {
    const user = await db('users').where({ username }).first<{ id: string; displayName: string; role: 'staff' | 'admin' }>();
    return signIn({ role: user.role, subject: user.id, name: user.displayName }, opts);
  }

  const extraServers: http.Server[] = [];
  const extraQueues: string[] = [];

  return {
    db, databaseUrl, temporal, taskQueue, appUrl, tokens, links, mail, smtpPort: mailListening.smtpPort, registry: registry.control, sopa: sopa.control, ssoUrl: ssoListening.url, sso,
    viis: viis.control, enterpriseRegister: enterpriseRegister.control,
    /** --- platform: the stubs' controls, and what a test needs to run a publisher of its own. --- */
    servicePlatform: servicePlatform.control, eAddress: eAddress.control, platformDeps, publisher,
    /** lean: the worker's own status (e.g. how many workflows it holds in its cache), for benchmarks. */
    workerStatus: () => worker.getStatus(),
    /** The API's dependencies, e.g. for a second API with some of them replaced (serveApi). */
    apiDeps,
    // --- cluster: the stubs' addresses, for worker and API processes a test starts itself (test/cluster/).
    stubUrls: {
      populationRegister: registryListening.url, sopa: sopaListening.url, viis: viisListening.url,
      enterpriseRegister: enterpriseRegisterListening.url, sso: ssoListening.url,
      servicePlatform: servicePlatformListening.url, eAddress: eAddressListening.url,
    },
    /**
     * Serves a second API on a free port with some dependencies replaced: a database or Temporal reached through a
     * proxy a test can break, or a task queue no worker polls (its workflows are terminated at stop()). Its public
     * address is its own unless overridden, so a browser's form posts to it count as same-site.
     */
    async serveApi(overrides: Partial<ApiDeps>): Promise<{ url: string }> {
      const extra = http.createServer();
      await new Promise<void>((resolve) => extra.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(extra.address() as AddressInfo).port}`;
      extra.on('request', createApp({ ...apiDeps, publicUrl: url, ...overrides }).callback());
      extraServers.push(extra);
      if (overrides.taskQueue) extraQueues.push(overrides.taskQueue);
      return { url };
    },
    /** A bearer token of a real session row (see signIn above). */
    signIn,
    /** A bearer token for a session (see signIn). */
    async tokenFor(role: 'learner' | 'staff' | 'admin' | 'provider', subject: string, name = 'Test User', opts: { secondFactor?: boolean } = {}) {
      return signIn({ role, subject, name }, opts);
    },
    /** A bearer token of the seeded user (see staffToken above). */
    staffToken,
    /** A bearer token of the seeded administrator, in a session confirmed by a second factor. */
    async adminToken() {
      return staffToken('admin', { secondFactor: true });
    },
    /** The live session behind a token, as the API reads it on a request, or null when it has ended or is unknown. */
    async sessionOf(token: string): Promise<Session | null> {
      const resolved = await resolveSession(db, apiDeps.sessionTimeouts ?? SESSION_TIMEOUTS, token);
      return resolved && 'session' in resolved ? resolved.session : null;
    },
    async stop() {
      // Journeys still waiting (for an application, a provider, ...) are ended so nothing lingers on a shared server.
      for (const queue of [taskQueue, ...extraQueues]) {
        for await (const running of temporal.workflow.list({ query: `TaskQueue = "${queue}" AND ExecutionStatus = "Running"` })) {
          await temporal.workflow.getHandle(running.workflowId).terminate('test finished').catch(() => undefined);
        }
      }
      for (const s of [server, ...extraServers]) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
      await apiTemporal.connection.close();
      for (const client of replicaClients) await client.connection.close();
      worker.shutdown();
      for (const replica of replicaWorkers) replica.worker.shutdown();
      await workerRun;
      for (const replica of replicaWorkers) {
        await replica.run;
        await replica.connection.close();
      }
      await publisher?.stop();
      await nativeConnection.close();
      await connection.close();
      await db.destroy();
      mailer.close();
      await mailListening.close();
      await registryListening.close();
      await sopaListening.close();
      await viisListening.close();
      await enterpriseRegisterListening.close();
      await servicePlatformListening.close();
      await eAddressListening.close();
      await ssoListening.close();
      await dropDatabase(adminUrl, databaseUrl);
    },
  };
}

/** The stack startTestStack returns. */
export type TestStack = Awaited<ReturnType<typeof startTestStack>>;

/**
 * A new migrated and seeded database for one test file. The test command (dev/test-run.ts) seeds one template at its
 * start and names it in TEST_TEMPLATE_DATABASE: each file then gets a copy in a fraction of a second instead of
 * seconds of migrating, seeding and hashing demo passwords. Without it (a test file run by hand), it seeds its own.
 */
async function seededDatabase(adminUrl: string): Promise<string> {
  const template = process.env.TEST_TEMPLATE_DATABASE;
  if (template) return copyDatabase(adminUrl, template, 'test');
  const databaseUrl = await createDatabase(adminUrl, 'test');
  await seed(databaseUrl);
  return databaseUrl;
}

let bundle: Promise<WorkflowBundleOption> | undefined;
// Bundling takes seconds, so a test file builds it once; the test command passes one it built for every file
// (TEST_WORKFLOW_BUNDLE, the bundle's path).
function workflowBundle(): Promise<WorkflowBundleOption> {
  const prebuilt = process.env.TEST_WORKFLOW_BUNDLE;
  bundle ??= prebuilt ? Promise.resolve({ codePath: prebuilt })
    : bundleWorkflowCode({ workflowsPath, ...workflowBundleOptions, logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error } as never });
  return bundle;
}

let runtimeInstalled = false;
// The SDK logs every activity retry at WARN; tests provoke retries on purpose, so only errors are shown.
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  // Core's own log lines too: stopping a test stack ends workflows whose activities then report late (WARN).
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  runtimeInstalled = true;
}

/**
 * --- cluster: how many workers and API instances each test stack runs (TEST_STACK_REPLICAS, default 1); `make
 * test-cluster` runs the suites with 2.
 */
function replicas(): number {
  const count = Number(process.env.TEST_STACK_REPLICAS ?? 1);
  if (!Number.isInteger(count) || count < 1) throw new Error(`TEST_STACK_REPLICAS must be a whole number of 1 or more, got ${process.env.TEST_STACK_REPLICAS}`);
  return count;
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with the project's test command (make test)`);
  return value;
}


async function dropDatabase(adminUrl: string, databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const admin: Knex = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.destroy();
  }
}

/** Re-exported for tests that migrate by hand. */
export { migrateLatest };
