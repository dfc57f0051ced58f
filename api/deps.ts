import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import type { Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';
import type { SessionTokens } from '../lib/sessions';
import type { SsoClient } from '../lib/sso';

/** Everything the API needs, injected so tests run it against their own database, Temporal queue and stubs. */
export interface ApiDeps {
  db: Knex;
  temporal: Client;
  taskQueue: string;
  tokens: SessionTokens;
  sso: SsoClient;
  logger: Logger;
  metrics: Metrics;
  publicUrl: string;
  temporalUiUrl: string | null;
  /** How long staff have for an approval task, in milliseconds (passed into each journey). */
  approvalDueMs: number;
}
