import { loadConfig } from '../lib/config';
import { API_DB_LIMITS, createDb } from '../lib/db';
import { createDrainingServer } from '../lib/draining-server';
import { createLogger } from '../lib/logger';
import { createMetrics } from '../lib/metrics';
import { serveMetrics } from '../lib/metrics-server';
import { createLinkTokens } from '../lib/links';
import { createServerKey } from '../lib/server-key';
import { stopOnSignals } from '../lib/shutdown';
import { createSsoClient } from '../lib/sso';
import { connectTemporalClient } from '../lib/temporal';
import { createDataConverter } from '../lib/data-converter';
import { createPopulationRegisterClient } from '../activities/registries/population-register';
import { createViisClient } from '../activities/registries/viis';
import { createApp } from './app';
import { createFormTokens } from './middleware/csrf';

// The API + web process: serves pages and JSON, starts workflows and delivers decisions to them.
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api');
  const db = createDb(config.databaseUrl, undefined, API_DB_LIMITS);
  const temporal = await connectTemporalClient({ ...config.temporal, dataConverter: createDataConverter(config.payloadKeyring) });
  const metrics = createMetrics('api');
  const app = createApp({
    db, temporal, logger, taskQueue: config.temporal.taskQueue, metrics,
    tokens: createServerKey(config.sessionSecret), formTokens: createFormTokens(config.sessionSecret),
    sso: createSsoClient({ ...config.sso, redirectUri: `${config.publicUrl}/auth/sso/callback` }),
    publicUrl: config.publicUrl, temporalUiUrl: config.temporal.uiUrl, approvalDueMs: config.approvalDueMs,
    links: createLinkTokens(config.linkSecret), smtpUrl: config.smtpUrl,
    // A request answers within 5 s even when the register hangs (DESIGN.md habit 15): 3 s for its one question.
    populationRegister: createPopulationRegisterClient({ protocol: config.populationRegisterProtocol, baseUrl: config.populationRegisterUrl, timeoutMs: 3_000, metrics: metrics.registryMetrics }),
    // The offer form lists the institution's licences and places; without VIIS it takes typed values (2 s at most).
    viis: createViisClient({ baseUrl: config.viisUrl, timeoutMs: 2_000, metrics: metrics.registryMetrics }),
    // The terms of use: the agency approves a provider within one working day; the link is valid for 3 days.
    providerRegistrationTiming: { emailConfirmationValid: '72 hours', approvalWorkingDays: 1 },
  });
  const http = createDrainingServer(app.callback());
  http.server.listen(config.port, () => logger.info('api listening', { url: config.publicUrl, port: config.port, startupMs: Math.round(performance.now()) }));
  // Prometheus reads the API's metrics on a port of its own, never the public one (lib/metrics-server.ts).
  const metricsServer = serveMetrics({
    ...config.metrics,
    render: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    onError: (err) => logger.warn('metrics could not be read', { err }),
  });
  // Stop taking requests (new ones get 503), let those in hand finish for up to 5 s, then close Temporal and the
  // database; 10 s in all at most (the launcher kills after 15 s, Docker after its stop_grace_period).
  stopOnSignals({
    logger,
    hardTimeoutMs: 10_000,
    stop: async () => {
      await http.drain(5_000);
      metricsServer.close();
      await Promise.all([db.destroy(), temporal.connection.close()]);
    },
  });

  // A request handler's failure is answered by the error middleware (a 500 with the uniform body and a log line)
  // and never reaches here. A promise nobody awaited is logged and the process carries on: no request state is
  // left half-changed by it. An uncaught exception means some emitter or callback outside any request failed and
  // the process state is unknown, so it is logged and the API stops taking requests and exits (1) within 5 s, for
  // the supervisor (make run, docker compose restart policy) to start a clean one.
  process.on('unhandledRejection', (reason) => logger.error('unhandled promise rejection (the API keeps running)', { err: reason }));
  process.on('uncaughtException', (err) => {
    logger.error('uncaught exception: the API stops and exits for its supervisor to restart it', { err });
    process.exitCode = 1;
    http.server.close();
    http.server.closeIdleConnections();
    setTimeout(() => process.exit(1), 5_000).unref();
  });
}

main().catch((err) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', service: 'api', msg: 'api failed to start', error: String(err?.message ?? err) })}\n`);
  process.exit(1);
});
