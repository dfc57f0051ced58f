import { seedCompanies, seedInstitutions } from '../seed-institutions';
import { seedPeople } from '../seed-people';
import { seedSocialStatuses } from '../seed-social-status';
import { createEnterpriseRegisterStub } from './enterprise-register';
import { createMailCatcher } from './mail-catcher';
import { createPopulationRegisterStub } from './population-register';
import { createSopaStub } from './sopa';
import { createSsoStub } from './sso';
import { createViisStub } from './viis';

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

/** The stubs this process can serve, by the name given on its command line. */
export const STUB_NAMES = ['population-register', 'sopa', 'viis', 'enterprise-register', 'sso', 'mail-catcher'] as const;
export type StubName = (typeof STUB_NAMES)[number];

/** The stubs named on the command line (`tsx dev/stubs/main.ts sopa sso`), or all of them when none is named. */
export function stubsToServe(argv: readonly string[]): StubName[] {
  const unknown = argv.filter((name) => !(STUB_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown stub ${unknown.join(', ')}; known: ${STUB_NAMES.join(', ')}`);
  return argv.length === 0 ? [...STUB_NAMES] : (argv as StubName[]);
}

/**
 * Starts the stubs named on the command line (all six when none is: Population Register, SOPA, VIIS, Enterprise
 * Register, SSO and the mail catcher), each on the port its variable gives or the dev stack's default.
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

  const starters: Record<StubName, () => Promise<void>> = {
    'population-register': async () => {
      const fpr = await createPopulationRegisterStub({ people: seedPeople }).listen(portFromEnv('POPULATION_REGISTER_PORT', 4101));
      closers.push(fpr.close);
      log('info', 'stub listening', { service: 'population-register', url: fpr.url });
    },
    sopa: async () => {
      const sopa = await createSopaStub({ statuses: seedSocialStatuses }).listen(portFromEnv('SOPA_PORT', 4102));
      closers.push(sopa.close);
      log('info', 'stub listening', { service: 'sopa', url: sopa.url });
    },
    viis: async () => {
      const viis = await createViisStub({ institutions: seedInstitutions }).listen(portFromEnv('VIIS_PORT', 4103));
      closers.push(viis.close);
      log('info', 'stub listening', { service: 'viis', url: viis.url });
    },
    'enterprise-register': async () => {
      const enterpriseRegister = await createEnterpriseRegisterStub({ companies: seedCompanies }).listen(
        portFromEnv('ENTERPRISE_REGISTER_PORT', 4104),
      );
      closers.push(enterpriseRegister.close);
      log('info', 'stub listening', { service: 'enterprise-register', url: enterpriseRegister.url });
    },
    sso: async () => {
      const sso = await createSsoStub({
        people: seedPeople,
        clients: [
          {
            clientId: process.env.SSO_CLIENT_ID || 'learning-accounts',
            clientSecret: process.env.SSO_CLIENT_SECRET || 'dev-sso-secret',
            redirectUris: [`${publicUrl}/auth/sso/callback`],
          },
        ],
      }).listen(portFromEnv('SSO_PORT', 4100));
      closers.push(sso.close);
      log('info', 'stub listening', { service: 'sso', url: sso.url });
    },
    'mail-catcher': async () => {
      const mail = await createMailCatcher().listen({
        smtpPort: portFromEnv('SMTP_PORT', 1025),
        httpPort: portFromEnv('MAIL_CATCHER_PORT', 8025),
      });
      closers.push(mail.close);
      log('info', 'stub listening', { service: 'mail-catcher', url: mail.httpUrl, smtpPort: mail.smtpPort });
    },
  };

  try {
    for (const name of stubsToServe(process.argv.slice(2))) await starters[name]();
  } catch (err) {
    log('error', 'stub failed to start', { error: err instanceof Error ? err.message : String(err) });
    await Promise.allSettled(closers.map((close) => close()));
    process.exit(1);
  }
}

if (require.main === module) void main();
