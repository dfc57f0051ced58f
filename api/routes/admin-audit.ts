import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Renderer } from '../../web/render';
import { translate, type PageLanguage } from '../../web/render';
import { rigaDate } from '../../domain/dates';
import { attachment } from '../content-disposition';
import { toCsv } from '../csv';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { currentSession } from '../middleware/auth';
import { wantsHtml } from '../middleware/errors';
import { renderPage } from '../pages';
import { calendarDay, personCode } from '../schemas';
import { auditUserAction } from '../services/audit';
import {
  AUDIT_PAGE_SIZE, recentPurgeRuns, searchAudit, sopaQueriesOf, type AuditFilter, type SopaQueryRow,
} from '../services/audit-log';
import { isTextRule, text } from '../text-input';
import { errorsByField, fieldProblems } from '../validation';
import type { ApiRegistry } from './define';

const ADMIN = ['admin'] as const;

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(emptyAsUndefined, schema.optional());

// A day of the audit's period: a real calendar day within years the audit can hold (the instants of a day far
// outside them are not representable as dates).
const periodDay = (what: string) => calendarDay(what)
  .refine((v) => v >= '2000-01-01' && v <= '2999-12-31', { message: 'must be between 2000-01-01 and 2999-12-31' });

const filterFields = {
  personCode: optional(personCode()),
  operator: optional(text().trim().min(1).max(200, { message: 'must be at most 200 characters' })),
  municipality: optional(text().trim().min(1).max(100, { message: 'must be at most 100 characters' })),
  from: optional(periodDay('(the first day of the period, Riga time)')),
  to: optional(periodDay('(the last day of the period, Riga time)')),
  lang: text().max(10).optional(),
};

// A period ends on or after the day it starts.
const periodInOrder = (value: { from?: string; to?: string }, ctx: z.RefinementCtx) => {
  if (value.from && value.to && value.from > value.to) ctx.addIssue({ code: 'custom', path: ['to'], message: PERIOD_MESSAGE });
};
const PERIOD_MESSAGE = 'must not be before from (the period ends on or after the day it starts)';

/** The audit search's filters, as query parameters (empty values mean "any"). */
export const auditSearchQuery = z.object({
  ...filterFields,
  page: optional(z.coerce.number({ message: 'must be a page number (1 or more)' }).int({ message: 'must be a page number (1 or more)' })
    .min(1, { message: 'must be a page number (1 or more)' }).max(10_000, { message: 'must be at most 10000' })),
}).strict().superRefine(periodInOrder);

/** The SOPA export's query: one municipality and a period, all required. */
export const sopaExportQuery = z.object({
  municipality: text().trim().min(1, { message: 'is required' }).max(100, { message: 'must be at most 100 characters' }),
  from: periodDay('(the first day of the period, Riga time)'),
  to: periodDay('(the last day of the period, Riga time)'),
  lang: text().max(10).optional(),
}).strict().superRefine(periodInOrder);

const entrySchema = z.object({
  id: z.string(), at: z.iso.datetime(), actorRole: z.string(), actorId: z.string().nullable(), actorName: z.string().nullable(),
  action: z.string().describe('e.g. login.succeeded, login.failed, task.view, case.view, document.download, sopa.get-statuses, audit.export'),
  subjectPersonCode: z.string().nullable(), caseId: z.string().nullable(),
  municipality: z.string().nullable().describe("A registry query's municipality: the person's declared one, or the coordinator's"),
  purpose: z.string(), result: z.record(z.string(), z.unknown()), keepUntil: z.string().describe('Kept through this Riga day, then purged'),
});
const purgeRunSchema = z.object({
  finishedAt: z.iso.datetime(), expiredBefore: z.string(), auditRemoved: z.number().int(), registryStatsRemoved: z.number().int(),
});

