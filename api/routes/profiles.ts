import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { registrationSchema } from '../schemas';
import { changeLearnerProfile, changeProviderContact, learnerProfile, providerContact } from '../services/profiles';
import { errorsByField, fieldProblems, formFields } from '../validation';
import type { ApiRegistry } from './define';
import { isTextRule } from '../text-input';

// The same rules as at registration, so an address accepted once is accepted again.
const { email, phone, language } = registrationSchema.shape;

/** A learner's change of their contact data: any of e-mail, phone (empty clears it) and language. */
const learnerChangeSchema = z.object({ email: email.optional(), phone, language: language.optional() }).strict();
/** A provider's change of its contact data: e-mail, phone (empty clears it), or both. */
const providerChangeSchema = z.object({ email: email.optional(), phone }).strict();

const LEARNER_FIELDS = ['email', 'phone', 'language'] as const;
const PROVIDER_FIELDS = ['email', 'phone'] as const;

const learnerProfileSchema = z.object({ email: z.string(), phone: z.string().nullable(), language: z.enum(['lv', 'en']) }).strict();
const providerContactSchema = z.object({ email: z.string().nullable(), phone: z.string().nullable() }).strict();

// Field problems in both page languages: an API caller reads `words`, the page shows them next to the field.
const FIELD_WORDS: Record<string, { lv: string; en: string }> = {
  email: { lv: 'Norādiet e-pasta adresi, piemēram, vards@example.lv.', en: 'Give an e-mail address such as name@example.lv.' },
  phone: { lv: 'Norādiet tālruņa numuru ar 8–20 cipariem (var sākt ar +) vai atstājiet tukšu.', en: 'Give a phone number of 8 to 20 digits (may start with +), or leave it empty.' },
  language: { lv: 'Izvēlieties latviešu vai angļu valodu.', en: 'Choose Latvian or English.' },
  '(body)': { lv: 'Norādiet vismaz vienu lauku, ko mainīt.', en: 'Give at least one field to change.' },
};
function checked<T>(schema: z.ZodType<T>, input: unknown, fields: readonly string[]): { data: T } | { problems: WordedProblem[] } {
  const body = (input ?? {}) as Record<string, unknown>;
  const parsed = schema.safeParse(body);
  const problems = parsed.success ? [] : fieldProblems(parsed.error);
  if (typeof body === 'object' && !fields.some((f) => f in body)) problems.push({ field: '(body)', rule: 'required', message: `give at least one of ${fields.join(', ')}` });
  if (parsed.success && problems.length === 0) return { data: parsed.data };
  return { problems: problems.map((p) => (FIELD_WORDS[p.field] && !isTextRule(p.rule) ? { ...p, words: FIELD_WORDS[p.field] } : p)) };
}
function invalid(problems: WordedProblem[]): HttpError {
  return new HttpError(400, 'invalid_request', `Invalid body: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
}

/** Profiles: learners keep their e-mail, phone and language current; providers their contact data (page + API). */
export function profileRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/learner/profile', tag: 'learner', roles: ['learner'],
    summary: 'The learner\'s contact data: e-mail, phone, language',
    responses: { 200: { description: 'The profile', schema: learnerProfileSchema }, 404: { description: 'Not registered yet (profile_not_found)' } },
  }, async (ctx) => {
    ctx.body = await learnerProfile(deps.db, currentSession(ctx));
  });

  api.add(router, {
    method: 'post', path: '/api/learner/profile', tag: 'learner', roles: ['learner'],
    body: z.object({ email: z.string().max(254).optional(), phone: z.string().max(30).optional().describe('Empty clears it'), language: z.string().max(2).optional() }),
    summary: 'Change the learner\'s e-mail, phone or language: noted in the case history, audited; the next e-mail goes to the new address',
    responses: { 200: { description: 'The profile as it is now', schema: learnerProfileSchema }, 404: { description: 'Not registered yet (profile_not_found)' } },
  }, async (ctx) => {
    const result = checked(learnerChangeSchema, ctx.request.body, LEARNER_FIELDS);
    if ('problems' in result) throw invalid(result.problems);
    ctx.body = await changeLearnerProfile(deps.db, currentSession(ctx), withoutEmptyPhone(result.data, ctx.request.body));
  });

  api.add(router, {
    method: 'get', path: '/api/provider/contact', tag: 'provider', roles: ['provider'],
    summary: 'The provider\'s contact data: e-mail and phone',
    responses: { 200: { description: 'The contact data', schema: providerContactSchema } },
  }, async (ctx) => {
    ctx.body = await providerContact(deps.db, currentSession(ctx));
  });

  api.add(router, {
    method: 'post', path: '/api/provider/contact', tag: 'provider', roles: ['provider'],
    body: z.object({ email: z.string().max(254).optional(), phone: z.string().max(30).optional().describe('Empty clears it') }),
    summary: 'Change the provider\'s e-mail or phone (its administrator only): noted in the provider\'s history, audited',
    responses: {
      200: { description: 'The contact data as it is now', schema: providerContactSchema },
      403: { description: 'Only the provider\'s administrator may change it (admin_only)' },
    },
  }, async (ctx) => {
    const result = checked(providerChangeSchema, ctx.request.body, PROVIDER_FIELDS);
    if ('problems' in result) throw invalid(result.problems);
    ctx.body = await changeProviderContact(deps.db, currentSession(ctx), withoutEmptyPhone(result.data, ctx.request.body));
  });

  // Pages.
  api.page(router, {
    method: 'get', path: '/account/profile', summary: 'Your contact data: e-mail, phone and language', tag: 'account', roles: ['learner'],
    query: z.object({ done: z.enum(['saved']).optional() }),
    responses: { 200: { description: 'The page (before the first registration, where the contact data is given)' } },
  }, async (ctx) => {
    await learnerPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/account/profile', summary: 'Change your e-mail, phone and language (noted in your case history)', tag: 'account', roles: ['learner'],
    form: learnerChangeSchema, formPage: true,
    responses: {
      302: { description: 'Back to the page', redirect: true }, 400: { description: 'The page again, each problem next to its field' },
      404: { description: 'Not registered yet: there is no profile to change' },
    },
  }, async (ctx) => {
    const form = formFields(ctx.request.body, LEARNER_FIELDS);
    const result = checked(learnerChangeSchema, form, LEARNER_FIELDS);
    if ('problems' in result) {
      ctx.status = 400;
      await learnerPage(ctx, { form, errors: errorsByField(result.problems, ctx.state.lang) });
      return;
    }
    await changeLearnerProfile(deps.db, currentSession(ctx), result.data);
    ctx.redirect('/account/profile?done=saved');
  });

  api.page(router, {
    method: 'get', path: '/provider/contact', summary: 'The institution\'s contact data (its administrator changes it)', tag: 'provider pages', roles: ['provider'],
    query: z.object({ done: z.enum(['saved']).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await providerPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/provider/contact', summary: 'Change the institution\'s e-mail and phone (its administrator only; noted in its history)',
    tag: 'provider pages', roles: ['provider'], form: providerChangeSchema, formPage: true,
    responses: {
      302: { description: 'Back to the page', redirect: true }, 400: { description: 'The page again, each problem next to its field' },
      403: { description: 'Only the institution\'s administrator may change it' },
    },
  }, async (ctx) => {
    const form = formFields(ctx.request.body, PROVIDER_FIELDS);
    const result = checked(providerChangeSchema, form, PROVIDER_FIELDS);
    if ('problems' in result) {
      ctx.status = 400;
      await providerPage(ctx, { form, errors: errorsByField(result.problems, ctx.state.lang) });
      return;
    }
    await changeProviderContact(deps.db, currentSession(ctx), result.data);
    ctx.redirect('/provider/contact?done=saved');
  });

  async function learnerPage(ctx: Context, extra: { form?: Record<string, string>; errors?: Record<string, string> }) {
    const profile = await learnerProfile(deps.db, currentSession(ctx)).catch((err: unknown) => {
      if (err instanceof HttpError && err.status === 404) return null;
      throw err;
    });
    // Before the first registration there is nothing to change: the page says where the data is given.
    if (!profile) {
      renderPage(ctx, renderer, 'profile', 'profile.title', { none: true });
      return;
    }
    renderPage(ctx, renderer, 'profile', 'profile.title', {
      done: ctx.query.done === 'saved', form: { email: profile.email, phone: profile.phone ?? '', language: profile.language, ...extra.form }, errors: extra.errors,
    });
  }

  async function providerPage(ctx: Context, extra: { form?: Record<string, string>; errors?: Record<string, string> }) {
    const contact = await providerContact(deps.db, currentSession(ctx));
    renderPage(ctx, renderer, 'provider-contact', 'providerContact.title', {
      done: ctx.query.done === 'saved', isAdmin: currentSession(ctx).providerRole === 'admin',
      form: { email: contact.email ?? '', phone: contact.phone ?? '', ...extra.form }, errors: extra.errors,
    });
  }

  return router;
}

// The phone's schema turns an absent field into null ("no phone"); only a phone the caller sent may change it.
function withoutEmptyPhone<T extends { phone: string | null }>(data: T, body: unknown): Omit<T, 'phone'> & { phone?: string | null } {
  if (body && typeof body === 'object' && 'phone' in body) return data;
  const { phone: _phone, ...rest } = data;
  return rest;
}
