import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { FormErrors, PageLanguage, Renderer } from '../../web/render';
import { translate } from '../../web/render';
import type { ApiDeps } from '../deps';
import { text } from '../text-input';
import { HttpError } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import {
  applicationParams, enrolmentDecisionSchema, providerApplicationSchema, providerApplicationsQuery, studyOutcomeSchema,
} from '../schemas';
import {
  decideEnrolment, groupsOfOffers, listProviderApplications, providerApplication, reportOutcome, type ProviderApplicationView,
} from '../services/provider';
import { formatRigaDay } from '../../domain/dates';
import { errorsByField, fieldProblems } from '../validation';
import { refusalText } from '../messages';
import type { ApiRegistry } from './define';
import { keptForm } from '../form-state';
import { outcomeTooEarly } from '../../domain/applications';
import { rigaDate } from '../../domain/dates';
import { answersOf, doneMessage, isConfirmed, queryAnswers, toConfirmation } from '../confirmations';
import { decisionConfirmation, outcomeConfirmation } from './confirm-pages';

const PROVIDER = ['provider'] as const;
const actionResult = z.object({ applicationId: z.uuid(), applicationState: z.string(), stage: z.string() });
/** Status messages the page shows after a redirect; anything else in ?done= is ignored. */
const DONE = ['enrolled', 'declined', 'completed', 'dropped_out'] as const;

