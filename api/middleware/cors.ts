import type { Context, Next } from 'koa';

/**
 * Cross-origin access for exactly one other origin to the routes under one path prefix: the Temporal Web UI
 * calling the codec endpoint from the administrator's browser (api/routes/codec.ts). Every other route and origin
 * gets no CORS headers at all, so browsers keep refusing other sites' scripts as before.
 *
 * Credentials are allowed so the session cookie comes along: the UI and the API run on one host (ports differ), so
 * the SameSite=Lax cookie counts as same-site, and the session decides who may decode (administrators only).
 */
export function corsForOrigin(opts: { pathPrefix: string; origin: string | null }) {
  const allowed = opts.origin ? new URL(opts.origin).origin.toLowerCase() : null;
  return async (ctx: Context, next: Next) => {
    if (!allowed || !ctx.path.startsWith(opts.pathPrefix)) return next();
    const origin = ctx.get('origin');
    ctx.vary('Origin');
    if (origin.toLowerCase() !== allowed) return next();
    ctx.set('access-control-allow-origin', origin);
    ctx.set('access-control-allow-credentials', 'true');
    // A preflight carries no cookie: answered here, before the session and role guards would refuse it.
    if (ctx.method === 'OPTIONS' && ctx.get('access-control-request-method')) {
      ctx.set('access-control-allow-methods', 'POST');
      // The UI sends its JSON with the namespace in X-Namespace (and an Authorization header when told to pass its token).
      ctx.set('access-control-allow-headers', 'content-type, x-namespace, authorization');
      ctx.set('access-control-max-age', '600');
      ctx.status = 204;
      return;
    }
    return next();
  };
}
