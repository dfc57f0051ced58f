/**
 * The stubs `make run` can start in place of the real services, with the variable that gives each real service's
 * address (set it and the stub is not started) and the variable and default of the port the stub listens on.
 */

/** One stub of dev/stubs/main.ts. */
export interface StubInfo {
  name: 'population-register' | 'sopa' | 'viis' | 'enterprise-register' | 'sso' | 'mail-catcher' | 'service-platform' | 'e-address';
  /** What it is, for messages (a busy port). */
  what: string;
  /** The real service's address; when it is set, the stub is not started. */
  urlVar: string;
  portVar: string;
  port: number;
  /** Its address when it runs here. */
  url(port: number): string;
}

/** Every stub name, as dev/stubs/main.ts takes them on its command line. */
export type StubName = StubInfo['name'];

const http = (port: number): string => `http://127.0.0.1:${port}`;

export const STUBS: readonly StubInfo[] = [
  { name: 'population-register', what: 'the Population Register stub', urlVar: 'POPULATION_REGISTER_URL', portVar: 'POPULATION_REGISTER_PORT', port: 4101, url: http },
  // HTTPS with mutual TLS, as the real SOPA (dev/tls.ts makes the certificates).
  { name: 'sopa', what: 'the SOPA stub', urlVar: 'SOPA_URL', portVar: 'SOPA_PORT', port: 4102, url: (port) => `https://127.0.0.1:${port}` },
  { name: 'viis', what: 'the VIIS stub', urlVar: 'VIIS_URL', portVar: 'VIIS_PORT', port: 4103, url: http },
  { name: 'enterprise-register', what: 'the Enterprise Register stub', urlVar: 'ENTERPRISE_REGISTER_URL', portVar: 'ENTERPRISE_REGISTER_PORT', port: 4104, url: http },
  { name: 'sso', what: 'the single sign-on stub', urlVar: 'SSO_ISSUER', portVar: 'SSO_PORT', port: 4100, url: http },
  { name: 'mail-catcher', what: 'the mail catcher\'s SMTP server', urlVar: 'SMTP_URL', portVar: 'SMTP_PORT', port: 1025, url: (port) => `smtp://127.0.0.1:${port}` },
  // The national service platform (issue 17 item 6): service accounting and the official e-address.
  { name: 'service-platform', what: 'the service platform stub', urlVar: 'SERVICE_PLATFORM_URL', portVar: 'SERVICE_PLATFORM_PORT', port: 4105, url: http },
  { name: 'e-address', what: 'the e-address stub', urlVar: 'E_ADDRESS_URL', portVar: 'E_ADDRESS_PORT', port: 4106, url: http },
];

/** The mail catcher's web page (and JSON API), served with its SMTP server. */
export const MAIL_CATCHER_WEB = { portVar: 'MAIL_CATCHER_PORT', port: 8025 } as const;

/** The stubs to start: those whose real service's address is not given in `env`. */
export function stubsWithoutUrl(env: NodeJS.ProcessEnv): StubInfo[] {
  return STUBS.filter((stub) => !env[stub.urlVar]?.trim());
}
