import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { loadConfig, sopaTlsOf } from '../lib/config';
import { createDb } from '../lib/db';
import { loadEmailTemplates } from '../lib/email-templates';
import { createLinkTokens } from '../lib/links';
import { derivePseudonymKey } from '../lib/pseudonyms';
import { createLogger } from '../lib/logger';
import { createMailTransport } from '../lib/mailer';
import { stopOnSignals } from '../lib/shutdown';
import { combineRegistryMetrics, createRegistryStatsRecorder } from '../lib/registry-stats';
import { createMetrics } from '../lib/metrics';
import { serveMetrics } from '../lib/metrics-server';
import { connectTemporalClient, ensureSearchAttributes, temporalTlsConfig } from '../lib/temporal';
import { createDataConverter } from '../lib/data-converter';
import { createPopulationRegisterClient } from '../activities/registries/population-register';
import { createSopaClient } from '../activities/registries/sopa';
import { createViisClient } from '../activities/registries/viis';
import { createEnterpriseRegisterClient } from '../activities/registries/enterprise-register';
import { parseLearnerJourneyId } from '../workflows/ids';
import { createWorker } from './create-worker';
import { createEAddressClient, createServiceAccountingClient } from '../activities/registries/national-platform';
import { createNationalPlatformPublisher } from './national-platform-publisher';
import { prebuiltWorkflows } from './workflow-bundle';
import { ensureSchedulesPatiently } from './schedules';
import { watchTemporal } from './temporal-watch';
import { startStuckSweep } from './stuck-sweep';

