import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { translate, type PageLanguage } from '../../web/render';
import { HttpError } from '../errors';
import { mediaType } from './body';
import { SESSION_COOKIE } from './auth';

/**
 * Cross-site request forgery: two doors.
 *
 * 1. crossOriginGuard: a browser names where a request comes from (`Origin`, `Sec-Fetch-Site`); a state-changing
 *    request from anywhere but PUBLIC_URL's origin is refused (403 `cross_origin_request`) before its body is read.
 * 2. Form tokens: every form we render carries a hidden `_csrf` field, an HMAC of the session cookie's value (or,
 *    before login, of a pre-session cookie set with the form), and every form post sent with a cookie must bring it
 *    back (403 `form_token_invalid`). This also covers old browsers that send neither header, and login CSRF.
 *
 * Written here rather than taken from csrf-sync or koa-csrf: both keep a secret in a koa-session/express-session
 * store we do not have, the token has to be bound to our own session cookie (an opaque string) and to a pre-session
 * cookie for the login form, and the multipart upload routes read their bodies themselves. The whole check is an
 * HMAC and a constant-time comparison.
 */

/** The methods that change something: every one is checked; GET, HEAD and OPTIONS never change anything here. */
export const STATE_CHANGING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The hidden form field carrying the token. */
export const FORM_TOKEN_FIELD = '_csrf';
/** The header a script may send the token in instead of the field. */
export const FORM_TOKEN_HEADER = 'x-csrf-token';
/** The cookie a visitor without a session gets with their first form, so the login form has a token too. */
export const PRE_SESSION_COOKIE = 'ila_presession';

/** Computes form tokens with a key of their own, derived from the given secret. */
export function createFormTokens(secret: string) {
  // A key of its own (HKDF with a label), so a form token can never be mistaken for anything else the secret signs.
  const key = Buffer.from(hkdfSync('sha256', secret, 'learning-accounts', 'form tokens v1', 32));
  return {
    /** The token for a session cookie's value, or for a pre-session cookie's value. */
    tokenFor(kind: 'session' | 'pre-session', cookieValue: string): string {
      return createHmac('sha256', key).update(`${kind}\0${cookieValue}`).digest('base64url');
    },
  };
}

/** The helper createFormTokens returns. */
export type FormTokens = ReturnType<typeof createFormTokens>;

/**
 * Installs the form token for the request (formToken(ctx) renders it, checkFormToken checks it) and drops the
 * pre-session cookie whenever the session cookie changes (login, role choice, logout), so every form after a login
 * or logout carries a new token.
 */
export function formTokenMiddleware(tokens: FormTokens, opts: { secure: boolean }) {
  return async (ctx: Context, next: Next) => {
    let issued: string | null = null;
    ctx.state.formTokens = {
      /** The token the request's cookies call for, or null when it has neither cookie (check only: issues nothing). */
      expected(): string | null {
        // A cookie whose session has ended is cleared by this answer (middleware/auth.ts): its forms get a
        // pre-session token instead, or the login page opened after a session ended could not log in.
        const session = ctx.state.deadSessionCookie ? undefined : ctx.cookies.get(SESSION_COOKIE);
        if (session) return tokens.tokenFor('session', session);
        const pre = ctx.cookies.get(PRE_SESSION_COOKIE);
        return pre ? tokens.tokenFor('pre-session', pre) : null;
      },
      /** The token to render into a form, setting a pre-session cookie first if the visitor has no cookie yet. */
      render(): string {
        const expected = this.expected();
        if (expected) return expected;
        issued ??= randomBytes(32).toString('base64url');
        ctx.cookies.set(PRE_SESSION_COOKIE, issued, { httpOnly: true, sameSite: 'lax', secure: opts.secure });
        return tokens.tokenFor('pre-session', issued);
      },
    } satisfies RequestFormTokens;
    await next();
    if (setsCookie(ctx, SESSION_COOKIE) && ctx.cookies.get(PRE_SESSION_COOKIE)) ctx.cookies.set(PRE_SESSION_COOKIE, null);
  };
}

interface RequestFormTokens { expected(): string | null; render(): string }

/** The token to put into the forms of the page being rendered ('' outside an app, e.g. a view test). */
export function formToken(ctx: Context): string {
  return (ctx.state.formTokens as RequestFormTokens | undefined)?.render() ?? '';
}

