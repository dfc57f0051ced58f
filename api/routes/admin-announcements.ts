import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { AUDIENCES, MAX_SHOW_DAYS } from '../../domain/announcements';
import { rigaTime } from '../../domain/dates';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import {
  listAnnouncements, publishAnnouncement, restartMailing, withdrawAnnouncement, type BannerCache, type NewAnnouncement,
} from '../services/announcements';
import { text, isTextRule } from '../text-input';
import { errorsByField, fieldProblems, parseOr400 } from '../validation';
import type { ApiRegistry } from './define';
import { keptForm } from '../form-state';

const ADMIN = ['admin'] as const;

const idParams = z.object({ announcementId: z.uuid({ message: 'must be an announcement id (a UUID)' }) });

// An instant: ISO 8601 with its offset (the API), or a page's date-time field (YYYY-MM-DDTHH:MM, Riga time).
const LOCAL = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})$/;
const instant = text().trim().max(40, { message: 'must be a date and time' }).transform((v, ctx) => {
  const local = LOCAL.exec(v);
  const at = local ? rigaTime(local[1], local[2]) : /[zZ]|[+-]\d{2}:\d{2}$/.test(v) ? new Date(v) : new Date(NaN);
  if (Number.isNaN(at.getTime()) || at.getUTCFullYear() < 2000 || at.getUTCFullYear() > 2999) {
    ctx.addIssue({ code: 'custom', message: 'must be a date and time (ISO 8601 with an offset, e.g. 2026-12-10T08:00:00+02:00)', params: { rule: 'date_time' } });
    return z.NEVER;
  }
  return at;
});
const reasonField = text().trim().min(1, { message: 'is required (why: it is kept in the audit)' }).max(500, { message: 'must be at most 500 characters' });

/** An announcement as the API and the page's form give it; the rules across fields follow. */
const announcementSchema = z.object({
  titleLv: text().trim().min(1, { message: 'is required' }).max(200, { message: 'must be at most 200 characters' }),
  titleEn: text().trim().min(1, { message: 'is required' }).max(200, { message: 'must be at most 200 characters' }),
  bodyLv: text().trim().min(1, { message: 'is required' }).max(2000, { message: 'must be at most 2000 characters' }),
  bodyEn: text().trim().min(1, { message: 'is required' }).max(2000, { message: 'must be at most 2000 characters' }),
  audience: z.enum(AUDIENCES, { message: `must be one of ${AUDIENCES.join(', ')}` }),
  showsFrom: instant,
  showsUntil: instant,
  // JSON sends a boolean; the page's checkbox sends "on" when ticked and nothing otherwise.
  email: z.union([z.boolean(), z.literal('on'), z.literal('true'), z.literal('false')], { message: 'must be true or false' })
    .optional().transform((v) => v === true || v === 'on' || v === 'true'),
  reason: reasonField,
}).superRefine((v, ctx) => {
  if (!(v.showsFrom instanceof Date) || !(v.showsUntil instanceof Date)) return;
  if (v.showsUntil.getTime() <= v.showsFrom.getTime()) ctx.addIssue({ code: 'custom', path: ['showsUntil'], message: 'must be after showsFrom', params: { rule: 'after_shows_from' } });
  else if (v.showsUntil.getTime() <= Date.now()) ctx.addIssue({ code: 'custom', path: ['showsUntil'], message: 'must be in the future', params: { rule: 'in_future' } });
  else if (v.showsUntil.getTime() - v.showsFrom.getTime() > MAX_SHOW_DAYS * 86_400_000) {
    ctx.addIssue({ code: 'custom', path: ['showsUntil'], message: `must be at most ${MAX_SHOW_DAYS} days after showsFrom`, params: { rule: 'period_too_long' } });
  }
});
const reasonSchema = z.object({ reason: reasonField });

// The body as the document describes it; the handler checks it with announcementSchema, naming problems in both languages.
const announcementBody = z.object({
  titleLv: z.string().max(200), titleEn: z.string().max(200), bodyLv: z.string().max(2000), bodyEn: z.string().max(2000),
  audience: z.string().max(20).describe(`One of ${AUDIENCES.join(', ')}`),
  showsFrom: z.string().max(40).describe('ISO 8601 with offset; the banner shows from then'),
  showsUntil: z.string().max(40).describe('ISO 8601 with offset; after showsFrom, in the future, at most 366 days later'),
  email: z.boolean().optional().describe('Also e-mail it to the audience, once per address, throttled'),
  reason: z.string().max(500).describe('Why (kept in the audit)'),
});
const reasonBody = z.object({ reason: z.string().max(500).describe('Why (kept in the audit)') });

