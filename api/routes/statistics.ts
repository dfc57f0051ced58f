import Router from '@koa/router';
import { z } from 'zod';
import type { Renderer } from '../../web/render';
import { translate, type PageLanguage } from '../../web/render';
import { PUBLIC_COUNT_MINIMUM } from '../../domain/disclosure';
import { attachment } from '../content-disposition';
import { toCsv } from '../csv';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { renderPage } from '../pages';
import { parseOr400 } from '../validation';
import {
  COUNT_METRICS, MONEY_METRICS, SURVEY_MINIMUM, figuresBy, programmeList, publicTable, surveyResults, totalOf, type PublicRow,
} from '../services/statistics';
import {
  ADMIN_TABLES, SUPPRESSED, figureTable, publicFigureTable, reasonTable, surveyTable, tableCsv, type AdminTable, type StatTable,
} from '../statistics-tables';
import type { ApiRegistry } from './define';

// Administrators only: the figures are exact (small counts included) and split by provider and municipality, which
// the agency reports from; team leads and everyone else have the suppressed open data (/open-data).
const ADMIN = ['admin'] as const;

const programmeCode = z.string().regex(/^[A-Z][A-Z0-9-]{1,19}$/, { message: 'must be a programme code such as IMK' });
const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);

/** The statistics page's query: one programme, or none for the whole platform. */
const pageQuery = z.object({ programme: z.preprocess(emptyAsUndefined, programmeCode.optional()), lang: z.string().max(10).optional() }).strict();
/** A table's CSV download. */
const exportQuery = z.object({
  table: z.enum(ADMIN_TABLES, { message: `must be one of ${ADMIN_TABLES.join(', ')}` }),
  programme: z.preprocess(emptyAsUndefined, programmeCode.optional()),
  lang: z.string().max(10).optional(),
}).strict();
const langQuery = z.object({ lang: z.string().max(10).optional() }).strict();

const cell = z.number().int().nullable().describe(`null: suppressed (a count from 1 to ${PUBLIC_COUNT_MINIMUM - 1}, or a cell that would give one away)`);
const publicRowSchema = z.object({
  programme: z.string().describe('The programme code, or "total" for the whole platform'),
  nameLv: z.string(), nameEn: z.string(),
  ...Object.fromEntries(COUNT_METRICS.map((m) => [m, cell])),
  ...Object.fromEntries(MONEY_METRICS.map((m) => [m, cell.describe('Integer euro cents; null: suppressed with the count of applications behind it')])),
});
const openDataSchema = z.object({
  version: z.literal(1),
  generatedAt: z.iso.datetime(),
  suppression: z.object({ minimum: z.number().int(), rule: z.string() }),
  programmes: z.array(publicRowSchema),
  total: publicRowSchema,
});

const SUPPRESSION_RULE = `Counts from 1 to ${PUBLIC_COUNT_MINIMUM - 1} are null (CSV: "${SUPPRESSED}"), and so is a second cell (another programme, `
  + 'or the total) wherever a total or a containing count would give a hidden one away; a sum of money is hidden with the count of applications behind it '
  + 'and with the counts it pays for (spent: completed and dropped out; earmarked: studying).';

