import type Koa from 'koa';

/** HSTS for a year, subdomains included: the agency's hosts are served over HTTPS only. */
export const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * Headers for answers that carry personal data, on every answer:
 * - `Cache-Control: no-store` by default (JSON, pages, redirects, errors): no shared or browser cache keeps a
 *   learner's case or a staff inbox. Only public static content overrides it (the stylesheet and scripts).
 * - `Strict-Transport-Security` when the public address is https, so a browser never again goes over plain http
 *   (where the session cookie and personal data could be read). Not on http: HSTS there is ignored by browsers and
 *   would only confuse a local trial.
 */
export function privacyHeaders(publicUrl: string): Koa.Middleware {
  const https = new URL(publicUrl).protocol === 'https:';
  return async (ctx, next) => {
    ctx.set('cache-control', 'no-store');
    if (https) ctx.set('strict-transport-security', HSTS);
    return next();
  };
}
