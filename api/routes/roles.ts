import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { rigaDate } from '../../domain/dates';
import { REQUESTABLE_ROLES, ROLE_NAME_MAX, ROLE_TEXT_MAX } from '../../domain/role-requests';
import { translate, type Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { activeGrants } from '../services/coordinator';
import { addNote, listConsultants, listConsultations, listMyConsultations, requestConsultation, viewConsultation } from '../services/consultations';
import { decideRoleRequest, fileRoleRequest, listGrants, listMyRoleRequests, revokeGrant, viewRoleRequest } from '../services/role-requests';
import { errorsByField, formFields } from '../validation';
import type { ApiRegistry } from './define';
import { refusalText } from '../messages';
import { keptForm } from '../form-state';

// Role requests, grants and the career consultant's workspace (issue 15 item 6). A person signed in through the
// national sign-on asks for a role; staff decide it (the inbox task links to the request's page); administrators
// list grants and revoke them; learners ask a consultant for a consultation; consultants see those learners.

const SIGNED_ON = ['learner', 'coordinator', 'consultant'] as const;
const LEARNER = ['learner'] as const;
const STAFF = ['staff', 'admin'] as const;
const ADMIN = ['admin'] as const;
const CONSULTANT = ['consultant'] as const;

// The bodies as the document describes them; the handler checks each field (domain/role-requests.ts) and names a
// problem in Latvian and English, so every field is optional here.
const requestBody = z.object({
  requestId: z.string().max(100).optional().describe('Required: a new UUID per form; the same one again is the same request'),
  role: z.string().max(40).optional().describe(`Required: ${REQUESTABLE_ROLES.join(' or ')}`),
  municipality: z.string().max(ROLE_NAME_MAX).optional().describe('Required: the municipality you will work in'),
  organisation: z.string().max(ROLE_NAME_MAX).optional().describe('Required for a career consultant: the organisation you work for'),
  reason: z.string().max(ROLE_TEXT_MAX).optional().describe('Required: why you ask for the role'),
});
const decisionBody = z.object({
  decision: z.string().max(20).optional().describe('Required: approve or reject'),
  validUntil: z.string().max(20).optional().describe('Approve only, required: the grant\'s last day (YYYY-MM-DD, after today, at most three years on)'),
  reason: z.string().max(ROLE_TEXT_MAX).optional().describe('Required: the reason, recorded with the decision'),
});
const revocationBody = z.object({ reason: z.string().max(ROLE_TEXT_MAX).optional().describe('Required: why the role is revoked') });
const consultationBody = z.object({
  consultantId: z.string().max(100).optional().describe('Required: the id of a consultant from GET /api/learner/consultations'),
  message: z.string().max(ROLE_TEXT_MAX).optional().describe('Required: what you would like to talk about'),
});
const noteBody = z.object({ text: z.string().max(ROLE_TEXT_MAX).optional().describe('Required: the note, at most 2000 characters') });

const roleRequestParams = z.object({ roleRequestId: z.uuid({ message: 'must be a role request id (UUID)' }) });
const grantParams = z.object({ grantId: z.uuid({ message: 'must be a role grant id (UUID)' }) });
const consultationParams = z.object({ consultationId: z.uuid({ message: 'must be a consultation id (UUID)' }) });

const roleEnum = z.enum(REQUESTABLE_ROLES);
const requestSchema = z.object({
  id: z.uuid(), role: roleEnum, municipality: z.string(), organisation: z.string().nullable(), reason: z.string(),
  state: z.enum(['open', 'approved', 'rejected', 'cancelled']), validUntil: z.string().nullable(), decisionReason: z.string().nullable(),
  decidedByName: z.string().nullable(), decidedAt: z.string().nullable(), createdAt: z.string(),
});
const grantSchema = z.object({
  id: z.uuid(), personCode: z.string(), name: z.string().nullable(), role: roleEnum, municipality: z.string(), organisation: z.string().nullable(),
  validFrom: z.string(), validUntil: z.string(), grantedBy: z.string(), live: z.boolean(), revokedAt: z.string().nullable(),
  revokedByName: z.string().nullable(), revokeReason: z.string().nullable(),
});
const consultantSchema = z.object({ id: z.uuid(), name: z.string(), municipality: z.string(), organisation: z.string().nullable() });
const myConsultationSchema = z.object({
  id: z.uuid(), consultantName: z.string(), municipality: z.string(), organisation: z.string().nullable(), message: z.string(), createdAt: z.string(),
});
const listingSchema = z.object({ id: z.uuid(), learnerName: z.string(), personCode: z.string(), message: z.string(), createdAt: z.string(), notes: z.number() });
const noteSchema = z.object({ id: z.uuid(), authorName: z.string(), text: z.string(), createdAt: z.string() });

type Extra = { form?: Record<string, string>; errors?: Record<string, string>; formError?: string };

/** A 400's or 409's words for a page: each problem next to its field, or the conflict's words above the form. */
function pageProblem(ctx: Context, err: unknown): Extra | null {
  if (!(err instanceof HttpError) || (err.status !== 400 && err.status !== 409)) return null;
  ctx.status = err.status;
  const problems = err.details as WordedProblem[];
  if (err.status === 400) return { errors: errorsByField(problems, ctx.state.lang) };
  return { formError: translate(ctx.state.lang, 'roles.conflict', { message: refusalText(err, ctx.state.lang) }) };
}

/** The routes of role requests, grants, consultations and the consultant's workspace. */
export function roleRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();
  const bodyOf = (ctx: Context) => (ctx.request.body ?? {}) as Record<string, unknown>;

  // ----- a person asks for a role -----
  api.add(router, {
    method: 'get', path: '/api/role-requests', summary: 'Your requests for the coordinator or career-consultant role, newest first',
    tag: 'roles', roles: [...SIGNED_ON],
    responses: { 200: { description: 'The requests', schema: z.object({ requests: z.array(requestSchema) }) } },
  }, async (ctx) => {
    ctx.body = { requests: await listMyRoleRequests(deps.db, currentSession(ctx).subject) };
  });

  api.add(router, {
    method: 'post', path: '/api/role-requests', tag: 'roles', roles: [...SIGNED_ON], body: requestBody,
    summary: 'Ask the agency for the coordinator or career-consultant role: an inbox task for staff; the same requestId again is the same request',
    responses: {
      201: { description: 'Filed', schema: requestSchema }, 200: { description: 'Filed already with this requestId', schema: requestSchema },
      409: { description: 'You already have an open request for this role in this municipality (role_request_open)' },
    },
  }, async (ctx) => {
    const { request, created } = await fileRoleRequest(deps, currentSession(ctx), bodyOf(ctx));
    ctx.status = created ? 201 : 200;
    ctx.body = request;
  });

  api.page(router, {
    method: 'get', path: '/account/roles', summary: 'Your roles and role requests, and the form to ask for a role', tag: 'account',
    roles: [...SIGNED_ON], query: z.object({ filed: z.enum(['1']).optional() }), responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await rolesPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/account/roles', summary: 'Ask for a role (the page\'s form)', tag: 'account', roles: [...SIGNED_ON], form: requestBody, formPage: true,
    responses: {
      302: { description: 'Back to the page, showing the request', redirect: true }, 400: { description: 'The form again, each problem next to its field' },
      409: { description: 'An open request for the same role and municipality: the form again, saying so' },
    },
  }, async (ctx) => {
    const form = formFields(ctx.request.body, ['requestId', 'role', 'municipality', 'organisation', 'reason']);
    try {
      await fileRoleRequest(deps, currentSession(ctx), form);
    } catch (err) {
      const problem = pageProblem(ctx, err);
      if (!problem) throw err;
      await rolesPage(ctx, { form, ...problem });
      return;
    }
    ctx.redirect('/account/roles?filed=1');
  });

  async function rolesPage(ctx: Context, extra: Extra) {
    const session = currentSession(ctx);
    const [requests, grants] = await Promise.all([listMyRoleRequests(deps.db, session.subject), activeGrants(deps, session.subject)]);
    renderPage(ctx, renderer, 'roles', 'roles.title', {
      requests, grants, filed: ctx.query.filed === '1', roles: REQUESTABLE_ROLES,
      form: { requestId: randomUUID(), role: 'coordinator', ...extra.form }, errors: extra.errors, formError: extra.formError,
    });
  }

  // ----- staff decide a request -----
  api.add(router, {
    method: 'get', path: '/api/staff/role-requests/:roleRequestId', summary: 'One role request: who asked, for which role, where and why; their grants',
    tag: 'staff', roles: [...STAFF], params: roleRequestParams,
    responses: { 200: { description: 'The request', schema: z.object({ request: requestSchema, personCode: z.string(), name: z.string(), taskId: z.uuid().nullable() }) }, 404: { description: 'No such request' } },
  }, async (ctx, { params }) => {
    const found = await viewRoleRequest(deps.db, currentSession(ctx), params.roleRequestId);
    ctx.body = { request: found.request, personCode: found.personCode, name: found.name, taskId: found.taskId };
  });

  api.add(router, {
    method: 'post', path: '/api/staff/role-requests/:roleRequestId/decision', tag: 'staff', roles: [...STAFF], params: roleRequestParams, body: decisionBody,
    summary: 'Decide a role request: approve with an end date (a grant from today) or reject, each with a reason; audited',
    responses: {
      200: { description: 'Decided', schema: requestSchema.extend({ grantId: z.uuid().nullable() }) }, 404: { description: 'No such request' },
      409: { description: 'Decided already, claimed by a colleague, or its task is not open yet' },
    },
  }, async (ctx, { params }) => {
    ctx.body = await decideRoleRequest(deps, currentSession(ctx), params.roleRequestId, bodyOf(ctx));
  });

  api.page(router, {
    method: 'get', path: '/staff/role-requests/:roleRequestId', summary: 'One role request: the person, their reason, the decision form',
    tag: 'staff pages', roles: [...STAFF], params: roleRequestParams,
    responses: { 200: { description: 'The page' }, 404: { description: 'No such request' } },
  }, async (ctx) => {
    await requestPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/staff/role-requests/:roleRequestId/decision', summary: 'Decide a role request (the page\'s form)', tag: 'staff pages',
    roles: [...STAFF], params: roleRequestParams, form: decisionBody, formPage: true,
    responses: {
      302: { description: 'Back to the request, decided', redirect: true }, 400: { description: 'The form again, each problem next to its field' },
      404: { description: 'No such request' }, 409: { description: 'Decided already or claimed by a colleague: the page, saying so' },
    },
  }, async (ctx) => {
    const form = formFields(ctx.request.body, ['decision', 'validUntil', 'reason']);
    const id = String(ctx.params.roleRequestId);
    try {
      await decideRoleRequest(deps, currentSession(ctx), id, form.decision === 'reject' ? { decision: form.decision, reason: form.reason } : form);
    } catch (err) {
      const problem = pageProblem(ctx, err);
      if (!problem) throw err;
      await requestPage(ctx, { form, ...problem });
      return;
    }
    ctx.redirect(`/staff/role-requests/${id}`);
  });

  async function requestPage(ctx: Context, extra: Extra) {
    const params = roleRequestParams.safeParse(ctx.params);
    if (!params.success) throw new HttpError(404, 'not_found', 'There is no such role request');
    const found = await viewRoleRequest(deps.db, currentSession(ctx), params.data.roleRequestId);
    renderPage(ctx, renderer, 'role-request', 'roleRequest.title', {
      ...found, form: { validUntil: defaultEnd(), ...extra.form }, errors: extra.errors, formError: extra.formError,
    });
  }

  // ----- administrators: grants and revocation -----
  api.add(router, {
    method: 'get', path: '/api/admin/role-grants', summary: 'Every role grant: live ones first, then by end date; revoked ones with who and why',
    tag: 'admin', roles: [...ADMIN],
    responses: { 200: { description: 'The grants', schema: z.object({ grants: z.array(grantSchema) }) } },
  }, async (ctx) => {
    ctx.body = { grants: await listGrants(deps.db) };
  });

  api.add(router, {
    method: 'post', path: '/api/admin/role-grants/:grantId/revocation', tag: 'admin', roles: [...ADMIN], params: grantParams, body: revocationBody,
    summary: 'Revoke a grant with a reason (audited with before and after); the person loses the role at their next request',
    responses: { 200: { description: 'Revoked', schema: grantSchema }, 404: { description: 'No such grant' }, 409: { description: 'Revoked already (already_revoked)' } },
  }, async (ctx, { params }) => {
    ctx.body = await revokeGrant(deps.db, currentSession(ctx), params.grantId, bodyOf(ctx));
  });

  api.page(router, {
    method: 'get', path: '/admin/role-grants', summary: 'The role grants, each live one with a form to revoke it', tag: 'console pages', roles: [...ADMIN],
    query: z.object({ done: z.enum(['revoked']).optional() }), responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await grantsPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/admin/role-grants/:grantId/revocation', summary: 'Revoke a grant (the page\'s form)', tag: 'console pages', roles: [...ADMIN],
    params: grantParams, form: revocationBody, formPage: true,
    responses: {
      302: { description: 'Back to the list', redirect: true }, 400: { description: 'The page again, the problem next to the reason' },
      404: { description: 'No such grant' }, 409: { description: 'Revoked already: the page, saying so' },
    },
  }, async (ctx) => {
    const form = formFields(ctx.request.body, ['reason']);
    const grantId = String(ctx.params.grantId);
    try {
      await revokeGrant(deps.db, currentSession(ctx), grantId, form);
    } catch (err) {
      const problem = pageProblem(ctx, err);
      if (!problem) throw err;
      await grantsPage(ctx, { failed: grantId, ...problem });
      return;
    }
    ctx.redirect('/admin/role-grants?done=revoked');
  });

  async function grantsPage(ctx: Context, given: Extra & { failed?: string }) {
    const extra = keptForm(ctx, 'role-grants', given);
    const grants = await listGrants(deps.db);
    renderPage(ctx, renderer, 'role-grants', 'roleGrants.title', {
      done: ctx.query.done === 'revoked',
      grants: grants.map((g) => ({ ...g, failed: extra.failed === g.id, errors: extra.failed === g.id ? extra.errors : undefined })),
      formError: extra.formError,
      // The error summary lists the failed revocation's problems (walk).
      formErrors: extra.failed ? { errors: extra.errors, ids: { reason: `reason-${extra.failed}` } } : undefined,
    });
  }

  // ----- a learner asks a career consultant -----
  api.add(router, {
    method: 'get', path: '/api/learner/consultations', summary: 'The career consultants you may ask, and your consultation requests',
    tag: 'learner', roles: [...LEARNER],
    responses: { 200: { description: 'Consultants and your requests', schema: z.object({ consultants: z.array(consultantSchema), consultations: z.array(myConsultationSchema) }) } },
  }, async (ctx) => {
    const me = currentSession(ctx).subject;
    ctx.body = { consultants: await listConsultants(deps.db), consultations: await listMyConsultations(deps.db, me) };
  });

  api.add(router, {
    method: 'post', path: '/api/learner/consultations', tag: 'learner', roles: [...LEARNER], body: consultationBody,
    summary: 'Ask a career consultant for a consultation: they see you and your journeys (read-only) in their workspace',
    responses: { 201: { description: 'Asked', schema: myConsultationSchema }, 200: { description: 'You had asked this consultant already', schema: myConsultationSchema } },
  }, async (ctx) => {
    const { consultation, created } = await requestConsultation(deps.db, currentSession(ctx), bodyOf(ctx));
    ctx.status = created ? 201 : 200;
    ctx.body = consultation;
  });

  api.page(router, {
    method: 'get', path: '/learner/consultation', summary: 'Ask a career consultant for a consultation', tag: 'learner pages', roles: [...LEARNER],
    query: z.object({ asked: z.enum(['1']).optional() }), responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await consultationPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/learner/consultation', summary: 'Ask a career consultant (the page\'s form)', tag: 'learner pages', roles: [...LEARNER],
    form: consultationBody, formPage: true,
    responses: { 302: { description: 'Back to the page', redirect: true }, 400: { description: 'The form again, each problem next to its field' } },
  }, async (ctx) => {
    const form = formFields(ctx.request.body, ['consultantId', 'message']);
    try {
      await requestConsultation(deps.db, currentSession(ctx), form);
    } catch (err) {
      const problem = pageProblem(ctx, err);
      if (!problem) throw err;
      await consultationPage(ctx, { form, ...problem });
      return;
    }
    ctx.redirect('/learner/consultation?asked=1');
  });

  async function consultationPage(ctx: Context, extra: Extra) {
    const me = currentSession(ctx).subject;
    const [consultants, consultations] = await Promise.all([listConsultants(deps.db), listMyConsultations(deps.db, me)]);
    renderPage(ctx, renderer, 'consultation', 'consultation.title', {
      consultants: consultants.map((c) => ({ ...c, selected: c.id === extra.form?.consultantId })), consultations,
      asked: ctx.query.asked === '1', form: extra.form ?? {}, errors: extra.errors, formError: extra.formError,
    });
  }

  // ----- the career consultant's workspace -----
  api.add(router, {
    method: 'get', path: '/api/consultant/consultations', summary: 'The learners who asked you for a consultation, newest first',
    tag: 'consultant', roles: [...CONSULTANT],
    responses: { 200: { description: 'The consultations', schema: z.object({ consultations: z.array(listingSchema) }) } },
  }, async (ctx) => {
    ctx.body = { consultations: await listConsultations(deps.db, currentSession(ctx)) };
  });

  api.add(router, {
    method: 'get', path: '/api/consultant/consultations/:consultationId', summary: 'One learner who asked you: their journeys (read-only) and your notes; audited',
    tag: 'consultant', roles: [...CONSULTANT], params: consultationParams,
    responses: { 200: { description: 'The consultation', schema: listingSchema.omit({ notes: true }).extend({ journeys: z.array(z.record(z.string(), z.unknown())), notes: z.array(noteSchema) }) }, 404: { description: 'No such consultation of yours' } },
  }, async (ctx, { params }) => {
    ctx.body = await viewConsultation(deps, currentSession(ctx), params.consultationId);
  });

  api.add(router, {
    method: 'post', path: '/api/consultant/consultations/:consultationId/notes', tag: 'consultant', roles: [...CONSULTANT], params: consultationParams, body: noteBody,
    summary: 'Add a note to a consultation of yours (audited without its text)',
    responses: { 201: { description: 'Added', schema: noteSchema }, 404: { description: 'No such consultation of yours' } },
  }, async (ctx, { params }) => {
    ctx.status = 201;
    ctx.body = await addNote(deps.db, currentSession(ctx), params.consultationId, bodyOf(ctx));
  });

  api.page(router, {
    method: 'get', path: '/consultant', summary: 'The career consultant\'s home: the learners who asked for a consultation', tag: 'consultant pages',
    roles: [...CONSULTANT], responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const session = currentSession(ctx);
    renderPage(ctx, renderer, 'consultant-home', 'consultant.title', { consultations: await listConsultations(deps.db, session), municipality: session.municipality });
  });

  api.page(router, {
    method: 'get', path: '/consultant/consultations/:consultationId', summary: 'One learner who asked: their journeys (read-only) and your notes',
    tag: 'consultant pages', roles: [...CONSULTANT], params: consultationParams,
    responses: { 200: { description: 'The page' }, 404: { description: 'No such consultation of yours' } },
  }, async (ctx) => {
    await consultantPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/consultant/consultations/:consultationId/notes', summary: 'Add a note (the page\'s form)', tag: 'consultant pages',
    roles: [...CONSULTANT], params: consultationParams, form: noteBody, formPage: true,
    responses: { 302: { description: 'Back to the consultation', redirect: true }, 400: { description: 'The page again, the problem next to the note' }, 404: { description: 'No such consultation of yours' } },
  }, async (ctx) => {
    const form = formFields(ctx.request.body, ['text']);
    const id = String(ctx.params.consultationId);
    try {
      await addNote(deps.db, currentSession(ctx), id, form);
    } catch (err) {
      const problem = pageProblem(ctx, err);
      if (!problem) throw err;
      await consultantPage(ctx, { form, ...problem });
      return;
    }
    ctx.redirect(`/consultant/consultations/${id}`);
  });

  async function consultantPage(ctx: Context, extra: Extra) {
    // An id that is no consultation of theirs (a malformed one too) is the service's 404.
    const found = await viewConsultation(deps, currentSession(ctx), String(ctx.params.consultationId));
    renderPage(ctx, renderer, 'consultation-detail', 'consultation.detailTitle', { ...found, form: extra.form ?? {}, errors: extra.errors }, { name: found.learnerName });
  }

  return router;
}

// The end date the approval form suggests: one year from today (Riga calendar).
function defaultEnd(): string {
  const d = new Date(`${rigaDate(new Date())}T00:00:00Z`);
  d.setUTCFullYear(d.getUTCFullYear() + 1);
  return d.toISOString().slice(0, 10);
}
