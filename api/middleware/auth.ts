import type { Context, Next } from 'koa';
import type { Knex } from 'knex';
import { resolveSession, type Session, type SessionTimeouts } from '../../lib/sessions';
import { HttpError } from '../errors';

/** The roles a session can have. */
export type Role = Session['role'];

/** The roles people act in after the national sign-on (the others log in with a password). */
export const SIGN_ON_ROLES: readonly Role[] = ['learner', 'coordinator', 'consultant'];

/** The cookie browsers keep the session token in. */
export const SESSION_COOKIE = 'ila_session';

/** The page where an administrator (or a staff member who chooses to) sets up or confirms the second factor. */
export const SECOND_FACTOR_PAGE = '/account/second-factor';

/** The page where a learner, coordinator or provider user reads and accepts the current terms of use. */
export const TERMS_ACCEPTANCE_PAGE = '/terms/accept';

/**
 * Reads the session named by the bearer token or the cookie into ctx.state.session (or leaves it null). A token
 * whose session has ended leaves ctx.state.sessionEnded set, so a guarded route says "session ended" rather than
 * "log in first", and a dead cookie is cleared.
 */
export function sessionMiddleware(db: Knex, timeouts: SessionTimeouts) {
  return async (ctx: Context, next: Next) => {
    const bearer = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    const token = bearer ?? cookie;
    ctx.state.session = null;
    // Pages read the limits to time their idle warning (pages.ts).
    ctx.state.sessionTimeouts = timeouts;
    if (token) {
      const resolved = await resolveSession(db, timeouts, token);
      if (resolved && 'session' in resolved) ctx.state.session = resolved.session;
      else {
        if (resolved) ctx.state.sessionEnded = resolved.ended;
        if (!bearer && cookie) {
          ctx.cookies.set(SESSION_COOKIE, null);
          // The forms of this answer must not be bound to the cookie being cleared (api/middleware/csrf.ts).
          ctx.state.deadSessionCookie = true;
        }
      }
    }
    return next();
  };
}

/** Options of a role guard. */
export interface GuardOptions {
  /**
   * The route is reachable by an administrator whose session has no second factor yet: only the pages that set it
   * up or confirm it. Every other guarded route refuses such a session.
   */
  beforeSecondFactor?: boolean;
  /**
   * The route is reachable before the person has accepted the current terms of use: only the acceptance itself and
   * the keep-alive. Every other guarded route refuses such a session (403 terms_not_accepted, or the acceptance page).
   */
  beforeTerms?: boolean;
}

/** The longest address a login or a step before the page comes back to with its query (see returnAddress). */
const MAX_RETURN_ADDRESS = 2_000;

/**
 * Where to come back to after logging in (or a second factor, or the terms): the page with its query, or the page
 * alone when the query is very long. Encoded again inside `next`, a long query would make a Location header
 * browsers and HTTP clients refuse (a 12 KB address becomes 36 KB).
 */
function returnAddress(ctx: Context): string {
  return ctx.url.length <= MAX_RETURN_ADDRESS ? ctx.url : ctx.path.slice(0, MAX_RETURN_ADDRESS);
}

/**
 * Lets only sessions with one of the roles through: 401 when not logged in (or the session ended), 403 for the wrong
 * role, and 403 second_factor_required for an administrator whose session is not confirmed by a second factor.
 */
export function requireRole(roles: Role[], options: GuardOptions = {}) {
  return async (ctx: Context, next: Next) => {
    const session = ctx.state.session as Session | null;
    const browserPage = !ctx.path.startsWith('/api/') && ctx.method === 'GET' && ctx.accepts('html', 'json') === 'html';
    if (!session) {
      // Browsers are sent to the right login page; API callers get the error body.
      if (browserPage) {
        ctx.redirect(`${roles.some((r) => SIGN_ON_ROLES.includes(r)) ? '/auth/sso/login' : '/staff/login'}?next=${encodeURIComponent(returnAddress(ctx))}`);
        return;
      }
      if (ctx.state.sessionEnded) throw new HttpError(401, 'session_ended', 'Your session has ended; log in again', [{ reason: ctx.state.sessionEnded }]);
      throw new HttpError(401, 'not_logged_in', 'Log in first');
    }
    if (!roles.includes(session.role)) throw new HttpError(403, 'forbidden', 'Your role may not use this page');
    if (needsSecondFactor(session) && !options.beforeSecondFactor) {
      if (browserPage) {
        ctx.redirect(`${SECOND_FACTOR_PAGE}?next=${encodeURIComponent(returnAddress(ctx))}`);
        return;
      }
      throw new HttpError(403, 'second_factor_required', session.secondFactorEnrolled
        ? 'Confirm this session with a code from your authenticator app first'
        : 'Administrators must set up a second factor (an authenticator app) first', [{ setup: SECOND_FACTOR_PAGE }]);
    }
    if (session.termsPending && !options.beforeTerms) {
      if (browserPage) {
        ctx.redirect(`${TERMS_ACCEPTANCE_PAGE}?next=${encodeURIComponent(returnAddress(ctx))}`);
        return;
      }
      throw termsNotAccepted(session.termsPending);
    }
    return next();
  };
}

/** The refusal of a session whose person has not accepted the current terms of use; it names the version. */
export function termsNotAccepted(version: string): HttpError {
  return new HttpError(403, 'terms_not_accepted', `Accept version ${version} of the terms of use first`, [{
    version, accept: TERMS_ACCEPTANCE_PAGE,
    words: {
      lv: `Vispirms izlasiet un pieņemiet lietošanas noteikumu versiju ${version}.`,
      en: `Read and accept version ${version} of the terms of use first.`,
    },
  }]);
}

/** Administrators act only in sessions confirmed by a second factor (others may enrol but need not). */
export function needsSecondFactor(session: Session): boolean {
  return session.role === 'admin' && session.secondFactorAt === null;
}

/** The logged-in session; only call behind requireRole. */
export function currentSession(ctx: Context): Session {
  return ctx.state.session as Session;
}
