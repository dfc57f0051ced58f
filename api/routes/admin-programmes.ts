import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { rigaTime } from '../../domain/dates';
import { formatEuro } from '../../domain/money';
import type { Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import {
  addProgrammeVersion, addProgrammeWindow, changeProgrammeWindow, createProgramme, listAgencyProgrammes, programmeView,
  type ProgrammeView,
} from '../services/programmes';
import { text, isTextRule } from '../text-input';
import { errorsByField, fieldProblems, parseOr400 } from '../validation';
import type { ApiRegistry } from './define';
import { keptForm } from '../form-state';

const ADMIN = ['admin'] as const;

const codeParams = z.object({ code: z.string().regex(/^[A-Z][A-Z0-9-]{1,19}$/, { message: 'must be a programme code such as IMK' }) });
const windowParams = codeParams.extend({ id: z.uuid({ message: 'must be a window id' }) });

// A form sends '' for an empty field: an optional number or moment left empty is null.
const blankToNull = (v: unknown) => (v === '' || v === undefined ? null : v);
const wholeNumber = (min: number, max: number, what: string) => z.coerce.number({ message: `must be a number${what}` })
  .int({ message: `must be a whole number${what}` }).min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` });
/** A moment: ISO 8601 with its offset, or a page's date-and-time field (YYYY-MM-DDTHH:MM, Riga time). */
const instant = z.string().trim().transform((v, ctx) => {
  const local = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})$/.exec(v);
  const at = local ? rigaTime(local[1]!, local[2]!) : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v) ? new Date(v) : new Date(NaN);
  if (Number.isNaN(at.getTime())) {
    ctx.addIssue({ code: 'custom', message: 'must be a date and time (YYYY-MM-DDTHH:MM, or ISO 8601 with an offset)', params: { rule: 'date_time' } });
    return z.NEVER;
  }
  return at;
});
const reasonField = text().transform((v) => v.trim()).pipe(z.string().min(3, { message: 'must say why, in at least 3 characters' }).max(500, { message: 'must be at most 500 characters' }));

/** The rules of a version, as a form or a JSON body gives them, with the rules between fields. */
const rulesShape = {
  nameLv: text().transform((v) => v.trim()).pipe(z.string().min(1, { message: 'is required' }).max(200, { message: 'must be at most 200 characters' })),
  nameEn: text().transform((v) => v.trim()).pipe(z.string().min(1, { message: 'is required' }).max(200, { message: 'must be at most 200 characters' })),
  minAge: wholeNumber(0, 120, ' of years'),
  maxAge: z.preprocess(blankToNull, wholeNumber(0, 120, ' of years').nullable()),
  funding: z.enum(['account', 'free', 'copay'], { message: 'must be "account", "free" or "copay"' }),
  balanceCents: wholeNumber(0, 10_000_000, ' of cents'),
  copayPercent: z.preprocess(blankToNull, wholeNumber(5, 50, ' of per cent').nullable()),
  socialStatusRule: z.enum(['not_used', 'priority', 'required'], { message: 'must be "not_used", "priority" or "required"' }),
  approval: z.enum(['automatic', 'manual'], { message: 'must be "automatic" or "manual"' }),
  reason: reasonField,
};
type RulesValue = z.infer<z.ZodObject<typeof rulesShape>>;
function rulesBetweenFields(v: RulesValue, ctx: z.RefinementCtx) {
  if (v.maxAge !== null && v.maxAge < v.minAge) ctx.addIssue({ code: 'custom', path: ['maxAge'], message: 'must not be below minAge', params: { rule: 'not_below_min_age' } });
  if (v.copayPercent !== null && v.funding !== 'copay') ctx.addIssue({ code: 'custom', path: ['copayPercent'], message: 'is only for a co-paid programme (funding "copay")', params: { rule: 'copay_programme_only' } });
  if (v.funding === 'account' && v.balanceCents === 0) ctx.addIssue({ code: 'custom', path: ['balanceCents'], message: 'must be above 0 for a learning-account programme', params: { rule: 'account_funded' } });
  if (v.funding !== 'account' && v.balanceCents !== 0) ctx.addIssue({ code: 'custom', path: ['balanceCents'], message: 'must be 0 unless the programme funds a learning account', params: { rule: 'zero_unless_account' } });
}

const newProgrammeSchema = z.object({
  code: codeParams.shape.code, ...rulesShape, overCap: z.enum(['waitlist', 'refuse'], { message: 'must be "waitlist" or "refuse"' }),
}).superRefine(rulesBetweenFields);
const newVersionSchema = z.object({
  ...rulesShape,
  effectiveFrom: z.preprocess(blankToNull, instant.nullable())
    // A minute's grace for the time the form took to travel; the past is not rewritten.
    .refine((at) => at === null || at.getTime() >= Date.now() - 60_000, { message: 'must not be in the past', params: { rule: 'not_in_past' } }),
}).superRefine(rulesBetweenFields);
const windowSchema = z.object({
  opensAt: instant,
  closesAt: z.preprocess(blankToNull, instant.nullable()),
  cap: z.preprocess(blankToNull, wholeNumber(1, 1_000_000, ' of applications').nullable()),
  overCap: z.preprocess(blankToNull, z.enum(['waitlist', 'refuse'], { message: 'must be "waitlist" or "refuse"' }).nullable()),
  reason: reasonField,
}).superRefine((v, ctx) => {
  if (v.closesAt && v.closesAt <= v.opensAt) ctx.addIssue({ code: 'custom', path: ['closesAt'], message: 'must be after opensAt', params: { rule: 'after_opens_at' } });
});

// Field problems in both page languages: an API caller reads `words`, the page shows them next to the field.
const FIELD_WORDS: Record<string, { lv: string; en: string }> = {
  code: { lv: 'Kods: 2–20 lielie latīņu burti, cipari vai domuzīmes, sākot ar burtu (piem., IMK).', en: 'Code: 2–20 capital Latin letters, digits or hyphens, starting with a letter (e.g. IMK).' },
  nameLv: { lv: 'Norādiet nosaukumu latviski (līdz 200 zīmēm).', en: 'Give the Latvian name (up to 200 characters).' },
  nameEn: { lv: 'Norādiet nosaukumu angliski (līdz 200 zīmēm).', en: 'Give the English name (up to 200 characters).' },
  minAge: { lv: 'Minimālais vecums: vesels gadu skaits no 0 līdz 120.', en: 'Minimum age: a whole number of years from 0 to 120.' },
  maxAge: { lv: 'Maksimālais vecums: vesels gadu skaits, ne mazāks par minimālo un ne lielāks par 120, vai tukšs.', en: 'Maximum age: a whole number of years, not below the minimum age and at most 120, or empty.' },
  funding: { lv: 'Izvēlieties finansējuma veidu: mācību konts, bez maksas vai līdzmaksājums.', en: 'Choose the funding: learning account, free or co-payment.' },
  balanceCents: { lv: 'Finansējums vienam izglītojamam centos: vairāk par 0 mācību konta programmai, citādi 0 (ne vairāk par 10 000 000).', en: 'Funding per learner in cents: above 0 for a learning-account programme, otherwise 0 (at most 10,000,000).' },
  copayPercent: { lv: 'Līdzmaksājuma daļa: vesels procentu skaits no 5 līdz 50, tikai līdzmaksājuma programmai; vai tukšs.', en: 'Co-payment share: a whole per cent from 5 to 50, only for a co-payment programme; or empty.' },
  socialStatusRule: { lv: 'Izvēlieties, kā tiek izmantots sociālais statuss.', en: 'Choose how the social status is used.' },
  approval: { lv: 'Izvēlieties apstiprināšanas veidu: automātiski vai darbinieks.', en: 'Choose the approval: automatic or by staff.' },
  overCap: { lv: 'Izvēlieties, kas notiek pēc limita: gaidīšanas saraksts vai atteikums.', en: 'Choose what happens past the cap: wait-list or refusal.' },
  effectiveFrom: { lv: 'Spēkā no: datums un laiks, ne pagātnē (tukšs — no šī brīža).', en: 'Effective from: a date and time, not in the past (empty: from now).' },
  opensAt: { lv: 'Atvēršana: datums un laiks.', en: 'Opens: a date and time.' },
  closesAt: { lv: 'Slēgšana: datums un laiks pēc atvēršanas, vai tukšs (bez beigām).', en: 'Closes: a date and time after it opens, or empty (no end).' },
  cap: { lv: 'Limits: vesels pieteikumu skaits no 1, vai tukšs (bez limita).', en: 'Cap: a whole number of applications from 1, or empty (no cap).' },
  reason: { lv: 'Norādiet iemeslu (3–500 zīmes): tas tiek ierakstīts auditā.', en: 'Give the reason (3–500 characters): it is written to the audit log.' },
};
function worded(problems: WordedProblem[]): WordedProblem[] {
  return problems.map((p) => (FIELD_WORDS[p.field] && !isTextRule(p.rule) ? { ...p, words: FIELD_WORDS[p.field] } : p));
}
/** Parses a body with a schema, or a 400 naming each field, its rule and words in Latvian and English. */
function parseWorded<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  // A rule between fields names itself (params.rule) rather than zod's generic "custom".
  const problems = worded(fieldProblems(parsed.error).map((p, i) => {
    const issue = parsed.error.issues[i];
    const rule = issue?.code === 'custom' ? (issue.params as { rule?: unknown } | undefined)?.rule : undefined;
    return p.rule === 'custom' && typeof rule === 'string' ? { ...p, rule } : p;
  }));
  throw new HttpError(400, 'invalid_request', `Invalid body: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
}

