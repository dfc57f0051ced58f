import fs from 'node:fs';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { parsePayloadKeyring, type PayloadKeyring } from './payload-codec';
import type { ClientTlsFiles } from './mtls';
import {
  pickProtocol, POPULATION_REGISTER_PROTOCOLS, SOPA_PROTOCOLS, type PopulationRegisterProtocol, type SopaProtocol,
} from '../activities/registries/protocols';

/**
 * Typed configuration, read once from the environment. A missing or malformed variable stops the process at
 * start with a message naming it, rather than failing later on the first request that needs it.
 */

/** Everything the API and the worker read from the environment. */
export interface Config {
  databaseUrl: string;
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string | null; tls: TemporalTlsFiles | null };
  smtpUrl: string;
  mailFrom: string;
  populationRegisterUrl: string;
  /** Which adapter speaks to the Population Register (POPULATION_REGISTER_PROTOCOL, default json). */
  populationRegisterProtocol: PopulationRegisterProtocol;
  /** SOPA social-assistance status service (municipal register of poor and low-income households). */
  sopaUrl: string;
  /** Which adapter speaks to SOPA (SOPA_PROTOCOL, default json). */
  sopaProtocol: SopaProtocol;
  /**
   * The client certificate and key SOPA requires (SOPA_CLIENT_CERT, SOPA_CLIENT_KEY) and the CA of its server
   * certificate (SOPA_CA_CERT; unset: the public CAs). Null when not given: only the worker asks SOPA, and it
   * refuses to start without them (sopaTlsOf), so the API need not hold the key.
   */
  sopaTls: ClientTlsFiles | null;
  /** The agency employee in whose name the system's own SOPA queries are made (SOPA_OPERATOR_*). */
  sopaOperator: { firstName: string; lastName: string; personCode: string };
  /** VIIS, the State Education Information System (institutions, places of delivery, licences, accreditation). */
  viisUrl: string;
  /** The Enterprise Register (Uzņēmumu reģistrs): company name and legal status. */
  enterpriseRegisterUrl: string;
  /** The agency's shared mailbox that escalation e-mails go to (AGENCY_INBOX_EMAIL). */
  agencyInboxEmail: string;
  /**
   * The national service platform (issue 17 item 6): its service-accounting interface (SERVICE_PLATFORM_URL), the
   * agency's service code there (SERVICE_PLATFORM_SERVICE_CODE) and the official e-address (E_ADDRESS_URL).
   */
  nationalPlatform: { serviceAccountingUrl: string; serviceCode: string; eAddressUrl: string };
  sso: { issuer: string; clientId: string; clientSecret: string };
  publicUrl: string;
  port: number;
  /** The server's own key (SESSION_SECRET): form tokens, short signed values (sign-on state, login step), sealed second-factor secrets. */
  sessionSecret: string;
  /** Signs the links sent by e-mail (LINK_SECRET): a key of its own, so a leaked link key reveals nothing else. */
  linkSecret: string;
  /** The API's Prometheus endpoint: a listener of its own, off the public port (METRICS_HOST, METRICS_PORT). */
  metrics: { host: string; port: number };
  /** The worker's /metrics (WORKER_METRICS_HOST, WORKER_METRICS_PORT; the SDK's own metrics on the next port). */
  workerMetricsHost: string;
  workerMetricsPort: number;
  /** How long the IMK approval task may wait before it is escalated, in milliseconds (APPROVAL_DUE: "5 days", "2s"). */
  approvalDueMs: number;
  /**
   * How long a learner may go without a Population Register re-check, in milliseconds (RECHECK_INTERVAL:
   * "180 days" by default; "1 minute" on a demo stack).
   */
  recheckIntervalMs: number;
  /** The keys Temporal payloads are encrypted with (PAYLOAD_KEYS) and the one new payloads use (PAYLOAD_KEY_ID). */
  payloadKeyring: PayloadKeyring;
}

/**
 * Files for a TLS connection to Temporal (TEMPORAL_TLS_*): a client certificate and key (mutual TLS), the CA that
 * signed the server's certificate (when it is not a public one), and the name the server's certificate carries.
 */
export interface TemporalTlsFiles { certPath: string | null; keyPath: string | null; caPath: string | null; serverName: string | null }

/**
 * Secrets that have been published as examples (the compose file's former default, documentation samples):
 * anyone could sign an administrator's session with them, so the processes refuse to start with one.
 */
export const KNOWN_PUBLIC_SECRETS: readonly string[] = [
  'change-me-this-default-is-public-and-insecure',
  'a-test-secret-that-is-long-enough-0123456789',
];

