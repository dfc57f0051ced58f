import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { TERMS_ROLES } from '../../lib/sessions';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { acceptCurrentTerms, createTermsVersion, currentTerms, listTerms } from '../services/terms';
import { text, isTextRule } from '../text-input';
import { errorsByField, fieldProblems } from '../validation';
import { safeNext } from './auth';
import type { ApiRegistry } from './define';

const ADMIN = ['admin'] as const;

const versionSchema = z.object({
  version: z.string(), textLv: z.string(), textEn: z.string(), effectiveFrom: z.string(), initial: z.boolean(),
  createdByName: z.string().nullable(), reason: z.string(), createdAt: z.string(),
}).strict();

const acceptanceSchema = z.object({ version: text().max(40) }).strict();

/** A new version: a name such as 2026-12, both texts, the effective date (today or later) and why. */
const newVersionSchema = z.object({
  version: text().regex(/^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$/, { message: 'must be 1 to 40 letters, digits, dots, dashes or underscores, such as 2026-12' }),
  textLv: text().trim().min(20, { message: 'must be the full text (at least 20 characters)' }).max(200_000, { message: 'must be at most 200000 characters' }),
  textEn: text().trim().min(20, { message: 'must be the full text (at least 20 characters)' }).max(200_000, { message: 'must be at most 200000 characters' }),
  effectiveFrom: z.iso.date({ message: 'must be a date, YYYY-MM-DD' }),
  reason: text().trim().min(5, { message: 'must say why (at least 5 characters)' }).max(1000, { message: 'must be at most 1000 characters' }),
}).strict();

