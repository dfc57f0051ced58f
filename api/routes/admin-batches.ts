import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import {
  batchPreviewSchema, batchStartSchema, getBatch, listBatches, previewBatch, startBatch, PREVIEW_SHOWN,
  type BatchPreviewRequest,
} from '../services/console-batches';
import { systemHealth } from '../services/health';
import { REGISTRIES, registryHealth } from '../services/registry-health';
import { text } from '../text-input';
import { errorsByField, fieldProblems } from '../validation';
import type { ApiRegistry } from './define';
import { isUuid } from '../../domain/uuid';
import { refusalText } from '../messages';
import type { PageLanguage } from '../../web/render';

const ADMIN = ['admin'] as const;

/** The filter fields a page form may carry (the same names as the console's list filters). */
const FILTER_FIELDS = ['type', 'programme', 'stage', 'caseId', 'serviceCaseId', 'personCode', 'workflowId'] as const;

const batchParams = z.object({ batchId: z.uuid() });
/** The preview and confirmation forms: action, cause, the filter fields; the confirmation adds reason, count and its id. */
const batchForm = z.object({
  action: text().max(20), cause: text().max(200).optional(), reason: text().max(1000).optional(), expectedCount: text().max(20).optional(),
  batchId: text().max(100).optional(), ...Object.fromEntries(FILTER_FIELDS.map((field) => [field, text().max(200).optional()])),
});
const batchQuery = z.object({ page: z.coerce.number().int().min(1).max(10_000).default(1), lang: text().max(10).optional() }).strict();

const countsSchema = z.object({
  pending: z.number().int(), sent: z.number().int(), failed: z.number().int(),
  cleared: z.number().int(), stillFailing: z.number().int(), notFound: z.number().int(), unverified: z.number().int(),
});
const batchSchema = z.object({
  id: z.string(), action: z.enum(['retry', 'terminate', 'cancel']), reason: z.string(), state: z.enum(['running', 'finished']),
  cause: z.string().nullable(), filter: z.record(z.string(), z.string()), expectedCount: z.number().int(), total: z.number().int(),
  startedById: z.string(), startedByName: z.string(), createdAt: z.string(), finishedAt: z.string().nullable(), workflowId: z.string(),
  counts: countsSchema,
});
const windowSchema = z.object({
  minutes: z.number().int(), calls: z.number().int(), errors: z.number().int(), errorRatePercent: z.number().nullable(),
  avgMs: z.number().nullable(), maxMs: z.number().nullable(), noCalls: z.boolean(),
});
/** One registry's row of the health panel (RegistryHealthRow). */
const registryHealthRowSchema = z.object({
  registry: z.enum(REGISTRIES), status: z.enum(['ok', 'degraded', 'down', 'no_calls']),
  windows: z.array(windowSchema), last15: windowSchema, lastHour: windowSchema,
  waiting: z.object({ count: z.number().int(), oldestAt: z.iso.datetime().nullable() }).nullable()
    .describe('The national platform\'s services: rows waiting in the outbox to be sent, and the oldest one\'s time; null for the registries'),
});
/** A batch preview (previewBatch): what the batch would touch now. */
const batchPreviewResponseSchema = z.object({
  action: z.enum(['retry', 'terminate', 'cancel']), cause: z.string().nullable(),
  filter: z.record(z.string(), z.string()).describe('The filters given (person code as DDMMYY-NNNNN)'),
  count: z.number().int(),
  leftOut: z.number().int().describe('A terminate by filter takes at most selectLimit running workflows: how many more match'),
  selectLimit: z.number().int(),
  workflows: z.array(z.object({
    workflowId: z.string(), type: z.string(), caseId: z.string().nullable(),
    activityType: z.string().nullable().describe('What holds it up (a cause\'s stuck workflows); null for one selected by filter'),
    attempt: z.number().int().nullable(), lastFailure: z.string().nullable(),
  })).describe(`The first ${PREVIEW_SHOWN}, by workflow id`),
});
/** One batch with a page of its workflows (getBatch), problems first. */
const batchPageSchema = z.object({
  batch: batchSchema,
  items: z.array(z.object({
    workflowId: z.string(), status: z.enum(['pending', 'sent', 'failed']), verified: z.enum(['cleared', 'still_failing', 'not_found']).nullable(),
    detail: z.string().nullable(), updatedAt: z.iso.datetime(),
  })),
  page: z.number().int(), pageSize: z.number().int(),
});
/** Each process's and service's health (systemHealth). */
const systemHealthSchema = z.object({
  at: z.iso.datetime(),
  processes: z.array(z.object({
    name: z.enum(['api', 'worker', 'temporal', 'postgresql', 'smtp']), status: z.enum(['ok', 'down']), ms: z.number().int().nullable(),
    detail: z.string().nullable(),
    pollers: z.array(z.object({ identity: z.string(), lastAccessTime: z.iso.datetime().nullable() })).optional()
      .describe('The worker: each worker Temporal saw polling the task queue'),
  })),
  registries: z.array(registryHealthRowSchema).describe('Empty when the database cannot say'),
});

