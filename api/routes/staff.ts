import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Renderer } from '../../web/render';
import { translate, type PageLanguage } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { currentSession, requireRole } from '../middleware/auth';
import { renderPage } from '../pages';
import { TASK_TYPES, decisionSchema, documentParams, inboxQuery, taskParams, taskSchema } from '../schemas';
import { checklistOf, decideTask, getDocument, getTask, listTasks, type TaskView } from '../services/tasks';
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
    method: 'get', path: '/api/staff/tasks/:taskId', summary: 'One task with its subject (learner, provider or offer), documents and history', tag: 'staff', roles: [...STAFF],
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
    const lang = ctx.state.lang as PageLanguage;
    const keep = filter.type ? `&type=${encodeURIComponent(filter.type)}` : '';
    renderPage(ctx, renderer, 'inbox', 'inbox.title', {
      ...result,
      tasks: result.tasks.map((t) => ({ ...t, ...subjectWords(lang, t) })),
      types: TASK_TYPES.map((type) => ({ value: type, selected: type === filter.type })),
      state: filter.state,
      prevPage: result.page > 1 ? `?page=${result.page - 1}&state=${filter.state}${keep}` : null,
      nextPage: result.page * result.pageSize < result.total ? `?page=${result.page + 1}&state=${filter.state}${keep}` : null,
    });
  });

  router.get('/staff/tasks/:taskId', requireRole(...STAFF), async (ctx) => {
    await taskPage(ctx, {});
  });

  router.post('/staff/tasks/:taskId/decision', requireRole(...STAFF), async (ctx) => {
    const form = (ctx.request.body ?? {}) as Record<string, string>;
    const parsed = decisionSchema.safeParse(decisionFromForm(form));
    if (!parsed.success) {
      ctx.status = 400;
      await taskPage(ctx, { form, errors: Object.fromEntries(fieldProblems(parsed.error).map((p) => [p.field, p.message])) });
      return;
    }
    try {
      await decideTask(deps, currentSession(ctx), String(ctx.params.taskId), parsed.data);
    } catch (err) {
      if (err instanceof HttpError && err.status === 400) {
        ctx.status = 400;
        const errors: Record<string, string> = {};
        for (const p of err.details as { field: string; message: string }[]) errors[p.field.startsWith('checklist.') ? 'checklist' : p.field] ??= p.message;
        await taskPage(ctx, { form, errors });
        return;
      }
      if (!(err instanceof HttpError) || err.status !== 409) throw err;
      ctx.status = 409;
      await taskPage(ctx, { form, formError: err.message });
      return;
    }
    ctx.redirect('/staff/tasks');
  });

  // Staff download a provider's document (the declaration, an offer's annexes) to check it; the bytes go out as
  // stored, as an attachment, never rendered in the page.
  router.get('/staff/documents/:documentId', requireRole(...STAFF), async (ctx) => {
    const params = documentParams.safeParse(ctx.params);
    const document = params.success ? await getDocument(deps, params.data.documentId) : undefined;
    if (!document) throw new HttpError(404, 'document_not_found', 'There is no such document');
    ctx.set('content-disposition', contentDisposition(document.filename));
    ctx.set('cache-control', 'private, no-store');
    ctx.set('x-content-sha256', document.sha256);
    ctx.type = document.contentType;
    ctx.body = document.content;
  });

  async function taskPage(ctx: Context, extra: { form?: Record<string, string>; errors?: Record<string, string>; formError?: string }) {
    const params = taskParams.safeParse(ctx.params);
    const found = params.success ? await getTask(deps, params.data.taskId) : null;
    if (!found) throw new HttpError(404, 'not_found', translate(ctx.state.lang, 'error.404'));
    const lang = ctx.state.lang as PageLanguage;
    const { task } = found;
    const words = subjectWords(lang, task);
    const titleKey = task.type === 'approve-imk' ? 'task.title' : `task.title.${task.type}`;
    renderPage(ctx, renderer, 'task', translate(lang, titleKey) === titleKey ? 'task.title.other' : titleKey, {
      ...found,
      ...words,
      isLearnerTask: task.caseId !== null,
      isProviderTask: task.type === 'approve-provider',
      isOfferTask: task.type === 'evaluate-offer',
      factSections: factSections(lang, task),
      offerView: found.offer ? offerView(lang, found.offer) : null,
      declaration: found.documents.find((d) => d.kind === 'declaration' && d.offerId === null) ?? null,
      otherDocuments: found.documents.filter((d) => !(d.kind === 'declaration' && d.offerId === null))
        .map((d) => ({ ...d, kindText: label(lang, 'document.kind', d.kind) })),
      checklist: checklistOf(task.facts).map((item) => ({
        ...item, text: item.label ?? label(lang, 'checklist', item.code),
        checked: extra.form ? extra.form[`checklist_${item.code}`] === 'on' : false,
      })),
      events: found.events.map((e) => ({ ...e, label: label(lang, 'event', e.kind) })),
      ...extra,
    }, { name: words.subjectText, type: translate(lang, `task.type.${task.type}`) });
  }
  return router;
}

// A form cannot carry a list or an object through our body parser: the checklist is one checkbox per item
// (`checklist_<code>`) and the reasons one per line of a text area. Other task types post decision and comment only.
function decisionFromForm(form: Record<string, string>): Record<string, unknown> {
  const { decision, comment, reasons, ...rest } = form;
  const out: Record<string, unknown> = { ...(decision !== undefined ? { decision } : {}), ...(comment !== undefined ? { comment } : {}) };
  const checklist = Object.keys(rest).filter((k) => k.startsWith('checklist_'));
  if (checklist.length > 0 || reasons !== undefined) {
    out.checklist = Object.fromEntries(checklist.map((k) => [k.slice('checklist_'.length), rest[k] === 'on']));
    out.reasons = (reasons ?? '').split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0);
  }
  return out;
}