// The worker process: polls the task queue, runs workflows and activities, serves /metrics.
async function main(): Promise<void> {
  const config = loadConfig();
  // The worker asks SOPA, which requires a client certificate: without one it stops here, not at the first query.
  const sopaTls = sopaTlsOf(config);
  const logger = createLogger('worker');
  const metrics = createMetrics('worker');
  // The SDK's own metrics are served by its core on the next port; our /metrics adds them to ours.
  const coreMetricsAddress = `127.0.0.1:${config.workerMetricsPort + 1}`;
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) => {
      const workflowId = entry.meta?.workflowId as string | undefined;
      const caseId = workflowId ? parseLearnerJourneyId(workflowId) : undefined;
      const level = ({ TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const)[entry.level as LogLevel];
      logger[level](entry.message, { ...entry.meta, ...(caseId ? { caseId } : {}) });
    }),
    telemetryOptions: { metrics: { prometheus: { bindAddress: coreMetricsAddress } } },
    // We stop on signals ourselves (below): drain with a grace period, close connections, log, with a deadline.
    shutdownSignals: [],
  });

  const db = createDb(config.databaseUrl);
  const dataConverter = createDataConverter(config.payloadKeyring);
  // Side by side, not one after the other: a worker restarted by `make run` should be back within seconds.
  const [templates, connection, client] = await Promise.all([
    loadEmailTemplates(),
    NativeConnection.connect({ address: config.temporal.address, tls: temporalTlsConfig(config.temporal.tls) }),
    // The console's batch operations run as workflows whose activities command other workflows through this client.
    connectTemporalClient({ ...config.temporal, dataConverter }),
  ]);
  const added = await ensureSearchAttributes(connection, config.temporal.namespace);
  if (added.length > 0) logger.info('registered search attributes', { added });

  // lean: one pooled SMTP transport for every e-mail activity (lib/mailer.ts), closed when the worker stops.
  const mailer = createMailTransport(config.smtpUrl);
  const registryMetrics = combineRegistryMetrics(metrics.registryMetrics, createRegistryStatsRecorder(db, logger));
  const worker = await createWorker({
    connection, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue, dataConverter,
    // lean: a prebuilt bundle (worker/workflow-bundle.ts): `make run`'s, or dist/'s when the worker runs compiled,
    // so a (re)started worker is back in seconds; without one the worker bundles the source at start.
    workflows: prebuiltWorkflows(),
    // On stop, activities in hand get 10 s to finish before they are cancelled; after 20 s run() gives up.
    shutdown: { graceTime: '10 s', forceTime: '20 s' },
    deps: {
      db, templates, logger, mailFrom: config.mailFrom, publicUrl: config.publicUrl,
      mailer,
      // Each registry's adapter is chosen by configuration (activities/registries/protocols.ts).
      populationRegister: createPopulationRegisterClient({
        protocol: config.populationRegisterProtocol, baseUrl: config.populationRegisterUrl, metrics: registryMetrics,
      }),
      sopa: createSopaClient({ protocol: config.sopaProtocol, baseUrl: config.sopaUrl, tls: sopaTls, metrics: registryMetrics }),
      sopaOperator: config.sopaOperator, links: createLinkTokens(config.linkSecret), pseudonymKey: derivePseudonymKey(config.sessionSecret),
      viis: createViisClient({ baseUrl: config.viisUrl, metrics: registryMetrics }),
      enterpriseRegister: createEnterpriseRegisterClient({ baseUrl: config.enterpriseRegisterUrl, metrics: registryMetrics }),
      agencyInboxEmail: config.agencyInboxEmail, temporal: client,
      onEmailSent: (template) => metrics.emailsSent.inc({ template }),
    },
  });

  const metricsServer = serveMetrics({
    host: config.workerMetricsHost, port: config.workerMetricsPort,
    render: async () => {
      const core = await fetch(`http://${coreMetricsAddress}/metrics`).then((r) => r.text()).catch(() => '');
      return { contentType: metrics.registry.contentType, body: `${await metrics.registry.metrics()}\n${core}` };
    },
    onError: (err) => logger.warn('metrics could not be read', { err }),
  });
  logger.info('worker started', {
    taskQueue: config.temporal.taskQueue, metrics: `http://${config.workerMetricsHost}:${config.workerMetricsPort}/metrics`,
    startupMs: Math.round(performance.now()),
  });

  // Logs losing and regaining the Temporal server while the worker runs.
  const stopWatching = watchTemporal({ connection, address: config.temporal.address, logger });
  // stuck: the stuck index's bounded reconciliation sweep, one worker at a time (issue 17 item 1).
  const stopSweep = startStuckSweep({ db, temporal: client, taskQueue: config.temporal.taskQueue, logger });
  // Issue 17 item 6: statuses and decisions for the national service platform, sent from their outboxes.
  const platform = config.nationalPlatform;
  const publisher = createNationalPlatformPublisher({
    db, logger, serviceCode: platform.serviceCode,
    serviceAccounting: createServiceAccountingClient({ baseUrl: platform.serviceAccountingUrl, metrics: registryMetrics }),
    eAddress: createEAddressClient({ baseUrl: platform.eAddressUrl, metrics: registryMetrics }),
  });
  publisher.start();
  // Polls until worker.shutdown(): then it finishes the tasks in hand and run() ends.
  const finished = (async () => {
    await worker.run();
    await publisher.stop();
    stopWatching();
    await stopSweep();
    metricsServer.close();
    mailer.close();
    await db.destroy();
    await client.connection.close();
    await connection.close();
  })();
  stopOnSignals({
    logger,
    hardTimeoutMs: 30_000,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await finished;
    },
  });
  // Schedules are created (or brought in line with the configuration) by every worker at start; idempotent. It
  // needs no polling worker, so it runs once the worker polls rather than delaying it, and a failure is tried
  // again while the worker works rather than ending it.
  void ensureSchedulesPatiently({
    client, taskQueue: config.temporal.taskQueue, recheckIntervalMs: config.recheckIntervalMs, logger,
    stopped: () => !['INITIALIZED', 'RUNNING'].includes(worker.getState()),
  }).then((schedules) => {
    if (schedules) logger.info('schedules ensured', schedules);
  });
  await finished;
  logger.info('worker stopped');
}

main().catch((err) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', service: 'worker', msg: 'worker failed', error: String(err?.message ?? err) })}\n`);
  process.exit(1);
});
