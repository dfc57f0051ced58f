import type { Context, Next } from 'koa';
import { UniqueViolationError } from 'objection';
import { RETRY_AFTER_SECONDS, unreachableDependency, type Dependency } from '../../lib/dependency-errors';
import { HttpError, type ErrorBody } from '../errors';

/**
 * Sets the status of a refusal and, for one that holds only for now, when to try again: a 503 after
 * RETRY_AFTER_SECONDS, a 429 (throttled, api/throttle.ts, or too many second-factor codes) after the seconds its
 * details name. Used here and by the pages that show their form again with a refusal.
 */
export function refusalStatus(ctx: Context, err: HttpError): void {
  ctx.status = err.status;
  if (err.status === 503) ctx.set('retry-after', String(RETRY_AFTER_SECONDS));
  const retryAfter = (err.details[0] as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if (err.status === 429 && typeof retryAfter === 'number') ctx.set('retry-after', String(retryAfter));
}

/**
 * The first middleware: turns every failure into the uniform error body (JSON for the API, a page for the web).
 * Stack traces go to the log only.
 */
export function errorMiddleware() {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new HttpError(404, 'not_found', `No route for ${ctx.method} ${ctx.path}`);
      // The router answers a method a route does not take with a bare 405, and a method no route of the router takes
      // (TRACE, CONNECT, a made-up one) with a bare 501: both are the client's mistake, not a failure of ours, so
      // both are a 405 with the uniform body (Allow, set by the router, names the methods the path takes).
      if ((ctx.status === 405 || ctx.status === 501) && ctx.body == null) {
        throw new HttpError(405, 'method_not_allowed', `${ctx.method} is not supported here; use ${ctx.response.get('allow')}`);
      }
    } catch (err) {
      const known = toHttpError(err);
      // A dependency that is down is an outage to watch (warn), not a bug of ours (error).
      if (known.status === 503) {
        const what = known.code === 'service_unavailable' ? 'request failed: dependency down' : `request refused for now: ${known.code}`;
        ctx.state.log?.warn(what, { details: known.details, path: ctx.path, err: String((err as Error)?.message ?? err) });
      }
      else if (known.status >= 500) ctx.state.log?.error('request failed', { err, path: ctx.path });
      const body: ErrorBody = { error: { code: known.code, message: known.message, details: known.details } };
      refusalStatus(ctx, known);
      if (wantsHtml(ctx) && typeof ctx.state.renderError === 'function') {
        await ctx.state.renderError(known);
      } else {
        ctx.body = body;
      }
    }
  };
}

/** Whether the client is a browser asking for a page rather than a JSON API caller. */
export function wantsHtml(ctx: Context): boolean {
  return !ctx.path.startsWith('/api/') && ctx.accepts('html', 'json') === 'html';
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const down = unreachableDependency(err);
  if (down) return serviceUnavailable(down);
  if (err instanceof UniqueViolationError) return new HttpError(409, 'conflict', 'This record already exists');
  const status = (err as { status?: number; expose?: boolean }).status;
  // Errors raised by Koa and its helpers (ctx.throw) carry a status and a safe message.
  if (typeof status === 'number' && status >= 400 && status < 500 && (err as { expose?: boolean }).expose) {
    return new HttpError(status, 'bad_request', (err as Error).message);
  }
  return new HttpError(500, 'internal_error', 'Something went wrong on our side. The error has been logged; please try again.');
}

// What the API says when a dependency is down; pages say it in the reader's language (error.unavailable.* strings).
const UNAVAILABLE_MESSAGES: Record<Dependency, string> = {
  temporal: 'The case engine (Temporal) is not answering. Please try again in a minute.',
  postgresql: 'The database (PostgreSQL) is not answering. Please try again in a minute.',
  smtp: 'The mail server (SMTP) is not answering. Please try again in a minute.',
};

/** The 503 for a dependency that is down: the uniform body names it, and the middleware adds Retry-After. */
function serviceUnavailable(dependency: Dependency): HttpError {
  return new HttpError(503, 'service_unavailable', UNAVAILABLE_MESSAGES[dependency], [{ dependency, retryAfterSeconds: RETRY_AFTER_SECONDS }]);
}