const announcementView = z.object({
  id: z.uuid(), titleLv: z.string(), titleEn: z.string(), bodyLv: z.string(), bodyEn: z.string(), audience: z.enum(AUDIENCES),
  showsFrom: z.string(), showsUntil: z.string(), email: z.boolean(), createdByName: z.string(), createdAt: z.string(),
  withdrawnAt: z.string().nullable(), withdrawnByName: z.string().nullable(), showing: z.boolean(),
  mailing: z.object({ total: z.number().int().nullable(), sent: z.number().int(), rejected: z.number().int(), finished: z.boolean() }).strict().nullable(),
}).strict();

// Field problems in both page languages: an API caller reads `words`, the page shows them next to the field.
const FIELD_WORDS: Record<string, { lv: string; en: string }> = {
  titleLv: { lv: 'Ierakstiet virsrakstu latviski (līdz 200 zīmēm).', en: 'Give the Latvian title (up to 200 characters).' },
  titleEn: { lv: 'Ierakstiet virsrakstu angliski (līdz 200 zīmēm).', en: 'Give the English title (up to 200 characters).' },
  bodyLv: { lv: 'Ierakstiet paziņojuma tekstu latviski (līdz 2000 zīmēm).', en: 'Give the Latvian text (up to 2000 characters).' },
  bodyEn: { lv: 'Ierakstiet paziņojuma tekstu angliski (līdz 2000 zīmēm).', en: 'Give the English text (up to 2000 characters).' },
  audience: { lv: 'Izvēlieties, kam paziņojums domāts.', en: 'Choose who the announcement is for.' },
  showsFrom: { lv: 'Norādiet datumu un laiku, no kura paziņojumu rāda.', en: 'Give the date and time it shows from.' },
  showsUntil: { lv: 'Norādiet datumu un laiku nākotnē pēc sākuma (ne vairāk kā 366 dienas vēlāk).', en: 'Give a date and time in the future after the start (at most 366 days later).' },
  email: { lv: 'Atzīmējiet vai neatzīmējiet e-pasta sūtīšanu.', en: 'Tick or untick the e-mail.' },
  reason: { lv: 'Norādiet iemeslu (līdz 500 zīmēm): to saglabā auditā.', en: 'Give the reason (up to 500 characters): the audit keeps it.' },
};
// Each problem with its words and its rule's own name where the schema gives one (after_shows_from, in_future, ...).
function worded(error: z.ZodError): WordedProblem[] {
  return fieldProblems(error).map((p, i) => {
    const rule = (error.issues[i] as { params?: { rule?: unknown } }).params?.rule;
    const named = p.rule === 'custom' && typeof rule === 'string' ? { ...p, rule } : p;
    return FIELD_WORDS[p.field] && !isTextRule(p.rule) ? { ...named, words: FIELD_WORDS[p.field] } : named;
  });
}
function invalid(error: z.ZodError): HttpError {
  const problems = worded(error);
  return new HttpError(400, 'invalid_request', `Invalid body: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
}

/** The agency's announcements: the administrator's page and JSON API (publish, withdraw, e-mail again, progress). */
export function adminAnnouncementRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer, banner: BannerCache): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/admin/announcements', tag: 'admin', roles: [...ADMIN],
    summary: 'The announcements, newest first, with the progress of their e-mails (sent of the total)',
    responses: { 200: { description: 'The announcements', schema: z.object({ announcements: z.array(announcementView) }) } },
  }, async (ctx) => {
    ctx.body = { announcements: await listAnnouncements(deps.db) };
  });

  api.add(router, {
    method: 'post', path: '/api/admin/announcements', tag: 'admin', roles: [...ADMIN], body: announcementBody,
    summary: 'Publish an announcement for an audience and period, optionally e-mailed to the audience once per address (audited with the reason)',
    responses: { 201: { description: 'The announcement', schema: announcementView } },
  }, async (ctx) => {
    const parsed = announcementSchema.safeParse(ctx.request.body ?? {});
    if (!parsed.success) throw invalid(parsed.error);
    ctx.status = 201;
    ctx.body = await publishAnnouncement(deps, currentSession(ctx), parsed.data as NewAnnouncement, banner);
  });

  api.add(router, {
    method: 'post', path: '/api/admin/announcements/:announcementId/withdraw', tag: 'admin', roles: [...ADMIN], params: idParams, body: reasonBody,
    summary: 'Withdraw an announcement: off the pages, its e-mails stop (audited with before, after and the reason)',
    responses: { 200: { description: 'The announcement', schema: announcementView }, 404: { description: 'No such announcement' }, 409: { description: 'Already withdrawn' } },
  }, async (ctx, { params }) => {
    const parsed = reasonSchema.safeParse(ctx.request.body ?? {});
    if (!parsed.success) throw invalid(parsed.error);
    ctx.body = await withdrawAnnouncement(deps, currentSession(ctx), params.announcementId, parsed.data.reason, banner);
  });

  api.add(router, {
    method: 'post', path: '/api/admin/announcements/:announcementId/mailing', tag: 'admin', roles: [...ADMIN], params: idParams, body: reasonBody,
    summary: 'E-mail the announcement (again): a new run sends only to addresses that have no copy yet (audited)',
    responses: {
      202: { description: 'The mailing started', schema: announcementView }, 404: { description: 'No such announcement' },
      409: { description: 'A mailing of it is running, or it is withdrawn' },
    },
  }, async (ctx, { params }) => {
    const parsed = reasonSchema.safeParse(ctx.request.body ?? {});
    if (!parsed.success) throw invalid(parsed.error);
    ctx.status = 202;
    ctx.body = await restartMailing(deps, currentSession(ctx), params.announcementId, parsed.data.reason);
  });

  // Pages.
  api.page(router, {
    method: 'get', path: '/admin/announcements', summary: 'The announcements with their e-mails\' progress; publish a new one',
    tag: 'console pages', roles: [...ADMIN], query: z.object({ done: z.enum(['published', 'withdrawn', 'mailing']).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await page(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/admin/announcements', summary: 'Publish an announcement (audited)', tag: 'console pages', roles: [...ADMIN],
    form: announcementBody.extend({ email: z.literal('on').optional() }), formPage: true,
    responses: { 302: { description: 'Back to the page', redirect: true }, 400: { description: 'The page again, each problem next to its field' } },
  }, async (ctx) => {
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const parsed = announcementSchema.safeParse(form);
    if (!parsed.success) {
      ctx.status = 400;
      await page(ctx, { form, errors: errorsByField(worded(parsed.error), ctx.state.lang) });
      return;
    }
    await publishAnnouncement(deps, currentSession(ctx), parsed.data as NewAnnouncement, banner);
    ctx.redirect('/admin/announcements?done=published');
  });

  for (const action of ['withdraw', 'mailing'] as const) {
    api.page(router, {
      method: 'post', path: `/admin/announcements/:announcementId/${action}`, tag: 'console pages', roles: [...ADMIN], params: idParams, form: reasonBody, formPage: true,
      summary: action === 'withdraw' ? 'Withdraw an announcement (audited)' : 'E-mail an announcement again (audited)',
      responses: {
        302: { description: 'Back to the page', redirect: true }, 400: { description: 'The page again, the reason missing' },
        409: { description: 'The page, saying why not (withdrawn already, or being e-mailed)' },
      },
    }, async (ctx) => {
      const { announcementId: id } = parseOr400(idParams, ctx.params, 'params');
      const form = (ctx.request.body ?? {}) as Record<string, string>;
      const parsed = reasonSchema.safeParse(form);
      if (!parsed.success) {
        ctx.status = 400;
        await page(ctx, { failed: id, errors: errorsByField(worded(parsed.error), ctx.state.lang) });
        return;
      }
      try {
        if (action === 'withdraw') await withdrawAnnouncement(deps, currentSession(ctx), id, parsed.data.reason, banner);
        else await restartMailing(deps, currentSession(ctx), id, parsed.data.reason);
      } catch (err) {
        if (!(err instanceof HttpError) || err.status !== 409) throw err;
        ctx.status = 409;
        await page(ctx, { failed: id, errors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
        return;
      }
      ctx.redirect(`/admin/announcements?done=${action === 'withdraw' ? 'withdrawn' : 'mailing'}`);
    });
  }

  async function page(ctx: Context, given: { failed?: string; form?: Record<string, string>; errors?: Record<string, string> }) {
    const extra = keptForm(ctx, 'announcements', given);
    const lang = ctx.state.lang as 'lv' | 'en';
    const done = typeof ctx.query.done === 'string' && ['published', 'withdrawn', 'mailing'].includes(ctx.query.done) ? `notices.done.${ctx.query.done}` : null;
    const announcements = (await listAnnouncements(deps.db)).map((a) => ({
      ...a, title: lang === 'en' ? a.titleEn : a.titleLv, body: lang === 'en' ? a.bodyEn : a.bodyLv,
      failed: extra.failed === a.id, errors: extra.failed === a.id ? extra.errors : undefined,
      // Refreshing the page shows the progress; the e-mail goes on whether or not anyone looks.
      underway: a.mailing !== null && !a.mailing.finished && !a.withdrawnAt,
    }));
    renderPage(ctx, renderer, 'announcements', 'notices.title', {
      done, announcements, audiences: AUDIENCES,
      form: extra.failed ? {} : extra.form ?? { audience: 'everyone' }, errors: extra.failed ? {} : extra.errors ?? {},
      refreshSeconds: announcements.some((a) => a.underway) ? 5 : null,
    });
  }

  return router;
}