// The subject in words for the inbox row and the page: the learner's case, or the provider and offer.
function subjectWords(lang: PageLanguage, task: TaskView) {
  const offerTitle = task.offerTitle ? task.offerTitle[lang] : null;
  return {
    subjectText: task.learnerName ?? (offerTitle ? `${offerTitle} — ${task.providerName ?? ''}` : task.providerName ?? ''),
    reference: task.serviceCaseId ?? (offerTitle ?? task.providerRegistrationNumber ?? task.id),
    typeText: translate(lang, `task.type.${task.type}`),
  };
}

// A string for a code when the page has one (`<prefix>.<code>`), otherwise the code in plain words.
function label(lang: PageLanguage, prefix: string, code: string): string {
  const key = `${prefix}.${code}`;
  const text = translate(lang, key);
  return text === key ? code.replace(/[_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase() : text;
}

interface FactRow { label: string; value: string; warn?: boolean }

// The facts a workflow put on the task, readable: known groups (the Enterprise Register's and VIIS's findings, the
// automated checks) get their own headings; anything else is listed under "Other facts" so nothing is hidden.
function factSections(lang: PageLanguage, task: TaskView): { title: string; rows: FactRow[] }[] {
  if (task.type === 'approve-imk') return [];
  const facts = task.facts;
  const sections: { title: string; rows: FactRow[] }[] = [];
  const shown = new Set<string>(['checklist']);
  const groups = task.type === 'approve-provider' ? ['company', 'institution'] : ['automatedChecks'];
  for (const key of groups) {
    if (facts[key] && typeof facts[key] === 'object') {
      sections.push({ title: label(lang, 'fact.section', key), rows: flatten(lang, facts[key] as Record<string, unknown>) });
      shown.add(key);
    }
  }
  // The offer page shows the offer's own fields from the offer row; the copies in the facts are not repeated.
  if (task.type === 'evaluate-offer') {
    for (const key of ['providerName', 'providerRegistrationNumber', 'title', 'competence', 'licenceNumber', 'hoursTheory', 'hoursPractice',
      'digcompLevel', 'digitalSharePercent', 'places', 'costCents', 'statedCostCents', 'coefficientCode']) shown.add(key);
  }
  const rest = Object.fromEntries(Object.entries(facts).filter(([key]) => !shown.has(key)));
  if (Object.keys(rest).length > 0) sections.push({ title: translate(lang, 'fact.section.other'), rows: flatten(lang, rest) });
  return sections;
}

function flatten(lang: PageLanguage, value: Record<string, unknown>, prefix = ''): FactRow[] {
  const rows: FactRow[] = [];
  for (const [key, v] of Object.entries(value)) {
    const name = prefix ? `${prefix} › ${label(lang, 'fact', key)}` : label(lang, 'fact', key);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const bilingual = v as { lv?: unknown; en?: unknown };
      if (typeof bilingual.lv === 'string' && typeof bilingual.en === 'string' && Object.keys(v).length === 2) rows.push({ label: name, value: bilingual[lang] as string });
      else rows.push(...flatten(lang, v as Record<string, unknown>, name));
    } else {
      rows.push({ label: name, value: display(lang, v), warn: v === false || (key === 'found' && v !== true) });
    }
  }
  return rows;
}

function display(lang: PageLanguage, v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return translate(lang, v ? 'task.yes' : 'task.no');
  if (Array.isArray(v)) {
    if (v.length === 0) return translate(lang, 'fact.none');
    return v.map((item) => {
      if (item && typeof item === 'object') {
        const o = item as Record<string, unknown>;
        // An automated check's problem: { field, code, message: { lv, en } }.
        const message = o.message as { lv?: string; en?: string } | string | undefined;
        if (message && typeof message === 'object') return `${o.field ? `${String(o.field)}: ` : ''}${message[lang] ?? message.lv ?? ''}`;
        if (typeof o.address === 'string') return o.address;
        return Object.entries(o).map(([k, x]) => `${label(lang, 'fact', k)}: ${display(lang, x)}`).join(', ');
      }
      return display(lang, item);
    }).join('; ');
  }
  return String(v);
}

type OfferDetails = NonNullable<Awaited<ReturnType<typeof getTask>>>['offer'];

function offerView(lang: PageLanguage, offer: NonNullable<OfferDetails>) {
  const pick = (text: { lv: string | null; en: string | null }) => text[lang] ?? text[lang === 'lv' ? 'en' : 'lv'];
  return {
    ...offer,
    titleText: offer.title[lang],
    callText: offer.call ? `${offer.call.code} — ${lang === 'lv' ? offer.call.titleLv : offer.call.titleEn}` : null,
    descriptionText: pick(offer.description),
    prerequisitesText: pick(offer.prerequisites),
    coefficientText: offer.coefficient ? `${offer.coefficient.value.toFixed(3).replace(/0+$/, '').replace(/\.$/, '')} (${offer.coefficient.name[lang]})` : null,
    hoursTotal: (offer.hoursTheory ?? 0) + (offer.hoursPractice ?? 0),
    placesText: offer.places.join('; '),
  };
}

// RFC 6266: a plain ASCII fallback name plus the exact name in UTF-8 (Latvian letters in file names are common).
function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}
