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
import { isConfirmed, toConfirmation } from '../confirmations';
import { ownStudy, placeDeclineConfirmation } from './confirm-pages';

const declined = z.object({ state: z.literal('declined') });

/**
 * Wait-list promotion, the learner's side (lib/waitlist.ts): a freed place offered to a wait-listed learner is
 * accepted by applying (the ordinary apply routes) before its deadline, or declined here, which passes it on.
 */
export function placeOfferRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
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
    method: 'get', path: '/learner/journeys/:caseId/place-offer/decline/confirm',
    summary: 'Check before declining the freed place (it goes to the next person at once); its form declines',
    tag: 'learner pages', roles: ['learner'], params: caseParams,
    responses: { 200: { description: 'The confirmation page' }, 303: { description: 'Back to the journey page when no place offer is open', redirect: true } },
  }, async (ctx) => {
    const params = parseOr400(caseParams, ctx.params, 'params');
    await placeDeclineConfirmation(ctx, deps, renderer, params.caseId);
  });

  api.page(router, {
    method: 'post', path: '/learner/journeys/:caseId/place-offer/decline',
    summary: 'Decline the freed place from the journey page: without confirmed=yes, to the confirmation page (nothing changes); with it, declines',
    tag: 'learner pages', roles: ['learner'], params: caseParams,
    responses: { 303: { description: 'Unconfirmed: to the confirmation page. Confirmed: to the journey page', redirect: true } },
  }, async (ctx) => {
    const params = parseOr400(caseParams, ctx.params, 'params');
    const back = `/learner/journeys/${params.caseId}`;
    if (!isConfirmed((ctx.request.body ?? {}) as Record<string, unknown>)) {
      await ownStudy(ctx, deps, params.caseId);
      toConfirmation(ctx, deps.tokens, `${back}/place-offer/decline`, {});
      return;
    }
    ctx.status = 303;
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