/** Batch retry or terminate over a filtered set of workflows, and the registry health panel (administrators only). */
export function adminBatchRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'post', path: '/api/admin/batches/preview', tag: 'admin', roles: [...ADMIN], body: batchPreviewSchema,
    summary: 'How many and which workflows a batch would touch: the stuck ones of a cause (retry, terminate) or the running ones of a filter (terminate)',
    responses: { 200: { description: `The count and the first ${PREVIEW_SHOWN} workflows`, schema: batchPreviewResponseSchema } },
  }, async (ctx, { body }) => {
    ctx.body = await previewBatch(deps, body);
  });

  api.add(router, {
    method: 'post', path: '/api/admin/batches', tag: 'admin', roles: [...ADMIN], body: batchStartSchema,
    summary: 'Start a batch retry or terminate; the set is recomputed, and a terminate whose set grew since the preview is refused',
    responses: {
      202: { description: 'The batch runs', schema: z.object({ batchId: z.string(), count: z.number().int(), expectedCount: z.number().int() }) },
      409: { description: 'Nothing matches any more (nothing_to_do), or a terminate set grew (count_changed)' },
    },
  }, async (ctx, { body }) => {
    ctx.status = 202;
    ctx.body = await startBatch(deps, currentSession(ctx), body);
  });

  api.add(router, {
    method: 'get', path: '/api/admin/batches', summary: 'The most recent batches with their counts', tag: 'admin', roles: [...ADMIN],
    responses: { 200: { description: 'Batches, newest first', schema: z.object({ batches: z.array(batchSchema) }) } },
  }, async (ctx) => {
    ctx.body = { batches: await listBatches(deps) };
  });

  api.add(router, {
    method: 'get', path: '/api/admin/batches/:batchId', tag: 'admin', roles: [...ADMIN], params: batchParams, query: batchQuery,
    summary: 'One batch: its counts by status and verification, and a page of its workflows (problems first)',
    responses: { 200: { description: 'The batch', schema: batchPageSchema }, 404: { description: 'No such batch' } },
  }, async (ctx, { params, query }) => {
    const found = await getBatch(deps, params.batchId, query.page);
    if (!found) throw new HttpError(404, 'batch_not_found', 'There is no such batch');
    ctx.body = found;
  });

  api.add(router, {
    method: 'get', path: '/api/admin/registries/health', tag: 'admin', roles: [...ADMIN],
    summary: 'Each registry\'s calls, errors, error rate and latency over the last 15 minutes and the last hour',
    responses: {
      200: {
        description: 'One row per registry', schema: z.object({
          at: z.string(),
          registries: z.array(registryHealthRowSchema),
        }),
      },
    },
  }, async (ctx) => {
    ctx.body = await registryHealth(deps);
  });

  api.add(router, {
    method: 'get', path: '/api/admin/health', tag: 'admin', roles: [...ADMIN],
    summary: 'Each process\'s and service\'s health: API, workers (Temporal\'s pollers of the task queue), Temporal, PostgreSQL, SMTP, each registry',
    responses: { 200: { description: 'One line per process or service, and the registries by their recent calls', schema: systemHealthSchema } },
  }, async (ctx) => {
    ctx.body = await systemHealth(deps);
  });

  // Pages.
  api.page(router, {
    method: 'get', path: '/admin/batches', summary: 'The most recent batches', tag: 'console pages', roles: [...ADMIN],
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const batches = await listBatches(deps);
    renderPage(ctx, renderer, 'batches', 'batch.list.title', {
      batches, refreshSeconds: batches.some((b) => b.state === 'running') ? 3 : null,
    });
  });

  // The form for a terminate by filter (a retry starts from a cause group of the stuck view).
  api.page(router, {
    method: 'get', path: '/admin/batches/new', summary: 'The form for a terminate by filter', tag: 'console pages', roles: [...ADMIN],
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    renderPage(ctx, renderer, 'batch-new', 'batch.new.title', { form: {} });
  });

  // The stuck view's "Retry all N" and the filter form post here: the preview, with the reason and confirmation.
  api.page(router, {
    method: 'post', path: '/admin/batches/preview', summary: 'Preview a batch: how many and which workflows it would touch', tag: 'console pages', roles: [...ADMIN],
    form: batchForm, pageOfForm: '/admin/batches/new',
    responses: { 200: { description: 'The page' }, 400: { description: 'The form again, each problem next to its field' } },
  }, async (ctx) => {
    const form = formOf(ctx);
    const parsed = batchPreviewSchema.safeParse(selectionFromForm(form));
    if (!parsed.success) {
      ctx.status = 400;
      renderPage(ctx, renderer, 'batch-new', 'batch.new.title', { form, errors: errorsOf(parsed.error, ctx.state.lang) });
      return;
    }
    await previewPage(ctx, parsed.data, form, {});
  });

  api.page(router, {
    method: 'post', path: '/admin/batches', summary: 'Start a batch retry or terminate (after its preview)', tag: 'console pages', roles: [...ADMIN],
    form: batchForm,
    responses: { 303: { description: 'To the batch page', redirect: true }, 400: { description: 'The preview again, each problem next to its field' }, 409: { description: 'Nothing matches any more, or a terminate set grew: the preview again, saying so' } },
  }, async (ctx) => {
    const form = formOf(ctx);
    const selection = selectionFromForm(form);
    const parsed = batchStartSchema.safeParse({
      ...selection, reason: form.reason ?? '', expectedCount: /^\d+$/.test(form.expectedCount ?? '') ? Number(form.expectedCount) : form.expectedCount,
      ...(form.batchId ? { batchId: form.batchId } : {}),
    });
    if (!parsed.success) {
      const preview = batchPreviewSchema.safeParse(selection);
      if (!preview.success) throw new HttpError(400, 'invalid_request', 'The batch form is incomplete: start from the stuck view or the filter form');
      ctx.status = 400;
      await previewPage(ctx, preview.data, form, { errors: errorsOf(parsed.error, ctx.state.lang) });
      return;
    }
    try {
      const started = await startBatch(deps, currentSession(ctx), parsed.data);
      ctx.status = 303;
      ctx.redirect(`/admin/batches/${started.batchId}`);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 409) throw err;
      ctx.status = 409;
      await previewPage(ctx, parsed.data, form, { formError: refusalText(err, ctx.state.lang) });
    }
  });

  api.page(router, {
    method: 'get', path: '/admin/batches/:batchId', summary: 'One batch with its progress', tag: 'console pages', roles: [...ADMIN],
    params: batchParams, query: batchQuery,
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const params = batchParams.safeParse(ctx.params);
    const query = batchQuery.safeParse(ctx.query);
    const page = query.success ? query.data.page : 1;
    const found = params.success ? await getBatch(deps, params.data.batchId, page) : null;
    if (!found) throw new HttpError(404, 'not_found', 'There is no such batch');
    const { batch, items } = found;
    const done = batch.counts.sent + batch.counts.failed;
    const verified = batch.counts.cleared + batch.counts.stillFailing + batch.counts.notFound;
    renderPage(ctx, renderer, 'batch', `batch.title.${batch.action}`, {
      ...found,
      running: batch.state === 'running',
      // The page refreshes itself while the batch runs; no JavaScript needed.
      refreshSeconds: batch.state === 'running' ? 3 : null,
      appliedPercent: batch.total > 0 ? Math.round((done / batch.total) * 100) : 100,
      done, verified,
      filterText: filterText(batch.filter),
      items: items.map((i) => ({ ...i, problem: i.verified === 'still_failing' || i.verified === 'not_found' || i.status === 'failed' })),
      prevPage: page > 1 ? `/admin/batches/${batch.id}?page=${page - 1}` : null,
      nextPage: page * found.pageSize < batch.total ? `/admin/batches/${batch.id}?page=${page + 1}` : null,
    }, { count: batch.total });
  });

  api.page(router, {
    method: 'get', path: '/admin/registries', summary: 'Health of every process and service, and of each registry', tag: 'console pages', roles: [...ADMIN],
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const system = await systemHealth(deps);
    // Without the database the registry table has no numbers; the system panel above says why.
    const health = await registryHealth(deps).catch(() => ({ at: system.at, registries: [] }));
    renderPage(ctx, renderer, 'registries', 'registries.title', { system, health, refreshSeconds: 30 });
  });

  async function previewPage(ctx: Context, request: BatchPreviewRequest, form: Record<string, string>,
    extra: { errors?: Record<string, string>; formError?: string }) {
    const preview = await previewBatch(deps, request);
    renderPage(ctx, renderer, 'batch-preview', `batch.preview.title.${request.action}`, {
      ...preview, form, ...extra,
      // The confirmation's own id, kept across a re-shown form, so submitting it twice starts one batch.
      batchId: form.batchId && isUuid(form.batchId) ? form.batchId : randomUUID(),
      filterFields: FILTER_FIELDS.filter((name) => form[name]).map((name) => ({ name, value: form[name] })),
      filterText: filterText(preview.filter),
      more: Math.max(0, preview.count - preview.workflows.length),
    }, { count: preview.count });
  }

  return router;
}

function formOf(ctx: Context): Record<string, string> {
  const body = (ctx.request.body ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(body).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
}

// The selection as the page forms carry it: action, cause and the filter fields, empty ones meaning "any".
function selectionFromForm(form: Record<string, string>): Record<string, unknown> {
  const filter = Object.fromEntries(FILTER_FIELDS.filter((name) => (form[name] ?? '').trim() !== '').map((name) => [name, form[name]]));
  return {
    action: form.action,
    ...(form.cause && form.cause.trim() !== '' ? { cause: form.cause } : {}),
    ...(Object.keys(filter).length > 0 ? { filter } : {}),
  };
}

function errorsOf(error: z.ZodError, lang: PageLanguage): Record<string, string> {
  // A filter's problem goes next to its field (named without the `filter.` of the schema); the first one per field.
  const problems = fieldProblems(error).map((p) => ({ ...p, field: p.field.replace(/^filter\./, '') }))
    .filter((p, i, all) => all.findIndex((q) => q.field === p.field) === i);
  return errorsByField(problems, lang);
}

function filterText(filter: Record<string, string | undefined>): string {
  return Object.entries(filter).filter(([, v]) => v).map(([k, v]) => `${k} = ${v}`).join(', ');
}