/** The administrators' audit page: search, the SOPA export of one municipality, the purge's runs; and the JSON API. */
export function adminAuditRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/admin/audit', tag: 'admin', roles: [...ADMIN], query: auditSearchQuery,
    summary: 'The audit, newest first, by person (person code), operator (id or name), municipality and period (Riga days); the search is audited',
    responses: {
      200: { description: 'A page of audit rows', schema: z.object({ entries: z.array(entrySchema), page: z.number().int(), pageSize: z.number().int(), hasNext: z.boolean() }) },
      400: { description: 'A filter is wrong: the details name the field and the rule, in Latvian and English' },
    },
  }, async (ctx, { query }) => {
    const { page, lang: _lang, ...filter } = query;
    await auditSearch(ctx, filter);
    ctx.body = await searchAudit(deps.db, filter, page ?? 1);
  });

  api.add(router, {
    method: 'get', path: '/api/admin/audit/purges', tag: 'admin', roles: [...ADMIN],
    summary: "The audit purge's last 10 runs: when, and how many audit rows and registry call counts each removed",
    responses: { 200: { description: 'Runs, newest first', schema: z.object({ runs: z.array(purgeRunSchema) }) } },
  }, async (ctx) => {
    ctx.body = { runs: await recentPurgeRuns(deps.db) };
  });

  // Pages.
  api.page(router, {
    method: 'get', path: '/admin/audit', summary: 'The audit: search, the SOPA export of one municipality, the purge\'s runs', tag: 'console pages',
    roles: [...ADMIN], query: auditSearchQuery, formPage: true,
    responses: { 200: { description: 'The page' }, 400: { description: 'A filter is wrong: the page says which, next to it' } },
  }, async (ctx) => {
    const lang = ctx.state.lang as PageLanguage;
    const parsed = parseFilters(auditSearchQuery, ctx.query);
    if (!parsed.ok) {
      ctx.status = 400;
      await auditPage(ctx, { errors: errorsByField(parsed.problems, lang) });
      return;
    }
    const { page = 1, lang: _lang, ...filter } = parsed.data;
    await auditSearch(ctx, filter);
    const result = await searchAudit(deps.db, filter, page);
    const link = (n: number) => `/admin/audit?${new URLSearchParams({ ...stringParams(ctx.query), page: String(n) })}`;
    await auditPage(ctx, {
      ...result, searched: true,
      entries: result.entries.map((e) => ({ ...e, resultText: JSON.stringify(e.result) })),
      prevUrl: page > 1 ? link(page - 1) : null, nextUrl: result.hasNext ? link(page + 1) : null,
    });
  });

  api.page(router, {
    method: 'get', path: '/admin/audit/sopa-export', tag: 'console pages', roles: [...ADMIN], query: sopaExportQuery, formPage: true,
    summary: "One municipality's SOPA queries in a period as CSV (UTF-8 with BOM, semicolons), for its audit request; the export is audited",
    responses: {
      200: { description: 'The CSV file, as an attachment', contentType: 'text/csv' },
      400: { description: 'A field is wrong or missing: the audit page says which, next to it' },
    },
  }, async (ctx) => {
    const lang = ctx.state.lang as PageLanguage;
    const parsed = parseFilters(sopaExportQuery, ctx.query);
    if (!parsed.ok) {
      if (!wantsHtml(ctx)) throw invalidQuery(parsed.problems);
      ctx.status = 400;
      await auditPage(ctx, { exportForm: stringParams(ctx.query), exportErrors: errorsByField(parsed.problems, lang) });
      return;
    }
    const { municipality, from, to } = parsed.data;
    const rows = await sopaQueriesOf(deps.db, { municipality, from, to });
    // Who gave whom which municipality's queries is itself an access to personal data: audited.
    await auditUserAction(deps.db, currentSession(ctx), {
      action: 'audit.export', purpose: `SOPA queries of ${municipality} for its audit request (seed 002 § 3.3)`,
      result: { export: 'sopa-queries', municipality, from, to, rows: rows.length },
    });
    ctx.set('content-disposition', attachment(`sopa-audit-${municipality}-${from}-${to}.csv`));
    ctx.set('cache-control', 'private, no-store');
    ctx.type = 'text/csv; charset=utf-8';
    ctx.body = sopaCsv(lang, rows);
  });

  // The search of the audit is audited too (with whose person code, when it names one).
  async function auditSearch(ctx: Context, filter: AuditFilter) {
    const { personCode: code, ...rest } = filter;
    await auditUserAction(deps.db, currentSession(ctx), {
      action: 'audit.search', purpose: 'audit search', subjectPersonCode: code ?? null,
      result: { filter: Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) },
    });
  }

  async function auditPage(ctx: Context, extra: Record<string, unknown>) {
    const runs = await recentPurgeRuns(deps.db);
    const today = rigaDate(new Date());
    renderPage(ctx, renderer, 'audit', 'audit.title', {
      filter: stringParams(ctx.query), pageSize: AUDIT_PAGE_SIZE, runs,
      exportForm: { from: `${today.slice(0, 8)}01`, to: today },
      ...extra,
    });
  }

  return router;
}

