import Router from '@koa/router';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import type { ApiRegistry } from './define';

/** The provider's offers in calls: drafts, documents, submission, groups, survey results. */
export function providerOfferRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();
  void deps; void api; void renderer;
  return router;
}
