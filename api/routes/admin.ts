import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { PageLanguage, Renderer } from '../../web/render';
import { translate } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import {
  WORKFLOW_STATUSES, WORKFLOW_TYPES, findStuck, listWorkflows, performAction, workflowDetail, type WorkflowStatusName,
} from '../services/workflow-console';
import { auditUserAction } from '../services/audit';
import { registryHealth } from '../services/registry-health';
import { HEALTH_CHECK_DEADLINE_MS } from '../services/health';
import { personCode, TASK_TYPES } from '../schemas';
import { text } from '../text-input';
import { errorsByField, fieldProblems } from '../validation';
import type { ApiRegistry } from './define';
import { refusalText } from '../messages';
import { answersOf, isConfirmed, queryAnswers, renderConfirmation, toConfirmation } from '../confirmations';

const ADMIN = ['admin'] as const;
const STATUS_NAMES = Object.keys(WORKFLOW_STATUSES) as WorkflowStatusName[];
const PAGE_SIZE = 50;

const optionalText = (max: number) => text().trim().max(max, { message: `must be at most ${max} characters` })
  .optional().transform((v) => (v === '' ? undefined : v));

/** The console's list filters, as query parameters (empty values mean "any"). */
export const workflowListQuery = z.object({
  type: z.enum([...WORKFLOW_TYPES, ''], { message: `must be one of ${WORKFLOW_TYPES.join(', ')}` }).optional()
    .transform((v) => (v === '' ? undefined : v)),
  status: z.enum([...STATUS_NAMES, ''], { message: `must be one of ${STATUS_NAMES.join(', ')}` })
    .optional().transform((v) => (v === '' ? undefined : v)),
  workflowId: optionalText(200),
  caseId: z.union([z.uuid({ message: 'must be a case id (UUID)' }), z.literal('')]).optional().transform((v) => (v === '' ? undefined : v)),
  serviceCaseId: optionalText(60),
  personCode: z.preprocess((v) => (v === '' ? undefined : v), personCode().optional()),
  programme: optionalText(20),
  stage: optionalText(60),
  pageToken: optionalText(2000),
  lang: text().max(10).optional(),
}).strict();

const workflowParams = z.object({ workflowId: text().min(1).max(200) });

// Response bodies of the console (api/services/workflow-console.ts); they describe, not validate.

/** One workflow in a list (WorkflowRow): its search attributes, null where the workflow has none. */
const workflowRowSchema = z.object({
  workflowId: z.string(), runId: z.string(), type: z.string().describe(`One of ${WORKFLOW_TYPES.join(', ')}`),
  status: z.enum(STATUS_NAMES), startedAt: z.iso.datetime(), closedAt: z.iso.datetime().nullable(),
  caseId: z.string().nullable(), serviceCaseId: z.string().nullable(), programme: z.string().nullable(), stage: z.string().nullable(),
});

/** One failing thing in a running workflow (StuckWorkflow). */
const stuckWorkflowSchema = z.object({
  workflowId: z.string(), runId: z.string(), type: z.string(), caseId: z.string().nullable(),
  kind: z.enum(['activity', 'workflow_task']).describe('A pending activity failed 3+ times, or the workflow code itself fails'),
  activityId: z.string().nullable(), activityType: z.string().nullable(), attempt: z.number().int(), lastFailure: z.string(),
  nextRetryAt: z.iso.datetime().nullable(), cause: z.string(),
});

/** The stuck view (findStuck): the failing workflows grouped by cause, and the overdue human tasks. */
const stuckSchema = z.object({
  scanned: z.number().int().describe('Kept for older clients: the failing steps read from the stuck index (same as total)'),
  scanLimit: z.number().int().describe('Kept for older clients: the same as groupListed'),
  total: z.number().int().describe('Every failing step in the stuck index, over all groups'),
  leftOut: z.number().int().describe('How many failing steps the groups count but do not list (each lists at most groupListed)'),
  groupListed: z.number().int().describe('How many workflows each group lists at most'),
  groups: z.array(z.object({
    cause: z.string(), count: z.number().int().describe('All of the cause\'s failing steps'),
    leftOut: z.number().int().describe('How many of them the list leaves out'), workflows: z.array(stuckWorkflowSchema),
  })),
  overdueTasks: z.array(z.object({
    id: z.uuid(), type: z.enum(TASK_TYPES), workflowId: z.string(), caseId: z.uuid().nullable(), providerId: z.uuid().nullable(), offerId: z.uuid().nullable(),
    dueAt: z.iso.datetime(), escalatedAt: z.iso.datetime().nullable(), assigneeId: z.uuid().nullable(),
  })).describe('At most 200, soonest due first'),
  overdueTotal: z.number().int(),
});