/** The education provider's workspace: applications to its own offers, enrolment decisions, study outcomes. */
export function providerRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/provider/applications', summary: "Applications to the provider's own offers, one page at a time",
    tag: 'provider', roles: [...PROVIDER], query: providerApplicationsQuery,
    responses: {
      200: {
        description: 'A page of applications, newest first',
        schema: z.object({ applications: z.array(providerApplicationSchema), total: z.number().int(), page: z.number().int(), pageSize: z.number().int() }),
      },
    },
  }, async (ctx, { query }) => {
    ctx.body = await listProviderApplications(deps, currentSession(ctx), {
      states: query.state === 'all' ? undefined : [query.state], offerId: query.offerId, groupId: query.groupId, page: query.page,
    });
  });

  api.add(router, {
    method: 'post', path: '/api/provider/applications/:applicationId/decision',
    summary: 'Enrol the applicant into a group or decline with a reason (one decision per application wins)',
    tag: 'provider', roles: [...PROVIDER], params: applicationParams, body: enrolmentDecisionSchema,
    responses: {
      200: { description: 'Decision recorded', schema: actionResult },
      404: { description: 'None of your offers has this application' },
      409: { description: 'Group full, already decided (naming who), or no longer waiting' },
    },
  }, async (ctx, { params, body }) => {
    ctx.body = await decideEnrolment(deps, currentSession(ctx), params.applicationId, body);
  });

  api.add(router, {
    method: 'post', path: '/api/provider/applications/:applicationId/outcome',
    summary: 'Report that an enrolled learner completed the training or dropped out',
    tag: 'provider', roles: [...PROVIDER], params: applicationParams, body: studyOutcomeSchema,
    responses: {
      200: { description: 'Outcome recorded; the learner is invited to the survey', schema: actionResult },
      404: { description: 'None of your offers has this application' },
      409: { description: 'The learner is not enrolled, the outcome was already reported, or it is too early (completion from the group\'s end date, dropout from its start date)' },
    },
  }, async (ctx, { params, body }) => {
    ctx.body = await reportOutcome(deps, currentSession(ctx), params.applicationId, body);
  });

  // Pages.
  api.page(router, {
    method: 'get', path: '/provider', summary: 'The provider\'s workspace: applications, enrolment, outcomes', tag: 'provider pages', roles: [...PROVIDER],
    query: z.object({ done: text().max(20).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await workspace(ctx, {});
  });

  // Enrol/decline and completion/dropout are confirmed first (api/confirmations.ts): the workspace's forms post here,
  // a valid unconfirmed post goes on to the confirmation page, and only its form (confirmed=yes) acts.
  for (const [kind, build] of [['decision', decisionConfirmation], ['outcome', outcomeConfirmation]] as const) {
    api.page(router, {
      method: 'get', path: `/provider/applications/:applicationId/${kind}/confirm`,
      summary: kind === 'decision' ? 'Check an enrolment decision before it is sent; its form sends it' : 'Check a completion or dropout report (completion spends the reserved money); its form reports it',
      tag: 'provider pages', roles: [...PROVIDER], params: applicationParams,
      responses: { 200: { description: 'The confirmation page' }, 303: { description: 'Back to the workspace when the answers or the application no longer fit', redirect: true } },
    }, async (ctx) => {
      const params = applicationParams.safeParse(ctx.params);
      if (!params.success) throw new HttpError(404, 'not_found', translate(ctx.state.lang, 'error.404'));
      await build(ctx, deps, renderer, params.data.applicationId, queryAnswers(ctx, deps.tokens));
    });
  }

  api.page(router, {
    method: 'post', path: '/provider/applications/:applicationId/decision',
    summary: 'Enrol or decline from the workspace: a valid post without confirmed=yes goes to the confirmation page (nothing is sent); with it, decides',
    tag: 'provider pages', roles: [...PROVIDER], params: applicationParams, form: enrolmentDecisionSchema,
    responses: {
      303: { description: 'Unconfirmed: to the confirmation page. Confirmed: to the workspace, saying what happened', redirect: true },
      400: { description: 'The workspace again, the problem next to the field' }, 409: { description: 'Refused (group full, already decided): the workspace, saying so' },
    },
  }, async (ctx) => {
    await pageAction(ctx, enrolmentDecisionSchema, async (id, data) => {
      await decideEnrolment(deps, currentSession(ctx), id, data);
      return data.decision === 'enrol' ? 'enrolled' : 'declined';
    });
  });

  api.page(router, {
    method: 'post', path: '/provider/applications/:applicationId/outcome', summary: 'Report completion or dropout from the workspace: a valid post without confirmed=yes goes to the confirmation page (nothing is sent); with it, reports', tag: 'provider pages', roles: [...PROVIDER],
    params: applicationParams, form: studyOutcomeSchema,
    responses: {
      303: { description: 'Unconfirmed: to the confirmation page. Confirmed: to the workspace, saying what happened', redirect: true },
      400: { description: 'The workspace again, the problem next to the field' }, 409: { description: 'Refused (not enrolled, too early): the workspace, saying so' },
    },
  }, async (ctx) => {
    await pageAction(ctx, studyOutcomeSchema, async (id, data) => {
      await reportOutcome(deps, currentSession(ctx), id, data);
      return data.outcome;
    }, (app, data) => {
      // Too early is said on the form, not after a confirmation the journey would refuse (the journey's own rule).
      const early = app.state === 'enrolled' ? outcomeTooEarly(data.outcome, app, rigaDate(new Date())) : null;
      if (early) throw new HttpError(409, 'outcome_too_early', `outcome: reported too early (${early.rule}, from ${early.from})`, [{ field: 'outcome', ...early }]);
    });
  });

  /** A form post: parse with the API's schema, act through the same service, redirect back with a status message. */
  async function pageAction<T>(
    ctx: Context, schema: z.ZodType<T>, act: (applicationId: string, data: T) => Promise<(typeof DONE)[number]>,
    precheck?: (application: Awaited<ReturnType<typeof providerApplication>>, data: T) => void,
  ) {
    const params = applicationParams.safeParse(ctx.params);
    if (!params.success) throw new HttpError(404, 'not_found', translate(ctx.state.lang, 'error.404'));
    const applicationId = params.data.applicationId;
    const kind = ctx.path.endsWith('/outcome') ? 'outcome' : 'decision';
    const sent = (ctx.request.body ?? {}) as Record<string, unknown>;
    const form = answersOf(sent);
    const parsed = schema.safeParse(form);
    if (!parsed.success) {
      ctx.status = 400;
      await workspace(ctx, { failed: { applicationId, kind, form, errors: errorsByField(fieldProblems(parsed.error), ctx.state.lang) } });
      return;
    }
    try {
      // Checked answers go on to their confirmation page; only its form acts.
      if (!isConfirmed(sent)) {
        // Another provider's application is not found here either (404), before any confirmation.
        const application = await providerApplication(deps, currentSession(ctx), applicationId);
        precheck?.(application, parsed.data);
        toConfirmation(ctx, deps.tokens, ctx.path, form);
        return;
      }
      const done = await act(applicationId, parsed.data);
      ctx.status = 303;
      ctx.redirect(`/provider?done=${done}#status`);
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 409 && err.status !== 400)) throw err;
      ctx.status = err.status;
      await workspace(ctx, { failed: { applicationId, kind, form, formError: pageMessage(ctx.state.lang as PageLanguage, err) } });
    }
  }

  interface Failed { applicationId: string; kind: 'decision' | 'outcome'; form: Record<string, string>; errors?: Record<string, string>; formError?: string }

  async function workspace(ctx: Context, given: { failed?: Failed }) {
    const extra = keptForm(ctx, 'provider-home', given);
    const session = currentSession(ctx);
    const lang = ctx.state.lang as 'lv' | 'en';
    const list = (states: ProviderApplicationView['state'][]) => listProviderApplications(deps, session, { states, page: 1, pageSize: 200 });
    const [waiting, enrolled, results] = await Promise.all([
      list(['applied']), list(['enrolled']), list(['completed', 'dropped_out', 'declined', 'timed_out', 'withdrawn']),
    ]);
    const groups = await groupsOfOffers(deps, session, [...new Set(waiting.applications.map((a) => a.offerId))]);
    const failed = extra.failed;
    const decorate = (a: ProviderApplicationView) => {
      const mine = failed?.applicationId === a.id ? failed : undefined;
      return {
        ...a, title: a.offerTitle[lang], period: `${formatRigaDay(a.startsOn, lang)} – ${formatRigaDay(a.endsOn, lang)}`,
        // Declines and dropouts carry words a person wrote; other reasons are codes the state already says.
        shownReason: a.state === 'declined' || a.state === 'dropped_out' ? a.reason : null,
        form: mine?.form ?? {}, errors: mine?.errors ?? {}, formError: mine?.formError ?? null,
        groups: groups.filter((g) => g.offerId === a.offerId)
          .map((g) => ({ ...g, startsOnText: formatRigaDay(g.startsOn, lang), selected: (mine?.form.groupId || a.groupId) === g.id, own: g.id === a.groupId })),
      };
    };
    renderPage(ctx, renderer, 'provider-home', 'provider.title', {
      done: doneMessage(lang, 'provider.done', ctx.query.done, DONE), failed: failed ?? null, formErrors: failed ? failedFormErrors(failed) : undefined,
      waiting: waiting.applications.map(decorate), enrolled: enrolled.applications.map(decorate), results: results.applications.map(decorate),
    });
  }
  return router;
}

