import Router from '@koa/router';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import type { ApiRegistry } from './define';

/** Provider registration: the form, e-mail confirmation, staff of a provider. */
export function providerRegistrationRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();
  void deps; void api; void renderer;
  return router;
}
