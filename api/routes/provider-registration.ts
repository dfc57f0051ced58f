import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { PageLanguage, Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { text } from '../text-input';
import { currentSession } from '../middleware/auth';
import { uploadFailure } from '../middleware/upload';
import { renderPage } from '../pages';
import { refusalStatus } from '../middleware/errors';
import { providerRegistrationSchema, providerStaffRegistrationSchema, staffDecisionSchema, staffParams } from '../provider-schemas';
import {
  confirmProviderEmail, decideProviderStaff, providerOfConfirmLink, invalid, listProviderStaff, passwordProblems, registerProvider, registerProviderStaff,
  registrationProblems, uploadProblem, type WordedProblem,
} from '../services/provider-registration';
import { errorsByField, fieldProblems, formFields } from '../validation';
import type { ApiRegistry } from './define';
import { problemText, refusalText } from '../messages';
import { keptForm } from '../form-state';

const REGISTRATION_FIELDS = ['institutionName', 'companyRegistrationNumber', 'educationRegistrationNumber', 'firstName', 'lastName', 'email', 'password', 'passwordRepeat', 'language'] as const;
const STAFF_FIELDS = ['firstName', 'lastName', 'companyRegistrationNumber', 'email', 'password', 'passwordRepeat'] as const;
const staffView = z.object({ id: z.uuid(), name: z.string(), email: z.string().nullable(), providerRole: z.string().nullable(), status: z.string(), createdAt: z.string() });

/** Provider registration: the form, e-mail confirmation, staff of a provider and their approval. */
export function providerRegistrationRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  // --- API ---
  api.add(router, {
    method: 'post', path: '/api/providers/registrations',
    summary: 'Register an education provider (multipart/form-data: the fields below as form fields, the e-signed declaration as the file `declaration`)',
    tag: 'provider registration', roles: 'public',
    multipart: { fields: providerRegistrationSchema, files: [{ name: 'declaration', description: 'The signed declaration: PDF or e-signed .edoc/.asice, at most 10 MB' }] },
    responses: {
      201: { description: 'Registered; a confirmation link is e-mailed', schema: z.object({ providerId: z.uuid(), status: z.literal('awaiting_email'), message: z.string() }) },
      409: { description: 'The company number, institution number or e-mail is already registered (details name the field)' },
      413: { description: 'The declaration is larger than 10 MB' },
      429: { description: 'Too many registrations from this address, confirmation e-mails to this e-mail address, or holds of this company number: try again after Retry-After seconds' },
    },
  }, async (ctx) => {
    const { data, problems } = registrationProblems(providerRegistrationSchema, ctx.request.body, declarationOf(ctx));
    if (!data) throw invalid(problems);
    const { providerId } = await registerProvider(deps, data, declarationOf(ctx)!, ctx.ip);
    ctx.status = 201;
    ctx.body = { providerId, status: 'awaiting_email', message: `We sent a confirmation link to ${data.email}; follow it to send the registration to the agency` };
  });

  api.add(router, {
    method: 'post', path: '/api/providers/confirmations', summary: 'Confirm a registrant\'s e-mail address with the token from the e-mailed link',
    tag: 'provider registration', roles: 'public', body: z.object({ token: text().min(1).max(2000) }).strict(),
    responses: {
      200: { description: 'Confirmed (or already confirmed); the agency reviews the registration', schema: z.object({ outcome: z.string(), stage: z.string() }) },
      410: { description: 'The link or the registration has expired; register again' },
    },
  }, async (ctx, { body }) => {
    ctx.body = await confirmProviderEmail(deps, body.token);
  });

  api.add(router, {
    method: 'post', path: '/api/providers/staff-registrations', summary: 'A staff member of an approved provider asks to join it',
    tag: 'provider registration', roles: 'public', body: providerStaffRegistrationSchema,
    responses: {
      201: { description: "Registered; the provider's administrator approves", schema: z.object({ userId: z.uuid(), status: z.literal('awaiting_approval') }) },
      409: { description: 'The e-mail is already registered' },
      429: { description: 'Too many requests to join from this address: try again after Retry-After seconds' },
    },
  }, async (ctx, { body }) => {
    const data = staffInput(body);
    const { userId } = await registerProviderStaff(deps, data, ctx.ip);
    ctx.status = 201;
    ctx.body = { userId, status: 'awaiting_approval' };
  });

  api.add(router, {
    method: 'get', path: '/api/provider/staff', summary: "The users of the provider: the administrator approves those waiting",
    tag: 'provider', roles: ['provider'],
    responses: { 200: { description: 'The users, waiting ones first', schema: z.object({ staff: z.array(staffView) }) } },
  }, async (ctx) => {
    ctx.body = { staff: await listProviderStaff(deps, currentSession(ctx)) };
  });

  api.add(router, {
    method: 'post', path: '/api/provider/staff/:userId/decision', summary: "Approve or reject a staff member's request (the provider's administrator only)",
    tag: 'provider', roles: ['provider'], params: staffParams, body: staffDecisionSchema,
    responses: {
      200: { description: 'Decided', schema: staffView },
      403: { description: 'Not the administrator' },
      404: { description: 'Your institution has no such user' },
      409: { description: 'Already decided' },
    },
  }, async (ctx, { params, body }) => {
    ctx.body = await decideProviderStaff(deps, currentSession(ctx), params.userId, body.decision);
  });

  // --- Pages ---
  api.page(router, {
    method: 'get', path: '/providers/register', summary: 'The registration form of an education provider', tag: 'provider registration pages', roles: 'public',
    responses: { 200: { description: 'The page' } },
  }, (ctx) => {
    registrationPage(ctx, { form: { language: ctx.state.lang as string }, errors: {} });
  });

  api.page(router, {
    method: 'post', path: '/providers/register', summary: 'Register an education provider (multipart/form-data with the declaration)', tag: 'provider registration pages', roles: 'public',
    multipart: { fields: providerRegistrationSchema, files: [{ name: 'declaration', description: 'The signed declaration: PDF or e-signed .edoc/.asice, at most 10 MB' }] },
    responses: { 302: { description: 'To the page saying a confirmation link was sent', redirect: true }, 400: { description: 'The form again, each problem next to its field' }, 409: { description: 'Already registered: the form again, naming the field' }, 413: { description: 'The declaration is larger than 10 MB: the form again, saying so' }, 415: { description: 'A part in a charset other than UTF-8: the form again, saying so' }, 429: { description: 'Throttled (registrations from this address, e-mails to this address, holds of this company number): the form again, saying when to try again (Retry-After)' } },
  }, async (ctx) => {
    const form = formFields(ctx.request.body, REGISTRATION_FIELDS);
    const failed = uploadFailure(ctx);
    const { data, problems } = registrationProblems(providerRegistrationSchema, form, declarationOf(ctx));
    const all = failed ? [...problems.filter((p) => p.field !== 'declaration'), uploadProblem(failed)] : problems;
    if (!data || failed) {
      ctx.status = failed?.status ?? 400;
      registrationPage(ctx, { form, errors: errorsByField(all, ctx.state.lang as PageLanguage) });
      return;
    }
    try {
      await registerProvider(deps, data, declarationOf(ctx)!, ctx.ip);
    } catch (err) {
      if (!(err instanceof HttpError) || ![400, 409, 429].includes(err.status)) throw err;
      refusalStatus(ctx, err);
      registrationPage(ctx, { form, errors: errorsByField(err.details as WordedProblem[], ctx.state.lang as PageLanguage) });
      return;
    }
    ctx.redirect(`/providers/register/sent?email=${encodeURIComponent(data.email)}`);
  });

  api.page(router, {
    method: 'get', path: '/providers/register/sent', summary: 'A confirmation link was sent', tag: 'provider registration pages', roles: 'public',
    query: z.object({ email: text().max(320).optional() }),
    responses: { 200: { description: 'The page' } },
  }, (ctx) => {
    renderPage(ctx, renderer, 'provider-register-sent', 'providerAccount.sent.title', { email: typeof ctx.query.email === 'string' ? ctx.query.email : '' });
  });

  // The e-mailed link only shows a button: mail scanners and link previews open links, so a GET changes nothing.
  api.page(router, {
    method: 'get', path: '/providers/confirm', summary: 'The page of the e-mailed link: a button that confirms the e-mail address (nothing changes on opening it)', tag: 'provider registration pages', roles: 'public',
    query: z.object({ token: text().max(2000).optional(), done: z.enum(['confirmed', 'already_confirmed']).optional() }),
    responses: { 200: { description: 'The page with the button (or saying it is confirmed)' }, 400: { description: 'The link is not valid' }, 410: { description: 'The link or the registration has expired' } },
  }, async (ctx) => {
    const done = ctx.query.done;
    if (done === 'confirmed' || done === 'already_confirmed') {
      renderPage(ctx, renderer, 'provider-confirm', 'providerAccount.confirm.title', { outcome: done });
      return;
    }
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    await confirmationPage(ctx, async () => {
      const provider = await providerOfConfirmLink(deps, token);
      return provider.status === 'awaiting_email' ? { outcome: 'ask', token } : { outcome: 'already_confirmed' };
    });
  });

  api.page(router, {
    method: 'post', path: '/providers/confirm', summary: 'Confirm the e-mail address (the button on the e-mailed link\'s page)', tag: 'provider registration pages', roles: 'public',
    form: z.object({ token: text().max(2000) }),
    responses: { 302: { description: 'Confirmed (or already confirmed): to the page saying so', redirect: true }, 400: { description: 'The link is not valid' }, 409: { description: 'The registration cannot be confirmed any more' }, 410: { description: 'The link or the registration has expired' } },
  }, async (ctx) => {
    const token = formFields(ctx.request.body, ['token']).token ?? '';
    // Post/redirect/get: the outcome's page is a GET (a refresh confirms nothing again); refusals stay on the POST.
    await confirmationPage(ctx, async () => ({ outcome: (await confirmProviderEmail(deps, token)).outcome }));
  });

  api.page(router, {
    method: 'get', path: '/providers/staff/register', summary: 'The form for staff of a provider to ask to join it', tag: 'provider registration pages', roles: 'public',
    responses: { 200: { description: 'The page' } },
  }, (ctx) => {
    renderPage(ctx, renderer, 'provider-staff-register', 'providerAccount.staffRegister.title', { form: {}, errors: {} });
  });

  api.page(router, {
    method: 'post', path: '/providers/staff/register', summary: 'A staff member asks to join their provider', tag: 'provider registration pages', roles: 'public',
    form: providerStaffRegistrationSchema, formPage: true,
    responses: { 302: { description: 'To the page saying the request was sent', redirect: true }, 400: { description: 'The form again, each problem next to its field' }, 409: { description: 'The e-mail is already registered: the form again, saying so' }, 429: { description: 'Too many requests to join from this address: the form again, saying when to try again (Retry-After)' } },
  }, async (ctx) => {
    const form = formFields(ctx.request.body, STAFF_FIELDS);
    const lang = ctx.state.lang as PageLanguage;
    try {
      await registerProviderStaff(deps, staffInput({ ...form, passwordRepeat: form.passwordRepeat ?? '' }), ctx.ip);
    } catch (err) {
      if (!(err instanceof HttpError) || ![400, 409, 429].includes(err.status)) throw err;
      refusalStatus(ctx, err);
      renderPage(ctx, renderer, 'provider-staff-register', 'providerAccount.staffRegister.title', { form, errors: errorsByField(err.details as WordedProblem[], lang) });
      return;
    }
    ctx.redirect('/providers/staff/register/sent');
  });

  api.page(router, {
    method: 'get', path: '/providers/staff/register/sent', summary: 'The request to join was sent', tag: 'provider registration pages', roles: 'public',
    responses: { 200: { description: 'The page' } },
  }, (ctx) => {
    renderPage(ctx, renderer, 'provider-staff-register-sent', 'providerAccount.staffSent.title');
  });

  api.page(router, {
    method: 'get', path: '/provider/staff', summary: 'The users of the provider', tag: 'provider pages', roles: ['provider'],
    query: z.object({ done: text().max(20).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await staffPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/provider/staff/:userId/decision', summary: 'Approve or reject a staff member\'s request', tag: 'provider pages', roles: ['provider'],
    params: staffParams, form: staffDecisionSchema,
    responses: { 302: { description: 'To the staff page', redirect: true }, 400: { description: 'The staff page again, saying what is wrong' }, 409: { description: 'Already decided: the staff page, saying so' } },
  }, async (ctx) => {
    const params = staffParams.safeParse(ctx.params);
    const body = staffDecisionSchema.safeParse(formFields(ctx.request.body, ['decision']));
    if (!params.success) throw new HttpError(404, 'user_not_found', 'Your institution has no user with this id');
    if (!body.success) { ctx.status = 400; await staffPage(ctx, { failedId: params.data.userId, formError: problemText(fieldProblems(body.error)[0]!, ctx.state.lang) }); return; }
    try {
      await decideProviderStaff(deps, currentSession(ctx), params.data.userId, body.data.decision);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 409) throw err;
      ctx.status = 409;
      await staffPage(ctx, { failedId: params.data.userId, formError: refusalText(err, ctx.state.lang) });
      return;
    }
    ctx.redirect(`/provider/staff?done=${body.data.decision}#status`);
  });

  /** The confirmation page: the button, the outcome, or why the link does not work (400, 409, 410). */
  async function confirmationPage(ctx: Context, outcomeOf: () => Promise<{ outcome: string; token?: string }>) {
    try {
      const { outcome, token } = await outcomeOf();
      if (ctx.method === 'POST') {
        ctx.redirect(`/providers/confirm?done=${outcome}`);
        return;
      }
      renderPage(ctx, renderer, 'provider-confirm', outcome === 'ask' ? 'providerAccount.confirm.title.ask' : 'providerAccount.confirm.title', { outcome, token });
    } catch (err) {
      if (!(err instanceof HttpError) || ![400, 409, 410].includes(err.status)) throw err;
      ctx.status = err.status;
      const outcome = err.status === 410 ? 'expired' : err.status === 400 ? 'invalid' : 'refused';
      renderPage(ctx, renderer, 'provider-confirm', `providerAccount.confirm.title.${outcome}`, { outcome, message: refusalText(err, ctx.state.lang) });
    }
  }

  function registrationPage(ctx: Context, given: { form: Record<string, string>; errors: Record<string, string> }) {
    const data = keptForm(ctx, 'provider-register', given);
    // Passwords are never sent back into the page.
    const form = { ...data.form, password: '', passwordRepeat: '' };
    renderPage(ctx, renderer, 'provider-register', 'providerAccount.register.title', {
      form, errors: data.errors, hasErrors: Object.keys(data.errors).length > 0, errorList: Object.entries(data.errors).map(([field, message]) => ({ field, message })),
    });
  }

  async function staffPage(ctx: Context, extra: { failedId?: string; formError?: string }) {
    const session = currentSession(ctx);
    const staff = await listProviderStaff(deps, session);
    const done = ctx.query.done === 'approve' || ctx.query.done === 'reject' ? ctx.query.done : null;
    renderPage(ctx, renderer, 'provider-staff', 'providerAccount.staff.title', {
      isAdmin: session.providerRole === 'admin', done, formError: extra.formError ?? null,
      staff: staff.map((u) => ({ ...u, waiting: u.status === 'awaiting_approval', failed: u.id === extra.failedId })),
    });
  }
  return router;
}

function declarationOf(ctx: Context) {
  return ctx.request.files?.find((f) => f.field === 'declaration');
}

/** The staff registration, validated whole: the schema and the password rules together. */
function staffInput(body: unknown) {
  const parsed = providerStaffRegistrationSchema.safeParse(body);
  const raw = (body ?? {}) as Record<string, unknown>;
  const problems: WordedProblem[] = parsed.success ? [] : fieldProblems(parsed.error);
  if (typeof raw.password === 'string' && raw.password.length > 0) {
    const personal = [raw.firstName, raw.lastName, raw.email].map((v) => (typeof v === 'string' ? v : null));
    problems.push(...passwordProblems(raw.password, typeof raw.passwordRepeat === 'string' ? raw.passwordRepeat : undefined, personal));
  }
  if (!parsed.success || problems.length > 0) throw invalid(problems);
  return parsed.data;
}
