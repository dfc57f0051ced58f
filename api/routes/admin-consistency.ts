import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Renderer } from '../../web/render';
import { translate } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { CONSISTENCY_RULES, REPAIRS, checkConsistency, repairViolation, type ConsistencyDeps } from '../services/consistency';
import { text } from '../text-input';
import { errorsByField, fieldProblems } from '../validation';
import { auditedReason } from './admin';
import type { ApiRegistry } from './define';
import { refusalText } from '../messages';
import { keptForm } from '../form-state';

const ADMIN = ['admin'] as const;

/** A repair request: which violation (rule and subject id, as the report names them) and why; the reason is audited. */
export const repairSchema = z.object({
  rule: z.enum(CONSISTENCY_RULES, { message: `must be one of ${CONSISTENCY_RULES.join(', ')}` }),
  subject: text().trim().min(1, { message: 'is required' }).max(300, { message: 'must be at most 300 characters' }),
  reason: auditedReason(),
}).strict();

const violationSchema = z.object({
  rule: z.enum(CONSISTENCY_RULES),
  subject: z.object({ kind: z.string(), id: z.string() }),
  workflowId: z.string().nullable(),
  message: z.object({ lv: z.string(), en: z.string() }),
  link: z.string(),
  repair: z.enum(REPAIRS).nullable(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.null()])),
});
const reportSchema = z.object({
  checkedAt: z.string(),
  scope: z.object({ namespace: z.string(), taskQueue: z.string().nullable() }),
  counts: z.record(z.string(), z.number().int()),
  violations: z.array(violationSchema),
});
const repairResultSchema = z.object({
  repaired: z.boolean(), rule: z.enum(CONSISTENCY_RULES), subject: z.string(), repair: z.enum(REPAIRS).nullable(),
  before: z.record(z.string(), z.unknown()).nullable(), after: z.record(z.string(), z.unknown()).nullable(),
});

/** The consistency panel of the workflow console and its JSON API (administrators only). */
export function adminConsistencyRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();
  // The console looks only at its own task queue's workflows; so does its consistency check.
  const scope: ConsistencyDeps = { db: deps.db, temporal: deps.temporal, taskQueue: deps.taskQueue };

  api.add(router, {
    method: 'get', path: '/api/admin/consistency', tag: 'admin', roles: [...ADMIN],
    summary: 'The consistency check: open cases and running workflows, earmarks and balances, e-mails per step, open tasks, reservations, stop clean-ups',
    responses: { 200: { description: 'What was examined and every violation, with its link and repair', schema: reportSchema } },
  }, async (ctx) => {
    ctx.body = await checkConsistency(scope);
  });

  api.add(router, {
    method: 'post', path: '/api/admin/consistency/repairs', tag: 'admin', roles: [...ADMIN], body: repairSchema,
    summary: 'Repair one violation the check offers a repair for, with a reason (audited); a violation that no longer holds is left alone',
    responses: {
      200: { description: 'Repaired, or nothing to repair (repaired: false)', schema: repairResultSchema },
      409: { description: 'The violation has no automatic repair (no_safe_repair)' },
    },
  }, async (ctx, { body }) => {
    ctx.body = await repairViolation(scope, body, currentSession(ctx), body.reason);
  });

  // Pages.
  api.page(router, {
    method: 'get', path: '/admin/consistency', summary: 'The consistency panel: each violation with its link and, where safe, a repair', tag: 'console pages', roles: [...ADMIN],
    query: z.object({ done: text().max(20).optional(), rule: text().max(100).optional(), subject: text().max(300).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await panel(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/admin/consistency/repairs', summary: 'Repair one violation, with a reason (audited)', tag: 'console pages', roles: [...ADMIN],
    form: repairSchema, formPage: true,
    responses: {
      302: { description: 'To the panel, saying whether anything was repaired', redirect: true },
      400: { description: 'The panel again, each problem next to its field' },
      409: { description: 'The violation has no automatic repair: the panel, saying so' },
    },
  }, async (ctx) => {
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const parsed = repairSchema.safeParse(form);
    if (!parsed.success) {
      ctx.status = 400;
      await panel(ctx, { form, errors: errorsByField(fieldProblems(parsed.error), ctx.state.lang) });
      return;
    }
    try {
      const result = await repairViolation(scope, parsed.data, currentSession(ctx), parsed.data.reason);
      const done = new URLSearchParams({ done: result.repaired ? 'repaired' : 'nothing', rule: result.rule, subject: result.subject });
      ctx.redirect(`/admin/consistency?${done}`);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 409) throw err;
      ctx.status = 409;
      await panel(ctx, { form, formError: translate(ctx.state.lang, 'consistency.repairFailed', { message: refusalText(err, ctx.state.lang) }) });
    }
  });

  async function panel(ctx: Context, given: Record<string, unknown>) {
    const extra = keptForm(ctx, 'consistency', given);
    const report = await checkConsistency(scope);
    const lang = ctx.state.lang as 'lv' | 'en';
    const done = confirmation(ctx);
    const form = extra.form as Record<string, string> | undefined;
    renderPage(ctx, renderer, 'consistency', 'consistency.title', {
      report, done,
      violations: report.violations.map((v) => ({ ...v, text: v.message[lang], failed: form?.rule === v.rule && form.subject === v.subject.id })),
      ...extra,
    });
  }

  return router;
}

// The confirmation after a repair (the redirect's query), in the page's language.
function confirmation(ctx: Context): string | null {
  const { done, rule, subject } = ctx.query;
  if ((done !== 'repaired' && done !== 'nothing') || typeof rule !== 'string' || typeof subject !== 'string') return null;
  const vars = { rule: rule.slice(0, 60), subject: subject.slice(0, 300) };
  return translate(ctx.state.lang, done === 'repaired' ? 'consistency.repaired' : 'consistency.nothingToRepair', vars);
}
