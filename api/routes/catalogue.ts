import Router from '@koa/router';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import type { ApiRegistry } from './define';

/** The public catalogue of published offers. */
export function catalogueRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();
  void deps; void api; void renderer;
  return router;
}
