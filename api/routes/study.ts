import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { DROPOUT_REASONS, SURVEY_ASPECTS } from '../../domain/applications';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { text } from '../text-input';
import { HttpError, type WordedProblem } from '../errors';
import { currentSession } from '../middleware/auth';
import {
  applicationSchema, applyResultSchema, caseParams, offerSchema, offersQuery, studyViewSchema, surveySchema, withdrawalSchema,
} from '../schemas';
import { answerSurvey, applyForOffer, listOffers, studyView, withdraw } from '../services/study';
import { catalogueLink } from './catalogue';
import { errorsByField, fieldProblems, parseOr400 } from '../validation';
import type { ApiRegistry } from './define';
import { journeyPage } from './journey-page';
import { answersOf, isConfirmed, queryAnswers, toConfirmation } from '../confirmations';
import { applyConfirmation, ownStudy, withdrawConfirmation } from './confirm-pages';

const stageResult = z.object({ stage: z.string() });

/** The survey form: one field per star rating (`rating_<aspect>`) and per reason checkbox (`reason_<reason>`). */
const surveyForm = z.object({
  requestId: text().max(100).optional(), otherText: text().max(2000).optional(),
  ...Object.fromEntries(SURVEY_ASPECTS.map((aspect) => [`rating_${aspect}`, z.enum(['1', '2', '3', '4', '5']).optional()])),
  ...Object.fromEntries(DROPOUT_REASONS.map((reason) => [`reason_${reason}`, z.literal('on').optional()])),
});

/**
 * The learner's side of applying and studying: the public catalogue of offers, and applying, withdrawing and
 * answering the survey on the learner's own journey. JSON routes and page forms share schemas and services.
 */