// The bodies as the document describes them. Every field is optional here so the handlers check them with the
// schemas above, naming every problem at once with words in both languages (a missing field is one of them).
const numberOrText = z.union([z.number(), z.string().max(20)]);
const rulesBody = {
  nameLv: z.string().max(200), nameEn: z.string().max(200), minAge: numberOrText, maxAge: numberOrText.nullable().optional(),
  funding: z.string().max(20).describe('account, free or copay'), balanceCents: numberOrText.describe('Funding per learner in cents'),
  copayPercent: numberOrText.nullable().optional().describe('5-50, co-paid programmes only'),
  socialStatusRule: z.string().max(20).describe('not_used (SOPA is not asked), priority (the status orders the wait-list) or required'),
  approval: z.string().max(20).describe('automatic or manual'), reason: z.string().max(500).describe('Why (audited)'),
};
const newProgrammeBody = z.object({ code: z.string().max(20), ...rulesBody, overCap: z.string().max(20).describe('waitlist or refuse') }).partial();
const newVersionBody = z.object({ ...rulesBody, effectiveFrom: z.string().max(40).nullable().optional().describe('ISO 8601; empty: now') }).partial();
const windowBody = z.object({
  opensAt: z.string().max(40), closesAt: z.string().max(40).nullable().optional(), cap: numberOrText.nullable().optional(),
  overCap: z.string().max(20).nullable().optional().describe('waitlist or refuse; empty: the programme\'s rule'), reason: z.string().max(500),
}).partial();

