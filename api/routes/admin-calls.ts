import Router from '@koa/router';
import { isCalendarDay } from '../../domain/dates';
import type { Context } from 'koa';
import { z } from 'zod';
import { CALL_PHASES, OFFER_DOCUMENT_KINDS, parsePhase, phaseText, type CallPhase, type CallPhaseTimes } from '../../domain/calls';
import { formatRigaTime, rigaDate } from '../../domain/dates';
import type { FormErrors, Renderer } from '../../web/render';
import { translate } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { changeCall, createCall, getCall, listCalls, type CallTerms, type CallView } from '../services/admin-calls';
import {
  addHoliday, holidaysOfYear, listCoefficients, parseCoefficient, removeHoliday, saveCoefficient,
} from '../services/admin-reference';
import { text, isTextRule } from '../text-input';
import { errorsByField, fieldProblems } from '../validation';
import { auditedReason } from './admin';
import type { ApiRegistry } from './define';
import { keptForm } from '../form-state';

const ADMIN = ['admin'] as const;

// --- Input: one schema per body, shared by the JSON API and the pages (which turn their form into the same shape).

const phaseField = text().trim().min(1, { message: 'is required' }).max(40, { message: 'must be at most 40 characters' })
  .describe('Riga time, explicit: a day YYYY-MM-DD (an ending phase lasts to the end of that day, a starting one begins at its 00:00), YYYY-MM-DD HH:MM (Riga wall time), or an ISO instant with Z or an offset');
const termFields = {
  code: text().trim().regex(/^[A-Z0-9][A-Z0-9-]{1,39}$/, { message: 'must be 2 to 40 capital letters, digits or hyphens' }),
  titleLv: text().trim().min(1, { message: 'is required' }).max(200, { message: 'must be at most 200 characters' }),
  titleEn: text().trim().min(1, { message: 'is required' }).max(200, { message: 'must be at most 200 characters' }),
  programme: text().trim().min(1, { message: 'is required' }).max(20, { message: 'must be at most 20 characters' }),
  competences: z.array(text().trim().min(1, { message: 'must not be empty' }).max(200, { message: 'must be at most 200 characters' }), { message: 'must be a list of competences' })
    .min(1, { message: 'needs at least one competence' }).max(20, { message: 'may have at most 20 competences' }),
  digcompMin: z.number({ message: 'must be a DigComp level 1 to 8, or null' }).int().min(1).max(8).nullable(),
  digcompMax: z.number({ message: 'must be a DigComp level 1 to 8, or null' }).int().min(1).max(8).nullable(),
  minDigitalSharePercent: z.number({ message: 'must be a whole percentage 0 to 100' }).int().min(0).max(100),
  maxOffersPerProvider: z.number({ message: 'must be a whole number 1 to 50' }).int().min(1).max(50),
  requiredDocuments: z.array(z.enum(OFFER_DOCUMENT_KINDS, { message: `must be one of ${OFFER_DOCUMENT_KINDS.join(', ')}` })).max(OFFER_DOCUMENT_KINDS.length),
};
const phaseFields = Object.fromEntries(CALL_PHASES.map((phase) => [phase, phaseField])) as Record<CallPhase, typeof phaseField>;
const digcompBounds = (v: { digcompMin?: number | null; digcompMax?: number | null }) => (v.digcompMin === undefined) === (v.digcompMax === undefined)
  && (v.digcompMin === null) === (v.digcompMax === null) && (v.digcompMin == null || v.digcompMax == null || v.digcompMin <= v.digcompMax);
const DIGCOMP_RULE = { message: 'give both DigComp bounds (lowest first) or neither', path: ['digcompMax'] };

/** A new call: every term and phase, and the reason (audited). */
const createBody = z.object({ ...termFields, ...phaseFields, reason: auditedReason() }).strict().refine(digcompBounds, DIGCOMP_RULE);
/** A change: only what changes, and the reason (audited). After submission opens, only later phases still to come. */
const changeBody = z.object({ ...partial(termFields), ...partial(phaseFields), reason: auditedReason() }).strict().refine(digcompBounds, DIGCOMP_RULE);