/**
 * Payload keys that have been published: the tests' fixed key (test/helpers/payload-keys.ts), in the repository so
 * recorded histories can be replayed. Anyone could decrypt with it, so the processes refuse to start with it.
 */
export const KNOWN_PUBLIC_PAYLOAD_KEYS: readonly string[] = ['T9mpz49O9pacFJiumNZ5wK9kuo/NGUajMi2/TvVg+Ns='];

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
  // A signing key: long enough to resist guessing, and not one that has been published.
  const secret = (name: string): string => {
    const value = required(name);
    if (value && value.length < 32) problems.push(`${name} must be at least 32 characters`);
    if (value && isPublicExample(value)) problems.push(`${name} is a published example value; generate your own (e.g. openssl rand -base64 48)`);
    return value;
  };
  const protocol = <P extends string>(name: string, known: readonly P[]): P => {
    try {
      return pickProtocol(name, known, optional(name, known[0]));
    } catch (err) {
      problems.push((err as Error).message);
      return known[0];
    }
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
      tls: temporalTls(env, problems),
    },
    smtpUrl: url('SMTP_URL'),
    mailFrom: optional('MAIL_FROM', 'Valsts izglītības attīstības aģentūra <imk@viaa.example.lv>'),
    populationRegisterUrl: url('POPULATION_REGISTER_URL'),
    populationRegisterProtocol: protocol('POPULATION_REGISTER_PROTOCOL', POPULATION_REGISTER_PROTOCOLS),
    sopaUrl: url('SOPA_URL'),
    sopaProtocol: protocol('SOPA_PROTOCOL', SOPA_PROTOCOLS),
    sopaTls: sopaTls(env, problems),
    sopaOperator: {
      firstName: required('SOPA_OPERATOR_FIRST_NAME'), lastName: required('SOPA_OPERATOR_LAST_NAME'),
      personCode: required('SOPA_OPERATOR_PERSON_CODE'),
    },
    viisUrl: url('VIIS_URL'),
    enterpriseRegisterUrl: url('ENTERPRISE_REGISTER_URL'),
    agencyInboxEmail: email('AGENCY_INBOX_EMAIL'),
    nationalPlatform: {
      serviceAccountingUrl: url('SERVICE_PLATFORM_URL'), serviceCode: optional('SERVICE_PLATFORM_SERVICE_CODE', 'VIAA-IMK'),
      eAddressUrl: url('E_ADDRESS_URL'),
    },
    sso: { issuer: url('SSO_ISSUER'), clientId: required('SSO_CLIENT_ID'), clientSecret: required('SSO_CLIENT_SECRET') },
    publicUrl: url('PUBLIC_URL'),
    port: port('PORT', '3000'),
    sessionSecret: secret('SESSION_SECRET'),
    linkSecret: secret('LINK_SECRET'),
    metrics: { host: optional('METRICS_HOST', '127.0.0.1'), port: port('METRICS_PORT', '9463') },
    workerMetricsHost: optional('WORKER_METRICS_HOST', '127.0.0.1'),
    workerMetricsPort: port('WORKER_METRICS_PORT', '9464'),
    approvalDueMs: duration('APPROVAL_DUE', '5 days'),
    recheckIntervalMs: duration('RECHECK_INTERVAL', '180 days'),
    payloadKeyring: payloadKeyring(env, problems),
  };
  // The agreement requires HTTPS with a client certificate: a plain SOPA address would send person codes in clear.
  if (config.sopaUrl && URL.canParse(config.sopaUrl) && !config.sopaUrl.startsWith('https://')) {
    problems.push(`SOPA_URL must be an https:// address (SOPA requires HTTPS with a client certificate), got "${config.sopaUrl}"`);
  }
  if (config.sessionSecret && config.sessionSecret === config.linkSecret) {
    problems.push('LINK_SECRET must differ from SESSION_SECRET (a key of its own for e-mailed links)');
  }
  if (config.metrics.port !== 0 && config.metrics.port === config.port) {
    problems.push('METRICS_PORT must differ from PORT (metrics are not served on the public port)');
  }
  if (config.recheckIntervalMs <= 0 && !problems.some((p) => p.startsWith('RECHECK_INTERVAL'))) {
    problems.push('RECHECK_INTERVAL must be a positive duration');
  }
  if (problems.length > 0) throw new ConfigError(`Configuration is incomplete: ${problems.join('; ')}`);
  return config;
}

/** Whether a secret is a published example: one of KNOWN_PUBLIC_SECRETS, or a placeholder saying "change me". */
function isPublicExample(value: string): boolean {
  return KNOWN_PUBLIC_SECRETS.includes(value) || /change-?me/i.test(value);
}

