import Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../deps';
import type { ApiRegistry } from './define';
import { renderPage } from '../pages';
import type { Renderer } from '../../web/render';

/** Routes anyone may use: the home page, health, the OpenAPI document and metrics. */
export function publicRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();
  router.get('/', (ctx) => renderPage(ctx, renderer, 'home', 'home.title'));

  api.add(router, {
    method: 'get', path: '/api/health', summary: 'Liveness and database reachability', tag: 'public', roles: 'public',
    responses: { 200: { description: 'Healthy', schema: z.object({ status: z.literal('ok') }) } },
  }, async (ctx) => {
    await deps.db.raw('select 1');
    ctx.body = { status: 'ok' };
  });

  router.get('/api/openapi.json', (ctx) => {
    ctx.body = api.openApiDocument({ title: 'Individual learning accounts API', version: '0.1.0', serverUrl: deps.publicUrl });
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });
  return router;
}
