import Router from '@koa/router';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import type { ApiRegistry } from './define';

/** Batch retry or terminate over a filtered set of workflows, and the registry health panel. */
export function adminBatchRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();
  void deps; void api; void renderer;
  return router;
}
