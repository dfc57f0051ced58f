import Router from '@koa/router';
import type { Renderer } from '../../web/render';
import { requireRole } from '../middleware/auth';
import { renderPage } from '../pages';

/** The education provider's workspace (offers, groups and enrolments grow here). */
export function providerRoutes(renderer: Renderer): Router {
  const router = new Router();
  router.get('/provider', requireRole('provider'), (ctx) => renderPage(ctx, renderer, 'provider-home', 'provider.title'));
  return router;
}
