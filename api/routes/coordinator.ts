import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { translate, type PageLanguage, type Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { RETRY_AFTER_SECONDS } from '../../lib/dependency-errors';
import { text } from '../text-input';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { applicationSchema, applyResultSchema, assistedJourneySchema, assistedRegistrationSchema, caseParams } from '../schemas';
import { activeGrants, applyOnBehalf, assistedCaseForApplying, coordinatorGrant, listAssisted, registerOnBehalf } from '../services/coordinator';
import { answersOf, isConfirmed, queryAnswers, toConfirmation } from '../confirmations';
import { applyConfirmation } from './confirm-pages';
import { listProgrammes } from '../services/journeys';
import { APPLY_STAGES, inStages } from '../../domain/journey';
import { listOffers } from '../services/study';
import { errorsByField, fieldProblems, parseOr400 } from '../validation';
import { safeNext, startSessionCookie } from './auth';
import type { ApiRegistry } from './define';
import { refusalText } from '../messages';

/** The role a person chooses after signing in: themselves as a learner, or one of their active grants (by id). */
const roleChoiceSchema = z.object({
  role: z.union([z.literal('learner'), z.uuid()], { message: 'must be "learner" or the id of one of your roles' }),
  next: text().max(2000).optional(),
});

/** The answer to an assisted registration; contactKept: the person had contact data of their own, which was kept. */
const assistedStartSchema = z.object({
  caseId: z.uuid(), location: z.string(),
  contactKept: z.boolean().describe('The person already had an e-mail address (and language) of their own: those were kept, not what you typed'),
});

/** The coordinator's Apply form: one select carrying "<offerId>:<groupId>". */
const coordinatorApplicationForm = z.object({ requestId: text().max(100).optional(), choice: text().max(100) });

/**
 * Municipal coordinators: choosing the role after the single sign-on, and registering and applying on a learner's
 * behalf (assisted channel). Only journeys the coordinator registered are theirs to see and act on.
 */
export function coordinatorRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  // Role choice: offered after the sign-on when the person has a grant valid today; also reachable to switch role.
  api.page(router, {
    method: 'get', path: '/auth/role', summary: 'Choose the role to act in (a person with a live coordinator or career-consultant grant)', tag: 'auth', roles: ['learner', 'coordinator', 'consultant'],
    query: z.object({ next: text().max(2000).optional() }),
    responses: { 200: { description: 'The page' }, 302: { description: 'No role to choose: on to the page asked for', redirect: true } },
  }, async (ctx) => {
    const session = currentSession(ctx);
    const next = safeNext(ctx.query.next, '/learner');
    // Only live grants: valid today and not revoked (activeGrants).
    const grants = await activeGrants(deps, session.subject);
    if (grants.length === 0) {
      ctx.redirect(session.role === 'learner' ? next : '/learner');
      return;
    }
    const sessionGrantRole = session.role === 'consultant' ? 'career_consultant' : session.role;
    renderPage(ctx, renderer, 'role-choice', 'role.choose', {
      next, isLearner: session.role === 'learner',
      grants: grants.map((g) => ({ ...g, current: g.role === sessionGrantRole && g.municipality === session.municipality, isConsultant: g.role === 'career_consultant' })),
    });
  });

  api.page(router, {
    method: 'post', path: '/auth/role', summary: 'Act as yourself, as a coordinator or as a career consultant', tag: 'auth', roles: ['learner', 'coordinator', 'consultant'],
    form: roleChoiceSchema,
    responses: { 302: { description: 'To the learner or coordinator home', redirect: true }, 403: { description: 'No such role, or no longer valid' } },
  }, async (ctx) => {
    const session = currentSession(ctx);
    const choice = parseOr400(roleChoiceSchema, ctx.request.body ?? {}, 'body');
    const base = { subject: session.subject, name: session.name };
    if (choice.role === 'learner') {
      await startSessionCookie(ctx, deps, { role: 'learner', ...base });
      ctx.redirect(safeNext(choice.next, '/learner'));
      return;
    }
    const grant = (await activeGrants(deps, session.subject)).find((g) => g.id === choice.role);
    if (!grant) throw new HttpError(403, 'role_not_active', 'You have no such role, or it is no longer valid');
    const role = grant.role === 'career_consultant' ? 'consultant' : 'coordinator';
    await startSessionCookie(ctx, deps, { role, ...base, municipality: grant.municipality });
    ctx.redirect(role === 'consultant' ? '/consultant' : '/coordinator');
  });

  // JSON API.
  api.add(router, {
    method: 'get', path: '/api/coordinator/journeys', summary: 'The journeys this coordinator registered on learners\' behalf, with their stage',
    tag: 'coordinator', roles: ['coordinator'],
    responses: { 200: { description: 'Journeys, newest first', schema: z.object({ journeys: z.array(assistedJourneySchema) }) } },
  }, async (ctx) => {
    const session = currentSession(ctx);
    await coordinatorGrant(deps, session);
    ctx.body = { journeys: await listAssisted(deps, session) };
  });

  api.add(router, {
    method: 'post', path: '/api/coordinator/journeys',
    summary: 'Register a person on their behalf (assisted channel): starts their journey with the coordinator as the actor',
    tag: 'coordinator', roles: ['coordinator'], body: assistedRegistrationSchema,
    responses: {
      201: { description: 'Journey started and case opened', schema: assistedStartSchema },
      202: { description: 'Journey started; the case is still being opened', schema: assistedStartSchema },
      403: { description: 'The person\'s declared address is not in your municipality (code outside_municipality; nothing is stored), or your role has ended' },
      409: { description: 'The person already has an open application in this programme' },
    },
  }, async (ctx, { body }) => {
    const session = currentSession(ctx);
    await coordinatorGrant(deps, session);
    const { caseId, opened, contactKept } = await registerOnBehalf(deps, session, body);
    ctx.status = opened ? 201 : 202;
    ctx.body = { caseId, location: '/api/coordinator/journeys', contactKept };
  });

  api.add(router, {
    method: 'post', path: '/api/coordinator/journeys/:caseId/applications',
    summary: 'Apply for a group of a published offer on behalf of a learner this coordinator registered',
    tag: 'coordinator', roles: ['coordinator'], params: caseParams, body: applicationSchema,
    responses: {
      201: { description: 'Applied: the cost is earmarked from the balance', schema: applyResultSchema },
      200: { description: 'Wait-listed: the programme has reached its cap', schema: applyResultSchema },
      404: { description: 'No journey registered by you with this id' },
      409: { description: 'Refused (details name the reason), not waiting for an application, or the journey is closed' },
    },
  }, async (ctx, { params, body }) => {
    const session = currentSession(ctx);
    await coordinatorGrant(deps, session);
    const answer = await applyOnBehalf(deps, session, params.caseId, body);
    ctx.status = answer.outcome === 'applied' ? 201 : 200;
    ctx.body = { ...answer, location: '/api/coordinator/journeys' };
  });

  // Pages.
  api.page(router, {
    method: 'get', path: '/coordinator', summary: 'The coordinator\'s home: assisted journeys and the registration form', tag: 'coordinator pages', roles: ['coordinator'],
    query: z.object({ notice: text().max(100).optional(), reason: text().max(100).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await coordinatorHome(ctx, {});
  });

  // The form is checked whole by assistedRegistrationSchema, which shows each problem next to its field.
  api.page(router, {
    method: 'post', path: '/coordinator/journeys', summary: 'Register a person on their behalf', tag: 'coordinator pages', roles: ['coordinator'],
    form: assistedRegistrationSchema, formPage: true,
    responses: {
      302: { description: 'To the coordinator home', redirect: true }, 400: { description: 'The form again, each problem next to its field' },
      403: { description: 'The person\'s declared address is not in your municipality: the form again, saying so next to the person code (nothing stored)' },
      409: { description: 'The person already has an open application: the form again, saying so' },
    },
  }, async (ctx) => {
    const session = currentSession(ctx);
    await coordinatorGrant(deps, session);
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const parsed = assistedRegistrationSchema.safeParse(form);
    const showErrors = async (errors: Record<string, string>) => {
      ctx.status = 400;
      await coordinatorHome(ctx, { form, errors });
    };
    if (!parsed.success) {
      await showErrors(errorsByField(fieldProblems(parsed.error), ctx.state.lang));
      return;
    }
    try {
      const { contactKept } = await registerOnBehalf(deps, session, parsed.data);
      ctx.redirect(`/coordinator?notice=${contactKept ? 'registered_contact_kept' : 'registered'}`);
    } catch (err) {
      if (err instanceof HttpError && err.status === 400) {
        await showErrors(errorsByField(err.details as WordedProblem[], ctx.state.lang));
        return;
      }
      if (err instanceof HttpError && err.code === 'journey_already_open') {
        ctx.status = 409;
        await coordinatorHome(ctx, { form, formError: refusalText(err, ctx.state.lang) });
        return;
      }
      // Not a resident of the coordinator's municipality: said next to the person code, in the page's language.
      if (err instanceof HttpError && err.code === 'outside_municipality') {
        ctx.status = 403;
        await coordinatorHome(ctx, { form, errors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
        return;
      }
      if (err instanceof HttpError && err.code === 'registry_unavailable') {
        ctx.status = 503;
        ctx.set('retry-after', String(RETRY_AFTER_SECONDS));
        await coordinatorHome(ctx, { form, formError: translate(ctx.state.lang, 'coordinator.registerUnavailable') });
        return;
      }
      throw err;
    }
  });

  // Apply on behalf is confirmed first, as the learner's own application is (api/confirmations.ts): the page's form
  // (its one select carries "<offerId>:<groupId>") leads to the confirmation, whose form (confirmed=yes) applies.
  api.page(router, {
    method: 'get', path: '/coordinator/journeys/:caseId/applications/confirm',
    summary: 'Check an application on a learner\'s behalf: whose, the course, group, dates, cost, who pays what, the balance after; its form applies',
    tag: 'coordinator pages', roles: ['coordinator'], params: caseParams,
    responses: { 200: { description: 'The confirmation page' }, 303: { description: 'Back to the coordinator home when the journey cannot apply (it says why)', redirect: true } },
  }, async (ctx) => {
    const session = currentSession(ctx);
    await coordinatorGrant(deps, session);
    const params = parseOr400(caseParams, ctx.params, 'params');
    const applying = await assistedCaseForApplying(deps, session, params.caseId);
    await applyConfirmation(ctx, deps, renderer, queryAnswers(ctx, deps.tokens), { ...applying, action: `/coordinator/journeys/${params.caseId}/applications`, home: '/coordinator' });
  });

  api.page(router, {
    method: 'post', path: '/coordinator/journeys/:caseId/applications',
    summary: 'Apply for a group on behalf of a learner: without confirmed=yes, to the confirmation page (nothing is applied); with it, applies',
    tag: 'coordinator pages', roles: ['coordinator'], params: caseParams, form: coordinatorApplicationForm,
    responses: { 303: { description: 'Unconfirmed: to the confirmation page. Confirmed: to the coordinator home, with the outcome', redirect: true } },
  }, async (ctx) => {
    const session = currentSession(ctx);
    await coordinatorGrant(deps, session);
    const params = parseOr400(caseParams, ctx.params, 'params');
    const sent = (ctx.request.body ?? {}) as Record<string, unknown>;
    const form = answersOf(sent);
    // The home page's select sends "<offerId>:<groupId>"; the confirmation sends the two fields.
    const [offerId, groupId] = form.offerId ? [form.offerId, form.groupId] : String(form.choice ?? '').split(':');
    const body = parseOr400(applicationSchema, { requestId: form.requestId || undefined, offerId, groupId }, 'body');
    if (!isConfirmed(sent)) {
      await assistedCaseForApplying(deps, session, params.caseId);
      toConfirmation(ctx, deps.tokens, `/coordinator/journeys/${params.caseId}/applications`, { ...(body.requestId ? { requestId: body.requestId } : {}), offerId: body.offerId, groupId: body.groupId });
      return;
    }
    ctx.status = 303;
    try {
      const answer = await applyOnBehalf(deps, session, params.caseId, body);
      ctx.redirect(`/coordinator?notice=${answer.outcome}`);
    } catch (err) {
      if (err instanceof HttpError && err.code === 'application_refused') {
        const reason = (err.details[0] as { reason?: string } | undefined)?.reason ?? 'unknown';
        ctx.redirect(`/coordinator?notice=refused&reason=${encodeURIComponent(reason)}`);
        return;
      }
      if (err instanceof HttpError && err.status === 409) {
        ctx.redirect('/coordinator?notice=wrong_stage');
        return;
      }
      throw err;
    }
  });

  async function coordinatorHome(ctx: Context, extra: { form?: Record<string, string>; errors?: Record<string, string>; formError?: string }) {
    const session = currentSession(ctx);
    await coordinatorGrant(deps, session);
    const lang = ctx.state.lang as 'lv' | 'en';
    const [journeys, programmes] = await Promise.all([listAssisted(deps, session), listProgrammes(deps)]);
    const names = new Map(programmes.map((p) => [p.code, lang === 'lv' ? p.nameLv : p.nameEn]));
    // Journeys that take an application now get an Apply form listing the open offers' groups with free places.
    const applying = journeys.filter((j) => j.closedAt === null && inStages(j.stage, APPLY_STAGES));
    const offers = applying.length > 0 ? (await listOffers(deps, { page: 1 })).offers : [];
    const choicesFor = (programme: string) => offers.filter((o) => o.programme === programme).flatMap((o) =>
      o.groups.filter((g) => g.freePlaces > 0).map((g) => ({ value: `${o.offerId}:${g.groupId}`, label: `${o.title[lang]} — ${g.place}, ${g.startsOn}` })));
    renderPage(ctx, renderer, 'coordinator-home', 'coordinator.title', {
      municipality: session.municipality,
      notice: noticeText(lang, ctx.query.notice, ctx.query.reason),
      journeys: journeys.map((j) => ({
        ...j, programmeName: names.get(j.programme) ?? j.programme,
        apply: applying.includes(j) ? { requestId: randomUUID(), choices: choicesFor(j.programme) } : null,
      })),
      programmes: programmes.map((p) => ({ code: p.code, name: names.get(p.code) })),
      form: { requestId: randomUUID(), language: lang, programme: 'IMK', ...extra.form },
      errors: extra.errors, formError: extra.formError,
    }, { municipality: session.municipality ?? '' });
  }

  return router;
}

const NOTICES = ['registered', 'registered_contact_kept', 'applied', 'waitlisted', 'refused', 'wrong_stage'];
const REFUSALS = [
  'offer_not_found', 'offer_not_published', 'group_not_in_offer', 'other_programme', 'window_not_open', 'window_closed',
  'programme_window_not_open', 'programme_window_closed', 'group_full', 'insufficient_balance', 'cap_reached',
];

// The words for a notice a form's redirect asked for (anything else is ignored).
function noticeText(lang: PageLanguage, notice: unknown, reason: unknown): string | null {
  if (typeof notice !== 'string' || !NOTICES.includes(notice)) return null;
  if (notice !== 'refused') return translate(lang, `coordinator.notice.${notice}`);
  const why = typeof reason === 'string' && REFUSALS.includes(reason) ? reason : 'unknown';
  return translate(lang, 'coordinator.notice.refused', { reason: translate(lang, `refusal.${why}`) });
}
