import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { RETENTION_RULES } from '../../domain/retention';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { changeRetentionRule, listRetentionRules, startRetentionRun } from '../services/retention';
import { errorsByField, fieldProblems, parseOr400 } from '../validation';
import type { ApiRegistry } from './define';
import { isTextRule } from '../text-input';
import { keptForm } from '../form-state';

const ADMIN = ['admin'] as const;

const ruleParams = z.object({ code: z.enum(RETENTION_RULES, { message: `must be one of ${RETENTION_RULES.join(', ')}` }) });

// Whole months, 1 to 50 years: a rule that erased data the month it closed, or kept it forever, is a typo.
const periodField = z.coerce.number({ message: 'must be a number of months' }).int({ message: 'must be a whole number of months' })
  .min(1, { message: 'must be at least 1 month' }).max(600, { message: 'must be at most 600 months (50 years)' });
const modeField = z.enum(['dry_run', 'apply'], { message: 'must be "dry_run" or "apply"' });

/** A change of a rule: its period in months, its mode, or both. */
const ruleChangeSchema = z.object({ periodMonths: periodField.optional(), mode: modeField.optional() }).strict()
  .refine((v) => v.periodMonths !== undefined || v.mode !== undefined, { message: 'give periodMonths, mode or both', path: ['periodMonths'] });
// The body as the document describes it; the handler checks it with ruleChangeSchema, naming problems in both languages.
const ruleChangeBody = z.object({
  periodMonths: z.union([z.number().int(), z.string().max(10)]).optional().describe('Whole months, 1 to 600; a new period puts the rule back to dry_run'),
  mode: z.string().max(20).optional().describe('dry_run or apply (apply only after a dry run since the rule last changed)'),
});
// The page's form sends both fields (and the form token).
const ruleForm = z.object({ periodMonths: periodField, mode: modeField });

const runSchema = z.object({ mode: z.enum(['dry_run', 'apply']), count: z.number().int(), cutoff: z.string(), finishedAt: z.string() });
const ruleSchema = z.object({
  code: z.enum(RETENTION_RULES), periodMonths: z.number().int(), mode: modeField, source: z.string(), updatedAt: z.string(),
  updatedByName: z.string().nullable(), lastDryRun: runSchema.nullable(), lastApply: runSchema.nullable(), canApply: z.boolean(),
}).strict();

// Field problems in both page languages: an API caller reads `words`, the page shows them next to the field.
const FIELD_WORDS: Record<string, { lv: string; en: string }> = {
  periodMonths: { lv: 'Norādiet veselu mēnešu skaitu no 1 līdz 600.', en: 'Give a whole number of months from 1 to 600.' },
  mode: { lv: 'Izvēlieties “izmēģinājums” vai “piemērot”.', en: 'Choose “dry run” or “apply”.' },
};
function worded(problems: WordedProblem[]): WordedProblem[] {
  return problems.map((p) => (FIELD_WORDS[p.field] && !isTextRule(p.rule) ? { ...p, words: FIELD_WORDS[p.field] } : p));
}

/** The retention rules: the administrator's page and JSON API (each rule, its last dry-run count, its mode and period). */
export function adminRetentionRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/admin/retention', tag: 'admin', roles: [...ADMIN],
    summary: 'The retention rules: period, mode (dry_run or apply), where the period comes from, the last dry-run count and the last apply',
    responses: { 200: { description: 'The rules', schema: z.object({ rules: z.array(ruleSchema) }) } },
  }, async (ctx) => {
    ctx.body = { rules: await listRetentionRules(deps.db) };
  });

  api.add(router, {
    method: 'post', path: '/api/admin/retention/rules/:code', tag: 'admin', roles: [...ADMIN], params: ruleParams, body: ruleChangeBody,
    summary: 'Change a rule\'s period and/or mode (audited); a new period puts it back to dry_run; apply needs a dry run since the last change',
    responses: {
      200: { description: 'The rule as it is now', schema: ruleSchema },
      409: { description: 'Switching to apply without a dry-run count since the rule last changed (dry_run_required)' },
    },
  }, async (ctx, { params }) => {
    const body = ruleChangeSchema.safeParse(ctx.request.body ?? {});
    if (!body.success) {
      const problems = worded(fieldProblems(body.error));
      throw new HttpError(400, 'invalid_request', `Invalid body: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
    }
    ctx.body = await changeRetentionRule(deps.db, currentSession(ctx), params.code, body.data);
  });

  api.add(router, {
    method: 'post', path: '/api/admin/retention/runs', tag: 'admin', roles: [...ADMIN],
    summary: 'Run the retention rules now, as the daily schedule does (a dry run counts; an applying rule applies); audited',
    responses: { 202: { description: 'The run started', schema: z.object({ workflowId: z.string() }) } },
  }, async (ctx) => {
    ctx.status = 202;
    ctx.body = await startRetentionRun(deps, currentSession(ctx));
  });

  // Pages.
  api.page(router, {
    method: 'get', path: '/admin/retention', summary: 'The retention rules with their last counts; change a period or switch a rule to apply',
    tag: 'console pages', roles: [...ADMIN], query: z.object({ done: z.enum(['changed', 'started']).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await page(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/admin/retention/rules/:code', summary: 'Change a rule\'s period and mode (audited)', tag: 'console pages', roles: [...ADMIN],
    params: ruleParams, form: ruleForm, formPage: true,
    responses: {
      302: { description: 'Back to the page', redirect: true }, 400: { description: 'The page again, each problem next to its field' },
      409: { description: 'Apply without a dry run since the last change: the page, saying so' },
    },
  }, async (ctx) => {
    const { code } = parseOr400(ruleParams, ctx.params, 'params');
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const parsed = ruleForm.safeParse(form);
    if (!parsed.success) {
      ctx.status = 400;
      await page(ctx, { failed: code, form, errors: errorsByField(worded(fieldProblems(parsed.error)), ctx.state.lang) });
      return;
    }
    try {
      await changeRetentionRule(deps.db, currentSession(ctx), code, parsed.data);
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 409) throw err;
      ctx.status = 409;
      await page(ctx, { failed: code, form, errors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
      return;
    }
    ctx.redirect('/admin/retention?done=changed');
  });

  api.page(router, {
    method: 'post', path: '/admin/retention/runs', summary: 'Run the retention rules now (audited)', tag: 'console pages', roles: [...ADMIN],
    responses: { 302: { description: 'Back to the page', redirect: true } },
  }, async (ctx) => {
    await startRetentionRun(deps, currentSession(ctx));
    ctx.redirect('/admin/retention?done=started');
  });

  async function page(ctx: Context, given: { failed?: string; form?: Record<string, string>; errors?: Record<string, string> }) {
    const extra = keptForm(ctx, 'retention', given);
    const rules = await listRetentionRules(deps.db);
    renderPage(ctx, renderer, 'retention', 'retention.title', {
      done: ctx.query.done === 'changed' || ctx.query.done === 'started' ? `retention.done.${ctx.query.done}` : null,
      // The error summary lists the failed rule's problems (walk).
      formErrors: extra.failed ? { errors: extra.errors, ids: { periodMonths: `period-${extra.failed}` } } : undefined,
      rules: rules.map((r) => ({
        ...r, failed: extra.failed === r.code, errors: extra.failed === r.code ? extra.errors : undefined,
        periodValue: extra.failed === r.code ? extra.form?.periodMonths : r.periodMonths,
      })),
    });
  }

  return router;
}