/** Parses query filters; a problem gets the words of both page languages (audit.invalid.<field>). */
function parseFilters<T>(schema: z.ZodType<T>, query: unknown): { ok: true; data: T } | { ok: false; problems: WordedProblem[] } {
  const parsed = schema.safeParse(query);
  return parsed.success ? { ok: true, data: parsed.data } : { ok: false, problems: fieldProblems(parsed.error).map(worded) };
}

const FIELDS = ['personCode', 'operator', 'municipality', 'from', 'to', 'page'];

// A problem with the words of both languages: the field's own rule (audit.invalid.<field>), or the period rule.
function worded(problem: WordedProblem): WordedProblem {
  if (isTextRule(problem.rule)) return problem;
  const key = problem.message === PERIOD_MESSAGE ? 'audit.invalid.period' : FIELDS.includes(problem.field) ? `audit.invalid.${problem.field}` : 'audit.invalid.unknown';
  const words = { lv: translate('lv', key, { field: problem.field }), en: translate('en', key, { field: problem.field }) };
  return { ...problem, message: words.en, words };
}

/** The API's 400 for bad filters: English message, details naming each field and rule with both languages' words. */
function invalidQuery(problems: WordedProblem[]): HttpError {
  return new HttpError(400, 'invalid_request', `Invalid query: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
}

/**
 * The CSV of a municipality's SOPA queries, with what the agreement makes traceable: when, the operator (person
 * code, name: the identity SOPA received), whose code was asked, for which period and purpose, what came back and
 * from which municipality (its registration number), and the case.
 */
function sopaCsv(lang: PageLanguage, rows: SopaQueryRow[]): string {
  const header = ['at', 'operatorPersonCode', 'operatorName', 'operatorRole', 'personCode', 'dateFrom', 'dateTill', 'purpose', 'result', 'statusMunicipalities', 'municipality', 'serviceCaseId']
    .map((column) => translate(lang, `audit.csv.${column}`));
  return toCsv(header, rows.map((r) => {
    const result = r.result as { dateFrom?: string; dateTill?: string; refused?: boolean; statuses?: string[]; municipalities?: string[] };
    const outcome = result.refused ? translate(lang, 'audit.csv.refused')
      : (result.statuses ?? []).length === 0 ? translate(lang, 'audit.csv.noStatus') : (result.statuses ?? []).join(', ');
    return [
      formatRigaSeconds(r.at), r.actorId, r.actorName, r.actorRole, r.subjectPersonCode, result.dateFrom ?? '', result.dateTill ?? '', r.purpose,
      outcome, (result.municipalities ?? []).join(', '), r.municipality, r.serviceCaseId,
    ];
  }));
}

const rigaSeconds = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Europe/Riga', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});

// "2026-12-05 14:03:07", Riga time: sorts as text and reads the same in every language.
function formatRigaSeconds(iso: string): string {
  return rigaSeconds.format(new Date(iso));
}

function stringParams(query: Context['query']): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter(([k, v]) => typeof v === 'string' && v !== '' && k !== 'page')) as Record<string, string>;
}