const versionSchema = z.object({
  version: z.number().int(), effectiveFrom: z.string(), nameLv: z.string(), nameEn: z.string(), minAge: z.number().int(),
  maxAge: z.number().int().nullable(), funding: z.enum(['account', 'free', 'copay']), balanceCents: z.number().int(),
  copayPercent: z.number().int().nullable(), socialStatusRule: z.enum(['not_used', 'priority', 'required']),
  approval: z.enum(['automatic', 'manual']), reason: z.string(), changedBy: z.string(), createdAt: z.string(), inEffect: z.boolean(),
}).strict();
const programmeSchema = z.object({
  code: z.string(), overCap: z.enum(['waitlist', 'refuse']), applicationCap: z.number().int().nullable(), applicationsReceived: z.number().int(),
  current: versionSchema.nullable(), versions: z.array(versionSchema),
  windows: z.array(z.object({
    id: z.string(), opensAt: z.string(), closesAt: z.string().nullable(), cap: z.number().int().nullable(),
    overCap: z.enum(['waitlist', 'refuse']).nullable(), applicationsReceived: z.number().int(), openNow: z.boolean(),
  }).strict()),
  priorityOrder: z.boolean(),
  waitlist: z.array(z.object({
    position: z.number().int(), applicationId: z.string(), serviceCaseId: z.string(), since: z.string(),
    socialStatus: z.enum(['poor', 'low_income']).nullable(),
  }).strict()),
}).strict();
const refusals = {
  400: { description: 'A field breaks its rule: details name the field, the rule, and words in Latvian and English' },
  404: { description: 'No such programme (or window)' },
};

