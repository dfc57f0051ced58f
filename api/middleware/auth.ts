import type { Context, Next } from 'koa';
import type { Session, SessionTokens } from '../../lib/sessions';
import { HttpError } from '../errors';

/** The roles a session can have. */
export type Role = Session['role'];

/** The cookie browsers keep the session in. */
export const SESSION_COOKIE = 'ila_session';

/** Reads the session from the bearer token or the cookie into ctx.state.session (or leaves it null). */
export function sessionMiddleware(tokens: SessionTokens) {
  return async (ctx: Context, next: Next) => {
    const bearer = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
    const token = bearer ?? ctx.cookies.get(SESSION_COOKIE);
    ctx.state.session = token ? await tokens.verify(token) : null;
    return next();
  };
}

/** Lets only sessions with one of the roles through: 401 when not logged in, 403 for the wrong role. */
export function requireRole(...roles: Role[]) {
  return async (ctx: Context, next: Next) => {
    const session = ctx.state.session as Session | null;
    if (!session) {
      // Browsers are sent to the right login page; API callers get the error body.
      if (!ctx.path.startsWith('/api/') && ctx.method === 'GET' && ctx.accepts('html', 'json') === 'html') {
        ctx.redirect(roles.includes('learner') || roles.includes('coordinator') ? `/auth/sso/login?next=${encodeURIComponent(ctx.url)}` : `/staff/login?next=${encodeURIComponent(ctx.url)}`);
        return;
      }
      throw new HttpError(401, 'not_logged_in', 'Log in first');
    }
    if (!roles.includes(session.role)) throw new HttpError(403, 'forbidden', 'Your role may not use this page');
    return next();
  };
}

/** The logged-in session; only call behind requireRole. */
export function currentSession(ctx: Context): Session {
  return ctx.state.session as Session;
}