/**
 * Refuses a state-changing request that a browser says comes from another site: `Origin` present and not
 * PUBLIC_URL's origin, or `Sec-Fetch-Site` present and not `same-origin` (`same-site` is a sibling host we do not
 * control; `none` is a typed address or a bookmark, which is never a POST). A request with neither header is
 * not a browser's (every current browser sends at least one on a POST): the bearer-token API serves it, and a form
 * post sent with a cookie still needs its form token.
 *
 * `alsoAllowed`: one more origin for the routes under one path prefix only (the Temporal Web UI on the codec
 * endpoint, api/routes/codec.ts). Such a request must name that origin in `Origin`; it is another origin, so its
 * `Sec-Fetch-Site` is not `same-origin`.
 */
export function crossOriginGuard(publicUrl: string, alsoAllowed?: { pathPrefix: string; origin: string | null }) {
  const allowed = new URL(publicUrl).origin.toLowerCase();
  const extra = alsoAllowed?.origin ? new URL(alsoAllowed.origin).origin.toLowerCase() : null;
  return async (ctx: Context, next: Next) => {
    if (STATE_CHANGING_METHODS.has(ctx.method)) {
      const origin = ctx.get('origin');
      const site = ctx.get('sec-fetch-site').toLowerCase();
      if (extra && origin.toLowerCase() === extra && ctx.path.startsWith(alsoAllowed!.pathPrefix)) return next();
      if (origin !== '' && origin.toLowerCase() !== allowed) throw crossOrigin(ctx, 'Origin');
      if (site !== '' && site !== 'same-origin') throw crossOrigin(ctx, 'Sec-Fetch-Site');
    }
    return next();
  };
}

/**
 * Refuses a page's form post (urlencoded or multipart) without the right form token, in the field `_csrf` or the
 * header X-CSRF-Token. Runs after the body is read and before the handler stores anything. Passed without a token:
 * a request authenticated by a bearer token (it carries no ambient credential a forged form could borrow), and a
 * JSON body (another site cannot send application/json without a CORS preflight, which this API grants only to
 * the Temporal Web UI's origin, on the codec routes: api/middleware/cors.ts).
 * The field is removed from the body, so handlers see only their own fields.
 */
export async function checkFormToken(ctx: Context, next: Next) {
  if (/^Bearer /i.test(ctx.get('authorization')) || mediaType(ctx) === 'application/json') return next();
  const body = ctx.request.body;
  const fields = body !== null && typeof body === 'object' && !Array.isArray(body) ? body as Record<string, unknown> : {};
  const field = fields[FORM_TOKEN_FIELD];
  delete fields[FORM_TOKEN_FIELD];
  const sent = ctx.get(FORM_TOKEN_HEADER) || (typeof field === 'string' ? field : '');
  const expected = (ctx.state.formTokens as RequestFormTokens | undefined)?.expected() ?? null;
  if (!expected || !sameToken(sent, expected)) throw formTokenRefused(ctx, sent === '' ? 'missing' : 'invalid');
  return next();
}

/**
 * The same check on the JSON API's upload routes, whose multipart body a plain cross-site form can send: needed
 * only when the session cookie came along (an API client without cookies carries nothing a forger could borrow).
 */
export async function checkUploadFormToken(ctx: Context, next: Next) {
  if (!ctx.cookies.get(SESSION_COOKIE)) return next();
  return checkFormToken(ctx, next);
}

function sameToken(sent: string, expected: string): boolean {
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

// Whether the answer sets or clears the cookie (Koa keeps the Set-Cookie lines it will send on the response).
function setsCookie(ctx: Context, name: string): boolean {
  const lines = ctx.response.get('set-cookie') as unknown;
  return (Array.isArray(lines) ? lines : [lines]).some((line) => typeof line === 'string' && line.startsWith(`${name}=`));
}

/** The reader's language: English for the JSON API, the page's language for pages. */
function languageOf(ctx: Context): PageLanguage {
  return ctx.path.startsWith('/api/') ? 'en' : ((ctx.state.lang ?? 'lv') as PageLanguage);
}

function crossOrigin(ctx: Context, header: 'Origin' | 'Sec-Fetch-Site'): HttpError {
  const key = 'csrf.cross_origin';
  return new HttpError(403, 'cross_origin_request', translate(languageOf(ctx), key), [{
    field: header, rule: 'same_origin', message: translate('en', key), words: { lv: translate('lv', key), en: translate('en', key) },
  }]);
}

function formTokenRefused(ctx: Context, why: 'missing' | 'invalid'): HttpError {
  const key = 'csrf.form_token';
  return new HttpError(403, 'form_token_invalid', translate(languageOf(ctx), key), [{
    field: FORM_TOKEN_FIELD, rule: why === 'missing' ? 'form_token_missing' : 'form_token_mismatch',
    message: translate('en', key), words: { lv: translate('lv', key), en: translate('en', key) },
  }]);
}