/**
 * PAYLOAD_KEYS and PAYLOAD_KEY_ID alone, for a command that reads no other configuration (the consistency check);
 * throws ConfigError naming each bad variable.
 */
export function loadPayloadKeyring(env: NodeJS.ProcessEnv = process.env): PayloadKeyring {
  const problems: string[] = [];
  const keyring = payloadKeyring(env, problems);
  if (problems.length > 0) throw new ConfigError(`Configuration is incomplete: ${problems.join('; ')}`);
  return keyring;
}

/** The payload keyring; no default: without it Temporal would hold personal data in clear text. */
function payloadKeyring(env: NodeJS.ProcessEnv, problems: string[]): PayloadKeyring {
  const keys = env.PAYLOAD_KEYS?.trim() ?? '';
  const empty: PayloadKeyring = { currentKeyId: '', keys: new Map() };
  if (!keys) {
    problems.push('PAYLOAD_KEYS is not set (e.g. PAYLOAD_KEYS=k1:$(openssl rand -base64 32) and PAYLOAD_KEY_ID=k1)');
    return empty;
  }
  const parsed = parsePayloadKeyring(keys, env.PAYLOAD_KEY_ID?.trim() ?? '');
  if ('problems' in parsed) {
    problems.push(...parsed.problems);
    return empty;
  }
  const published = [...parsed.keyring.keys].filter(([, key]) => KNOWN_PUBLIC_PAYLOAD_KEYS.includes(key.toString('base64')));
  for (const [id] of published) problems.push(`PAYLOAD_KEYS key "${id}" is a published test key; generate your own (openssl rand -base64 32)`);
  return parsed.keyring;
}

/**
 * The TEMPORAL_TLS_* settings alone, for a command that reads no other configuration (the consistency check);
 * throws ConfigError naming each bad variable.
 */
export function loadTemporalTls(env: NodeJS.ProcessEnv = process.env): TemporalTlsFiles | null {
  const problems: string[] = [];
  const tls = temporalTls(env, problems);
  if (problems.length > 0) throw new ConfigError(`Configuration is incomplete: ${problems.join('; ')}`);
  return tls;
}

/** The file `name` names (null when unset); it must be readable now, not at first use. */
function readableFile(env: NodeJS.ProcessEnv, name: string, problems: string[]): string | null {
  const value = env[name]?.trim() || null;
  if (value) {
    try {
      fs.accessSync(value, fs.constants.R_OK);
    } catch (err) {
      problems.push(`${name} names a file that cannot be read: ${value} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return value;
}

/** The TEMPORAL_TLS_* settings (null when none is set); each file named must be readable now, not at first use. */
function temporalTls(env: NodeJS.ProcessEnv, problems: string[]): TemporalTlsFiles | null {
  const file = (name: string): string | null => readableFile(env, name, problems);
  const tls: TemporalTlsFiles = {
    certPath: file('TEMPORAL_TLS_CERT'), keyPath: file('TEMPORAL_TLS_KEY'), caPath: file('TEMPORAL_TLS_CA'),
    serverName: env.TEMPORAL_TLS_SERVER_NAME?.trim() || null,
  };
  if (Boolean(tls.certPath) !== Boolean(tls.keyPath)) problems.push('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (a client certificate and its key)');
  return Object.values(tls).some(Boolean) ? tls : null;
}

/** SOPA_CLIENT_CERT, SOPA_CLIENT_KEY (together) and SOPA_CA_CERT; null when neither certificate nor key is set. */
function sopaTls(env: NodeJS.ProcessEnv, problems: string[]): ClientTlsFiles | null {
  const certPath = readableFile(env, 'SOPA_CLIENT_CERT', problems);
  const keyPath = readableFile(env, 'SOPA_CLIENT_KEY', problems);
  const caPath = readableFile(env, 'SOPA_CA_CERT', problems);
  if (Boolean(certPath) !== Boolean(keyPath)) problems.push('SOPA_CLIENT_CERT and SOPA_CLIENT_KEY go together (a client certificate and its key)');
  return certPath && keyPath ? { certPath, keyPath, caPath } : null;
}

/** The SOPA client certificate files; throws ConfigError when they are not configured (the worker cannot ask SOPA without). */
export function sopaTlsOf(config: Pick<Config, 'sopaTls'>): ClientTlsFiles {
  if (!config.sopaTls) {
    throw new ConfigError('Configuration is incomplete: SOPA_CLIENT_CERT and SOPA_CLIENT_KEY are not set (SOPA requires a client certificate; SOPA_CA_CERT names the CA of its server certificate when that is not a public one)');
  }
  return config.sopaTls;
}