const callParams = z.object({ callId: z.uuid({ message: 'must be a call id' }) });
const dayField = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a day YYYY-MM-DD' }).refine(isCalendarDay, { message: 'must be a real day' });
const holidayBody = z.object({
  day: dayField,
  kind: z.enum(['one_off', 'yearly'], { message: 'must be one_off or yearly' }).describe('one_off: that day only; yearly: the same month and day every year from then on'),
  nameLv: text().trim().min(1, { message: 'is required' }).max(200, { message: 'must be at most 200 characters' }),
  nameEn: text().trim().min(1, { message: 'is required' }).max(200, { message: 'must be at most 200 characters' }),
  reason: auditedReason(),
}).strict();
const holidayParams = z.object({ day: dayField });
const removalBody = z.object({ reason: auditedReason() }).strict();
const coefficientBody = z.object({
  code: text().trim().regex(/^[A-Z0-9][A-Z0-9-]{1,39}$/, { message: 'must be 2 to 40 capital letters, digits or hyphens' }),
  nameLv: text().trim().min(1, { message: 'is required' }).max(200, { message: 'must be at most 200 characters' }),
  nameEn: text().trim().min(1, { message: 'is required' }).max(200, { message: 'must be at most 200 characters' }),
  coefficient: text().trim().max(10).refine((v) => parseCoefficient(v) !== null, { message: 'must be a positive decimal with at most three decimals, e.g. 1.28' }),
  sample: z.boolean({ message: 'must be true or false' }).optional(),
  reason: auditedReason(),
}).strict();
const yearQuery = z.object({ year: z.coerce.number().int().min(2000).max(2100).optional() });

const callSchema = z.object({
  id: z.uuid(), code: z.string(), titleLv: z.string(), titleEn: z.string(), programme: z.string(), competences: z.array(z.string()),
  digcompMin: z.number().nullable(), digcompMax: z.number().nullable(), minDigitalSharePercent: z.number(), maxOffersPerProvider: z.number(),
  requiredDocuments: z.array(z.string()), submissionOpened: z.boolean(),
  ...Object.fromEntries(CALL_PHASES.map((phase) => [phase, z.iso.datetime()])),
});
const holidaySchema = z.object({ day: z.string(), date: z.string(), kind: z.enum(['statutory', 'one_off', 'yearly']), nameLv: z.string(), nameEn: z.string(), addedBy: z.string().nullable() });
const coefficientSchema = z.object({ code: z.string(), nameLv: z.string(), nameEn: z.string(), coefficient: z.string(), sample: z.boolean() });

function partial<T extends Record<string, z.ZodType>>(fields: T): { [K in keyof T]: z.ZodOptional<T[K]> } {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.optional()])) as { [K in keyof T]: z.ZodOptional<T[K]> };
}

/** Every field's expectation in both languages (calls.field.<field>), so a 400 names the field and reads in either. */
function worded(problems: WordedProblem[]): WordedProblem[] {
  return problems.map((p) => {
    if (isTextRule(p.rule)) return p;
    const key = `calls.field.${p.field.split('.')[0]}`;
    const lv = translate('lv', key);
    return lv === key ? p : { ...p, words: { lv, en: translate('en', key) } };
  });
}

