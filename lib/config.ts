import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';

/**
 * Typed configuration, read once from the environment. A missing or malformed variable stops the process at
 * start with a message naming it, rather than failing later on the first request that needs it.
 */

/** Everything the API and the worker read from the environment. */
export interface Config {
  databaseUrl: string;
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string | null };
  smtpUrl: string;
  mailFrom: string;
  populationRegisterUrl: string;
  /** SOPA social-assistance status service (municipal register of poor and low-income households). */
  sopaUrl: string;
  /** The agency employee in whose name the system's own SOPA queries are made (SOPA_OPERATOR_*). */
  sopaOperator: { firstName: string; lastName: string; personCode: string };
  /** VIIS, the State Education Information System (institutions, places of delivery, licences, accreditation). */
  viisUrl: string;
  /** The Enterprise Register (Uzņēmumu reģistrs): company name and legal status. */
  enterpriseRegisterUrl: string;
  /** The agency's shared mailbox that escalation e-mails go to (AGENCY_INBOX_EMAIL). */
  agencyInboxEmail: string;
  sso: { issuer: string; clientId: string; clientSecret: string };
  publicUrl: string;
  port: number;
  sessionSecret: string;
  workerMetricsPort: number;
  /** How long the IMK approval task may wait before it is escalated, in milliseconds (APPROVAL_DUE: "5 days", "2s"). */
  approvalDueMs: number;
  /**
   * How long a learner may go without a Population Register re-check, in milliseconds (RECHECK_INTERVAL:
   * "180 days" by default; "1 minute" on a demo stack).
   */
  recheckIntervalMs: number;
}

/** Thrown at start when the environment is incomplete; its message names every bad variable. */
export class ConfigError extends Error {}

/** Reads and checks the configuration; throws ConfigError naming each missing or bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is not set`);
    return value ?? '';
  };
  const optional = (name: string, fallback: string): string => env[name]?.trim() || fallback;
  const port = (name: string, fallback: string): number => {
    const value = Number(optional(name, fallback));
    if (!Number.isInteger(value) || value < 0 || value > 65535) problems.push(`${name} must be a TCP port number`);
    return value;
  };
  const url = (name: string): string => {
    const value = required(name);
    if (value && !URL.canParse(value)) problems.push(`${name} must be a URL, got "${value}"`);
    return value.replace(/\/+$/, '');
  };
  // A loose check: it catches a URL or a name put in the wrong variable; the mail server judges the rest.
  const email = (name: string): string => {
    const value = required(name);
    if (value && !/^[^\s@]+@[^\s@]+$/.test(value)) problems.push(`${name} must be an e-mail address, got "${value}"`);
    return value;
  };
  const duration = (name: string, fallback: string): number => {
    const value = optional(name, fallback);
    try {
      return msToNumber(value as Duration);
    } catch {
      problems.push(`${name} must be a duration such as "5 days" or "30s", got "${value}"`);
      return 0;
    }
  };
  const config: Config = {
    databaseUrl: url('DATABASE_URL'),
    temporal: {
      address: required('TEMPORAL_ADDRESS'),
      namespace: optional('TEMPORAL_NAMESPACE', 'default'),
      taskQueue: optional('TEMPORAL_TASK_QUEUE', 'learning-accounts'),
      uiUrl: env.TEMPORAL_UI_URL?.trim() || null,
    },
    smtpUrl: url('SMTP_URL'),
    mailFrom: optional('MAIL_FROM', 'Valsts izglītības attīstības aģentūra <imk@viaa.example.lv>'),
    populationRegisterUrl: url('POPULATION_REGISTER_URL'),
    sopaUrl: url('SOPA_URL'),
    sopaOperator: {
      firstName: required('SOPA_OPERATOR_FIRST_NAME'), lastName: required('SOPA_OPERATOR_LAST_NAME'),
      personCode: required('SOPA_OPERATOR_PERSON_CODE'),
    },
    viisUrl: url('VIIS_URL'),
    enterpriseRegisterUrl: url('ENTERPRISE_REGISTER_URL'),
    agencyInboxEmail: email('AGENCY_INBOX_EMAIL'),
    sso: { issuer: url('SSO_ISSUER'), clientId: required('SSO_CLIENT_ID'), clientSecret: required('SSO_CLIENT_SECRET') },
    publicUrl: url('PUBLIC_URL'),
    port: port('PORT', '3000'),
    sessionSecret: required('SESSION_SECRET'),
    workerMetricsPort: port('WORKER_METRICS_PORT', '9464'),
    approvalDueMs: duration('APPROVAL_DUE', '5 days'),
    recheckIntervalMs: duration('RECHECK_INTERVAL', '180 days'),
  };
  if (config.sessionSecret && config.sessionSecret.length < 32) {
    problems.push('SESSION_SECRET must be at least 32 characters');
  }
  if (config.recheckIntervalMs <= 0 && !problems.some((p) => p.startsWith('RECHECK_INTERVAL'))) {
    problems.push('RECHECK_INTERVAL must be a positive duration');
  }
  if (problems.length > 0) throw new ConfigError(`Configuration is incomplete: ${problems.join('; ')}`);
  return config;
}