// Field problems in both page languages: an API caller reads `words`, the page shows them next to the field.
const FIELD_WORDS: Record<string, { lv: string; en: string }> = {
  version: { lv: 'Norādiet versijas nosaukumu: 1–40 burti, cipari, punkti vai domuzīmes, piemēram, 2026-12.', en: 'Give the version a name: 1–40 letters, digits, dots or dashes, such as 2026-12.' },
  textLv: { lv: 'Ievadiet pilnu noteikumu tekstu latviešu valodā (vismaz 20 rakstzīmes).', en: 'Enter the full text in Latvian (at least 20 characters).' },
  textEn: { lv: 'Ievadiet pilnu noteikumu tekstu angļu valodā (vismaz 20 rakstzīmes).', en: 'Enter the full text in English (at least 20 characters).' },
  effectiveFrom: { lv: 'Norādiet spēkā stāšanās datumu (GGGG-MM-DD), šodienu vai vēlāku.', en: 'Give the effective date (YYYY-MM-DD), today or later.' },
  reason: { lv: 'Norādiet, kāpēc noteikumi mainās (vismaz 5 rakstzīmes).', en: 'Say why the terms change (at least 5 characters).' },
};
function worded(problems: WordedProblem[]): WordedProblem[] {
  return problems.map((p) => (FIELD_WORDS[p.field] && !isTextRule(p.rule) ? { ...p, words: FIELD_WORDS[p.field] } : p));
}
function invalid(problems: WordedProblem[]): HttpError {
  return new HttpError(400, 'invalid_request', `Invalid body: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
}

// The text is kept as written, paragraphs separated by blank lines; the page shows each as one paragraph.
function paragraphs(text: string): string[] {
  return text.split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p.length > 0);
}

/** Where each role lands after accepting the terms when it came from nowhere in particular. */
const HOME: Record<string, string> = { learner: '/learner', coordinator: '/coordinator', provider: '/provider' };

/**
 * The terms of use: the public page of the version in force, its acceptance by learners, coordinators and provider
 * users (the only thing they can do until they accept it), and the administrators' versions page and API.
 */
export function termsRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/terms/current', tag: 'public', roles: 'public',
    summary: 'The terms of use in force: version, effective date and text in Latvian and English',
    responses: { 200: { description: 'The version in force', schema: versionSchema.pick({ version: true, effectiveFrom: true, textLv: true, textEn: true }) } },
  }, async (ctx) => {
    const { version, effectiveFrom, textLv, textEn } = await currentTerms(deps.db);
    ctx.body = { version, effectiveFrom, textLv, textEn };
  });

  api.add(router, {
    method: 'post', path: '/api/terms/acceptances', tag: 'account', roles: [...TERMS_ROLES], beforeTerms: true, body: acceptanceSchema,
    summary: 'Accept the terms of use in force (the version read); recorded with the time and audited',
    responses: {
      201: { description: 'Accepted (again: the first acceptance stands)', schema: z.object({ version: z.string() }) },
      409: { description: 'That version is not the one in force (terms_version_changed, naming it)' },
    },
  }, async (ctx, { body }) => {
    ctx.status = 201;
    ctx.body = await acceptCurrentTerms(deps.db, currentSession(ctx), body.version);
  });

  api.add(router, {
    method: 'get', path: '/api/admin/terms', tag: 'admin', roles: [...ADMIN],
    summary: 'Every version of the terms of use, the latest effective date first, and the one in force',
    responses: { 200: { description: 'The versions', schema: z.object({ current: z.string(), versions: z.array(versionSchema) }) } },
  }, async (ctx) => {
    const [current, versions] = await Promise.all([currentTerms(deps.db), listTerms(deps.db)]);
    ctx.body = { current: current.version, versions };
  });

  api.add(router, {
    method: 'post', path: '/api/admin/terms', tag: 'admin', roles: [...ADMIN],
    body: z.object({
      version: z.string().max(40).describe('A name such as 2026-12'), textLv: z.string().max(200_000), textEn: z.string().max(200_000),
      effectiveFrom: z.string().max(10).describe('YYYY-MM-DD, today or later (Riga time)'), reason: z.string().max(1000).describe('Why the terms change (audited)'),
    }),
    summary: 'Publish a new version of the terms of use (audited with the reason); from its effective date everyone accepts it at the next request',
    responses: {
      201: { description: 'The new version', schema: versionSchema },
      409: { description: 'The version name or the effective date is taken (terms_version_exists)' },
    },
  }, async (ctx) => {
    const parsed = newVersionSchema.safeParse(ctx.request.body ?? {});
    if (!parsed.success) throw invalid(worded(fieldProblems(parsed.error)));
    ctx.status = 201;
    ctx.body = await createTermsVersion(deps.db, currentSession(ctx), parsed.data);
  });

  // Pages.
  api.page(router, {
    method: 'get', path: '/terms', summary: 'The terms of use in force, in the page\'s language', tag: 'pages', roles: 'public',
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const terms = await currentTerms(deps.db);
    renderPage(ctx, renderer, 'terms', 'terms.title', { terms, paragraphs: paragraphs(ctx.state.lang === 'en' ? terms.textEn : terms.textLv) });
  });

  api.page(router, {
    method: 'get', path: '/terms/accept', summary: 'Read and accept the terms of use in force (learners, coordinators, provider users)',
    tag: 'account', roles: [...TERMS_ROLES], beforeTerms: true, query: z.object({ next: z.string().max(2000).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await acceptancePage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/terms/accept', summary: 'Accept the terms of use in force (recorded with the time, audited)',
    tag: 'account', roles: [...TERMS_ROLES], beforeTerms: true, form: z.object({ version: z.string().max(40), accept: z.literal('on'), next: z.string().max(2000).optional() }),
    formPage: true,
    responses: {
      302: { description: 'Where the person was going', redirect: true },
      400: { description: 'The page again: the box was not ticked' },
      409: { description: 'Another version came into force meanwhile: the page again with it' },
    },
  }, async (ctx) => {
    const form = (ctx.request.body ?? {}) as Record<string, unknown>;
    const next = safeNext(form.next, HOME[currentSession(ctx).role] ?? '/');
    if (form.accept !== 'on' && form.accept !== 'true') {
      ctx.status = 400;
      const words = { lv: 'Atzīmējiet, ka pieņemat lietošanas noteikumus.', en: 'Tick the box to accept the terms of use.' };
      await acceptancePage(ctx, { next, errors: errorsByField([{ field: 'accept', rule: 'required', message: words.en, words }], ctx.state.lang) });
      return;
    }
    try {
      await acceptCurrentTerms(deps.db, currentSession(ctx), typeof form.version === 'string' ? form.version : '');
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 409) throw err;
      ctx.status = 409;
      await acceptancePage(ctx, { next, errors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
      return;
    }
    ctx.redirect(next);
  });

  api.page(router, {
    method: 'get', path: '/admin/terms', summary: 'The versions of the terms of use; publish a new one',
    tag: 'console pages', roles: [...ADMIN], query: z.object({ done: z.enum(['created']).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await adminPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/admin/terms', summary: 'Publish a new version of the terms of use (audited with the reason)', tag: 'console pages', roles: [...ADMIN],
    form: newVersionSchema, formPage: true,
    responses: {
      302: { description: 'Back to the page', redirect: true }, 400: { description: 'The page again, each problem next to its field' },
      409: { description: 'The name or the date is taken: the page, saying so' },
    },
  }, async (ctx) => {
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const parsed = newVersionSchema.safeParse(form);
    if (!parsed.success) {
      ctx.status = 400;
      await adminPage(ctx, { form, errors: errorsByField(worded(fieldProblems(parsed.error)), ctx.state.lang) });
      return;
    }
    try {
      await createTermsVersion(deps.db, currentSession(ctx), parsed.data);
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 400 && err.status !== 409)) throw err;
      ctx.status = err.status;
      await adminPage(ctx, { form, errors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
      return;
    }
    ctx.redirect('/admin/terms?done=created');
  });

  async function acceptancePage(ctx: Context, extra: { next?: string; errors?: Record<string, string> }) {
    const terms = await currentTerms(deps.db);
    const session = currentSession(ctx);
    renderPage(ctx, renderer, 'terms-accept', 'terms.accept.title', {
      terms, paragraphs: paragraphs(ctx.state.lang === 'en' ? terms.textEn : terms.textLv),
      next: extra.next ?? safeNext(ctx.query.next, HOME[session.role] ?? '/'), pending: Boolean(session.termsPending), errors: extra.errors,
    });
  }

  async function adminPage(ctx: Context, extra: { form?: Record<string, string>; errors?: Record<string, string> }) {
    const [current, versions] = await Promise.all([currentTerms(deps.db), listTerms(deps.db)]);
    renderPage(ctx, renderer, 'terms-admin', 'terms.admin.title', {
      done: ctx.query.done === 'created', current: current.version,
      versions: versions.map((v) => ({ ...v, isCurrent: v.version === current.version, upcoming: v.effectiveFrom > current.effectiveFrom })),
      form: extra.form ?? {}, errors: extra.errors,
    });
  }

  return router;
}
