import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { PageLanguage, Renderer } from '../../web/render';
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
  decideEnrolment, groupsOfOffers, listProviderApplications, reportOutcome, type ProviderApplicationView,
} from '../services/provider';
import { formatRigaDay } from '../../domain/dates';
import { fieldProblems } from '../validation';
import type { ApiRegistry } from './define';

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

  api.page(router, {
    method: 'post', path: '/provider/applications/:applicationId/decision', summary: 'Enrol or decline from the workspace', tag: 'provider pages', roles: [...PROVIDER],
    params: applicationParams, form: enrolmentDecisionSchema,
    responses: { 302: { description: 'To the workspace', redirect: true }, 400: { description: 'The workspace again, the problem next to the field' }, 409: { description: 'Refused (group full, already decided): the workspace, saying so' } },
  }, async (ctx) => {
    await pageAction(ctx, enrolmentDecisionSchema, async (id, data) => {
      await decideEnrolment(deps, currentSession(ctx), id, data);
      return data.decision === 'enrol' ? 'enrolled' : 'declined';
    });
  });

  api.page(router, {
    method: 'post', path: '/provider/applications/:applicationId/outcome', summary: 'Report completion or dropout from the workspace', tag: 'provider pages', roles: [...PROVIDER],
    params: applicationParams, form: studyOutcomeSchema,
    responses: { 302: { description: 'To the workspace', redirect: true }, 400: { description: 'The workspace again, the problem next to the field' }, 409: { description: 'Refused (not enrolled, too early): the workspace, saying so' } },
  }, async (ctx) => {
    await pageAction(ctx, studyOutcomeSchema, async (id, data) => {
      await reportOutcome(deps, currentSession(ctx), id, data);
      return data.outcome;
    });
  });

  /** A form post: parse with the API's schema, act through the same service, redirect back with a status message. */
  async function pageAction<T>(ctx: Context, schema: z.ZodType<T>, act: (applicationId: string, data: T) => Promise<(typeof DONE)[number]>) {
    const params = applicationParams.safeParse(ctx.params);
    if (!params.success) throw new HttpError(404, 'not_found', translate(ctx.state.lang, 'error.404'));
    const applicationId = params.data.applicationId;
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const parsed = schema.safeParse(form);
    if (!parsed.success) {
      ctx.status = 400;
      await workspace(ctx, { failed: { applicationId, form, errors: Object.fromEntries(fieldProblems(parsed.error).map((p) => [p.field, p.message])) } });
      return;
    }
    try {
      const done = await act(applicationId, parsed.data);
      ctx.redirect(`/provider?done=${done}#status`);
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 409 && err.status !== 400)) throw err;
      ctx.status = err.status;
      await workspace(ctx, { failed: { applicationId, form, formError: pageMessage(ctx.state.lang as PageLanguage, err) } });
    }
  }

  interface Failed { applicationId: string; form: Record<string, string>; errors?: Record<string, string>; formError?: string }

  async function workspace(ctx: Context, extra: { failed?: Failed }) {
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
        ...a, title: a.offerTitle[lang], period: `${formatDay(a.startsOn, lang)} – ${formatDay(a.endsOn, lang)}`,
        // Declines and dropouts carry words a person wrote; other reasons are codes the state already says.
        shownReason: a.state === 'declined' || a.state === 'dropped_out' ? a.reason : null,
        form: mine?.form ?? {}, errors: mine?.errors ?? {}, formError: mine?.formError ?? null,
        groups: groups.filter((g) => g.offerId === a.offerId)
          .map((g) => ({ ...g, startsOnText: formatDay(g.startsOn, lang), selected: (mine?.form.groupId || a.groupId) === g.id, own: g.id === a.groupId })),
      };
    };
    const done = DONE.find((d) => d === ctx.query.done) ?? null;
    renderPage(ctx, renderer, 'provider-home', 'provider.title', {
      done, failed: failed ?? null,
      waiting: waiting.applications.map(decorate), enrolled: enrolled.applications.map(decorate), results: results.applications.map(decorate),
    });
  }
  return router;
}

/** A refusal in the page's language (the API's English message when there are no words for it). */
function pageMessage(lang: PageLanguage, err: HttpError): string {
  const detail = (err.details[0] ?? {}) as {
    field?: string; state?: string; decidedBy?: string | null; decidedByRole?: string | null; reportedBy?: string | null; reportedByRole?: string | null;
  };
  // The only 400 a valid form can still get is a group of another offer.
  if (err.code === 'invalid_request' && detail.field !== 'groupId') return err.message;
  const key = `provider.error.${err.code}`;
  const role = detail.decidedByRole ?? detail.reportedByRole;
  const by = detail.decidedBy ?? detail.reportedBy
    ?? translate(lang, role === 'system' ? 'provider.bySystem' : role === 'learner' ? 'provider.byLearner' : 'provider.colleague');
  if (err.code === 'outcome_too_early') {
    const early = err.details[0] as { rule: string; from: string };
    return translate(lang, `provider.error.outcome_too_early.${early.rule}`, { from: formatDay(early.from, lang) });
  }
  const words = translate(lang, key, { state: detail.state ? translate(lang, `provider.state.${detail.state}`).toLowerCase() : '', by });
  return words === key ? err.message : words;
}

/** A calendar day (YYYY-MM-DD) as people write it, e.g. "2027. gada 11. janvāris" / "11 January 2027". */
function formatDay(day: string, lang: PageLanguage): string {
  return formatRigaDay(day, lang);
}
