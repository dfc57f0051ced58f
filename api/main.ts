import { loadConfig } from '../lib/config';
import { API_DB_LIMITS, createDb } from '../lib/db';
import { createLogger } from '../lib/logger';
import { createMetrics } from '../lib/metrics';
import { createLinkTokens } from '../lib/links';
import { createSessionTokens } from '../lib/sessions';
import { createSsoClient } from '../lib/sso';
import { connectTemporalClient } from '../lib/temporal';
import { createApp } from './app';

// The API + web process: serves pages and JSON, starts workflows and delivers decisions to them.
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api');
  const db = createDb(config.databaseUrl, undefined, API_DB_LIMITS);
  const temporal = await connectTemporalClient(config.temporal);
  const app = createApp({
    db, temporal, logger, taskQueue: config.temporal.taskQueue, metrics: createMetrics('api'),
    tokens: createSessionTokens(config.sessionSecret),
    sso: createSsoClient({ ...config.sso, redirectUri: `${config.publicUrl}/auth/sso/callback` }),
    publicUrl: config.publicUrl, temporalUiUrl: config.temporal.uiUrl, approvalDueMs: config.approvalDueMs,
    links: createLinkTokens(config.sessionSecret), smtpUrl: config.smtpUrl,
    // The terms of use: the agency approves a provider within one working day; the link is valid for 3 days.
    providerRegistrationTiming: { emailConfirmationValid: '72 hours', approvalWorkingDays: 1 },
  });
  const server = app.listen(config.port, () => logger.info('api listening', { url: config.publicUrl, port: config.port }));
  const stop = () => {
    logger.info('api stopping');
    server.close(() => {
      void Promise.all([db.destroy(), temporal.connection.close()]).then(() => process.exit(0));
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', service: 'api', msg: 'api failed to start', error: String(err?.message ?? err) })}\n`);
  process.exit(1);
});
