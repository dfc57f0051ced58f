import Router from '@koa/router';
import { z } from 'zod';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { currentSession } from '../middleware/auth';
import { caseParams } from '../schemas';
import { declineOwnPlaceOffer } from '../services/place-offers';
import { parseOr400 } from '../validation';
import type { ApiRegistry } from './define';

const declined = z.object({ state: z.literal('declined') });

/**
 * Wait-list promotion, the learner's side (lib/waitlist.ts): a freed place offered to a wait-listed learner is
 * accepted by applying (the ordinary apply routes) before its deadline, or declined here, which passes it on.
 */
export function placeOfferRoutes(deps: ApiDeps, api: ApiRegistry, _renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'post', path: '/api/learner/journeys/:caseId/place-offer/decline',
    summary: 'Decline the place freed for this wait-listed learner; it goes to the next learner on the wait-list',
    tag: 'learner', roles: ['learner'], params: caseParams,
    responses: {
      200: { description: 'Declined', schema: declined },
      404: { description: 'No such journey of yours' }, 409: { description: 'No open place offer (already decided or past its deadline)' },
    },
  }, async (ctx, { params }) => {
    ctx.body = await declineOwnPlaceOffer(deps, currentSession(ctx), params.caseId);
  });

  api.page(router, {
    method: 'post', path: '/learner/journeys/:caseId/place-offer/decline', summary: 'Decline the freed place from the journey page',
    tag: 'learner pages', roles: ['learner'], params: caseParams,
    responses: { 302: { description: 'To the journey page', redirect: true } },
  }, async (ctx) => {
    const params = parseOr400(caseParams, ctx.params, 'params');
    const back = `/learner/journeys/${params.caseId}`;
    try {
      await declineOwnPlaceOffer(deps, currentSession(ctx), params.caseId);
      ctx.redirect(`${back}?notice=place_declined`);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 409) throw err;
      ctx.redirect(`${back}?notice=no_place_offer`);
    }
  });

  return router;
}