/** The administrators' statistics pages and CSV downloads; the public open-data page and its versioned endpoints. */
export function statisticsRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.page(router, {
    method: 'get', path: '/admin/statistics', tag: 'console pages', roles: [...ADMIN], query: pageQuery,
    summary: 'Statistics for the whole platform or one programme (?programme=): registrations to outcomes, money, by month, municipality and provider, surveys; charts with their tables',
    responses: { 200: { description: 'The page' }, 404: { description: 'No programme has this code' } },
  }, async (ctx) => {
    const { programme } = parseOr400(pageQuery, ctx.query, 'query');
    const lang = ctx.state.lang as PageLanguage;
    const programmes = await programmeList(deps.db);
    if (programme && !programmes.some((p) => p.code === programme)) throw new HttpError(404, 'not_found', 'No programme has this code');
    const tables = await adminTables(lang, programme ?? null);
    const name = (p: { nameLv: string; nameEn: string }) => (lang === 'lv' ? p.nameLv : p.nameEn);
    const chosen = programmes.find((p) => p.code === programme);
    renderPage(ctx, renderer, 'statistics', chosen ? 'statistics.titleProgramme' : 'statistics.title', {
      programmes: programmes.map((p) => ({ code: p.code, name: name(p), selected: p.code === programme })),
      tables: tables.map((table) => ({ ...table, csvUrl: `/admin/statistics/export?${new URLSearchParams({ table: table.id, ...(programme ? { programme } : {}), lang })}` })),
      surveyMinimum: SURVEY_MINIMUM,
    }, { programme: chosen ? name(chosen) : '' });
  });

  api.page(router, {
    method: 'get', path: '/admin/statistics/export', tag: 'console pages', roles: [...ADMIN], query: exportQuery,
    summary: 'One table of the statistics page as CSV (UTF-8 with BOM, semicolons), the cells as the page shows them',
    responses: { 200: { description: 'The CSV file, as an attachment', contentType: 'text/csv' }, 404: { description: 'No programme has this code' } },
  }, async (ctx) => {
    const { table, programme } = parseOr400(exportQuery, ctx.query, 'query');
    const lang = ctx.state.lang as PageLanguage;
    if (programme && !(await programmeList(deps.db)).some((p) => p.code === programme)) throw new HttpError(404, 'not_found', 'No programme has this code');
    const found = (await adminTables(lang, programme ?? null, table)).find((t) => t.id === table);
    const { header, rows } = tableCsv(found!);
    ctx.set('content-disposition', attachment(`statistics-${programme ?? 'all'}-${table}.csv`));
    ctx.type = 'text/csv; charset=utf-8';
    ctx.body = toCsv(header, rows);
  });

  api.page(router, {
    method: 'get', path: '/open-data', tag: 'pages', roles: 'public', query: langQuery,
    summary: 'Open data: the programmes\' statistics for everyone, small counts suppressed, with the links to the versioned JSON and CSV',
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const lang = ctx.state.lang as PageLanguage;
    const { rows, programmes } = await openData();
    const names = new Map(programmes.map((p) => [p.code, lang === 'lv' ? p.nameLv : p.nameEn] as const));
    renderPage(ctx, renderer, 'open-data', 'statistics.openData.title', {
      tables: [publicFigureTable(lang, rows, names)], minimum: PUBLIC_COUNT_MINIMUM, suppressed: SUPPRESSED,
    });
  });

  api.add(router, {
    method: 'get', path: '/api/open-data/v1/programme-statistics.json', tag: 'open data', roles: 'public',
    summary: `Open data, version 1: each programme's registrations, approvals, applications, wait-listed, enrolled, studying, completed, dropped out, money earmarked and spent (cents), and the total. ${SUPPRESSION_RULE}`,
    responses: { 200: { description: 'The programmes\' statistics', schema: openDataSchema } },
  }, async (ctx) => {
    const { rows, programmes } = await openData();
    const json = (row: PublicRow) => {
      const p = programmes.find((x) => x.code === row.programme);
      return { programme: row.programme, nameLv: p?.nameLv ?? 'Visa platforma', nameEn: p?.nameEn ?? 'Whole platform', ...row.counts, ...row.money };
    };
    ctx.body = {
      version: 1, generatedAt: new Date().toISOString(), suppression: { minimum: PUBLIC_COUNT_MINIMUM, rule: SUPPRESSION_RULE },
      programmes: rows.filter((r) => r.programme !== 'total').map(json), total: json(rows.find((r) => r.programme === 'total')!),
    };
  });

  api.page(router, {
    method: 'get', path: '/api/open-data/v1/programme-statistics.csv', tag: 'open data', roles: 'public',
    summary: `Open data, version 1, as CSV (UTF-8 with BOM, semicolons): the JSON's rows and columns, money in cents. ${SUPPRESSION_RULE}`,
    responses: { 200: { description: 'The CSV file', contentType: 'text/csv' } },
  }, async (ctx) => {
    const { rows, programmes } = await openData();
    const header = ['programme', 'nameLv', 'nameEn', ...COUNT_METRICS, ...MONEY_METRICS];
    const csvRows = rows.map((row) => {
      const p = programmes.find((x) => x.code === row.programme);
      const values = [...COUNT_METRICS.map((m) => row.counts[m]), ...MONEY_METRICS.map((m) => row.money[m])];
      return [row.programme, p?.nameLv ?? 'Visa platforma', p?.nameEn ?? 'Whole platform', ...values.map((v) => (v === null ? SUPPRESSED : String(v)))];
    });
    ctx.set('content-disposition', attachment('programme-statistics-v1.csv'));
    ctx.type = 'text/csv; charset=utf-8';
    ctx.body = toCsv(header, csvRows);
  });

  // Every table of the page (or just the one asked for, which is all a download needs).
  async function adminTables(lang: PageLanguage, programme: string | null, only?: AdminTable): Promise<StatTable[]> {
    const wanted = (table: AdminTable) => only === undefined || only === table;
    const tables: StatTable[] = [];
    const total = translate(lang, 'statistics.total');
    if (wanted('programmes')) {
      const rows = (await figuresBy(deps.db, 'programme', null)).filter((r) => programme === null || r.key === programme);
      tables.push(figureTable(lang, 'programmes', rows, programme === null ? totalOf(rows, total) : null, 'applications'));
    }
    if (wanted('months')) {
      const rows = await figuresBy(deps.db, 'month', programme);
      tables.push(figureTable(lang, 'months', rows, totalOf(rows, total), 'registrations'));
    }
    if (wanted('municipalities')) {
      const rows = await figuresBy(deps.db, 'municipality', programme);
      tables.push(figureTable(lang, 'municipalities', rows, totalOf(rows, total), 'registrations'));
    }
    if (wanted('providers')) {
      const rows = (await figuresBy(deps.db, 'provider', programme)).sort((a, b) => a.label.localeCompare(b.label));
      tables.push(figureTable(lang, 'providers', rows, totalOf(rows, total), 'enrolled'));
    }
    if (wanted('surveys') || wanted('reasons')) {
      const survey = await surveyResults(deps.db, programme, total);
      if (wanted('surveys')) tables.push(surveyTable(lang, survey));
      if (wanted('reasons')) tables.push(reasonTable(lang, survey.find((r) => r.key === 'total')!));
    }
    return tables;
  }

  async function openData() {
    const programmes = await programmeList(deps.db);
    const figures = await figuresBy(deps.db, 'programme', null);
    const rows = publicTable(figures, totalOf(figures, 'total'));
    return { rows, programmes };
  }

  return router;
}
