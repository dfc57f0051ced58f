import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { endSession, liveSessionsOf, SESSION_TIMEOUTS, touchSession, type Session } from '../../lib/sessions';
import { translate, type PageLanguage, type Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { currentSession, SECOND_FACTOR_PAGE } from '../middleware/auth';
import { renderPage } from '../pages';
import { auditUserAction } from '../services/audit';
import {
  confirmEnrolment, confirmSession, recoveryCodesLeft, startEnrolment, RECOVERY_CODE_COUNT,
} from '../services/second-factor';
import { text } from '../text-input';
import { parseOr400 } from '../validation';
import type { ApiRegistry } from './define';
import { safeNext } from './auth';

// The account pages of password users: their live sessions (ending any other one), and the TOTP second factor
// (required for administrators, optional for agency staff). Plus the keep-alive every session may call.

const SECOND_FACTOR_ROLES = ['staff', 'admin'] as const;
const SESSION_LIST_ROLES = ['staff', 'admin', 'provider'] as const;
const ALL_ROLES = ['learner', 'coordinator', 'consultant', 'staff', 'admin', 'provider'] as const;

const codeField = text().trim().min(1, { message: 'is required' }).max(40, { message: 'is too long' });
const codeSchema = z.object({ code: codeField }).strict();
const codeForm = z.object({ code: codeField, next: text().max(2000).optional() });
const sessionParams = z.object({ sessionId: z.uuid({ message: 'must be a session id (UUID)' }) });

const sessionListingSchema = z.object({
  id: z.uuid(), createdAt: z.string(), lastSeenAt: z.string(), userAgent: z.string().nullable(), ip: z.string().nullable(), current: z.boolean(),
});

/** Account routes: sessions list, ending a session, second-factor set-up and confirmation, keep-alive. */
export function accountRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();
  const timeouts = deps.sessionTimeouts ?? SESSION_TIMEOUTS;

  // ----- keep-alive -----
  api.add(router, {
    method: 'post', path: '/api/session/keep-alive',
    summary: 'Keeps the session alive (the page\'s idle warning calls it): moves the idle end on; says when the session ends',
    tag: 'auth', roles: [...ALL_ROLES], beforeSecondFactor: true, beforeTerms: true,
    responses: { 200: { description: 'The session\'s new idle end and its absolute end', schema: z.object({ idleExpiresAt: z.string(), expiresAt: z.string() }) } },
  }, async (ctx) => {
    // The guard has resolved the live session already; this only moves its idle end on.
    const session = currentSession(ctx);
    const idleExpiresAt = await touchSession(deps.db, timeouts, session);
    ctx.body = { idleExpiresAt: idleExpiresAt.toISOString(), expiresAt: session.expiresAt.toISOString() };
  });

  // ----- sessions -----
  api.page(router, {
    method: 'get', path: '/account/sessions', summary: 'Your live sessions (device, address, last activity), with a button to end any other one',
    tag: 'account', roles: [...SESSION_LIST_ROLES],
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const session = currentSession(ctx);
    const sessions = await liveSessionsOf(deps.db, session.userId!, session.id);
    renderPage(ctx, renderer, 'account-sessions', 'account.sessions.title', {
      sessions, ended: ctx.query.ended === '1',
      secondFactor: session.role === 'provider' ? null : { enrolled: session.secondFactorEnrolled, codesLeft: session.secondFactorEnrolled ? await recoveryCodesLeft(deps, session.userId!) : 0 },
    });
  });

  api.add(router, {
    method: 'get', path: '/api/account/sessions', summary: 'Your live sessions, most recently used first',
    tag: 'account', roles: [...SESSION_LIST_ROLES],
    responses: { 200: { description: 'Sessions', schema: z.object({ sessions: z.array(sessionListingSchema) }) } },
  }, async (ctx) => {
    const session = currentSession(ctx);
    const sessions = await liveSessionsOf(deps.db, session.userId!, session.id);
    ctx.body = { sessions: sessions.map((s) => ({ ...s, createdAt: s.createdAt.toISOString(), lastSeenAt: s.lastSeenAt.toISOString() })) };
  });

  const endOther = async (ctx: Context, sessionId: string) => {
    const session = currentSession(ctx);
    if (sessionId === session.id) throw new HttpError(409, 'current_session', 'This is the session you are using: log out instead');
    const mine = await deps.db('sessions').where({ id: sessionId, userId: session.userId }).first('id');
    if (!mine) throw new HttpError(404, 'not_found', 'You have no such session');
    const ended = await endSession(deps.db, sessionId, 'ended_elsewhere');
    await auditUserAction(deps.db, session, { action: 'end_session', purpose: 'The user ended another of their own sessions', result: { sessionId, wasLive: ended } });
  };

  api.add(router, {
    method: 'post', path: '/api/account/sessions/:sessionId/end', summary: 'End another of your sessions (its token stops working at once); audited',
    tag: 'account', roles: [...SESSION_LIST_ROLES], params: sessionParams,
    responses: { 204: { description: 'Ended (or had ended already)' }, 404: { description: 'Not a session of yours' }, 409: { description: 'The session making the request: log out instead' } },
  }, async (ctx, { params }) => {
    await endOther(ctx, params.sessionId);
    ctx.status = 204;
  });

  api.page(router, {
    method: 'post', path: '/account/sessions/:sessionId/end', summary: 'End another of your sessions (the button on the sessions page)',
    tag: 'account', roles: [...SESSION_LIST_ROLES], params: sessionParams,
    responses: { 302: { description: 'Back to the sessions page', redirect: true }, 404: { description: 'Not a session of yours' }, 409: { description: 'The session you are using' } },
  }, async (ctx) => {
    const { sessionId } = parseOr400(sessionParams, ctx.params, 'params');
    await endOther(ctx, sessionId);
    ctx.redirect('/account/sessions?ended=1');
  });

  // ----- second factor -----
  api.page(router, {
    method: 'get', path: SECOND_FACTOR_PAGE,
    summary: 'Set up the second factor (QR code and secret, then a code), or confirm this session with a code',
    tag: 'account', roles: [...SECOND_FACTOR_ROLES], beforeSecondFactor: true,
    query: z.object({ next: text().max(2000).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const session = currentSession(ctx);
    renderPage(ctx, renderer, 'second-factor', 'secondFactor.title', await secondFactorView(session, safeNext(ctx.query.next, '')));
  });

  api.page(router, {
    method: 'post', path: SECOND_FACTOR_PAGE,
    summary: 'Confirm the set-up (or this session) with a code from the app; a set-up shows the recovery codes once',
    tag: 'account', roles: [...SECOND_FACTOR_ROLES], beforeSecondFactor: true, form: codeForm, formPage: true,
    responses: {
      200: { description: 'Set up: the recovery codes, shown once' }, 302: { description: 'Session confirmed: on to the page asked for', redirect: true }, 400: { description: 'The code is missing or not valid: the page again' },
      429: { description: 'Five wrong codes in a row: code checks stop for 15 minutes (Retry-After)' },
    },
  }, async (ctx) => {
    const session = currentSession(ctx);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const next = safeNext(body.next, session.role === 'admin' ? '/admin/stuck' : '/staff/tasks');
    const code = typeof body.code === 'string' ? body.code.trim() : '';
    try {
      if (code === '' || code.length > 40) throw new HttpError(400, 'invalid_request', 'Invalid body: code: is required');
      if (session.secondFactorEnrolled) {
        await confirmSession(deps, session.userId!, session.id, code);
        ctx.redirect(next);
        return;
      }
      const codes = await confirmEnrolment(deps, session.userId!, session.id, code);
      renderPage(ctx, renderer, 'recovery-codes', 'secondFactor.codes.title', { codes, next });
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 400) throw err;
      ctx.status = 400;
      const codeError = code === '' ? 'secondFactor.code.required' : 'secondFactor.code.invalid';
      // The error summary links the problem to the code's field (walk).
      renderPage(ctx, renderer, 'second-factor', 'secondFactor.title', {
        ...(await secondFactorView(session, next)), codeError, formErrors: { errors: { code: translate(ctx.state.lang as PageLanguage, codeError) } },
      });
    }
  });

  api.add(router, {
    method: 'post', path: '/api/account/second-factor/setup',
    summary: 'Start setting up the second factor: the secret and its otpauth:// address (for the authenticator app)',
    tag: 'account', roles: [...SECOND_FACTOR_ROLES], beforeSecondFactor: true,
    responses: { 200: { description: 'The secret to enter in the app', schema: z.object({ secret: z.string(), uri: z.string() }) }, 409: { description: 'A second factor is set up already' } },
  }, async (ctx) => {
    const { secret, uri } = await startEnrolment(deps, currentSession(ctx).userId!);
    ctx.body = { secret, uri };
  });

  api.add(router, {
    method: 'post', path: '/api/account/second-factor',
    summary: `Finish setting up the second factor with a code from the app; returns ${RECOVERY_CODE_COUNT} single-use recovery codes, shown only now`,
    tag: 'account', roles: [...SECOND_FACTOR_ROLES], beforeSecondFactor: true, body: codeSchema,
    responses: {
      201: { description: 'Set up; this session counts as confirmed', schema: z.object({ recoveryCodes: z.array(z.string()) }) },
      400: { description: 'The code is not valid' }, 409: { description: 'Set up already, or not started' },
    },
  }, async (ctx, { body }) => {
    const session = currentSession(ctx);
    const recoveryCodes = await confirmEnrolment(deps, session.userId!, session.id, body.code);
    ctx.status = 201;
    ctx.body = { recoveryCodes };
  });

  api.add(router, {
    method: 'post', path: '/api/account/second-factor/confirm',
    summary: 'Confirm this session with a code (a session started before the second factor was set up, or before the user became administrator)',
    tag: 'account', roles: [...SECOND_FACTOR_ROLES], beforeSecondFactor: true, body: codeSchema,
    responses: {
      204: { description: 'Confirmed' }, 400: { description: 'The code is not valid' }, 409: { description: 'No second factor is set up' },
      429: { description: 'Five wrong codes in a row: code checks stop for 15 minutes (Retry-After)' },
    },
  }, async (ctx, { body }) => {
    const session = currentSession(ctx);
    if (!session.secondFactorEnrolled) throw new HttpError(409, 'second_factor_not_enrolled', 'Set up the second factor first');
    await confirmSession(deps, session.userId!, session.id, body.code);
    ctx.status = 204;
  });

  // The page has three states: set up (QR code, secret, code field), confirm this session (code field), all done.
  async function secondFactorView(session: Session, next: string) {
    if (session.secondFactorEnrolled) {
      return { enrolled: true, confirmed: session.secondFactorAt !== null, next, codesLeft: await recoveryCodesLeft(deps, session.userId!) };
    }
    return { enrolled: false, required: session.role === 'admin', next, enrolment: await startEnrolment(deps, session.userId!) };
  }

  return router;
}
