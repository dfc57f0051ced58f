import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Renderer } from '../../web/render';
import { translate } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { currentSession, requireRole } from '../middleware/auth';
import { renderPage } from '../pages';
import { decisionSchema, inboxQuery, taskParams, taskSchema } from '../schemas';
import { decideTask, getTask, listTasks, type TaskView } from '../services/tasks';
import { fieldProblems } from '../validation';
import type { ApiRegistry } from './define';

const STAFF = ['staff', 'admin'] as const;

/** The agency staff's task inbox: pages and API. */
export function staffRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/staff/tasks', summary: 'The task inbox, one page at a time', tag: 'staff', roles: [...STAFF],
    query: inboxQuery,
    responses: { 200: { description: 'A page of tasks', schema: z.object({ tasks: z.array(taskSchema), total: z.number().int(), page: z.number().int(), pageSize: z.number().int() }) } },
  }, async (ctx, { query }) => {
    ctx.body = await listTasks(deps, query);
  });

  api.add(router, {
    method: 'get', path: '/api/staff/tasks/:taskId', summary: 'One task with its case history', tag: 'staff', roles: [...STAFF],
    params: taskParams, responses: { 200: { description: 'The task' }, 404: { description: 'No such task' } },
  }, async (ctx, { params }) => {
    const found = await getTask(deps, params.taskId);
    if (!found) throw new HttpError(404, 'task_not_found', 'There is no such task');
    ctx.body = found;
  });

  api.add(router, {
    method: 'post', path: '/api/staff/tasks/:taskId/decision', summary: 'Decide a task (exactly one decision per task wins)',
    tag: 'staff', roles: [...STAFF], params: taskParams, body: decisionSchema,
    responses: {
      200: { description: 'Decision recorded', schema: z.object({ stage: z.string() }) },
      404: { description: 'No such task' }, 409: { description: 'Already decided, or no longer open' },
    },
  }, async (ctx, { params, body }) => {
    ctx.body = await decideTask(deps, currentSession(ctx), params.taskId, body);
  });

  // Pages.
  router.get('/staff/tasks', requireRole(...STAFF), async (ctx) => {
    const query = inboxQuery.safeParse(ctx.query);
    const filter = query.success ? query.data : { state: 'open' as const, page: 1 };
    const result = await listTasks(deps, filter);
    const now = Date.now();
    renderPage(ctx, renderer, 'inbox', 'inbox.title', {
      ...result,
      tasks: result.tasks.map((t) => ({ ...t, overdue: isOverdue(t, now) })),
      prevPage: result.page > 1 ? result.page - 1 : null,
      nextPage: result.page * result.pageSize < result.total ? result.page + 1 : null,
    });
  });

  router.get('/staff/tasks/:taskId', requireRole(...STAFF), async (ctx) => {
    await taskPage(ctx, {});
  });

  router.post('/staff/tasks/:taskId/decision', requireRole(...STAFF), async (ctx) => {
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const parsed = decisionSchema.safeParse(form);
    if (!parsed.success) {
      ctx.status = 400;
      await taskPage(ctx, { form, errors: Object.fromEntries(fieldProblems(parsed.error).map((p) => [p.field, p.message])) });
      return;
    }
    try {
      await decideTask(deps, currentSession(ctx), String(ctx.params.taskId), parsed.data);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 409) throw err;
      ctx.status = 409;
      await taskPage(ctx, { form, formError: err.message });
      return;
    }
    ctx.redirect('/staff/tasks');
  });

  async function taskPage(ctx: Context, extra: Record<string, unknown>) {
    const params = taskParams.safeParse(ctx.params);
    const found = params.success ? await getTask(deps, params.data.taskId) : null;
    if (!found) throw new HttpError(404, 'not_found', translate(ctx.state.lang, 'error.404'));
    renderPage(ctx, renderer, 'task', 'task.title', { ...found, overdue: isOverdue(found.task, Date.now()), ...extra }, { name: found.task.learnerName });
  }
  return router;
}

function isOverdue(task: TaskView, now: number): boolean {
  return task.state === 'open' && (task.escalatedAt !== null || Date.parse(task.dueAt) < now);
}
