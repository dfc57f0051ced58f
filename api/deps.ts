import type Router from '@koa/router';
import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import type { ProviderRegistrationInput } from '../workflows/provider-registration';
import type { PopulationRegisterClient } from '../activities/registries/population-register';
import type { ViisClient } from '../activities/registries/viis';
import type { Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';
import type { LinkTokens } from '../lib/links';
import type { ServerKey } from '../lib/server-key';
import type { SessionTimeouts } from '../lib/sessions';
import type { SsoClient } from '../lib/sso';
import type { FormTokens } from './middleware/csrf';
import type { ApiRegistry } from './routes/define';

/** Everything the API needs, injected so tests run it against their own database, Temporal queue and stubs. */
export interface ApiDeps {
  db: Knex;
  temporal: Client;
  taskQueue: string;
  /** Signs short-lived values (the sign-on's state, the login's second step) and seals stored secrets. */
  tokens: ServerKey;
  /** Session time limits; SESSION_TIMEOUTS when not given (tests pass a short idle time). */
  sessionTimeouts?: SessionTimeouts;
  /** The key of the CSRF tokens in forms (api/middleware/csrf.ts). */
  formTokens: FormTokens;
  sso: SsoClient;
  logger: Logger;
  metrics: Metrics;
  publicUrl: string;
  temporalUiUrl: string | null;
  /** How long staff have for an approval task, in milliseconds (passed into each journey). */
  approvalDueMs: number;
  /** Signed, expiring tokens for links sent by e-mail (the API verifies them). */
  links: LinkTokens;
  /** The mail server the worker sends through; the API only checks that it answers (/api/health, /api/ready). */
  smtpUrl: string;
  /**
   * The Population Register, asked by the API only to check a coordinator's municipality before anything about the
   * person is stored (api/services/coordinator.ts); every other lookup is the worker's.
   */
  populationRegister: PopulationRegisterClient;
  /**
   * VIIS, asked by the API only for the provider's own institution on the offer form (its licences and places as
   * pick-lists, and "check without submitting"); the submission's checks stay the worker's.
   */
  viis: ViisClient;
  /** Passed into each provider registration workflow (workflows/provider-registration.ts). */
  providerRegistrationTiming: ProviderRegistrationInput['timing'];
  /** How long an e-mailed password-reset link is valid, in hours (default PASSWORD_RESET_VALID_HOURS); tests shorten it. */
  passwordResetValidHours?: number;
  /** How many multipart bodies the app reads at once (default DEFAULT_MAX_UPLOADS_IN_PROGRESS); tests use a small cap. */
  maxUploadsInProgress?: number;
  /**
   * Routes only a test's own app has: the fuzz stage's test adds a deliberately broken one to show the stage catches
   * it. Only code that calls createApp itself can pass this; api/main.ts builds its deps from the configuration and
   * never sets it, so no setting or environment variable can add a route to a running API.
   */
  testRoutes?: (router: Router, api: ApiRegistry) => void;
}
