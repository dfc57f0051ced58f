import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import {
  CORRECT_VALUE_MAX, CORRECTABLE_FIELDS, DATA_REQUEST_KINDS, DATA_REQUEST_OUTCOMES, DATA_REQUEST_TEXT_MAX,
} from '../../domain/data-requests';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { decideDataRequest, fileDataRequest, listMyDataRequests, viewDataRequest } from '../services/data-requests';
import { errorsByField } from '../validation';
import type { ApiRegistry } from './define';
import { refusalText } from '../messages';

// Erasure and correction requests: the learner files one (page and API) and follows it; agency staff decide it
// with an outcome. The inbox lists each request as a task (type data-subject-request) that links here.

const LEARNER = ['learner'] as const;
const STAFF = ['staff', 'admin'] as const;

// The bodies as the document describes them. Each field is checked by the handler (domain/data-requests.ts), so a
// problem is named with its words in Latvian and English; the types here only describe (so every field is optional
// here: a missing one is the handler's to name).
const requestBody = z.object({
  requestId: z.string().max(100).optional().describe('Required: a new UUID per form; sending the same one again makes no second request'),
  kind: z.string().max(20).optional().describe(`Required: ${DATA_REQUEST_KINDS.join(' or ')}`),
  text: z.string().max(DATA_REQUEST_TEXT_MAX).optional().describe('Required: what the person asks for, at most 2000 characters'),
  field: z.string().max(40).optional().describe(`Correction only, required: ${CORRECTABLE_FIELDS.join(', ')}`),
  correctValue: z.string().max(CORRECT_VALUE_MAX).optional().describe('Correction only, required: the correct value, at most 500 characters'),
});
const decisionBody = z.object({
  outcome: z.string().max(20).optional().describe(`Required: ${DATA_REQUEST_OUTCOMES.join(', ')}`),
  reason: z.string().max(DATA_REQUEST_TEXT_MAX).optional().describe('Required unless done: the person reads it; at most 2000 characters'),
});
const requestParams = z.object({ requestId: z.uuid({ message: 'must be a request id (UUID)' }) });

const requestSchema = z.object({
  id: z.uuid(), kind: z.enum(DATA_REQUEST_KINDS), text: z.string(), field: z.string().nullable(), correctValue: z.string().nullable(),
  state: z.enum(['open', 'decided', 'cancelled']), outcome: z.enum(DATA_REQUEST_OUTCOMES).nullable(), outcomeReason: z.string().nullable(),
  decidedByName: z.string().nullable(), decidedAt: z.string().nullable(), dueAt: z.string(), createdAt: z.string(),
}).strict();

