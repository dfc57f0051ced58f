import Router from '@koa/router';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import type { ApiRegistry } from './define';

/** The administrators' workflow console: lists, the stuck view, a workflow's page and its actions. */
export function adminRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();
  void deps; void api; void renderer;
  return router;
}