export function studyRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/offers', summary: 'Published offers open for applications, with their groups and free places (kept for clients; /api/catalogue is the one list, with every filter)',
    tag: 'catalogue', roles: 'public', query: offersQuery,
    responses: { 200: { description: 'A page of offers', schema: z.object({ offers: z.array(offerSchema), total: z.number().int(), page: z.number().int(), pageSize: z.number().int() }) } },
  }, async (ctx, { query }) => {
    ctx.body = await listOffers(deps, query);
  });

  api.add(router, {
    method: 'get', path: '/api/learner/journeys/:caseId/study', summary: 'The current application, balance, earmark, survey and who acts next',
    tag: 'learner', roles: ['learner'], params: caseParams,
    responses: { 200: { description: 'The study part of the journey', schema: studyViewSchema }, 404: { description: 'No such journey of yours' } },
  }, async (ctx, { params }) => {
    const view = await studyView(deps, currentSession(ctx), params.caseId);
    if (!view) throw new HttpError(404, 'journey_not_found', 'You have no journey with this id');
    ctx.body = view;
  });

  api.add(router, {
    method: 'post', path: '/api/learner/journeys/:caseId/applications', summary: 'Apply for a group of a published offer',
    tag: 'learner', roles: ['learner'], params: caseParams, body: applicationSchema,
    responses: {
      201: { description: 'Applied: the cost is earmarked from the balance', schema: applyResultSchema },
      200: { description: 'Wait-listed: the programme has reached its cap', schema: applyResultSchema },
      404: { description: 'No such journey of yours' },
      409: { description: 'Refused (details name the reason), not waiting for an application, the journey is closed, or the learner is blocked (blocked: the journey waits; details say why in Latvian and English)' },
    },
  }, async (ctx, { params, body }) => {
    const answer = await applyForOffer(deps, currentSession(ctx), params.caseId, body);
    ctx.status = answer.outcome === 'applied' ? 201 : 200;
    ctx.body = { ...answer, location: `/api/learner/journeys/${params.caseId}/study` };
  });

  api.add(router, {
    method: 'post', path: '/api/learner/journeys/:caseId/withdrawal',
    summary: 'Withdraw the open application (the earmark is released) or withdraw from study (counts as dropping out)',
    tag: 'learner', roles: ['learner'], params: caseParams, body: withdrawalSchema,
    responses: {
      200: { description: 'Withdrawn; the journey\'s new stage', schema: stageResult },
      404: { description: 'No such journey of yours' }, 409: { description: 'Nothing to withdraw from, or the journey is closed' },
    },
  }, async (ctx, { params, body }) => {
    ctx.body = await withdraw(deps, currentSession(ctx), params.caseId, body);
  });

  api.add(router, {
    method: 'post', path: '/api/learner/journeys/:caseId/survey',
    summary: `Answer the survey: completers rate ${SURVEY_ASPECTS.join(', ')} 1-5; dropouts choose reasons`,
    tag: 'learner', roles: ['learner'], params: caseParams, body: surveySchema,
    responses: {
      200: { description: 'Answered; the journey is closed', schema: stageResult },
      404: { description: 'No such journey of yours' }, 409: { description: 'No survey is open, or it was already answered' },
    },
  }, async (ctx, { params, body }) => {
    ctx.body = await answerSurvey(deps, currentSession(ctx), params.caseId, body);
  });

  // Pages. The list of offers is one page, /catalogue (routes/catalogue.ts), with the Apply forms for a learner whose
  // account takes an application; the old list's address sends there with the filters both understand.
  api.page(router, {
    method: 'get', path: '/offers', summary: 'The old list of offers: redirects to the one list, /catalogue, keeping words, programme and page',
    tag: 'catalogue', roles: 'public', query: offersQuery,
    responses: { 301: { description: 'To /catalogue with the same words, programme and page', redirect: true } },
  }, (ctx) => {
    // Passed on as typed (the catalogue checks them and shows a problem next to its filter), with the page's language.
    const typed = (key: string) => (typeof ctx.query[key] === 'string' ? ctx.query[key] : undefined);
    ctx.status = 301;
    ctx.redirect(catalogueLink({ q: typed('q'), programme: typed('programme'), page: typed('page'), lang: typed('lang') }));
  });

  // Apply and withdraw are confirmed first (api/confirmations.ts): the catalogue's Apply form and the journey page's
  // Withdraw form post here, are sent on to the confirmation page, and only its form (confirmed=yes) acts.
  api.page(router, {
    method: 'get', path: '/learner/journeys/:caseId/applications/confirm',
    summary: 'Check your application: the course, group, dates, cost, who pays what and the balance after; its form applies',
    tag: 'learner pages', roles: ['learner'], params: caseParams,
    responses: { 200: { description: 'The confirmation page' }, 303: { description: 'Back to the journey page when it cannot apply (it says why)', redirect: true } },
  }, async (ctx) => {
    const params = parseOr400(caseParams, ctx.params, 'params');
    const journey = `/learner/journeys/${params.caseId}`;
    await applyConfirmation(ctx, deps, renderer, queryAnswers(ctx, deps.tokens), { study: await ownStudy(ctx, deps, params.caseId), action: `${journey}/applications`, home: journey });
  });

  api.page(router, {
    method: 'post', path: '/learner/journeys/:caseId/applications',
    summary: 'Apply for a group from the page: without confirmed=yes, to the confirmation page (nothing is applied); with it, applies',
    tag: 'learner pages', roles: ['learner'], params: caseParams, form: applicationSchema,
    responses: {
      303: { description: 'Unconfirmed: to the confirmation page. Confirmed: to the journey page, with the outcome', redirect: true },
    },
  }, async (ctx) => {
    const params = parseOr400(caseParams, ctx.params, 'params');
    const form = (ctx.request.body ?? {}) as Record<string, unknown>;
    const back = `/learner/journeys/${params.caseId}`;
    if (!isConfirmed(form)) {
      await ownStudy(ctx, deps, params.caseId);
      toConfirmation(ctx, deps.tokens, `${back}/applications`, answersOf(form));
      return;
    }
    const body = parseOr400(applicationSchema, answersOf(form), 'body');
    ctx.status = 303;
    try {
      const answer = await applyForOffer(deps, currentSession(ctx), params.caseId, body);
      ctx.redirect(`${back}?notice=${answer.outcome}`);
    } catch (err) {
      if (err instanceof HttpError && err.code === 'application_refused') {
        const reason = (err.details[0] as { reason?: string } | undefined)?.reason ?? '';
        ctx.redirect(`${back}?notice=refused&reason=${encodeURIComponent(reason)}`);
        return;
      }
      if (redirectWithNotice(ctx, back, err)) return;
      throw err;
    }
  });

  api.page(router, {
    method: 'get', path: '/learner/journeys/:caseId/withdrawal/confirm',
    summary: 'Check before withdrawing: whether the reserved money returns (before enrolment) or is spent (after); its form withdraws',
    tag: 'learner pages', roles: ['learner'], params: caseParams,
    responses: { 200: { description: 'The confirmation page' }, 303: { description: 'Back to the journey page when there is nothing to withdraw from', redirect: true } },
  }, async (ctx) => {
    const params = parseOr400(caseParams, ctx.params, 'params');
    await withdrawConfirmation(ctx, deps, renderer, params.caseId, queryAnswers(ctx, deps.tokens));
  });

  api.page(router, {
    method: 'post', path: '/learner/journeys/:caseId/withdrawal',
    summary: 'Withdraw the application or from study: without confirmed=yes, to the confirmation page (nothing changes); with it, withdraws',
    tag: 'learner pages', roles: ['learner'], params: caseParams, form: withdrawalSchema,
    responses: { 303: { description: 'Unconfirmed: to the confirmation page. Confirmed: to the journey page, saying what happened to the money', redirect: true } },
  }, async (ctx) => {
    const params = parseOr400(caseParams, ctx.params, 'params');
    const form = (ctx.request.body ?? {}) as Record<string, unknown>;
    const back = `/learner/journeys/${params.caseId}`;
    if (!isConfirmed(form)) {
      await ownStudy(ctx, deps, params.caseId);
      toConfirmation(ctx, deps.tokens, `${back}/withdrawal`, answersOf(form));
      return;
    }
    const body = parseOr400(withdrawalSchema, answersOf(form), 'body');
    ctx.status = 303;
    try {
      const { stage } = await withdraw(deps, currentSession(ctx), params.caseId, body);
      // Before enrolment the reserved money came back; after it, study counts as discontinued and the money is spent.
      ctx.redirect(`${back}?notice=${stage === 'dropped_out' ? 'withdrawn_study' : 'withdrawn_application'}`);
    } catch (err) {
      if (redirectWithNotice(ctx, back, err)) return;
      throw err;
    }
  });

  api.page(router, {
    method: 'post', path: '/learner/journeys/:caseId/survey', summary: 'Answer the survey', tag: 'learner pages', roles: ['learner'],
    params: caseParams, form: surveyForm,
    responses: { 302: { description: 'To the journey page', redirect: true }, 400: { description: 'The journey page again, each problem next to its field' } },
  }, async (ctx) => {
    const params = parseOr400(caseParams, ctx.params, 'params');
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const back = `/learner/journeys/${params.caseId}`;
    const parsed = surveySchema.safeParse(surveyFromForm(form));
    if (!parsed.success) {
      ctx.status = 400;
      await journeyPage(ctx, deps, renderer, { form, errors: errorsByField(fieldProblems(parsed.error), ctx.state.lang) });
      return;
    }
    try {
      await answerSurvey(deps, currentSession(ctx), params.caseId, parsed.data);
      ctx.redirect(`${back}?notice=survey_answered`);
    } catch (err) {
      if (err instanceof HttpError && err.status === 400) {
        ctx.status = 400;
        await journeyPage(ctx, deps, renderer, { form, errors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
        return;
      }
      if (redirectWithNotice(ctx, back, err)) return;
      throw err;
    }
  });

  return router;
}

// A 409 from the journey (not the step for this, busy, closed) sends the learner back to the page, which says so.
function redirectWithNotice(ctx: Context, back: string, err: unknown): boolean {
  if (!(err instanceof HttpError) || err.status !== 409) return false;
  // A blocked learner: the journey page itself says why (its block notice), in the page's language.
  if (err.code === 'blocked') {
    ctx.redirect(back);
    return true;
  }
  // A repeated survey submit (the first one closed the journey) is thanked again, not told off.
  const notices: Record<string, string> = { wrong_stage: 'wrong_stage', busy: 'busy', journey_closed: 'journey_closed', already_answered: 'survey_answered' };
  ctx.redirect(`${back}?notice=${notices[err.code] ?? 'wrong_stage'}`);
  return true;
}

// The survey form has one field per star rating and per reason (a form cannot carry a nested object or a list).
function surveyFromForm(form: Record<string, string>): Record<string, unknown> {
  const ratings: Record<string, unknown> = {};
  for (const aspect of SURVEY_ASPECTS) {
    const value = form[`rating_${aspect}`];
    if (value !== undefined && value !== '') ratings[aspect] = /^\d+$/.test(value) ? Number(value) : value;
  }
  const reasons = DROPOUT_REASONS.filter((reason) => form[`reason_${reason}`] === 'on');
  return {
    ...(form.requestId ? { requestId: form.requestId } : {}),
    ...(Object.keys(ratings).length > 0 ? { ratings } : {}),
    ...(reasons.length > 0 ? { reasons } : {}),
    ...(form.otherText?.trim() ? { otherText: form.otherText } : {}),
  };
}