/** One workflow's page (workflowDetail). */
const workflowDetailSchema = z.object({
  workflow: workflowRowSchema,
  state: z.unknown().describe("The workflow's own Query answer while it runs (journeys, registrations, offers), else null"),
  pending: z.array(z.object({
    activityId: z.string(), activityType: z.string(), attempt: z.number().int(), lastFailure: z.string().nullable(),
    nextRetryAt: z.iso.datetime().nullable(), lastStartedAt: z.iso.datetime().nullable(),
  })),
  failures: z.array(stuckWorkflowSchema),
  events: z.array(z.object({ id: z.number().int(), at: z.iso.datetime().nullable(), event: z.string(), detail: z.string() })),
  subject: z.object({ caseId: z.uuid().nullable(), providerId: z.uuid().nullable(), offerId: z.uuid().nullable() }),
  temporalUiUrl: z.string().nullable(), signals: z.array(z.string()),
});

/** The reason an administrator gives for a console action or a repair: required, and audited. */
export const auditedReason = () => text().trim().min(5, { message: 'is required (at least 5 characters): say why, it is audited' })
  .max(500, { message: 'must be at most 500 characters' });

/** An administrator's action on one workflow; every action needs a reason, which is audited. */
export const actionSchema = z.object({
  action: z.enum(['retry', 'signal', 'cancel', 'terminate'], { message: 'must be retry, signal, cancel or terminate' }),
  reason: auditedReason(),
  signal: text().trim().max(60).optional().transform((v) => (v === '' ? undefined : v)),
}).strict();

// The actions that stop a workflow for good, confirmed before they are done.
const STOPPING: readonly string[] = ['cancel', 'terminate'];

