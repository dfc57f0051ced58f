import Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../deps';
import type { ApiRegistry } from './define';
import { renderPage } from '../pages';
import type { Renderer } from '../../web/render';
import { RETRY_AFTER_SECONDS, type Dependency } from '../../lib/dependency-errors';
import { checkDependencies, READY_NEEDS } from '../services/health';

/** Routes anyone may use: the home page, health and readiness, the OpenAPI document and metrics. */
export function publicRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();
  api.page(router, {
    method: 'get', path: '/', summary: 'The home page', tag: 'pages', roles: 'public', responses: { 200: { description: 'The page' } },
  }, (ctx) => renderPage(ctx, renderer, 'home', 'home.title'));
  // The footer's notices (web/views/layout.hbs): what the agency does with personal data, and how accessible the site is.
  for (const [path, view, summary] of [
    ['/privacy', 'privacy', 'The privacy notice: who processes which data, why, how long, and the person\'s rights'],
    ['/accessibility', 'accessibility', 'The accessibility statement: compliance, known shortcomings, feedback and enforcement'],
  ] as const) {
    api.page(router, { method: 'get', path, summary, tag: 'pages', roles: 'public', responses: { 200: { description: 'The page' } } },
      (ctx) => renderPage(ctx, renderer, view, `${view}.title`));
  }

  const checkSchema = z.object({ status: z.enum(['ok', 'down']), ms: z.number() });
  const healthSchema = z.object({
    status: z.enum(['ok', 'down']), checkedAt: z.string(),
    dependencies: z.object({ temporal: checkSchema, postgresql: checkSchema, smtp: checkSchema }),
  });
  // Both answer every dependency's status; they differ in what makes them 503 (api/services/health.ts).
  for (const [path, needs, summary] of [
    ['/api/health', ['temporal', 'postgresql', 'smtp'], 'Whether the system is whole: Temporal, PostgreSQL and SMTP each answer'],
    ['/api/ready', READY_NEEDS, 'Whether this API instance can serve: Temporal and PostgreSQL answer (SMTP reported only)'],
  ] as const) {
    api.add(router, {
      method: 'get', path, summary, tag: 'public', roles: 'public',
      responses: {
        200: { description: 'Every dependency it needs answers', schema: healthSchema },
        503: { description: 'A dependency it needs is down (named in `dependencies`)', schema: healthSchema },
      },
    }, async (ctx) => {
      const checks = await checkDependencies(deps);
      const down = (needs as readonly Dependency[]).some((name) => checks[name].status === 'down');
      // Reasons stay in the console (they name addresses); the public answer says only what is down.
      const dependencies = Object.fromEntries(Object.entries(checks).map(([name, c]) => [name, { status: c.status, ms: c.ms }]));
      ctx.status = down ? 503 : 200;
      if (down) ctx.set('retry-after', String(RETRY_AFTER_SECONDS));
      ctx.body = { status: down ? 'down' : 'ok', checkedAt: new Date().toISOString(), dependencies };
    });
  }

  api.page(router, {
    method: 'get', path: '/api/openapi.json', summary: 'This document', tag: 'public', roles: 'public',
    responses: { 200: { description: 'The OpenAPI 3.1 document', contentType: 'application/json' } },
  }, (ctx) => {
    ctx.body = api.openApiDocument({ title: 'Individual learning accounts API', version: '0.1.0', serverUrl: deps.publicUrl });
  });

  return router;
}