function invalid(problems: WordedProblem[]): HttpError {
  return new HttpError(400, 'invalid_request', `Invalid body: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
}

/** Checks a body against its schema, naming each problem in both languages. */
function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw invalid(worded(fieldProblems(result.error)));
  return result.data;
}

/** The phases given as text, read as instants (Riga time unless an offset is given); 400 naming each unreadable one. */
function phaseTimes<P extends Partial<Record<CallPhase, string>>>(given: P): Partial<CallPhaseTimes> {
  const times: Partial<CallPhaseTimes> = {};
  const problems: WordedProblem[] = [];
  for (const phase of CALL_PHASES) {
    const value = given[phase];
    if (value === undefined) continue;
    const at = parsePhase(phase, value);
    if (at) times[phase] = at;
    else problems.push({ field: phase, rule: 'invalid_time', message: translate('en', 'calls.rule.invalid_time'), words: { lv: translate('lv', 'calls.rule.invalid_time'), en: translate('en', 'calls.rule.invalid_time') } });
  }
  if (problems.length) throw invalid(problems);
  return times;
}

function termsOf<T extends Partial<CallTerms>>(body: T): Partial<CallTerms> {
  return Object.fromEntries(Object.entries(body).filter(([k, v]) => k in termFields && v !== undefined)) as Partial<CallTerms>;
}

// --- Pages send forms: text fields, competences one per line, a checkbox per document kind.

/** A page form as the JSON body the schemas read; only the fields the form has (a change sends what may change). */
function formAsBody(form: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const str = (k: string) => (typeof form[k] === 'string' ? (form[k] as string) : undefined);
  for (const k of ['code', 'titleLv', 'titleEn', 'programme', 'reason', ...CALL_PHASES]) if (str(k) !== undefined) body[k] = str(k);
  if (str('competences') !== undefined) body.competences = str('competences')!.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  for (const k of ['digcompMin', 'digcompMax', 'minDigitalSharePercent', 'maxOffersPerProvider']) {
    const v = str(k);
    if (v !== undefined) body[k] = v.trim() === '' ? (k.startsWith('digcomp') ? null : v) : /^\d+$/.test(v.trim()) ? Number(v.trim()) : v;
  }
  if (form.documentsShown !== undefined) body.requiredDocuments = OFFER_DOCUMENT_KINDS.filter((kind) => form[`document_${kind}`] !== undefined);
  return body;
}

/** The calls for offers, public holidays and cost coefficients: the administrators' JSON API and pages. */
export function adminCallRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  async function create(ctx: Context, body: unknown): Promise<CallView> {
    const input = parse(createBody, body);
    const times = phaseTimes(input) as CallPhaseTimes;
    return createCall(deps.db, currentSession(ctx), { ...(termsOf(input) as CallTerms), ...times }, input.reason);
  }
  async function change(ctx: Context, callId: string, body: unknown) {
    const input = parse(changeBody, body);
    return changeCall(deps, currentSession(ctx), callId, { ...termsOf(input), ...phaseTimes(input) }, input.reason);
  }

  api.add(router, {
    method: 'get', path: '/api/admin/calls', tag: 'admin', roles: [...ADMIN], summary: 'The calls for offers with their terms and phases',
    responses: { 200: { description: 'The calls', schema: z.object({ calls: z.array(callSchema) }) } },
  }, async (ctx) => { ctx.body = { calls: await listCalls(deps.db) }; });

  api.add(router, {
    method: 'post', path: '/api/admin/calls', tag: 'admin', roles: [...ADMIN], body: createBody,
    summary: 'Create a call for offers: terms, phases (Riga time, explicit) and the reason (audited)',
    responses: { 201: { description: 'The call', schema: callSchema }, 409: { description: 'Another call has this code (call_code_taken)' } },
  }, async (ctx) => {
    ctx.status = 201;
    ctx.body = await create(ctx, ctx.request.body);
  });

  api.add(router, {
    method: 'get', path: '/api/admin/calls/:callId', tag: 'admin', roles: [...ADMIN], params: callParams, summary: 'One call for offers',
    responses: { 200: { description: 'The call', schema: callSchema } },
  }, async (ctx, { params }) => { ctx.body = await getCall(deps.db, params.callId); });

  api.add(router, {
    method: 'post', path: '/api/admin/calls/:callId', tag: 'admin', roles: [...ADMIN], params: callParams, body: changeBody,
    summary: 'Change a call (audited): anything until submission opens, then only extend phases still to come; running offer workflows hear new deadlines',
    responses: {
      200: { description: 'The call as it is now, and how many running offer workflows heard the change', schema: z.object({ call: callSchema, offersNotified: z.number().int(), offersNotReached: z.number().int() }) },
      409: { description: 'Submission has opened: a term changed (call_submission_opened), a phase moved earlier (extension_only) or a passed phase moved (phase_passed), each naming its field' },
    },
  }, async (ctx, { params }) => { ctx.body = await change(ctx, params.callId, ctx.request.body); });

  api.add(router, {
    method: 'get', path: '/api/admin/holidays', tag: 'admin', roles: [...ADMIN], query: yearQuery,
    summary: 'The public holidays of a year (this year by default) that working-day deadlines skip: statutory, one-off and yearly',
    responses: { 200: { description: 'The holidays', schema: z.object({ year: z.number().int(), holidays: z.array(holidaySchema) }) } },
  }, async (ctx, { query }) => {
    const year = query.year ?? Number(rigaDate(new Date()).slice(0, 4));
    ctx.body = { year, holidays: await holidaysOfYear(deps.db, year) };
  });

  api.add(router, {
    method: 'post', path: '/api/admin/holidays', tag: 'admin', roles: [...ADMIN], body: holidayBody,
    summary: 'Add a one-off or yearly public holiday, with the reason (audited); working-day deadlines computed from now on skip it',
    responses: { 201: { description: 'The holiday', schema: holidaySchema.omit({ date: true }) }, 409: { description: 'The day already is a holiday (holiday_exists)' } },
  }, async (ctx) => {
    const { reason, ...input } = parse(holidayBody, ctx.request.body);
    ctx.status = 201;
    ctx.body = await addHoliday(deps.db, currentSession(ctx), input, reason);
  });

  api.add(router, {
    method: 'post', path: '/api/admin/holidays/:day/removal', tag: 'admin', roles: [...ADMIN], params: holidayParams, body: removalBody,
    summary: 'Remove a one-off or yearly holiday, with the reason (audited); statutory ones stay',
    responses: { 204: { description: 'Removed' }, 409: { description: 'A statutory holiday (holiday_statutory)' } },
  }, async (ctx, { params }) => {
    const { reason } = parse(removalBody, ctx.request.body);
    await removeHoliday(deps.db, currentSession(ctx), params.day, reason);
    ctx.status = 204;
  });

  api.add(router, {
    method: 'get', path: '/api/admin/cost-coefficients', tag: 'admin', roles: [...ADMIN], summary: 'The cost coefficients (Cabinet Regulation No. 655, annex 3)',
    responses: { 200: { description: 'The coefficients', schema: z.object({ coefficients: z.array(coefficientSchema) }) } },
  }, async (ctx) => { ctx.body = { coefficients: await listCoefficients(deps.db) }; });

  api.add(router, {
    method: 'post', path: '/api/admin/cost-coefficients', tag: 'admin', roles: [...ADMIN], body: coefficientBody,
    summary: 'Add or change a cost coefficient by its code, with the reason (audited); submitted offers keep the cost computed then',
    responses: { 200: { description: 'The coefficient', schema: coefficientSchema } },
  }, async (ctx) => {
    const { reason, coefficient, sample, ...input } = parse(coefficientBody, ctx.request.body);
    ctx.body = await saveCoefficient(deps.db, currentSession(ctx), { ...input, thousandths: parseCoefficient(coefficient)!, sample: sample ?? false }, reason);
  });

  // --- Pages.

  const anyForm = z.record(z.string(), z.string());

  api.page(router, {
    method: 'get', path: '/admin/calls', summary: 'The calls for offers, and the form for a new one', tag: 'console pages', roles: [...ADMIN],
    query: z.object({ done: z.enum(['created', 'changed']).optional() }), responses: { 200: { description: 'The page' } },
  }, async (ctx) => { await callsPage(ctx, {}); });

  api.page(router, {
    method: 'post', path: '/admin/calls', summary: 'Create a call for offers (audited)', tag: 'console pages', roles: [...ADMIN], form: anyForm, formPage: true,
    responses: { 302: { description: 'To the new call', redirect: true }, 400: { description: 'The page again, each problem next to its field' }, 409: { description: 'The code is taken: the page, saying so' } },
  }, async (ctx) => {
    const form = (ctx.request.body ?? {}) as Record<string, unknown>;
    try {
      const call = await create(ctx, formAsBody(form));
      ctx.redirect(`/admin/calls/${call.id}?done=created`);
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 400 && err.status !== 409)) throw err;
      ctx.status = err.status;
      await callsPage(ctx, { form: form as Record<string, string>, errors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
    }
  });

  api.page(router, {
    method: 'get', path: '/admin/calls/:callId', summary: 'One call: its terms and phases, to change (only extensions once submission opened)', tag: 'console pages',
    roles: [...ADMIN], params: callParams, query: z.object({ done: z.enum(['created', 'changed']).optional() }), responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const { callId } = parseParams(ctx);
    await callPage(ctx, await getCall(deps.db, callId), {});
  });

  api.page(router, {
    method: 'post', path: '/admin/calls/:callId', summary: 'Change a call (audited)', tag: 'console pages', roles: [...ADMIN], params: callParams, form: anyForm, formPage: true,
    responses: {
      302: { description: 'Back to the call', redirect: true }, 400: { description: 'The page again, each problem next to its field' },
      409: { description: 'A change refused once submission opened: the page, naming each field' },
    },
  }, async (ctx) => {
    const { callId } = parseParams(ctx);
    const form = (ctx.request.body ?? {}) as Record<string, unknown>;
    try {
      await change(ctx, callId, formAsBody(form));
      ctx.redirect(`/admin/calls/${callId}?done=changed`);
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 400 && err.status !== 409)) throw err;
      ctx.status = err.status;
      await callPage(ctx, await getCall(deps.db, callId), { form: form as Record<string, string>, errors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
    }
  });

  api.page(router, {
    method: 'get', path: '/admin/calendar', summary: 'Public holidays of a year and the cost coefficients, with forms to change them', tag: 'console pages', roles: [...ADMIN],
    query: yearQuery.extend({ done: z.enum(['holiday_added', 'holiday_removed', 'coefficient_saved']).optional() }), responses: { 200: { description: 'The page' } },
  }, async (ctx) => { await calendarPage(ctx, {}); });

  api.page(router, {
    method: 'post', path: '/admin/calendar/holidays', summary: 'Add a public holiday (audited)', tag: 'console pages', roles: [...ADMIN], form: anyForm, formPage: true,
    responses: { 302: { description: 'Back to the page', redirect: true }, 400: { description: 'The page again, each problem next to its field' }, 409: { description: 'The day already is a holiday: the page, saying so' } },
  }, async (ctx) => {
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    try {
      const { reason, ...input } = parse(holidayBody, pickForm(form, ['day', 'kind', 'nameLv', 'nameEn', 'reason']));
      await addHoliday(deps.db, currentSession(ctx), input, reason);
      ctx.redirect(`/admin/calendar?year=${input.day.slice(0, 4)}&done=holiday_added`);
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 400 && err.status !== 409)) throw err;
      ctx.status = err.status;
      await calendarPage(ctx, { holidayForm: form, holidayErrors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
    }
  });

  api.page(router, {
    method: 'post', path: '/admin/calendar/holidays/:day/removal', summary: 'Remove a one-off or yearly holiday (audited)', tag: 'console pages', roles: [...ADMIN],
    params: holidayParams, form: anyForm, formPage: true,
    responses: { 302: { description: 'Back to the page', redirect: true }, 400: { description: 'The page again, saying a reason is needed' }, 409: { description: 'A statutory holiday: the page, saying so' } },
  }, async (ctx) => {
    const day = String(ctx.params.day);
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    try {
      const { day: valid } = parse(holidayParams, { day });
      const { reason } = parse(removalBody, pickForm(form, ['reason']));
      await removeHoliday(deps.db, currentSession(ctx), valid, reason);
      ctx.redirect(`/admin/calendar?year=${valid.slice(0, 4)}&done=holiday_removed`);
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 400 && err.status !== 409)) throw err;
      ctx.status = err.status;
      await calendarPage(ctx, { removalDay: day, removalErrors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
    }
  });

  api.page(router, {
    method: 'post', path: '/admin/calendar/coefficients', summary: 'Add or change a cost coefficient (audited)', tag: 'console pages', roles: [...ADMIN], form: anyForm, formPage: true,
    responses: { 302: { description: 'Back to the page', redirect: true }, 400: { description: 'The page again, each problem next to its field' } },
  }, async (ctx) => {
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    try {
      const { reason, coefficient, ...input } = parse(coefficientBody, { ...pickForm(form, ['code', 'nameLv', 'nameEn', 'coefficient', 'reason']), sample: form.sample !== undefined });
      await saveCoefficient(deps.db, currentSession(ctx), { ...input, sample: input.sample ?? false, thousandths: parseCoefficient(coefficient)! }, reason);
      ctx.redirect('/admin/calendar?done=coefficient_saved');
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 400) throw err;
      ctx.status = 400;
      await calendarPage(ctx, { coefficientForm: form, coefficientErrors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
    }
  });

  function parseParams(ctx: Context): { callId: string } {
    const parsed = callParams.safeParse(ctx.params);
    if (!parsed.success) throw new HttpError(404, 'not_found', 'There is no such call for offers');
    return parsed.data;
  }

  async function callsPage(ctx: Context, given: { form?: Record<string, string>; errors?: Record<string, string> }) {
    const extra = keptForm(ctx, 'admin-calls', given);
    const lang = ctx.state.lang as 'lv' | 'en';
    const calls = await listCalls(deps.db);
    renderPage(ctx, renderer, 'admin-calls', 'calls.title', {
      done: typeof ctx.query.done === 'string' && ['created', 'changed'].includes(ctx.query.done) ? `calls.done.${ctx.query.done}` : null,
      calls: calls.map((c) => ({ ...c, title: lang === 'en' ? c.titleEn : c.titleLv, opens: formatRigaTime(c.submissionOpensAt, lang), closes: formatRigaTime(c.submissionClosesAt, lang) })),
      fields: callFormFields(null, extra.form, extra.errors ?? {}),
      errors: extra.errors ?? {}, hasErrors: Object.keys(extra.errors ?? {}).length > 0, errorList: errorList(extra.errors),
    });
  }

  async function callPage(ctx: Context, call: CallView, given: { form?: Record<string, string>; errors?: Record<string, string> }) {
    const extra = keptForm(ctx, 'admin-call', given);
    const lang = ctx.state.lang as 'lv' | 'en';
    renderPage(ctx, renderer, 'admin-call', 'calls.callTitle', {
      call, done: typeof ctx.query.done === 'string' && ['created', 'changed'].includes(ctx.query.done) ? `calls.done.${ctx.query.done}` : null,
      fields: callFormFields(call, extra.form, extra.errors ?? {}),
      errors: extra.errors ?? {}, hasErrors: Object.keys(extra.errors ?? {}).length > 0, errorList: errorList(extra.errors),
      phasesShown: CALL_PHASES.map((phase) => ({ phase, at: formatRigaTime(call[phase], lang) })),
    }, { code: call.code });
  }

  /**
   * The form's fields with their values (what was sent, else the call's) and whether each may still change: before
   * submission opens all may; after, only phases still to come (the others are shown as text).
   */
  function callFormFields(call: CallView | null, form: Record<string, string> | undefined, errors: Record<string, string>) {
    const now = Date.now();
    const value = (k: string, stored: string) => form?.[k] ?? stored;
    const opened = call?.submissionOpened ?? false;
    const termValue: Record<string, string> = call ? {
      code: call.code, titleLv: call.titleLv, titleEn: call.titleEn, programme: call.programme, competences: call.competences.join('\n'),
      digcompMin: call.digcompMin?.toString() ?? '', digcompMax: call.digcompMax?.toString() ?? '',
      minDigitalSharePercent: String(call.minDigitalSharePercent), maxOffersPerProvider: String(call.maxOffersPerProvider),
    } : { programme: 'IMK', minDigitalSharePercent: '70', maxOffersPerProvider: '3', digcompMin: '4', digcompMax: '6' };
    return {
      opened,
      terms: ['code', 'titleLv', 'titleEn', 'programme', 'competences', 'digcompMin', 'digcompMax', 'minDigitalSharePercent', 'maxOffersPerProvider'].map((k) => ({
        name: k, value: value(k, termValue[k] ?? ''), error: errors[k], multiline: k === 'competences', editable: !opened,
      })),
      documents: OFFER_DOCUMENT_KINDS.map((kind) => ({
        kind, checked: form ? form[`document_${kind}`] !== undefined : call ? call.requiredDocuments.includes(kind) : true, editable: !opened,
      })),
      documentsError: errors.requiredDocuments,
      phases: CALL_PHASES.map((phase) => ({
        name: phase, value: value(phase, call ? phaseText(phase, new Date(call[phase])) : ''), error: errors[phase],
        editable: !opened || (call !== null && Date.parse(call[phase]) > now),
      })),
      reason: form?.reason ?? '', reasonError: errors.reason,
    };
  }

  async function calendarPage(ctx: Context, given: {
    holidayForm?: Record<string, string>; holidayErrors?: Record<string, string>; removalDay?: string; removalErrors?: Record<string, string>;
    coefficientForm?: Record<string, string>; coefficientErrors?: Record<string, string>;
  }) {
    const extra = keptForm(ctx, 'admin-calendar', given);
    const lang = ctx.state.lang as 'lv' | 'en';
    const asked = yearQuery.safeParse(ctx.query);
    const formYear = Number(extra.holidayForm?.day?.slice(0, 4));
    const year = (asked.success ? asked.data.year : undefined) ?? (formYear >= 2000 && formYear <= 2100 ? formYear : Number(rigaDate(new Date()).slice(0, 4)));
    const holidays = await holidaysOfYear(deps.db, year);
    const done = typeof ctx.query.done === 'string' && ['holiday_added', 'holiday_removed', 'coefficient_saved'].includes(ctx.query.done) ? `calls.done.${ctx.query.done}` : null;
    // The error summary lists the failed form's problems (walk).
    const formErrors: FormErrors | undefined = extra.holidayErrors ? { errors: extra.holidayErrors, prefix: 'holiday' }
      : extra.coefficientErrors ? { errors: extra.coefficientErrors, prefix: 'coefficient' }
        : extra.removalErrors ? { errors: extra.removalErrors, ids: removalFieldIds(extra.removalErrors, holidays.find((h) => h.day === extra.removalDay)?.date) } : undefined;
    renderPage(ctx, renderer, 'admin-calendar', 'calls.calendarTitle', {
      formErrors,
      year, previousYear: year - 1, nextYear: year + 1, done,
      holidays: holidays.map((h) => ({
        ...h, name: lang === 'en' ? h.nameEn : h.nameLv, removable: h.kind !== 'statutory',
        removalError: extra.removalDay === h.day ? Object.values(extra.removalErrors ?? {}).join(' ') : undefined,
      })),
      holidayForm: extra.holidayForm ?? { kind: 'one_off' }, holidayErrors: extra.holidayErrors ?? {},
      coefficients: await listCoefficients(deps.db),
      coefficientForm: extra.coefficientForm ?? {}, coefficientErrors: extra.coefficientErrors ?? {},
    }, { year });
  }

  return router;
}

/** Every problem of a call's form with its field's label, shown above the form (a frozen field has no input to show it at). */
function errorList(errors: Record<string, string> | undefined): { label: string; message: string }[] {
  return Object.entries(errors ?? {}).map(([field, message]) => ({
    label: (CALL_PHASES as readonly string[]).includes(field) ? `calls.phase.${field}` : `calls.label.${field}`, message,
  }));
}

/** The named string fields of a form (it also carries the form token and such). */
function pickForm(form: Record<string, string>, fields: readonly string[]): Record<string, string> {
  return Object.fromEntries(fields.filter((f) => typeof form[f] === 'string').map((f) => [f, form[f]!]));
}

// A holiday's removal form has one field, whose error shows every problem of the removal (see removalError).
function removalFieldIds(errors: Record<string, string>, date: string | undefined): Record<string, string> {
  return Object.fromEntries(Object.keys(errors).map((field) => [field, `remove-${date}-reason`]));
}
