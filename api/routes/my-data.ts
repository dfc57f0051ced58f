import Router from '@koa/router';
import { z } from 'zod';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { exportMyData, isRegistryQuery, MY_DATA_SECTIONS } from '../services/my-data';
import type { ApiRegistry } from './define';

// A learner's own data (right of access). Only the person themselves: a coordinator helps people register and
// apply, but the export holds everything about the person (their social-status queries, who looked at their case),
// which is theirs to ask for; staff answer other requests through the agency's own procedure.
const MY_DATA_ROLES = ['learner'] as const;

const rowsSchema = z.array(z.record(z.string(), z.unknown()));
const myDataSchema = z.object({
  generatedAt: z.iso.datetime(), personCode: z.string(),
  sections: z.object(Object.fromEntries(MY_DATA_SECTIONS.map((name) => [name, rowsSchema])) as Record<typeof MY_DATA_SECTIONS[number], typeof rowsSchema>).strict(),
}).strict();

/** The learner's data export: JSON (API and a download) and a printable page; every download is audited. */
export function myDataRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/learner/my-data', summary: 'Everything held about the signed-in learner, one section per table (audited)',
    tag: 'learner', roles: [...MY_DATA_ROLES], beforeTerms: true,
    responses: { 200: { description: 'The export', schema: myDataSchema } },
  }, async (ctx) => {
    ctx.body = await exportMyData(deps.db, currentSession(ctx), 'json');
  });

  api.page(router, {
    method: 'get', path: '/account/my-data.json', summary: 'Download everything held about you as a JSON file (audited)',
    tag: 'account', roles: [...MY_DATA_ROLES], beforeTerms: true,
    responses: { 200: { description: 'The export as a file', contentType: 'application/json', schema: myDataSchema } },
  }, async (ctx) => {
    const data = await exportMyData(deps.db, currentSession(ctx), 'json');
    ctx.set('content-disposition', 'attachment; filename="my-data.json"');
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(data, null, 2);
  });

  api.page(router, {
    method: 'get', path: '/account/my-data', summary: 'Everything held about you, as a page to read or print (audited)',
    tag: 'account', roles: [...MY_DATA_ROLES], beforeTerms: true,
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const data = await exportMyData(deps.db, currentSession(ctx), 'page');
    const audit = data.sections.audit_log as { action: string }[];
    const sections: ({ name: string } & ReturnType<typeof table>)[] = MY_DATA_SECTIONS.map((name) => {
      // The audit is shown in two parts: registry queries about the person, and who looked at or acted on their data.
      const rows = name === 'audit_log' ? audit.filter((r) => !isRegistryQuery(r.action)) : data.sections[name];
      return { name, ...table(rows) };
    });
    sections.splice(sections.findIndex((s) => s.name === 'audit_log'), 0, { name: 'registry_queries', ...table(audit.filter((r) => isRegistryQuery(r.action))) });
    renderPage(ctx, renderer, 'my-data', 'myData.title', { generatedAt: data.generatedAt, personCode: data.personCode, sections });
  });

  return router;
}

// A section as the page prints it: the column names of its rows and each row's values as text.
function table(rows: Record<string, unknown>[]) {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return {
    count: rows.length, columns,
    rows: rows.map((r) => columns.map((c) => cell(r[c]))),
  };
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