/** The administrators' workflow console: the list, the stuck view, one workflow's page and its actions. */
export function adminRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/admin/workflows', summary: 'Workflows by type, status and search attributes, newest first',
    tag: 'admin', roles: [...ADMIN], query: workflowListQuery,
    responses: {
      200: {
        description: 'A page of workflows with the total and the next page token',
        schema: z.object({ workflows: z.array(workflowRowSchema), nextPageToken: z.string().nullable(), total: z.number().int() }),
      },
    },
  }, async (ctx, { query }) => {
    const { pageToken, lang: _lang, ...filter } = query;
    await auditSearch(ctx, 'list', filter);
    ctx.body = await listWorkflows(deps, filter, { size: PAGE_SIZE, token: pageToken });
  });

  api.add(router, {
    method: 'get', path: '/api/admin/stuck',
    summary: `Running workflows whose activity failed 3+ times or whose code fails, grouped by cause, with overdue human tasks`,
    tag: 'admin', roles: [...ADMIN], responses: { 200: { description: 'Groups by cause and overdue tasks', schema: stuckSchema } },
  }, async (ctx) => {
    await auditSearch(ctx, 'stuck', {});
    ctx.body = await findStuck(deps);
  });

  api.add(router, {
    method: 'get', path: '/api/admin/workflows/:workflowId', summary: "One workflow: subject, state, pending activities, failures, history",
    tag: 'admin', roles: [...ADMIN], params: workflowParams,
    responses: { 200: { description: 'The workflow', schema: workflowDetailSchema }, 404: { description: 'No such workflow on this system' } },
  }, async (ctx, { params }) => {
    const detail = await workflowDetail(deps, params.workflowId);
    if (!detail) throw new HttpError(404, 'workflow_not_found', 'There is no such workflow');
    await auditWorkflowView(ctx, detail);
    ctx.body = detail;
  });

  api.add(router, {
    method: 'post', path: '/api/admin/workflows/:workflowId/actions',
    summary: 'Retry now, signal, cancel or terminate one workflow, with a reason (audited)',
    tag: 'admin', roles: [...ADMIN], params: workflowParams, body: actionSchema,
    responses: {
      200: { description: 'What the action did', schema: z.object({ workflowId: z.string(), action: z.string(), outcome: z.string() }) },
      404: { description: 'No such workflow' }, 409: { description: 'Not running, or nothing to retry' },
    },
  }, async (ctx, { params, body }) => {
    ctx.body = await performAction(deps, currentSession(ctx), params.workflowId, body);
  });

  // Pages.
  api.page(router, {
    method: 'get', path: '/admin', summary: 'The console: to the stuck view', tag: 'console pages', roles: [...ADMIN],
    responses: { 302: { description: 'To the stuck view', redirect: true } },
  }, (ctx) => ctx.redirect('/admin/stuck'));

  // The filter form and the action form check every field with their schemas and show problems next to them.
  api.formPages.add('post', '/admin/workflows/:workflowId/actions');
  api.page(router, {
    method: 'get', path: '/admin/workflows', summary: 'Workflows by type, status and search attributes', tag: 'console pages', roles: [...ADMIN],
    query: workflowListQuery, formPage: true,
    responses: { 200: { description: 'The page' }, 400: { description: 'A filter is wrong: the page says which, next to it' } },
  }, async (ctx) => {
    const parsed = workflowListQuery.safeParse(ctx.query);
    const errors = parsed.success ? {} : errorsByField(fieldProblems(parsed.error), ctx.state.lang);
    const query = parsed.success ? parsed.data : {};
    const { pageToken, lang: _lang, ...filter } = query as z.output<typeof workflowListQuery>;
    if (parsed.success) await auditSearch(ctx, 'list', filter);
    const result = parsed.success ? await listWorkflows(deps, filter, { size: PAGE_SIZE, token: pageToken }) : { workflows: [], total: 0, nextPageToken: null };
    if (!parsed.success) ctx.status = 400;
    renderPage(ctx, renderer, 'console-list', 'console.list.title', {
      ...result, filter: { ...ctx.query }, errors, types: WORKFLOW_TYPES, statuses: Object.keys(WORKFLOW_STATUSES),
      nextUrl: result.nextPageToken ? `/admin/workflows?${new URLSearchParams({ ...stringParams(ctx.query), pageToken: result.nextPageToken })}` : null,
    });
  });

  api.page(router, {
    method: 'get', path: '/admin/stuck', summary: 'Stuck workflows grouped by cause, overdue tasks, registry health', tag: 'console pages', roles: [...ADMIN],
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await auditSearch(ctx, 'stuck', {});
    // The list comes from the stuck index (PostgreSQL), so it shows while Temporal is down; the page says so, since
    // the index is then as it was last written and no action can be taken.
    const temporalAnswers = deps.temporal.connection.withDeadline(Date.now() + HEALTH_CHECK_DEADLINE_MS, () => deps.temporal.workflowService.getSystemInfo({}))
      .then(() => true, () => false);
    const [stuck, health, temporalUp] = await Promise.all([findStuck(deps), registryHealth(deps), temporalAnswers]);
    renderPage(ctx, renderer, 'console-stuck', 'console.stuck.title', { ...stuck, health, temporalDown: !temporalUp });
  });

  api.page(router, {
    method: 'get', path: '/admin/workflows/:workflowId', summary: 'One workflow\'s page with its history and actions', tag: 'console pages', roles: [...ADMIN],
    params: workflowParams, query: z.object({ done: z.enum(['retry', 'signal', 'cancel', 'terminate']).optional(), outcome: text().max(300).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await workflowPage(ctx, {});
  });

  // Cancel and terminate stop a workflow for good: they are confirmed first (api/confirmations.ts); retry and signal act at once.
  api.page(router, {
    method: 'get', path: '/admin/workflows/:workflowId/actions/confirm', summary: 'Check before cancelling or terminating a workflow: what it is, what stops, the reason; its form acts',
    tag: 'console pages', roles: [...ADMIN], params: workflowParams,
    responses: { 200: { description: 'The confirmation page' }, 303: { description: 'Back to the workflow page when the answers or the workflow no longer fit', redirect: true } },
  }, async (ctx) => {
    const params = workflowParams.safeParse(ctx.params);
    const detail = params.success ? await workflowDetail(deps, params.data.workflowId) : null;
    if (!detail) throw new HttpError(404, 'not_found', translate(ctx.state.lang, 'error.404'));
    const parsed = actionSchema.safeParse(queryAnswers(ctx, deps.tokens));
    const page = `/admin/workflows/${encodeURIComponent(detail.workflow.workflowId)}`;
    if (!parsed.success || !STOPPING.includes(parsed.data.action) || detail.workflow.status !== 'running') {
      ctx.status = 303;
      ctx.redirect(page);
      return;
    }
    await auditWorkflowView(ctx, detail);
    const lang = ctx.state.lang as PageLanguage;
    const { action, reason } = parsed.data;
    const change = `${page}#actions-heading`;
    renderConfirmation(ctx, renderer, {
      titleKey: `confirm.console.title.${action}`, intro: translate(lang, 'confirm.console.intro'),
      facts: [
        { label: translate(lang, 'confirm.console.workflow'), value: detail.workflow.workflowId, testId: 'confirm-workflow' },
        { label: translate(lang, 'confirm.console.type'), value: detail.workflow.type },
        ...(detail.workflow.serviceCaseId ? [{ label: translate(lang, 'confirm.console.case'), value: detail.workflow.serviceCaseId }] : []),
        ...(detail.workflow.stage ? [{ label: translate(lang, 'confirm.console.stage'), value: detail.workflow.stage }] : []),
        { label: translate(lang, 'console.action'), value: translate(lang, `console.action.${action}`), changeHref: change, testId: 'confirm-action' },
        { label: translate(lang, 'confirm.reason'), value: reason, changeHref: change },
      ],
      effects: [translate(lang, `confirm.console.effect.${action}`), translate(lang, 'confirm.console.audited'), translate(lang, 'confirm.cannotUndo')],
      action: `${page}/actions`, answers: { action, reason }, submitText: translate(lang, `confirm.console.submit.${action}`), backHref: change, warning: true,
    });
  });

  api.page(router, {
    method: 'post', path: '/admin/workflows/:workflowId/actions',
    summary: 'Retry, signal, cancel or terminate one workflow, with a reason (audited); cancel and terminate without confirmed=yes go to their confirmation page first',
    tag: 'console pages', roles: [...ADMIN], params: workflowParams, form: actionSchema, formPage: true,
    responses: {
      303: { description: 'To the workflow page, with the outcome; an unconfirmed cancel or terminate: to its confirmation page (nothing is done)', redirect: true },
      400: { description: 'The form again, each problem next to its field' }, 409: { description: 'Not running, or nothing to retry: the workflow page, saying so' },
    },
  }, async (ctx) => {
    const workflowId = String(ctx.params.workflowId);
    const sent = (ctx.request.body ?? {}) as Record<string, unknown>;
    const form = answersOf(sent);
    const parsed = actionSchema.safeParse(form);
    if (!parsed.success) {
      ctx.status = 400;
      await workflowPage(ctx, { form, errors: errorsByField(fieldProblems(parsed.error), ctx.state.lang) });
      return;
    }
    if (STOPPING.includes(parsed.data.action) && !isConfirmed(sent)) {
      toConfirmation(ctx, deps.tokens, `/admin/workflows/${encodeURIComponent(workflowId)}/actions`, form);
      return;
    }
    try {
      const outcome = await performAction(deps, currentSession(ctx), workflowId, parsed.data);
      ctx.status = 303;
      ctx.redirect(`/admin/workflows/${encodeURIComponent(workflowId)}?${new URLSearchParams({ done: outcome.action, outcome: outcome.outcome }).toString()}`);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status === 404) throw err;
      ctx.status = err.status;
      await workflowPage(ctx, { form, formError: refusalText(err, ctx.state.lang) });
    }
  });

  // Every search of the console is audited with its filter; finding a person's cases by person code is a look at
  // their data, so it is its own action with whose code (console.search-person).
  async function auditSearch(ctx: Context, view: 'list' | 'stuck', filter: Record<string, unknown>) {
    const { personCode, ...rest } = filter as { personCode?: string };
    const asked = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    await auditUserAction(deps.db, currentSession(ctx), {
      action: personCode ? 'console.search-person' : 'console.search',
      purpose: personCode ? 'workflow console: workflows of a person' : `workflow console: ${view} view`,
      result: { view, filter: asked }, subjectPersonCode: personCode ?? null,
    });
  }

  // Opening a workflow shows its state (a journey's holds the person's data): audited as a look at the case.
  async function auditWorkflowView(ctx: Context, detail: { workflow: { workflowId: string; type: string }; subject: { caseId: string | null } }) {
    const caseId = detail.subject.caseId;
    await auditUserAction(deps.db, currentSession(ctx), {
      action: caseId ? 'case.view' : 'console.view-workflow', purpose: 'workflow console: one workflow',
      result: { workflowId: detail.workflow.workflowId, workflowType: detail.workflow.type }, caseId,
    });
  }

  async function workflowPage(ctx: Context, extra: Record<string, unknown>) {
    const params = workflowParams.safeParse(ctx.params);
    const detail = params.success ? await workflowDetail(deps, params.data.workflowId) : null;
    if (!detail) throw new HttpError(404, 'not_found', translate(ctx.state.lang, 'error.404'));
    await auditWorkflowView(ctx, detail);
    // What the action did, in the page's language; Temporal's own account of it (an activity's name, a run id) follows
    // as technical detail, marked as English.
    const done = ['retry', 'signal', 'cancel', 'terminate'].includes(String(ctx.query.done)) ? String(ctx.query.done) : null;
    const outcome = typeof ctx.query.outcome === 'string' ? ctx.query.outcome.slice(0, 300) : undefined;
    renderPage(ctx, renderer, 'console-workflow', 'console.workflow.title', {
      ...detail, done: done ? { text: translate(ctx.state.lang as PageLanguage, `console.done.${done}`), detail: outcome } : null, stateJson: detail.state ? JSON.stringify(detail.state, null, 2) : null, ...extra,
    }, { id: detail.workflow.workflowId });
  }

  return router;
}

function stringParams(query: Context['query']): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter(([k, v]) => typeof v === 'string' && v !== '' && k !== 'pageToken')) as Record<string, string>;
}

