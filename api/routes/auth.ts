import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { User } from '../../lib/db';
import { createSession, endSession, SESSION_TIMEOUTS, type NewSession, type Session } from '../../lib/sessions';
import { createPkce } from '../../lib/sso';
import type { ApiDeps } from '../deps';
import { text } from '../text-input';
import { HttpError } from '../errors';
import { SESSION_COOKIE } from '../middleware/auth';
import { renderPage } from '../pages';
import { refusalStatus } from '../middleware/errors';
import { loginSchema } from '../schemas';
import { accessRefusal } from '../services/account-access';
import { auditLogin, type LoginMethod } from '../services/audit';
import { activeGrants } from '../services/coordinator';
import { logIn } from '../services/login';
import { checkSecondFactor } from '../services/second-factor';
import { throttledWords } from '../throttle';
import type { Renderer } from '../../web/render';
import type { ApiRegistry } from './define';

const SSO_COOKIE = 'ila_sso';

/** The staff login form: the credentials and the page to go to afterwards. */
const loginForm = z.object({ username: text().max(100), password: text().max(200), next: text().max(2000).optional() });

/** The login's second step: the ticket from the first step and the code. */
const loginCodeForm = z.object({ ticket: text().max(2000), code: text().max(40) });

/**
 * Starts a session (the one function that does): writes the session row, puts its token in the session cookie
 * and returns it (for API clients). A session the request already had is ended, so switching role or logging in
 * again leaves no second live session behind.
 */