/** The summary of the one application form that failed: its problems, linking to that form's fields. */
function failedFormErrors(failed: { applicationId: string; kind: 'decision' | 'outcome'; errors?: Record<string, string> }): FormErrors {
  const id = failed.applicationId;
  const ids: Record<string, string> = failed.kind === 'decision'
    ? { decision: `decision-${id}`, groupId: `group-${id}`, reason: `reason-${id}` }
    : { outcome: `outcome-${id}`, reason: `outcome-reason-${id}` };
  return { errors: failed.errors, ids };
}

/** A refusal in the page's language: the workspace's own wording (provider.error.<code>) or the catalogue's. */
function pageMessage(lang: PageLanguage, err: HttpError): string {
  const detail = (err.details[0] ?? {}) as {
    field?: string; state?: string; decidedBy?: string | null; decidedByRole?: string | null; reportedBy?: string | null; reportedByRole?: string | null;
  };
  // The only 400 a valid form can still get is a group of another offer (provider.error.invalid_request says so).
  if (err.code === 'invalid_request' && detail.field !== 'groupId') return refusalText(err, lang);
  const role = detail.decidedByRole ?? detail.reportedByRole;
  const by = detail.decidedBy ?? detail.reportedBy
    ?? translate(lang, role === 'system' ? 'provider.bySystem' : role === 'learner' ? 'provider.byLearner' : 'provider.colleague');
  if (err.code === 'outcome_too_early') {
    const early = err.details[0] as { rule: string; from: string };
    return translate(lang, `provider.error.outcome_too_early.${early.rule}`, { from: formatRigaDay(early.from, lang) });
  }
  const state = detail.state ? translate(lang, `provider.state.${detail.state}`).toLowerCase() : '';
  return refusalText(err, lang, { area: 'provider', vars: { state, by, decidedBy: by, reportedBy: by } });
}

