import fs from 'node:fs';
import { stopWhenLauncherDies } from '../../lib/launcher-watch';
import { seedCompanies, seedInstitutions } from '../seed-institutions';
import { seedPeople, type SeedPerson } from '../seed-people';
import { seedSocialStatuses } from '../seed-social-status';
import { createEnterpriseRegisterStub } from './enterprise-register';
import { createMailCatcher } from './mail-catcher';
import { createPopulationRegisterStub } from './population-register';
import { createSopaStub } from './sopa';
import { createSsoStub } from './sso';
import { MAIL_CATCHER_WEB, STUBS, type StubInfo, type StubName } from './ports';
import { createViisStub } from './viis';
import { DEFAULT_TLS_DIR, ensureDevTls } from '../tls';
import { createServicePlatformStub } from './service-platform';
import { createEAddressStub, DEMO_E_ADDRESS_HOLDERS } from './e-address';

/** Reads a port from the environment, failing loudly on garbage rather than silently using the default. */
function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number, got ${raw}`);
  return port;
}

function log(level: 'info' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields });
  if (level === 'error') console.error(line);
  else console.log(line);
}

/** The variable naming a JSON file of more people (SeedPerson[]) for the register and sign-on stubs: the fault drill's learners. */
export const EXTRA_PEOPLE_VAR = 'STUB_EXTRA_PEOPLE_FILE';

/**
 * The demo people plus those of the file `STUB_EXTRA_PEOPLE_FILE` names, if set. A file that cannot be read or
 * is not a list of people with a person code stops the stubs with a message naming it, rather than serving fewer.
 */
export function peopleToServe(env: NodeJS.ProcessEnv): SeedPerson[] {
  const file = env[EXTRA_PEOPLE_VAR]?.trim();
  if (!file) return seedPeople;
  let extra: unknown;
  try {
    extra = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${EXTRA_PEOPLE_VAR}: cannot read ${file}: ${(err as Error).message}`);
  }
  const isPerson = (p: unknown): p is SeedPerson => typeof p === 'object' && p !== null
    && typeof (p as SeedPerson).personCode === 'string' && typeof (p as SeedPerson).birthDate === 'string';
  if (!Array.isArray(extra) || !extra.every(isPerson)) throw new Error(`${EXTRA_PEOPLE_VAR}: ${file} must be a JSON list of people, each with personCode and birthDate`);
  return [...seedPeople, ...extra];
}

/**
 * The variable naming the directory of the test PKI (dev/tls.ts) the SOPA stub serves HTTPS with and checks client
 * certificates against; default .data/tls. The stack (dev/services/stack.ts) gives the worker the client files of
 * the same directory.
 */
export const STUB_TLS_DIR_VAR = 'STUB_TLS_DIR';

/** The stubs named on the command line (`tsx dev/stubs/main.ts sopa sso`), or all of them when none is named. */
export function stubsToServe(argv: readonly string[]): StubInfo[] {
  const unknown = argv.filter((name) => !STUBS.some((stub) => stub.name === name));
  if (unknown.length > 0) throw new Error(`unknown stub ${unknown.join(', ')}; known: ${STUBS.map((s) => s.name).join(', ')}`);
  return argv.length === 0 ? [...STUBS] : STUBS.filter((stub) => argv.includes(stub.name));
}

/** The port a stub listens on: its variable's value, or the dev stack's default. */
const portOf = (name: StubName): number => {
  const stub = STUBS.find((s) => s.name === name)!;
  return portFromEnv(stub.portVar, stub.port);
};

/**
 * Starts the stubs named on the command line (all of them when none is: Population Register, SOPA, VIIS, Enterprise
 * Register, SSO, the mail catcher, the service platform and the e-address), each on the port its variable gives or
 * the dev stack's default.
 */
export async function main(): Promise<void> {
  const publicUrl = (process.env.PUBLIC_URL || 'http://127.0.0.1:3000').replace(/\/$/, '');
  const closers: (() => Promise<void>)[] = [];
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('info', 'stubs stopping', { signal });
    await Promise.allSettled(closers.map((close) => close()));
    process.exit(0);
  };
  process.once('SIGINT', (s) => void stop(s));
  process.once('SIGTERM', (s) => void stop(s));
  stopWhenLauncherDies();

  let people: SeedPerson[];
  try {
    people = peopleToServe(process.env);
  } catch (err) {
    log('error', 'stub failed to start', { error: (err as Error).message });
    process.exit(1);
  }

  const starters: Record<StubName, () => Promise<void>> = {
    'population-register': async () => {
      const fpr = await createPopulationRegisterStub({ people }).listen(portOf('population-register'));
      closers.push(fpr.close);
      log('info', 'stub listening', { service: 'population-register', url: fpr.url });
    },
    sopa: async () => {
      const tls = ensureDevTls(process.env[STUB_TLS_DIR_VAR]?.trim() || DEFAULT_TLS_DIR);
      const sopa = await createSopaStub({ statuses: seedSocialStatuses, tls }).listen(portOf('sopa'));
      closers.push(sopa.close);
      log('info', 'stub listening', { service: 'sopa', url: sopa.url });
    },
    viis: async () => {
      const viis = await createViisStub({ institutions: seedInstitutions }).listen(portOf('viis'));
      closers.push(viis.close);
      log('info', 'stub listening', { service: 'viis', url: viis.url });
    },
    'enterprise-register': async () => {
      const enterpriseRegister = await createEnterpriseRegisterStub({ companies: seedCompanies }).listen(
        portOf('enterprise-register'),
      );
      closers.push(enterpriseRegister.close);
      log('info', 'stub listening', { service: 'enterprise-register', url: enterpriseRegister.url });
    },
    sso: async () => {
      const sso = await createSsoStub({
        people,
        clients: [
          {
            clientId: process.env.SSO_CLIENT_ID || 'learning-accounts',
            clientSecret: process.env.SSO_CLIENT_SECRET || 'dev-sso-secret',
            redirectUris: [`${publicUrl}/auth/sso/callback`],
          },
        ],
      }).listen(portOf('sso'));
      closers.push(sso.close);
      log('info', 'stub listening', { service: 'sso', url: sso.url });
    },
    'mail-catcher': async () => {
      const mail = await createMailCatcher().listen({
        smtpPort: portOf('mail-catcher'),
        httpPort: portFromEnv(MAIL_CATCHER_WEB.portVar, MAIL_CATCHER_WEB.port),
      });
      closers.push(mail.close);
      log('info', 'stub listening', { service: 'mail-catcher', url: mail.httpUrl, smtpPort: mail.smtpPort });
    },
    // The national service platform (issue 17 item 6).
    'service-platform': async () => {
      const platform = await createServicePlatformStub().listen(portOf('service-platform'));
      closers.push(platform.close);
      log('info', 'stub listening', { service: 'service-platform', url: platform.url });
    },
    'e-address': async () => {
      const eAddress = await createEAddressStub({ holders: DEMO_E_ADDRESS_HOLDERS }).listen(portOf('e-address'));
      closers.push(eAddress.close);
      log('info', 'stub listening', { service: 'e-address', url: eAddress.url });
    },
  };

  try {
    for (const stub of stubsToServe(process.argv.slice(2))) await starters[stub.name]();
  } catch (err) {
    log('error', 'stub failed to start', { error: err instanceof Error ? err.message : String(err) });
    await Promise.allSettled(closers.map((close) => close()));
    process.exit(1);
  }
}

if (require.main === module) void main();