export async function startSessionCookie(ctx: Context, deps: ApiDeps, session: NewSession): Promise<string> {
  const previous = ctx.state.session as Session | null;
  if (previous) await endSession(deps.db, previous.id, 'logout');
  const timeouts = deps.sessionTimeouts ?? SESSION_TIMEOUTS;
  const { token } = await createSession(deps.db, timeouts, { ...session, userAgent: ctx.get('user-agent') || null, ip: ctx.ip || null });
  ctx.cookies.set(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', maxAge: timeouts.absoluteMs, secure: deps.publicUrl.startsWith('https:') });
  return token;
}

/** Login and logout: the national single sign-on for learners, username and password for staff. */
export function authRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  const startSession = (ctx: Context, session: NewSession) => startSessionCookie(ctx, deps, session);

  /** Starts a staff or provider user's session and audits the login. */
  async function startLoggedIn(ctx: Context, user: User, secondFactorAt: Date | null, method: LoginMethod): Promise<string> {
    const session = toSession(user, secondFactorAt);
    const token = await startSession(ctx, session);
    await auditLogin(deps.db, { method, address: ctx.ip || null, account: user.username, outcome: 'succeeded', session });
    return token;
  }

  // Learners: state, nonce and the PKCE verifier travel in a signed cookie so the callback can check and use them.
  api.page(router, {
    method: 'get', path: '/auth/sso/login', summary: 'Start the national sign-on (learners, coordinators)', tag: 'auth', roles: 'public',
    query: z.object({ next: text().max(2000).optional() }),
    responses: { 302: { description: 'To the sign-on service', redirect: true } },
  }, async (ctx) => {
    const state = randomUUID();
    const nonce = randomUUID();
    const pkce = createPkce();
    const next = safeNext(ctx.query.next, '/learner');
    ctx.cookies.set(SSO_COOKIE, await deps.tokens.signValue({ state, nonce, next, verifier: pkce.verifier }, 10), {
      httpOnly: true, sameSite: 'lax', maxAge: 600_000, secure: deps.publicUrl.startsWith('https:'),
    });
    ctx.redirect(deps.sso.authorizeUrl(state, nonce, pkce.challenge));
  });

  api.page(router, {
    method: 'get', path: '/auth/sso/callback', summary: 'Where the sign-on service sends the person back', tag: 'auth', roles: 'public',
    query: z.object({ code: text().max(2000).optional(), state: text().max(200).optional() }),
    responses: { 302: { description: 'Signed in: to the page asked for, or to the role choice', redirect: true }, 400: { description: 'The sign-in was not started here or has expired' }, 502: { description: 'The sign-on service did not confirm the identity' } },
  }, async (ctx) => {
    const saved = await deps.tokens.verifyValue(ctx.cookies.get(SSO_COOKIE) ?? '');
    const { code, state } = ctx.query;
    if (!saved || typeof code !== 'string' || state !== saved.state || !saved.verifier) {
      await auditLogin(deps.db, { method: 'sso', address: ctx.ip || null, account: null, outcome: 'failed', reason: 'sso_state_mismatch' });
      throw new HttpError(400, 'sso_state_mismatch', 'The sign-in could not be completed (expired or not started here). Please sign in again.');
    }
    let identity;
    try {
      identity = await deps.sso.identify(code, saved.nonce, saved.verifier);
    } catch (err) {
      deps.logger.warn('single sign-on failed', { err });
      await auditLogin(deps.db, { method: 'sso', address: ctx.ip || null, account: null, outcome: 'failed', reason: 'sso_failed' });
      throw new HttpError(502, 'sso_failed', 'The national sign-in service did not confirm your identity. Please try again.');
    }
    ctx.cookies.set(SSO_COOKIE, null);
    const learner = { role: 'learner', subject: identity.personCode, name: `${identity.firstName} ${identity.lastName}`.trim() } as const;
    await startSession(ctx, learner);
    await auditLogin(deps.db, { method: 'sso', address: ctx.ip || null, account: identity.personCode, outcome: 'succeeded', session: learner, personCode: identity.personCode });
    // A person with a role granted by the agency (valid today) chooses which role to act in.
    const hasRole = (await activeGrants(deps, identity.personCode)).length > 0;
    ctx.redirect(hasRole ? `/auth/role?next=${encodeURIComponent(saved.next)}` : saved.next);
  });

  api.page(router, {
    method: 'get', path: '/staff/login', summary: 'The login form of agency and provider staff', tag: 'auth', roles: 'public',
    query: z.object({ next: text().max(2000).optional() }),
    responses: { 200: { description: 'The page' } },
  }, (ctx) => renderPage(ctx, renderer, 'staff-login', 'login.title', { next: safeNext(ctx.query.next, '') }));

  api.page(router, {
    method: 'post', path: '/staff/login', summary: 'Log in with username and password (sets the session cookie)', tag: 'auth', roles: 'public',
    form: loginForm,
    responses: {
      200: { description: 'The password was right and the user has a second factor: the form for the code' },
      302: { description: 'Logged in: to the inbox, the provider workspace or the page asked for', redirect: true }, 401: { description: 'Wrong username or password: the form again' },
      403: { description: 'The account is not active yet, outside its validity period or blocked: the form again, saying why' }, 429: { description: 'Too many wrong passwords: the form again, saying when to try again (Retry-After)' },
    },
  }, async (ctx) => {
    const body = (ctx.request.body ?? {}) as Record<string, string>;
    const parsed = loginSchema.safeParse({ username: body.username, password: body.password });
    let user: User | null = null;
    try {
      user = parsed.success ? await logIn(deps, ctx.ip, parsed.data.username, parsed.data.password) : null;
    } catch (err) {
      const throttled = err instanceof HttpError ? throttledWords(err, ctx.state.lang as 'lv' | 'en') : null;
      if (!throttled || !(err instanceof HttpError)) throw err;
      await auditLogin(deps.db, { method: 'password', address: ctx.ip || null, account: typedAccount(body.username), outcome: 'failed', reason: err.code });
      refusalStatus(ctx, err);
      renderPage(ctx, renderer, 'staff-login', 'login.title', { throttled, username: body.username, next: safeNext(body.next, '') });
      return;
    }
    if (!user || user.status !== 'active') {
      await auditLogin(deps.db, {
        method: 'password', address: ctx.ip || null, account: typedAccount(body.username), outcome: 'failed',
        reason: !parsed.success ? 'invalid_input' : user ? `account_${user.status}` : 'bad_credentials',
      });
      ctx.status = user ? 403 : 401;
      renderPage(ctx, renderer, 'staff-login', 'login.title', {
        failed: !user, notActive: user ? `providerAccount.login.${user.status}` : null, username: body.username, next: safeNext(body.next, ''),
      });
      return;
    }
    // Outside the account's validity period, or blocked: told why, since the password was right.
    const barred = await accessRefusal(deps.db, user);
    if (barred) {
      await auditLogin(deps.db, { method: 'password', address: ctx.ip || null, account: typedAccount(body.username), outcome: 'failed', reason: barred.code });
      ctx.status = 403;
      const words = (barred.details[0] as { words: { lv: string; en: string } }).words;
      renderPage(ctx, renderer, 'staff-login', 'login.title', { refused: words[ctx.state.lang as 'lv' | 'en'], username: body.username, next: safeNext(body.next, '') });
      return;
    }
    const next = safeNext(body.next, user.role === 'provider' ? '/provider' : '/staff/tasks');
    if (user.totpEnrolledAt) {
      // The password was right; the second step asks for the code. The signed ticket carries who, for 5 minutes.
      const ticket = await deps.tokens.signValue({ purpose: SECOND_STEP, userId: user.id, next }, 5);
      renderPage(ctx, renderer, 'login-code', 'secondFactor.login.title', { ticket });
      return;
    }
    await startLoggedIn(ctx, user, null, 'password');
    ctx.redirect(next);
  });

  api.page(router, {
    method: 'post', path: '/staff/login/code', summary: 'The login\'s second step: the code from the authenticator app, or a recovery code', tag: 'auth', roles: 'public',
    form: loginCodeForm,
    responses: {
      302: { description: 'Logged in: to the page asked for', redirect: true }, 401: { description: 'Wrong, used or expired code, or the first step expired: the form again' },
      429: { description: 'Five wrong codes in a row: code checks stop for 15 minutes (Retry-After)' },
    },
  }, async (ctx) => {
    const body = (ctx.request.body ?? {}) as Record<string, string>;
    const ticket = await deps.tokens.verifyValue(typeof body.ticket === 'string' ? body.ticket : '');
    if (!ticket || ticket.purpose !== SECOND_STEP) {
      await auditLogin(deps.db, { method: 'second_factor', address: ctx.ip || null, account: null, outcome: 'failed', reason: 'second_step_expired' });
      ctx.status = 401;
      renderPage(ctx, renderer, 'staff-login', 'login.title', { expired: true, next: '' });
      return;
    }
    const user = await User.query(deps.db).findById(ticket.userId!).where({ active: true, status: 'active' });
    const matched = user && typeof body.code === 'string' && body.code.length <= 40 ? await checkSecondFactor(deps, user.id, body.code) : null;
    if (!user || !matched) {
      await auditLogin(deps.db, {
        method: 'second_factor', address: ctx.ip || null, account: user?.username ?? null, outcome: 'failed', reason: user ? 'bad_second_factor_code' : 'account_not_active',
      });
      ctx.status = 401;
      renderPage(ctx, renderer, 'login-code', 'secondFactor.login.title', { ticket: body.ticket, failed: true });
      return;
    }
    await startLoggedIn(ctx, user, new Date(), 'second_factor');
    ctx.redirect(safeNext(ticket.next, '/staff/tasks'));
  });

  api.add(router, {
    method: 'post', path: '/api/auth/login', summary: 'Log in with username and password; returns a bearer token',
    tag: 'auth', roles: 'public', body: loginSchema,
    responses: {
      200: { description: 'Logged in', schema: z.object({ token: z.string(), role: z.string() }) },
      401: { description: 'Wrong username or password; or the user has a second factor and the code is missing or not valid' },
      403: { description: 'The account is not active yet, is outside its validity period (account_not_valid) or is blocked (account_blocked; details say why and until when, in Latvian and English)' },
      429: { description: 'Too many wrong passwords or codes: try again after Retry-After seconds' },
    },
  }, async (ctx, { body }) => {
    const failed = (reason: string) => auditLogin(deps.db, { method: 'password', address: ctx.ip || null, account: typedAccount(body.username), outcome: 'failed', reason });
    let user: User | null;
    try {
      user = await logIn(deps, ctx.ip, body.username, body.password);
    } catch (err) {
      if (err instanceof HttpError && err.status === 429) await failed(err.code);
      throw err;
    }
    if (!user) {
      await failed('bad_credentials');
      throw new HttpError(401, 'bad_credentials', 'Wrong username or password');
    }
    if (user.status !== 'active') {
      await failed(`account_${user.status}`);
      throw new HttpError(403, 'account_not_active', NOT_ACTIVE[user.status], [{ status: user.status }]);
    }
    const barred = await accessRefusal(deps.db, user);
    if (barred) {
      await failed(barred.code);
      throw barred;
    }
    let secondFactorAt: Date | null = null;
    if (user.totpEnrolledAt) {
      if (!body.code) {
        await failed('second_factor_code_required');
        throw new HttpError(401, 'second_factor_code_required', 'Invalid body: code: is required (a code from your authenticator app, or a recovery code)',
          [{ field: 'code', rule: 'required', message: 'is required (a code from your authenticator app, or a recovery code)' }]);
      }
      if (!(await checkSecondFactor(deps, user.id, body.code))) {
        await failed('bad_second_factor_code');
        throw new HttpError(401, 'bad_second_factor_code', 'Invalid body: code: is not a valid code (wrong, expired or already used)',
          [{ field: 'code', rule: 'second_factor_code', message: 'is not a valid code (wrong, expired or already used)' }]);
      }
      secondFactorAt = new Date();
    }
    ctx.body = { token: await startLoggedIn(ctx, user, secondFactorAt, 'password'), role: user.role };
  });

  api.page(router, {
    method: 'post', path: '/logout', summary: 'Log out: ends the session (its token no longer works) and clears the cookie', tag: 'auth', roles: 'public',
    responses: { 302: { description: 'To the home page', redirect: true } },
  }, async (ctx) => {
    const session = ctx.state.session as Session | null;
    if (session) await endSession(deps.db, session.id, 'logout');
    ctx.cookies.set(SESSION_COOKIE, null);
    ctx.redirect('/');
  });

  api.add(router, {
    method: 'post', path: '/api/auth/logout', summary: 'Log out: ends the session of the bearer token (or cookie); the token no longer works',
    tag: 'auth', roles: 'public',
    responses: { 204: { description: 'Logged out (also when there was no live session)' } },
  }, async (ctx) => {
    const session = ctx.state.session as Session | null;
    if (session) await endSession(deps.db, session.id, 'logout');
    ctx.cookies.set(SESSION_COOKIE, null);
    ctx.status = 204;
  });

  return router;
}

/** Why a user with the right password cannot log in yet (the API's words; pages translate). */
const NOT_ACTIVE: Record<Exclude<User['status'], 'active'>, string> = {
  awaiting_email: 'Confirm your e-mail address first: follow the link in the e-mail we sent when you registered',
  awaiting_approval: 'Your registration is waiting for approval (by the agency, or by your institution\'s administrator for staff); you will be told by e-mail',
  rejected: 'Your registration was rejected, so you cannot log in',
};

function toSession(user: User, secondFactorAt: Date | null): NewSession {
  return { role: user.role, subject: user.id, name: user.displayName, userId: user.id, secondFactorAt };
}

/** The account name a login form was sent with, as the audit records it (cut short: anyone may type anything). */
function typedAccount(value: unknown): string | null {
  return typeof value === 'string' ? value.slice(0, 100) : null;
}

/** The purpose of the signed ticket between the login's password step and its code step. */
const SECOND_STEP = 'login-second-factor';

// Only local paths are followed after login, so a crafted link cannot send people to another site.
export function safeNext(value: unknown, fallback: string): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : fallback;
}