/** Erasure and correction requests: the learner's page and API, the staff page and API. */
export function dataRequestRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  // ----- the learner -----
  api.add(router, {
    method: 'get', path: '/api/learner/data-requests', summary: 'Your erasure and correction requests with their outcomes, newest first',
    tag: 'learner', roles: [...LEARNER], beforeTerms: true,
    responses: { 200: { description: 'The requests', schema: z.object({ requests: z.array(requestSchema) }) } },
  }, async (ctx) => {
    ctx.body = { requests: await listMyDataRequests(deps.db, currentSession(ctx).subject) };
  });

  api.add(router, {
    method: 'post', path: '/api/learner/data-requests', tag: 'learner', roles: [...LEARNER], beforeTerms: true, body: requestBody,
    summary: 'Ask for your data to be erased or corrected: an inbox task for the agency, due in 5 working days; the same requestId again is the same request',
    responses: {
      201: { description: 'Filed', schema: requestSchema },
      200: { description: 'Filed already with this requestId: the same request', schema: requestSchema },
    },
  }, async (ctx) => {
    const { request, created } = await fileDataRequest(deps, currentSession(ctx), (ctx.request.body ?? {}) as Record<string, unknown>);
    ctx.status = created ? 201 : 200;
    ctx.body = request;
  });

  api.page(router, {
    method: 'get', path: '/account/data-requests', summary: 'Your erasure and correction requests, their outcomes, and the form to file one',
    tag: 'account', roles: [...LEARNER], beforeTerms: true, responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await learnerPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/account/data-requests', summary: 'File an erasure or correction request (the page\'s form)', tag: 'account',
    roles: [...LEARNER], beforeTerms: true, form: requestBody, formPage: true,
    responses: { 302: { description: 'Back to the page, showing the request', redirect: true }, 400: { description: 'The form again, each problem next to its field' } },
  }, async (ctx) => {
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    try {
      await fileDataRequest(deps, currentSession(ctx), formFieldsOf(form));
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 400) throw err;
      ctx.status = 400;
      await learnerPage(ctx, { form, errors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
      return;
    }
    ctx.redirect('/account/data-requests?filed=1');
  });

  async function learnerPage(ctx: Context, extra: { form?: Record<string, string>; errors?: Record<string, string> }) {
    const requests = await listMyDataRequests(deps.db, currentSession(ctx).subject);
    renderPage(ctx, renderer, 'data-requests', 'dataRequests.title', {
      requests, filed: ctx.query.filed === '1', fields: CORRECTABLE_FIELDS,
      form: { requestId: randomUUID(), kind: 'correction', ...extra.form }, errors: extra.errors,
    });
  }

  // ----- agency staff -----
  api.add(router, {
    method: 'get', path: '/api/staff/data-requests/:requestId', summary: 'One erasure or correction request, with the person it is about',
    tag: 'staff', roles: [...STAFF], params: requestParams,
    responses: {
      200: { description: 'The request', schema: z.object({ request: requestSchema, personCode: z.string(), learner: z.record(z.string(), z.unknown()).nullable(), taskId: z.uuid().nullable() }).strict() },
      404: { description: 'No such request' },
    },
  }, async (ctx, { params }) => {
    const found = await viewDataRequest(deps.db, currentSession(ctx), params.requestId);
    ctx.body = { request: found.request, personCode: found.personCode, learner: found.learner, taskId: found.taskId };
  });

  api.add(router, {
    method: 'post', path: '/api/staff/data-requests/:requestId/decision', tag: 'staff', roles: [...STAFF], params: requestParams, body: decisionBody,
    summary: 'Decide a request: done, partly or refused (with a reason unless done); recorded, audited and e-mailed to the person',
    responses: {
      200: { description: 'Decided', schema: requestSchema }, 404: { description: 'No such request' },
      409: { description: 'Decided already, claimed by a colleague, or its task is not open yet' },
    },
  }, async (ctx, { params }) => {
    ctx.body = await decideDataRequest(deps, currentSession(ctx), params.requestId, (ctx.request.body ?? {}) as Record<string, unknown>);
  });

  api.page(router, {
    method: 'get', path: '/staff/data-requests/:requestId', summary: 'One erasure or correction request: the person, their words, the decision form',
    tag: 'staff pages', roles: [...STAFF], params: requestParams,
    responses: { 200: { description: 'The page' }, 404: { description: 'No such request' } },
  }, async (ctx) => {
    await staffPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/staff/data-requests/:requestId/decision', summary: 'Decide a request (the page\'s form)', tag: 'staff pages',
    roles: [...STAFF], params: requestParams, form: decisionBody, formPage: true,
    responses: {
      302: { description: 'Back to the request, decided', redirect: true }, 400: { description: 'The form again, each problem next to its field' },
      404: { description: 'No such request' }, 409: { description: 'Decided already or claimed by a colleague: the page, saying so' },
    },
  }, async (ctx) => {
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const requestId = String(ctx.params.requestId);
    try {
      await decideDataRequest(deps, currentSession(ctx), requestId, { outcome: form.outcome, reason: form.reason });
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 400 && err.status !== 409)) throw err;
      ctx.status = err.status;
      await staffPage(ctx, err.status === 400 ? { form, errors: errorsByField(err.details as WordedProblem[], ctx.state.lang) }
        : { form, formError: refusalText(err, ctx.state.lang, { area: 'dataRequest' }) });
      return;
    }
    ctx.redirect(`/staff/data-requests/${requestId}`);
  });

  async function staffPage(ctx: Context, extra: { form?: Record<string, string>; errors?: Record<string, string>; formError?: string }) {
    const params = requestParams.safeParse(ctx.params);
    if (!params.success) throw new HttpError(404, 'not_found', 'There is no such request');
    const found = await viewDataRequest(deps.db, currentSession(ctx), params.data.requestId);
    renderPage(ctx, renderer, 'data-request', 'dataRequest.title', { ...found, outcomes: DATA_REQUEST_OUTCOMES, form: extra.form ?? {}, errors: extra.errors, formError: extra.formError });
  }

  return router;
}

// The request's own fields of a page's form (which also carries the form token and the language switch).
function formFieldsOf(form: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = { requestId: form.requestId, kind: form.kind, text: form.text };
  if (form.kind === 'correction') Object.assign(out, { field: form.field, correctValue: form.correctValue });
  return out;
}
