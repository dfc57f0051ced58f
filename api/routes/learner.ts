import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { text } from '../text-input';
import { liveBlockOfLearner } from '../../lib/account-blocks';
import { blockNotice } from '../services/account-access';
import { HttpError } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { caseParams, journeySchema, registrationSchema } from '../schemas';
import { getJourney, listJourneys, listProgrammes, startJourney } from '../services/journeys';
import { isBeingOpened } from '../services/journey-reservations';
import { currentTerms } from '../services/terms';
import { programmeFits } from '../services/programme-fit';
import { programmeFitView } from './programme-fit';
import type { WordedProblem } from '../errors';
import { errorsByField, fieldProblems } from '../validation';
import type { ApiRegistry } from './define';
import { journeyPage } from './journey-page';

/** A journey whose case is still being opened: where it is, and that it is not there yet. */
const openingSchema = z.object({ caseId: z.uuid(), stage: z.literal('opening') });

/** How soon to ask again about a journey being opened (the page refreshes as often). */
const OPENING_RETRY_AFTER_SECONDS = 2;

/** The learner's pages and API: register for an account, follow the journey. */
export function learnerRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/learner/journeys', summary: "The logged-in learner's journeys with their timelines",
    tag: 'learner', roles: ['learner'],
    responses: { 200: { description: 'Journeys, newest first', schema: z.object({ journeys: z.array(journeySchema) }) } },
  }, async (ctx) => {
    ctx.body = { journeys: await listJourneys(deps, currentSession(ctx)) };
  });

  api.add(router, {
    method: 'get', path: '/api/learner/journeys/:caseId', summary: 'One of the learner\'s journeys', tag: 'learner',
    roles: ['learner'], params: caseParams,
    responses: {
      200: { description: 'The journey', schema: journeySchema },
      202: { description: 'The journey started but its case is still being opened: ask again after Retry-After', schema: openingSchema },
      404: { description: 'No such journey of yours' },
    },
  }, async (ctx, { params }) => {
    const session = currentSession(ctx);
    const journey = await getJourney(deps, session, params.caseId);
    if (journey) {
      ctx.body = journey;
      return;
    }
    // The address a 202 start answered with must not be a 404 until the worker opens the case (the fault drill
    // saw 30 s of them while Temporal was down); the page shows "being opened" for the same reason.
    if (!(await isBeingOpened(deps, session.subject, params.caseId))) throw new HttpError(404, 'journey_not_found', 'You have no journey with this id');
    ctx.status = 202;
    ctx.set('retry-after', String(OPENING_RETRY_AFTER_SECONDS));
    ctx.body = { caseId: params.caseId, stage: 'opening' };
  });

  api.add(router, {
    method: 'post', path: '/api/learner/journeys', summary: 'Register for an individual learning account (starts the journey)',
    tag: 'learner', roles: ['learner'], body: registrationSchema,
    responses: {
      201: { description: 'Journey started and case opened', schema: z.object({ caseId: z.uuid(), location: z.string() }) },
      202: { description: 'Journey started; the case is still being opened', schema: z.object({ caseId: z.uuid(), location: z.string() }) },
      409: { description: 'An application is already open, or the person is blocked or suspended (blocked: details say why and until when, in Latvian and English)' },
    },
  }, async (ctx, { body }) => {
    const { caseId, opened } = await startJourney(deps, currentSession(ctx), body);
    ctx.status = opened ? 201 : 202;
    ctx.set('location', `/api/learner/journeys/${caseId}`);
    ctx.body = { caseId, location: `/api/learner/journeys/${caseId}` };
  });

  // Pages.
  api.page(router, {
    method: 'get', path: '/learner', summary: 'The learner\'s home: journeys and the registration form', tag: 'learner pages', roles: ['learner'],
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await learnerHome(ctx, {});
  });

  // The form is checked whole by registrationSchema, which shows each problem next to its field.
  api.page(router, {
    method: 'post', path: '/learner/journeys', summary: 'Register for an account (starts the journey)', tag: 'learner pages', roles: ['learner'],
    form: registrationSchema, formPage: true,
    responses: { 302: { description: 'To the journey page (or, for a blocked person, to the home page saying why)', redirect: true }, 400: { description: 'The form again, each problem next to its field' } },
  }, async (ctx) => {
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const parsed = registrationSchema.safeParse(form);
    if (!parsed.success) {
      ctx.status = 400;
      await learnerHome(ctx, { form, errors: errorsByField(fieldProblems(parsed.error), ctx.state.lang) });
      return;
    }
    try {
      const { caseId } = await startJourney(deps, currentSession(ctx), parsed.data);
      ctx.redirect(`/learner/journeys/${caseId}`);
    } catch (err) {
      // A blocked person: the home page says why (its block notice), in the page's language.
      if (err instanceof HttpError && err.code === 'blocked') {
        ctx.redirect('/learner');
        return;
      }
      if (err instanceof HttpError && err.code === 'journey_already_open') {
        ctx.redirect(`/learner/journeys/${(err.details[0] as { caseId: string }).caseId}`);
        return;
      }
      // A problem found at the start (a programme that does not exist, terms that changed since the page was
      // shown): the form again, with the problem next to its field.
      if (err instanceof HttpError && err.status === 400) {
        ctx.status = 400;
        await learnerHome(ctx, { form, errors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
        return;
      }
      throw err;
    }
  });

  api.page(router, {
    method: 'get', path: '/learner/journeys/:caseId', summary: 'One of the learner\'s journeys', tag: 'learner pages', roles: ['learner'],
    params: caseParams, query: z.object({ notice: text().max(100).optional(), reason: text().max(100).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await journeyPage(ctx, deps, renderer);
  });

  async function learnerHome(ctx: Context, extra: { form?: Record<string, string>; errors?: Record<string, string> }) {
    const [journeys, all, terms] = await Promise.all([listJourneys(deps, currentSession(ctx)), listProgrammes(deps), currentTerms(deps.db)]);
    const lang = ctx.state.lang as 'lv' | 'en';
    const names = new Map(all.map((p) => [p.code, lang === 'lv' ? p.nameLv : p.nameEn]));
    // A person may apply to any programme in which they have no open application.
    const open = new Set(journeys.filter((j) => j.closedAt === null).map((j) => j.programme));
    const programmes = all.filter((p) => !open.has(p.code)).map((p) => ({ code: p.code, name: names.get(p.code) }));
    // A person without a case reads which programmes may suit them and what each gives before the form.
    const fits = journeys.length === 0 ? await programmeFits(deps.db) : null;
    renderPage(ctx, renderer, 'learner-home', 'learner.title', {
      fit: fits ? { programmes: fits.programmes.map((p) => programmeFitView(lang, p)) } : null,
      blockNotice: blockNotice(await liveBlockOfLearner(deps.db, currentSession(ctx).subject), 'own', lang, 'blocks.notice.learner'),
      journeys: journeys.map((j) => ({ ...j, programmeName: names.get(j.programme) ?? j.programme })),
      programmes,
      canStart: programmes.length > 0,
      termsVersion: terms.version,
      // The individual learning account is what most people come for, so it is preselected when available.
      form: {
        requestId: randomUUID(), language: ctx.state.lang,
        programme: (programmes.find((p) => p.code === 'IMK') ?? programmes[0])?.code, ...extra.form,
      },
      errors: extra.errors,
    });
  }

  return router;
}
