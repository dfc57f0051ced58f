import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { PageLanguage, Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { refusalStatus } from '../middleware/errors';
import { changePassword, requestPasswordReset, resetPassword, userOfResetLink } from '../services/account-passwords';
import { text } from '../text-input';
import { errorsByField, fieldProblems, formFields } from '../validation';
import type { ApiRegistry } from './define';

const required = () => text().min(1, { message: 'is required' }).max(200, { message: 'is too long' });
const changeSchema = z.object({ currentPassword: required(), newPassword: required(), newPasswordRepeat: required() }).strict();
const resetRequestSchema = z.object({ login: text().trim().min(1, { message: 'is required' }).max(320, { message: 'is too long' }), language: z.enum(['lv', 'en']).optional() }).strict();
const resetSchema = z.object({ token: text().min(1, { message: 'is required' }).max(2000), password: required(), passwordRepeat: required() }).strict();
const PASSWORD_ROLES = ['staff', 'admin', 'provider'] as const;

const RESET_REQUESTED = 'If an account with this username or e-mail address exists, we have sent a link to its e-mail address. The link is valid for one hour.';

/** The named fields of a form, each '' when not sent, so the schema says "is required" for a missing one. */
function pick(body: unknown, fields: readonly string[]): Record<string, string> {
  return { ...Object.fromEntries(fields.map((f) => [f, ''])), ...formFields(body, fields) };
}

/** Password change (logged in) and reset by an e-mailed link (the login page's "forgot password"). */
export function passwordRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  // --- API ---
  api.add(router, {
    method: 'post', path: '/api/account/password', summary: 'Change your password: the current one and the new one twice',
    tag: 'auth', roles: [...PASSWORD_ROLES], body: changeSchema,
    responses: {
      200: { description: 'Changed', schema: z.object({ changed: z.literal(true) }) },
      400: { description: 'The current password is wrong, or the new one breaks a rule (details name the field and rule)' },
      429: { description: 'Too many wrong current passwords: try again after Retry-After seconds' },
    },
  }, async (ctx, { body }) => {
    await changePassword(deps, currentSession(ctx), ctx.ip, body);
    ctx.body = { changed: true };
  });

  api.add(router, {
    method: 'post', path: '/api/auth/password-reset-requests',
    summary: 'Ask for a password reset link by username or e-mail address (the answer is the same whether or not the account exists)',
    tag: 'auth', roles: 'public', body: resetRequestSchema,
    responses: {
      202: { description: 'If the account exists, a link was e-mailed to it', schema: z.object({ message: z.string() }) },
      429: { description: 'Too many requests from this address: try again after Retry-After seconds' },
    },
  }, async (ctx, { body }) => {
    await requestPasswordReset(deps, ctx.ip, body.login, body.language ?? 'lv');
    ctx.status = 202;
    ctx.body = { message: RESET_REQUESTED };
  });

  api.add(router, {
    method: 'post', path: '/api/auth/password-resets', summary: 'Set a new password with the token from the e-mailed reset link',
    tag: 'auth', roles: 'public', body: resetSchema,
    responses: {
      200: { description: 'The password is set; the link no longer works', schema: z.object({ reset: z.literal(true) }) },
      400: { description: 'The link is not valid, or the new password breaks a rule (details name the field and rule)' },
      410: { description: 'The link has expired or was already used' },
    },
  }, async (ctx, { body }) => {
    await resetPassword(deps, body);
    ctx.body = { reset: true };
  });

  // --- Pages ---
  api.page(router, {
    method: 'get', path: '/account/password', summary: 'The form to change your password', tag: 'auth', roles: [...PASSWORD_ROLES],
    query: z.object({ done: text().max(10).optional() }),
    responses: { 200: { description: 'The page' } },
  }, (ctx) => {
    renderPage(ctx, renderer, 'password-change', 'password.change.title', { done: ctx.query.done === '1', errors: {} });
  });

  api.page(router, {
    method: 'post', path: '/account/password', summary: 'Change your password', tag: 'auth', roles: [...PASSWORD_ROLES],
    form: changeSchema, formPage: true,
    responses: {
      302: { description: 'Changed: to the form, saying so', redirect: true },
      400: { description: 'The form again, each problem next to its field' },
      429: { description: 'Too many wrong current passwords: the form again, saying when to try again (Retry-After)' },
    },
  }, async (ctx) => {
    const form = pick(ctx.request.body, ['currentPassword', 'newPassword', 'newPasswordRepeat']);
    const parsed = changeSchema.safeParse(form);
    try {
      if (!parsed.success) throw new HttpError(400, 'invalid_request', 'Invalid form', fieldProblems(parsed.error));
      await changePassword(deps, currentSession(ctx), ctx.ip, parsed.data);
    } catch (err) {
      if (!refused(ctx, err)) throw err;
      renderPage(ctx, renderer, 'password-change', 'password.change.title', { errors: errorsOf(ctx, err) });
      return;
    }
    ctx.redirect('/account/password?done=1');
  });

  api.page(router, {
    method: 'get', path: '/staff/password/forgot', summary: 'The form to ask for a password reset link (or, after it was sent, the page saying so)', tag: 'auth', roles: 'public',
    query: z.object({ done: z.enum(['sent']).optional() }),
    responses: { 200: { description: 'The page' } },
  }, (ctx) => {
    renderPage(ctx, renderer, 'password-forgot', 'password.forgot.title', { sent: ctx.query.done === 'sent', errors: {}, login: '' });
  });

  api.page(router, {
    method: 'post', path: '/staff/password/forgot', summary: 'Ask for a password reset link (the answer is the same whether or not the account exists)',
    tag: 'auth', roles: 'public', form: resetRequestSchema, formPage: true,
    responses: {
      302: { description: 'To the page saying a link was sent if the account exists', redirect: true },
      400: { description: 'The form again, saying what is missing' },
      429: { description: 'Too many requests from this address: the form again, saying when to try again (Retry-After)' },
    },
  }, async (ctx) => {
    const { login } = pick(ctx.request.body, ['login']);
    const parsed = resetRequestSchema.safeParse({ login });
    try {
      if (!parsed.success) throw new HttpError(400, 'invalid_request', 'Invalid form', fieldProblems(parsed.error));
      await requestPasswordReset(deps, ctx.ip, parsed.data.login, ctx.state.lang as PageLanguage);
    } catch (err) {
      if (!refused(ctx, err)) throw err;
      renderPage(ctx, renderer, 'password-forgot', 'password.forgot.title', { errors: errorsOf(ctx, err), login });
      return;
    }
    // Post/redirect/get: a refresh of the answer asks for no second e-mail.
    ctx.redirect('/staff/password/forgot?done=sent');
  });

  api.page(router, {
    method: 'get', path: '/staff/password/reset', summary: 'The form to set a new password, opened from the e-mailed link (or, once it is set, the page saying so)', tag: 'auth', roles: 'public',
    query: z.object({ token: text().max(2000).optional(), done: z.enum(['set']).optional() }),
    responses: { 200: { description: 'The page' }, 400: { description: 'The link is not valid: a page saying so' }, 410: { description: 'The link has expired or was used: a page saying so' } },
  }, async (ctx) => {
    if (ctx.query.done === 'set') {
      renderPage(ctx, renderer, 'password-reset', 'password.reset.title', { done: true, errors: {} });
      return;
    }
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    // The link's token must not be sent on as a Referer (no answer is cached: middleware/privacy-headers.ts): only the
    // origin is. Not 'no-referrer': under it a browser posts the page's form with `Origin: null`, which the
    // cross-site guard refuses (403), so nobody could set their password in a browser (found by the walk).
    ctx.set('referrer-policy', 'strict-origin');
    try {
      await userOfResetLink(deps, token);
    } catch (err) {
      if (!(err instanceof HttpError) || ![400, 410].includes(err.status)) throw err;
      ctx.status = err.status;
      renderPage(ctx, renderer, 'password-reset', 'password.reset.title', { linkProblem: err.status === 410 ? 'password.reset.expired' : 'password.reset.invalid', errors: {} });
      return;
    }
    renderPage(ctx, renderer, 'password-reset', 'password.reset.title', { token, errors: {} });
  });

  api.page(router, {
    method: 'post', path: '/staff/password/reset', summary: 'Set a new password with the e-mailed link', tag: 'auth', roles: 'public',
    form: resetSchema, formPage: true,
    responses: {
      302: { description: 'The password is set: to the page saying so, with the way to log in', redirect: true },
      400: { description: 'The form again, each problem next to its field (or the link is not valid)' },
      410: { description: 'The link has expired or was used: a page saying so' },
    },
  }, async (ctx) => {
    const form = pick(ctx.request.body, ['token', 'password', 'passwordRepeat']);
    const parsed = resetSchema.safeParse(form);
    try {
      if (!parsed.success) throw new HttpError(400, 'invalid_request', 'Invalid form', fieldProblems(parsed.error));
      await resetPassword(deps, parsed.data);
    } catch (err) {
      if (!(err instanceof HttpError) || ![400, 410].includes(err.status)) throw err;
      ctx.status = err.status;
      const linkProblem = err.code === 'link_expired' ? 'password.reset.expired' : err.code === 'invalid_link' ? 'password.reset.invalid' : null;
      renderPage(ctx, renderer, 'password-reset', 'password.reset.title', { token: form.token, linkProblem, errors: errorsOf(ctx, err) });
      return;
    }
    // Post/redirect/get: the answer's address carries no token, and a refresh sends nothing again.
    ctx.redirect('/staff/password/reset?done=set');
  });

  return router;
}

/** Whether a page shows the form again for this error (400 or 429), setting the status and Retry-After. */
function refused(ctx: Context, err: unknown): err is HttpError {
  if (!(err instanceof HttpError) || ![400, 429].includes(err.status)) return false;
  refusalStatus(ctx, err);
  return true;
}

/** An error's problems by field, in the page's language. */
function errorsOf(ctx: Context, err: HttpError): Record<string, string> {
  return errorsByField(err.details as WordedProblem[], ctx.state.lang as PageLanguage);
}
