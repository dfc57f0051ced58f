/**
 * Sessions for the fuzz stage, got through the product's own doors: the staff login form for users with a
 * password, the national sign-on (its stub) for learners, and the role choice after it for a coordinator and a
 * career consultant (whose grant the stage makes first: the demo seed has none, see grantFuzzConsultant). The
 * administrator then sets up the second factor as a person would at the first login, with the code an
 * authenticator app would show for the secret the set-up gives (the fuzz stack's data is fresh every run).
 */
import type { Knex } from 'knex';
import { generateSync } from 'otplib';
import { signInHeadless } from '../stubs/sso';

/** The roles the stage fuzzes as; anonymous has no session. */
export const FUZZ_ROLES = ['anonymous', 'learner', 'coordinator', 'consultant', 'provider', 'staff', 'lead', 'admin'] as const;
export type FuzzRole = (typeof FUZZ_ROLES)[number];

/** The demo users of dev/seed.ts and dev/seed-people.ts the stage logs in as. */
const PASSWORD_USERS: Partial<Record<FuzzRole, { username: string; password: string }>> = {
  provider: { username: 'provider', password: 'Provider#2026' },
  staff: { username: 'staff', password: 'Agentura#2026' },
  lead: { username: 'lead', password: 'Vaditaja#2026' },
  admin: { username: 'admin', password: 'Admins#2026x' },
};
/** Anna Bērziņa, an eligible adult; Marta Zariņa, the coordinator of Daugavpils; Jānis Kalniņš, the consultant. */
const LEARNER_CODE = '321178-40215';
const COORDINATOR_CODE = '220288-10458';
const CONSULTANT_CODE = '150690-11223';

/**
 * The career consultant's grant (Valmiera), made in the fuzz stack's fresh database before the logins, as staff
 * approving a role request would make it.
 */
export async function grantFuzzConsultant(db: Knex): Promise<void> {
  await db('roleGrants').insert({
    personCode: CONSULTANT_CODE, role: 'career_consultant', municipality: 'Valmieras novads', organisation: 'Valmieras karjeras centrs',
    validFrom: '2026-01-01', validUntil: '2099-12-31', grantedBy: 'fuzz stage',
  });
}

/** Where the stack is: the app, the SSO stub and the client the app is registered with there. */
export interface LoginTarget {
  appUrl: string;
  ssoUrl: string;
  ssoClientId: string;
}

/** The session token for a role (sent as a bearer token), or null for anonymous. */
export async function sessionFor(role: FuzzRole, target: LoginTarget): Promise<string | null> {
  if (role === 'anonymous') return null;
  const user = PASSWORD_USERS[role];
  if (user) {
    const token = await passwordLogin(target.appUrl, user.username, user.password);
    if (role === 'admin') await setUpSecondFactor(target.appUrl, token);
    return token;
  }
  const learner = await signOn(target, role === 'coordinator' ? COORDINATOR_CODE : role === 'consultant' ? CONSULTANT_CODE : LEARNER_CODE);
  return role === 'learner' ? learner : chooseGrantedRole(target.appUrl, learner, role);
}

/** The staff login form, as a browser posts it: with the form's token and the pre-session cookie its page set. */
async function passwordLogin(appUrl: string, username: string, password: string): Promise<string> {
  const page = await fetch(`${appUrl}/staff/login`, { headers: { accept: 'text/html' } });
  const token = /name="_csrf" value="([^"]*)"/.exec(await page.text())?.[1] ?? '';
  const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
  const res = await fetch(`${appUrl}/staff/login`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie },
    body: new URLSearchParams({ _csrf: token, username, password }),
  });
  return sessionOf(res, `login of ${username}`);
}

/** The administrator's first login: the set-up gives the secret, its current code confirms it (and this session). */
async function setUpSecondFactor(appUrl: string, token: string): Promise<void> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' };
  const setup = await fetch(`${appUrl}/api/account/second-factor/setup`, { method: 'POST', headers, body: '{}' });
  if (setup.status !== 200) throw new Error(`second-factor set-up of admin: HTTP ${setup.status} ${await setup.text()}`);
  const { secret } = (await setup.json()) as { secret: string };
  const confirm = await fetch(`${appUrl}/api/account/second-factor`, { method: 'POST', headers, body: JSON.stringify({ code: generateSync({ secret }) }) });
  if (confirm.status !== 201) throw new Error(`second-factor confirmation of admin: HTTP ${confirm.status} ${await confirm.text()}`);
}

/** The sign-on round trip: our login door, the stub's sign-in form, our callback. */
async function signOn(target: LoginTarget, personCode: string): Promise<string> {
  const start = await fetch(`${target.appUrl}/auth/sso/login`, { redirect: 'manual', headers: { accept: 'text/html' } });
  const authorize = new URL(start.headers.get('location') ?? '', target.appUrl);
  const ssoCookie = start.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('ila_sso='));
  if (!ssoCookie) throw new Error(`sign-on start: HTTP ${start.status} without the sign-on cookie`);
  const callbackUrl = await signInHeadless(target.ssoUrl, {
    clientId: target.ssoClientId, redirectUri: authorize.searchParams.get('redirect_uri') ?? '', personCode,
    state: authorize.searchParams.get('state') ?? '', nonce: authorize.searchParams.get('nonce') ?? '',
    codeChallenge: authorize.searchParams.get('code_challenge') ?? undefined,
  });
  const callback = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie: ssoCookie, accept: 'text/html' } });
  return sessionOf(callback, `sign-on of ${personCode}`);
}

/** The role choice page offers the person's one grant (by id); choosing it gives a session in that role. */
async function chooseGrantedRole(appUrl: string, learnerToken: string, role: FuzzRole): Promise<string> {
  const headers = { authorization: `Bearer ${learnerToken}`, accept: 'text/html' };
  const page = await (await fetch(`${appUrl}/auth/role`, { headers })).text();
  const grant = /name="role" value="([0-9a-f-]{36})"/.exec(page)?.[1];
  if (!grant) throw new Error(`the role choice page offers no ${role} role`);
  const res = await fetch(`${appUrl}/auth/role`, {
    method: 'POST', redirect: 'manual', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ role: grant }),
  });
  return sessionOf(res, `the ${role} role choice`);
}

function sessionOf(res: Response, what: string): string {
  const token = res.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('ila_session='))?.slice('ila_session='.length);
  if (res.status !== 302 || !token) throw new Error(`${what} failed: HTTP ${res.status}, no session cookie`);
  return token;
}