/** The agency's programmes: pages and JSON API to create a programme, add versions of its rules and manage its windows. */
export function adminProgrammeRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/admin/programmes', tag: 'admin', roles: [...ADMIN],
    summary: 'The programmes: the version of the rules in effect, every version, the application windows and the wait-list in order',
    responses: { 200: { description: 'The programmes', schema: z.object({ programmes: z.array(programmeSchema) }) } },
  }, async (ctx) => {
    ctx.body = { programmes: await listAgencyProgrammes(deps.db) };
  });

  api.add(router, {
    method: 'post', path: '/api/admin/programmes', tag: 'admin', roles: [...ADMIN], body: newProgrammeBody,
    summary: 'Create a programme; its first version is in effect at once (audited with the reason)',
    responses: { 201: { description: 'The programme', schema: programmeSchema }, ...refusals, 409: { description: 'The code is taken (programme_exists)' } },
  }, async (ctx) => {
    ctx.status = 201;
    ctx.body = await createProgramme(deps.db, currentSession(ctx), parseWorded(newProgrammeSchema, ctx.request.body));
  });

  api.add(router, {
    method: 'get', path: '/api/admin/programmes/:code', tag: 'admin', roles: [...ADMIN], params: codeParams,
    summary: 'One programme: its versions, windows and wait-list in order',
    responses: { 200: { description: 'The programme', schema: programmeSchema }, 404: refusals[404] },
  }, async (ctx, { params }) => {
    ctx.body = await programmeView(deps.db, params.code);
  });

  api.add(router, {
    method: 'post', path: '/api/admin/programmes/:code/versions', tag: 'admin', roles: [...ADMIN], params: codeParams, body: newVersionBody,
    summary: 'A new version of the rules from a moment on (default now); journeys already started keep theirs (audited)',
    responses: {
      200: { description: 'The programme', schema: programmeSchema }, ...refusals,
      409: { description: 'effectiveFrom not after the newest version\'s (effective_before_latest)' },
    },
  }, async (ctx, { params }) => {
    const { effectiveFrom, ...rules } = parseWorded(newVersionSchema, ctx.request.body);
    ctx.body = await addProgrammeVersion(deps.db, currentSession(ctx), params.code, { ...rules, effectiveFrom: effectiveFrom ?? undefined });
  });

  api.add(router, {
    method: 'post', path: '/api/admin/programmes/:code/windows', tag: 'admin', roles: [...ADMIN], params: codeParams, body: windowBody,
    summary: 'Add an application window (open, close, cap, what happens past the cap); audited',
    responses: { 201: { description: 'The programme', schema: programmeSchema }, ...refusals, 409: { description: 'It overlaps another window (window_overlaps)' } },
  }, async (ctx, { params }) => {
    const window = parseWorded(windowSchema, ctx.request.body);
    ctx.status = 201;
    ctx.body = await addProgrammeWindow(deps.db, currentSession(ctx), params.code, window);
  });

  api.add(router, {
    method: 'post', path: '/api/admin/programmes/:code/windows/:id', tag: 'admin', roles: [...ADMIN], params: windowParams, body: windowBody,
    summary: 'Change an application window (e.g. close it, change its cap); audited with before and after',
    responses: {
      200: { description: 'The programme', schema: programmeSchema }, ...refusals,
      409: { description: 'It overlaps another window (window_overlaps), or the cap is below the applications counted (cap_below_received)' },
    },
  }, async (ctx, { params }) => {
    ctx.body = await changeProgrammeWindow(deps.db, currentSession(ctx), params.code, params.id, parseWorded(windowSchema, ctx.request.body));
  });

  // Pages.
  const DONE = ['created', 'version', 'window'] as const;
  api.page(router, {
    method: 'get', path: '/admin/programmes', summary: 'The programmes, with a form to create one', tag: 'console pages', roles: [...ADMIN],
    query: z.object({ done: z.enum(DONE).optional() }), responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await listPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/admin/programmes', summary: 'Create a programme (audited)', tag: 'console pages', roles: [...ADMIN],
    form: newProgrammeBody, formPage: true,
    responses: { 302: { description: 'To the programme\'s page', redirect: true }, 400: { description: 'The page again, each problem next to its field' }, 409: { description: 'The code is taken' } },
  }, async (ctx) => {
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const code = await pageAction(ctx, async () => {
      const input = parseWorded(newProgrammeSchema, form);
      await createProgramme(deps.db, currentSession(ctx), input);
      return input.code;
    }, (errors) => listPage(ctx, { form, errors }));
    if (code) ctx.redirect(`/admin/programmes/${encodeURIComponent(code)}?done=created`);
  });

  api.page(router, {
    method: 'get', path: '/admin/programmes/:code', summary: 'One programme: the rules in effect, a form for a new version, the versions, windows and wait-list',
    tag: 'console pages', roles: [...ADMIN], params: codeParams, query: z.object({ done: z.enum(DONE).optional() }),
    responses: { 200: { description: 'The page' }, 404: { description: 'No such programme' } },
  }, async (ctx) => {
    const { code } = parseOr400(codeParams, ctx.params, 'params');
    await detailPage(ctx, code, {});
  });

  api.page(router, {
    method: 'post', path: '/admin/programmes/:code/versions', summary: 'A new version of the programme\'s rules (audited)', tag: 'console pages', roles: [...ADMIN],
    params: codeParams, form: newVersionBody, formPage: true,
    responses: { 302: { description: 'Back to the page', redirect: true }, 400: { description: 'The page again, each problem next to its field' }, 409: { description: 'The page, saying why' } },
  }, async (ctx) => {
    const { code } = parseOr400(codeParams, ctx.params, 'params');
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const done = await pageAction(ctx, async () => {
      const { effectiveFrom, ...rules } = parseWorded(newVersionSchema, form);
      await addProgrammeVersion(deps.db, currentSession(ctx), code, { ...rules, effectiveFrom: effectiveFrom ?? undefined });
      return true;
    }, (errors) => detailPage(ctx, code, { versionForm: form, versionErrors: errors }));
    if (done) ctx.redirect(`/admin/programmes/${encodeURIComponent(code)}?done=version`);
  });

  api.page(router, {
    method: 'post', path: '/admin/programmes/:code/windows', summary: 'Add an application window (audited)', tag: 'console pages', roles: [...ADMIN],
    params: codeParams, form: windowBody, formPage: true,
    responses: { 302: { description: 'Back to the page', redirect: true }, 400: { description: 'The page again, each problem next to its field' }, 409: { description: 'The page, saying why' } },
  }, async (ctx) => {
    const { code } = parseOr400(codeParams, ctx.params, 'params');
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const done = await pageAction(ctx, async () => {
      await addProgrammeWindow(deps.db, currentSession(ctx), code, parseWorded(windowSchema, form));
      return true;
    }, (errors) => detailPage(ctx, code, { windowForm: form, windowErrors: errors, failedWindow: 'new' }));
    if (done) ctx.redirect(`/admin/programmes/${encodeURIComponent(code)}?done=window`);
  });

  api.page(router, {
    method: 'post', path: '/admin/programmes/:code/windows/:id', summary: 'Change an application window (audited)', tag: 'console pages', roles: [...ADMIN],
    params: windowParams, form: windowBody, formPage: true,
    responses: { 302: { description: 'Back to the page', redirect: true }, 400: { description: 'The page again, each problem next to its field' }, 409: { description: 'The page, saying why' } },
  }, async (ctx) => {
    const { code, id } = parseOr400(windowParams, ctx.params, 'params');
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const done = await pageAction(ctx, async () => {
      await changeProgrammeWindow(deps.db, currentSession(ctx), code, id, parseWorded(windowSchema, form));
      return true;
    }, (errors) => detailPage(ctx, code, { windowForm: form, windowErrors: errors, failedWindow: id }));
    if (done) ctx.redirect(`/admin/programmes/${encodeURIComponent(code)}?done=window`);
  });

  /**
   * Runs a page's action; a 400 or 409 renders the page again with the problems next to their fields (in the page's
   * language) and yields undefined.
   */
  async function pageAction<T>(ctx: Context, act: () => Promise<T>, again: (errors: Record<string, string>) => Promise<void>): Promise<T | undefined> {
    try {
      return await act();
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 400 && err.status !== 409)) throw err;
      ctx.status = err.status;
      await again(errorsByField(err.details as WordedProblem[], ctx.state.lang));
      return undefined;
    }
  }

  async function listPage(ctx: Context, extra: { form?: Record<string, string>; errors?: Record<string, string> }) {
    const lang = ctx.state.lang as 'lv' | 'en';
    const programmes = await listAgencyProgrammes(deps.db);
    renderPage(ctx, renderer, 'admin-programmes', 'programmes.title', {
      done: doneKey(ctx), form: extra.form ?? { minAge: '18', funding: 'account', socialStatusRule: 'not_used', approval: 'manual', overCap: 'waitlist', balanceCents: '0' },
      errors: extra.errors ?? {}, errorFieldPrefix: 'new',
      programmes: programmes.map((p) => ({
        code: p.code, name: p.current ? (lang === 'lv' ? p.current.nameLv : p.current.nameEn) : p.code, version: p.current?.version ?? null,
        openWindow: p.windows.find((w) => w.openNow) ?? null,
      })),
    });
  }

  async function detailPage(ctx: Context, code: string, given: {
    versionForm?: Record<string, string>; versionErrors?: Record<string, string>;
    windowForm?: Record<string, string>; windowErrors?: Record<string, string>; failedWindow?: string;
  }) {
    const extra = keptForm(ctx, 'admin-programme', given);
    const lang = ctx.state.lang as 'lv' | 'en';
    const p: ProgrammeView = await programmeView(deps.db, code);
    const c = p.current;
    const versionForm = extra.versionForm ?? (c ? {
      nameLv: c.nameLv, nameEn: c.nameEn, minAge: String(c.minAge), maxAge: c.maxAge === null ? '' : String(c.maxAge), funding: c.funding,
      balanceCents: String(c.balanceCents), copayPercent: c.copayPercent === null ? '' : String(c.copayPercent),
      socialStatusRule: c.socialStatusRule, approval: c.approval, effectiveFrom: '', reason: '',
    } : {});
    renderPage(ctx, renderer, 'admin-programme', 'programmes.one.title', {
      done: doneKey(ctx), programme: p, name: c ? (lang === 'lv' ? c.nameLv : c.nameEn) : code,
      balance: c ? formatEuro(c.balanceCents, lang) : null,
      versionForm, versionErrors: extra.versionErrors ?? {},
      // The error summary lists the failed form's problems (walk).
      formErrors: extra.versionErrors ? { errors: extra.versionErrors, prefix: 'version' }
        : extra.windowErrors ? { errors: extra.windowErrors, prefix: `window-${extra.failedWindow}` } : undefined,
      windows: p.windows.map((w) => ({
        ...w, failed: extra.failedWindow === w.id, errors: extra.failedWindow === w.id ? extra.windowErrors : {},
        form: extra.failedWindow === w.id ? extra.windowForm : {
          opensAt: localInput(w.opensAt), closesAt: w.closesAt ? localInput(w.closesAt) : '', cap: w.cap === null ? '' : String(w.cap), overCap: w.overCap ?? '', reason: '',
        },
      })),
      newWindow: { form: extra.failedWindow === 'new' ? extra.windowForm : {}, errors: extra.failedWindow === 'new' ? extra.windowErrors : {} },
    }, { code });
  }

  return router;
}

function doneKey(ctx: Context): string | null {
  const done = ctx.query.done;
  return done === 'created' || done === 'version' || done === 'window' ? `programmes.done.${done}` : null;
}

/** An instant as a page's date-and-time field shows it (Riga time, YYYY-MM-DDTHH:MM). */
function localInput(iso: string): string {
  const parts = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Riga', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
  return parts.replace(' ', 'T');
}
