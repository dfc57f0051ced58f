import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Renderer } from '../../web/render';
import { translate, type PageLanguage } from '../../web/render';
import type { ServerKey } from '../../lib/server-key';
import { attachment } from '../content-disposition';
import type { ApiDeps } from '../deps';
import { text } from '../text-input';
import { documentDeleted } from '../services/retention';
import { blockNotice, taskHold } from '../services/account-access';
import { HttpError, type WordedProblem } from '../errors';
import { problemText, refusalText } from '../messages';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import {
  ASSIGNEE_FILTERS, DUE_FILTERS, INBOX_SORTS, INBOX_STATES, TASK_TYPES, assignSchema, decisionSchema, documentParams, inboxCountsSchema,
  inboxQuery, taskDetailSchema, taskParams, taskSchema, type DecisionInput, type InboxQuery,
} from '../schemas';
import {
  EXPORT_LIMIT, assignTask, assignableStaff, checkDecision, checklistOf, claimTask, decideTask, getDocument, getTask, listTasks, unclaimTask, type AssignmentResult,
  type InboxCounts, type TaskView,
} from '../services/tasks';
import type { Session } from '../../lib/sessions';
import { auditDownload, auditUserAction } from '../services/audit';
import { auditInboxSearch, inboxSearchSchema, searchWords } from './inbox-search';
import { errorsByField, fieldProblems } from '../validation';
import type { ApiRegistry } from './define';
import { isUuid } from '../../domain/uuid';
import { describeRule } from '../../domain/eligibility';
import { keptForm } from '../form-state';
import {
  answersOf, answersQueryOf, doneMessage, isConfirmed, queryAnswers, renderConfirmation, toConfirmation, type Confirmation, type ConfirmFact, type DoneMessage,
} from '../confirmations';

const STAFF = ['staff', 'admin'] as const;

/** The decision form: decision and comment, the reasons one per line, one checkbox per checklist item (`checklist_<code>`). */
const decisionForm = z.object({ decision: text().max(40), comment: text().max(2000).optional(), reasons: text().max(5000).optional() })
  .catchall(z.literal('on'));
/** The claim, release and assign buttons: the list to go back to (its filters as a query string) and the colleague. */
const assignmentForm = z.object({ back: text().max(2000).optional(), assigneeId: text().max(100).optional() });

/** The agency staff's task inbox: pages and API. */
export function staffRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/staff/tasks', tag: 'staff', roles: [...STAFF],
    summary: 'The task inbox, filtered, one page at a time, with the count each filter option would give',
    query: inboxQuery,
    responses: { 200: { description: 'A page of tasks', schema: z.object({
      tasks: z.array(taskSchema), total: z.number().int(), page: z.number().int(), pageSize: z.number().int(), counts: inboxCountsSchema,
      search: inboxSearchSchema,
    }) } },
  }, async (ctx, { query }) => {
    await auditInboxSearch(deps.db, currentSession(ctx), query);
    ctx.body = await listTasks(deps, query, viewerId(currentSession(ctx)));
  });

  api.add(router, {
    method: 'get', path: '/api/staff/tasks/:taskId', summary: 'One task with its subject (learner, provider or offer), documents and history', tag: 'staff', roles: [...STAFF],
    params: taskParams, responses: { 200: { description: 'The task', schema: taskDetailSchema }, 404: { description: 'No such task' } },
  }, async (ctx, { params }) => {
    const found = await getTask(deps, params.taskId);
    if (!found) throw new HttpError(404, 'task_not_found', 'There is no such task');
    await auditTaskView(ctx, found.task);
    ctx.body = found;
  });

  api.add(router, {
    method: 'post', path: '/api/staff/tasks/:taskId/decision', summary: 'Decide a task (exactly one decision per task wins)',
    tag: 'staff', roles: [...STAFF], params: taskParams, body: decisionSchema,
    responses: {
      200: { description: 'Decision recorded', schema: z.object({ stage: z.string() }) },
      404: { description: 'No such task' }, 409: { description: 'Already decided, no longer open, or held because the learner or provider is blocked (blocked)' },
    },
  }, async (ctx, { params, body }) => {
    ctx.body = await decideTask(deps, currentSession(ctx), params.taskId, body);
  });

  const assignmentResponses = {
    200: { description: 'The task as it is now; changed is false when it already was so', schema: z.object({ changed: z.boolean(), task: taskSchema }) },
    404: { description: 'No such task' }, 409: { description: 'Claimed by a colleague, or no longer open' },
  };
  api.add(router, {
    method: 'post', path: '/api/staff/tasks/:taskId/claim', summary: 'Take an unassigned open task (of two staff at once, one wins)',
    tag: 'staff', roles: [...STAFF], params: taskParams, responses: assignmentResponses,
  }, async (ctx, { params }) => {
    ctx.body = await claimTask(deps, currentSession(ctx), params.taskId);
  });
  api.add(router, {
    method: 'post', path: '/api/staff/tasks/:taskId/unclaim', summary: 'Give a claimed task back to the team (its assignee or a team lead)',
    tag: 'staff', roles: [...STAFF], params: taskParams, responses: { ...assignmentResponses, 403: { description: 'Claimed by someone else and not a team lead' } },
  }, async (ctx, { params }) => {
    ctx.body = await unclaimTask(deps, currentSession(ctx), params.taskId);
  });
  api.add(router, {
    method: 'post', path: '/api/staff/tasks/:taskId/assign', summary: 'Assign an open task to a colleague (team leads only)',
    tag: 'staff', roles: [...STAFF], params: taskParams, body: assignSchema,
    responses: { ...assignmentResponses, 403: { description: 'Not a team lead' } },
  }, async (ctx, { params, body }) => {
    ctx.body = await assignTask(deps, currentSession(ctx), params.taskId, body.assigneeId);
  });

  // Pages.
  api.page(router, {
    method: 'get', path: '/staff/tasks', summary: 'The task inbox with its filters', tag: 'staff pages', roles: [...STAFF],
    query: inboxQuery.extend({ done: text().max(20).optional() }),
    responses: { 200: { description: 'The page' }, 400: { description: 'A filter is wrong: the page says which, next to it' } },
  }, async (ctx) => {
    const lang = ctx.state.lang as PageLanguage;
    // ?lang= belongs to the language switch and ?done= to the message after an action, not to the filters.
    const raw = Object.fromEntries(Object.entries(ctx.query).filter(([key]) => !PAGE_PARAMS.includes(key)));
    const parsed = inboxQuery.safeParse(raw);
    const [programmes, calls] = await Promise.all([
      deps.db('programmes').select<{ code: string; nameLv: string; nameEn: string }[]>('code', 'nameLv', 'nameEn').orderBy('code'),
      deps.db('calls').select<{ id: string; code: string; titleLv: string; titleEn: string }[]>('id', 'code', 'titleLv', 'titleEn').orderBy('code'),
    ]);
    if (!parsed.success) {
      // A bad filter value: the message goes next to that filter, the form keeps what was asked, nothing is listed.
      ctx.status = 400;
      // The search's rule has its own words; the filters' are the catalogue's (api/messages.ts).
      const errors = Object.fromEntries(fieldProblems(parsed.error).map((p) => [p.field, p.field === 'q' ? translate(lang, 'inbox.search.invalid') : problemText(p, lang)]));
      const asked = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v])) as Record<string, string | undefined>;
      const filter = { ...DEFAULT_FILTER, ...asked } as unknown as InboxQuery;
      renderPage(ctx, renderer, 'inbox', 'inbox.title', {
        invalid: true, errors,
        errorList: Object.entries(errors).map(([field, message]) => {
          const name = translate(lang, `inbox.filter.${field}`);
          const known = name !== `inbox.filter.${field}`;
          return { field, message, name: known ? name : field, known };
        }),
        filters: filterOptions(lang, filter, null, programmes, calls), tasks: [], total: 0, searchValue: asked.q,
      });
      return;
    }
    const filter = parsed.data;
    const session = currentSession(ctx);
    await auditInboxSearch(deps.db, session, filter);
    const result = await listTasks(deps, filter, viewerId(session));
    const pages = Math.max(1, Math.ceil(result.total / result.pageSize));
    const done = typeof ctx.query.done === 'string' && DONE.includes(ctx.query.done) ? ctx.query.done : null;
    renderPage(ctx, renderer, 'inbox', 'inbox.title', {
      ...result,
      filters: filterOptions(lang, filter, result.counts, programmes, calls),
      tasks: result.tasks.map((t) => ({ ...t, ...subjectWords(lang, t), ...dueWords(lang, t), ...assigneeWords(lang, t, session), canClaim: t.state === 'open' && !t.assigneeId })),
      returnTo: filterQuery(filter),
      emptyText: translate(lang, filter.state === 'open' && isDefault(filter) ? 'inbox.empty' : 'inbox.emptyFiltered'),
      caption: translate(lang, 'inbox.caption', { page: result.page, pages, total: result.total }),
      paging: paging(lang, filter, pages),
      // After a decision the officer's next task is one click away: the first open one of this view.
      done: doneMessage(lang, 'inbox.done', done, DONE, {}, done === 'decided' ? nextTaskOf(lang, result.tasks) ?? undefined : undefined),
      searchText: searchWords(lang, result.search), searchValue: filter.q,
      clearSearchHref: `/staff/tasks?${filterQuery({ ...filter, q: undefined, page: 1 })}`,
      exportHref: `/staff/tasks.csv?${filterQuery({ ...filter, page: 1 })}`,
      exportTooLarge: result.total > EXPORT_LIMIT,
      exportLimit: EXPORT_LIMIT.toLocaleString(lang === 'lv' ? 'lv-LV' : 'en-GB'),
    });
  });

  api.page(router, {
    method: 'get', path: '/staff/tasks/:taskId', summary: 'One task with its decision form', tag: 'staff pages', roles: [...STAFF],
    params: taskParams, query: z.object({ done: text().max(20).optional() }),
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const done = typeof ctx.query.done === 'string' && DONE.includes(ctx.query.done) ? ctx.query.done : null;
    // The confirmation page's Change link brings the answers back into the form.
    const answers = decisionAnswers(ctx, deps.tokens);
    await taskPage(ctx, {
      done: doneMessage(ctx.state.lang as PageLanguage, 'inbox.done', done, DONE) ?? undefined,
      ...(Object.keys(answers).length > 0 ? { form: answers } : {}),
    });
  });

  // Claim, release and assign from the page: back to the list the button was in (filters kept), or to the task.
  for (const action of ['claim', 'unclaim', 'assign'] as const) {
    api.page(router, {
      method: 'post', path: `/staff/tasks/:taskId/${action}`, tag: 'staff pages', roles: [...STAFF], params: taskParams, form: assignmentForm,
      summary: { claim: 'Take a task from the page', unclaim: 'Give a task back from the page', assign: 'Assign a task to a colleague (team leads)' }[action],
      responses: {
        303: { description: 'Back to the list the button was in, or to the task', redirect: true },
        400: { description: 'No colleague chosen: the task page, saying so' }, 403: { description: 'Not a team lead: the task page, saying so' },
        409: { description: 'Claimed by a colleague or no longer open: the task page, saying so' },
      },
    }, async (ctx) => {
      const form = (ctx.request.body ?? {}) as Record<string, string>;
      const params = taskParams.safeParse(ctx.params);
      if (!params.success) throw new HttpError(404, 'not_found', translate(ctx.state.lang, 'error.404'));
      const taskId = params.data.taskId;
      const session = currentSession(ctx);
      let result: AssignmentResult;
      try {
        if (action === 'assign') {
          const body = assignSchema.safeParse({ assigneeId: form.assigneeId });
          if (!body.success) throw new HttpError(400, 'invalid_request', 'assigneeId', fieldProblems(body.error));
          result = await assignTask(deps, session, taskId, body.data.assigneeId);
        } else {
          result = action === 'claim' ? await claimTask(deps, session, taskId) : await unclaimTask(deps, session, taskId);
        }
      } catch (err) {
        if (!(err instanceof HttpError) || ![400, 403, 409].includes(err.status)) throw err;
        ctx.status = err.status;
        if (err.status === 400) {
          await taskPage(ctx, { form, errors: errorsByField(err.details as WordedProblem[], ctx.state.lang) });
        } else {
          await taskPage(ctx, { form, assignmentError: refusalText(err, ctx.state.lang) });
        }
        return;
      }
      const done = `${action === 'assign' ? 'assigned' : `${action}ed`}`;
      const back = typeof form.back === 'string' ? inboxQuery.safeParse(Object.fromEntries(new URLSearchParams(form.back))) : null;
      ctx.status = 303;
      ctx.redirect(back?.success ? `/staff/tasks?${filterQuery(back.data, { done })}` : `/staff/tasks/${result.task.id}?done=${done}`);
    });
  }

  // A decision is confirmed first (api/confirmations.ts): the task page's form posts here, checked answers go on to
  // the confirmation page (the decision, the facts it rests on, the comment), and only its form decides.
  api.page(router, {
    method: 'get', path: '/staff/tasks/:taskId/decision/confirm', summary: 'Check a decision before it is sent: the decision, the facts it rests on, the comment; its form decides',
    tag: 'staff pages', roles: [...STAFF], params: taskParams,
    responses: { 200: { description: 'The confirmation page' }, 303: { description: 'Back to the task page when the answers or the task no longer fit', redirect: true } },
  }, async (ctx) => {
    const params = taskParams.safeParse(ctx.params);
    const found = params.success ? await getTask(deps, params.data.taskId) : null;
    if (!found) throw new HttpError(404, 'not_found', translate(ctx.state.lang, 'error.404'));
    const answers = decisionAnswers(ctx, deps.tokens);
    const parsed = decisionSchema.safeParse(decisionFromForm(answers));
    const taskHref = `/staff/tasks/${found.task.id}`;
    if (!parsed.success || found.task.state !== 'open') {
      ctx.status = 303;
      ctx.redirect(taskHref);
      return;
    }
    await auditTaskView(ctx, found.task);
    renderConfirmation(ctx, renderer, decisionConfirmation(ctx.state.lang as PageLanguage, found.task, parsed.data, answers, taskHref, deps.tokens));
  });

  api.page(router, {
    method: 'post', path: '/staff/tasks/:taskId/decision',
    summary: 'Decide a task from its page: checked answers without confirmed=yes go to the confirmation page (nothing is sent); with it, decides',
    tag: 'staff pages', roles: [...STAFF], params: taskParams, form: decisionForm,
    responses: {
      303: { description: 'Unconfirmed: to the confirmation page. Confirmed: to the inbox, saying the decision is recorded, with the next task', redirect: true },
      400: { description: 'The task page again, each problem next to its field' }, 409: { description: 'Already decided or no longer open: the task page, saying so' },
    },
  }, async (ctx) => {
    const sent = (ctx.request.body ?? {}) as Record<string, unknown>;
    const form = answersOf(sent);
    const parsed = decisionSchema.safeParse(decisionFromForm(form));
    if (!parsed.success) {
      ctx.status = 400;
      await taskPage(ctx, { form, errors: errorsByField(fieldProblems(parsed.error), ctx.state.lang) });
      return;
    }
    const params = taskParams.safeParse(ctx.params);
    if (!params.success) throw new HttpError(404, 'not_found', translate(ctx.state.lang, 'error.404'));
    try {
      if (!isConfirmed(sent)) {
        // What the task's type needs, and whether it can still be decided, is said on the form, before confirming.
        await checkDecision(deps, currentSession(ctx), params.data.taskId, parsed.data);
        toConfirmation(ctx, deps.tokens, `/staff/tasks/${params.data.taskId}/decision`, form);
        return;
      }
      await decideTask(deps, currentSession(ctx), params.data.taskId, parsed.data);
    } catch (err) {
      if (err instanceof HttpError && err.status === 400) {
        ctx.status = 400;
        // The checklist's items are one field on the page; its first problem is said there.
        const problems = (err.details as WordedProblem[]).map((p) => (p.field.startsWith('checklist.') ? { ...p, field: 'checklist' } : p))
          .filter((p, i, all) => all.findIndex((q) => q.field === p.field) === i);
        await taskPage(ctx, { form, errors: errorsByField(problems, ctx.state.lang) });
        return;
      }
      if (!(err instanceof HttpError) || err.status !== 409) throw err;
      ctx.status = 409;
      // Already decided, no longer open, held by a block: said in the page's language.
      await taskPage(ctx, { form, formError: refusalText(err, ctx.state.lang) });
      return;
    }
    ctx.status = 303;
    ctx.redirect('/staff/tasks?done=decided');
  });

  // Staff download a provider's document (the declaration, an offer's annexes) to check it; the bytes go out as
  // stored, as an attachment, never rendered in the page.
  api.page(router, {
    method: 'get', path: '/staff/documents/:documentId', summary: 'Download a provider\'s document (as an attachment)', tag: 'staff pages', roles: [...STAFF],
    params: documentParams,
    responses: { 200: { description: 'The document as stored', contentType: '*/*' }, 410: { description: 'Deleted under the retention rules: only its tombstone is kept' } },
  }, async (ctx) => {
    const params = documentParams.safeParse(ctx.params);
    const document = params.success ? await getDocument(deps, params.data.documentId) : undefined;
    if (!document) throw new HttpError(404, 'document_not_found', 'There is no such document');
    if (!document.content) throw documentDeleted();
    await auditDownload(deps.db, currentSession(ctx), document);
    ctx.set('content-disposition', attachment(document.filename));
    ctx.set('cache-control', 'private, no-store');
    ctx.set('x-content-sha256', document.sha256);
    ctx.type = document.contentType;
    ctx.body = document.content;
  });

  // A task shows its subject's data (a learner's case and history, a provider's documents): who opened it is audited.
  async function auditTaskView(ctx: Context, task: TaskView) {
    await auditUserAction(deps.db, currentSession(ctx), {
      action: 'task.view', purpose: 'staff inbox: one task and its subject', caseId: task.caseId,
      result: { taskId: task.id, taskType: task.type, providerId: task.providerId, offerId: task.offerId },
    });
  }

  async function taskPage(ctx: Context, given: {
    form?: Record<string, string>; errors?: Record<string, string>; formError?: string; assignmentError?: string; done?: DoneMessage;
  }) {
    const extra = keptForm(ctx, 'task', given);
    const params = taskParams.safeParse(ctx.params);
    const found = params.success ? await getTask(deps, params.data.taskId) : null;
    if (!found) throw new HttpError(404, 'not_found', translate(ctx.state.lang, 'error.404'));
    await auditTaskView(ctx, found.task);
    const lang = ctx.state.lang as PageLanguage;
    const { task } = found;
    const words = subjectWords(lang, task);
    const me = viewerId(currentSession(ctx));
    const viewer = me ? await deps.db('users').where('id', me).first<{ teamLead: boolean } | undefined>('teamLead') : undefined;
    const teamLead = viewer?.teamLead === true;
    const open = task.state === 'open';
    const colleagues = open && teamLead ? await assignableStaff(deps) : [];
    const chosen = extra.form?.assigneeId ?? task.assigneeId;
    const titleKey = task.type === 'approve-imk' ? 'task.title' : `task.title.${task.type}`;
    renderPage(ctx, renderer, 'task', translate(lang, titleKey) === titleKey ? 'task.title.other' : titleKey, {
      blockNotice: open ? blockNotice(await taskHold(deps.db, task), 'person', lang, 'blocks.notice.task') : null,
      ...found,
      ...words,
      isLearnerTask: task.caseId !== null,
      isProviderTask: task.type === 'approve-provider',
      isOfferTask: task.type === 'evaluate-offer',
      factSections: factSections(lang, task),
      // The eligibility rule is recorded in English with the decision: said in the page's language.
      eligibilityRule: eligibilityRuleOf(task.facts, lang),
      offerView: found.offer ? offerView(lang, found.offer) : null,
      declaration: found.documents.find((d) => d.kind === 'declaration' && d.offerId === null) ?? null,
      otherDocuments: found.documents.filter((d) => !(d.kind === 'declaration' && d.offerId === null))
        .map((d) => ({ ...d, kindText: label(lang, 'document.kind', d.kind) })),
      checklist: checklistOf(task.facts).map((item) => ({
        ...item, text: item.label ?? label(lang, 'checklist', item.code),
        checked: extra.form ? extra.form[`checklist_${item.code}`] === 'on' : false,
      })),
      events: found.events.map((e) => ({ ...e, label: eventLabel(lang, e.kind, e.details) })),
      ...dueWords(lang, task),
      assigneeText: task.assigneeName ? translate(lang, task.assigneeId === me ? 'task.assignedToYou' : 'task.assignedTo', { name: task.assigneeName }) : null,
      canClaim: open && !task.assigneeId && me !== null,
      canUnclaim: open && task.assigneeId !== null && (task.assigneeId === me || teamLead),
      canAssign: open && teamLead,
      colleagues: colleagues.map((c) => ({ ...c, selected: c.id === chosen })),
      claimedByOther: open && task.assigneeId !== null && task.assigneeId !== me,
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
export function subjectWords(lang: PageLanguage, task: TaskView) {
  const offerTitle = task.offerTitle ? task.offerTitle[lang] : null;
  return {
    subjectText: task.learnerName ?? (offerTitle ? `${offerTitle} — ${task.providerName ?? ''}` : task.providerName ?? ''),
    reference: task.serviceCaseId ?? (offerTitle ?? task.providerRegistrationNumber ?? task.id),
    typeText: translate(lang, `task.type.${task.type}`),
  };
}

// A string for a code when the page has one (`<prefix>.<code>`), otherwise the code in plain words.
export function label(lang: PageLanguage, prefix: string, code: string): string {
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

export function flatten(lang: PageLanguage, value: Record<string, unknown>, prefix = ''): FactRow[] {
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

const PAGE_PARAMS = ['lang', 'done'];
const DONE = ['claimed', 'unclaimed', 'assigned', 'decided'];
// The decision form's fields (decisionFromForm), as the confirmation page's Change link carries them.
const DECISION_FIELDS = /^(decision|comment|reasons|checklist_[a-z0-9_.-]{1,60})$/i;

/** The decision form's answers sealed in a page's query (the confirmation page's, or the task page's after Change). */
function decisionAnswers(ctx: Context, key: ServerKey): Record<string, string> {
  return Object.fromEntries(Object.entries(queryAnswers(ctx, key)).filter(([field]) => DECISION_FIELDS.test(field)));
}

/** The confirmation page of a decision: what is decided, on which facts, with which words, and what it sets off. */
function decisionConfirmation(lang: PageLanguage, task: TaskView, input: DecisionInput, answers: Record<string, string>, taskHref: string, key: ServerKey): Confirmation {
  const words = subjectWords(lang, task);
  const change = `${taskHref}${answersQueryOf(key, answers)}#decision-heading`;
  const approve = input.decision === 'approve';
  const eligibility = (task.facts.eligibility ?? null) as { rule?: string; facts?: { age?: number; deceased?: boolean } } | null;
  const ticked = checklistOf(task.facts).filter((item) => input.checklist?.[item.code]).map((item) => item.label ?? label(lang, 'checklist', item.code));
  const facts: ConfirmFact[] = [
    { label: translate(lang, 'confirm.task.type'), value: words.typeText },
    { label: translate(lang, 'confirm.task.subject'), value: `${words.subjectText} · ${words.reference}`, testId: 'confirm-subject' },
    ...(eligibility ? [
      { label: translate(lang, 'task.rule'), value: String(eligibility.rule ?? '') },
      { label: translate(lang, 'task.age'), value: String(eligibility.facts?.age ?? '') },
      { label: translate(lang, 'task.alive'), value: translate(lang, eligibility.facts?.deceased ? 'task.no' : 'task.yes') },
    ] : []),
    ...factSections(lang, task).flatMap((section) => section.rows.map((row) => ({ label: row.label, value: String(row.value) }))),
    { label: translate(lang, 'confirm.decision'), value: translate(lang, approve ? 'task.approve' : 'task.reject'), changeHref: change, testId: 'confirm-decision' },
    ...(input.checklist ? [{ label: translate(lang, 'task.checklist'), value: ticked.join('; ') || translate(lang, 'confirm.none'), changeHref: change }] : []),
    ...(input.reasons && input.reasons.length > 0 ? [{ label: translate(lang, 'confirm.task.reasons'), value: input.reasons.join('; '), changeHref: change }] : []),
    { label: translate(lang, 'confirm.comment'), value: input.comment || translate(lang, 'confirm.none'), changeHref: change, testId: 'confirm-comment' },
  ];
  return {
    titleKey: approve ? 'confirm.task.title.approve' : 'confirm.task.title.reject', intro: translate(lang, 'confirm.task.intro'), facts,
    effects: [translate(lang, approve ? 'confirm.task.effect.approve' : 'confirm.task.effect.reject'), translate(lang, 'confirm.cannotUndo')],
    action: `${taskHref}/decision`, answers, submitText: translate(lang, 'confirm.task.submit'), backHref: change, warning: !approve,
  };
}

/** The first open task of a view, as the link after a decision shows it ("Next task: …"). */
function nextTaskOf(lang: PageLanguage, tasks: TaskView[]): { href: string; text: string } | null {
  const next = tasks.find((t) => t.state === 'open');
  if (!next) return null;
  const words = subjectWords(lang, next);
  return { href: `/staff/tasks/${next.id}`, text: translate(lang, 'inbox.nextTask', { subject: `${words.typeText} · ${words.subjectText}` }) };
}
const DEFAULT_FILTER = { state: 'open', assignee: 'anyone', due: 'any', sort: 'due', page: 1 } as const;

// The staff member's user id when the session has one (staff sessions carry users.id); a test token may not.
export function viewerId(session: Session): string | null {
  return isUuid(session.subject) ? session.subject : null;
}

function isDefault(filter: InboxQuery): boolean {
  return !filter.type && !filter.programme && !filter.call && filter.assignee === 'anyone' && filter.due === 'any' && !filter.q;
}

/** The filters as a query string, defaults left out, so links are short and a view can be shared. */
export function filterQuery(filter: InboxQuery, extra: Record<string, string | number> = {}): string {
  const params = new URLSearchParams();
  for (const key of ['q', 'type', 'programme', 'call', 'state', 'assignee', 'due', 'sort', 'page'] as const) {
    const value = filter[key];
    if (value !== undefined && value !== (DEFAULT_FILTER as Record<string, unknown>)[key]) params.set(key, String(value));
  }
  for (const [key, value] of Object.entries(extra)) params.set(key, String(value));
  return params.toString();
}

// Links to the first, previous, nearby, next and last pages, each keeping every filter.
function paging(lang: PageLanguage, filter: InboxQuery, pages: number) {
  const href = (page: number) => { const q = filterQuery({ ...filter, page }); return q ? `/staff/tasks?${q}` : '/staff/tasks'; };
  const nearby = [];
  for (let page = Math.max(1, filter.page - 2); page <= Math.min(pages, filter.page + 2); page += 1) {
    nearby.push({ page, href: href(page), current: page === filter.page, label: translate(lang, 'inbox.pageN', { page }) });
  }
  return {
    pages, nearby, label: translate(lang, 'inbox.paging'),
    first: filter.page > 3 ? href(1) : null,
    prev: filter.page > 1 ? href(filter.page - 1) : null,
    next: filter.page < pages ? href(filter.page + 1) : null,
    last: filter.page < pages - 2 ? href(pages) : null,
  };
}

interface FilterOption { value: string; text: string; selected: boolean }

// Every filter's options in words, each with the count it would give (when the list ran).
function filterOptions(lang: PageLanguage, filter: InboxQuery, counts: InboxCounts | null, programmes: { code: string; nameLv: string; nameEn: string }[],
  calls: { id: string; code: string; titleLv: string; titleEn: string }[]) {
  const option = (dimension: keyof InboxCounts | null, value: string, text: string, selected: boolean): FilterOption => {
    const count = dimension && counts ? counts[dimension][value] ?? 0 : null;
    return { value, text: count === null ? text : translate(lang, 'inbox.optionCount', { text, count }), selected };
  };
  const asked = filter as unknown as Record<string, string | undefined>;
  return {
    type: [{ ...option('type', 'any', translate(lang, 'inbox.allTypes'), !filter.type), value: '' },
      ...TASK_TYPES.map((t) => option('type', t, translate(lang, `task.type.${t}`), asked.type === t))],
    programme: [{ ...option('programme', 'any', translate(lang, 'inbox.allProgrammes'), !filter.programme), value: '' },
      ...programmes.map((p) => option('programme', p.code, `${p.code} — ${lang === 'lv' ? p.nameLv : p.nameEn}`, asked.programme === p.code))],
    call: [{ ...option('call', 'any', translate(lang, 'inbox.allCalls'), !filter.call), value: '' },
      ...calls.map((c) => option('call', c.id, `${c.code} — ${lang === 'lv' ? c.titleLv : c.titleEn}`, asked.call === c.id))],
    state: INBOX_STATES.map((v) => option('state', v, translate(lang, v === 'all' ? 'inbox.allStates' : `state.${v}`), asked.state === v)),
    assignee: ASSIGNEE_FILTERS.map((v) => option('assignee', v, translate(lang, `inbox.assignee.${v}`), asked.assignee === v)),
    due: DUE_FILTERS.map((v) => option('due', v, translate(lang, `inbox.due.${v}`), asked.due === v)),
    sort: INBOX_SORTS.map((v) => option(null, v, translate(lang, `inbox.sort.${v}`), asked.sort === v)),
  };
}

// "Due in 3 working days", "due today", "overdue by 2 working days" (Latvian has its own plural forms).
function dueWords(lang: PageLanguage, task: TaskView) {
  if (task.state !== 'open') return { dueText: null, escalated: false };
  const n = Math.abs(task.dueInWorkingDays);
  const form = (lang === 'lv' ? n % 10 === 1 && n % 100 !== 11 : n === 1) ? 'one' : 'other';
  let dueText: string;
  if (task.overdue) dueText = n === 0 ? translate(lang, 'inbox.overdueToday') : translate(lang, `inbox.overdueBy.${form}`, { n });
  else dueText = n === 0 ? translate(lang, 'inbox.dueToday') : translate(lang, `inbox.dueIn.${form}`, { n });
  return { dueText, escalated: task.escalatedAt !== null };
}

function assigneeWords(lang: PageLanguage, task: TaskView, session: Session) {
  if (!task.assigneeName) return { assigneeText: translate(lang, 'inbox.unassigned'), mine: false };
  const mine = task.assigneeId === session.subject;
  return { assigneeText: mine ? translate(lang, 'inbox.you', { name: task.assigneeName }) : task.assigneeName, mine };
}

// Claims, releases and assignments read as sentences on the task page ("Assigned to Jānis Bērziņš").
export function eventLabel(lang: PageLanguage, kind: string, details: Record<string, unknown>): string {
  if (kind === 'task_claimed' || kind === 'task_unclaimed' || kind === 'task_assigned') {
    return translate(lang, `inbox.event.${kind}`, { assignee: details.assigneeName ?? '', previous: details.previousAssigneeName ?? '—' });
  }
  return label(lang, 'event', kind);
}

// The rule the eligibility decision recorded (task facts), in the page's language; null when the task has none.
function eligibilityRuleOf(facts: unknown, lang: PageLanguage): string | null {
  const rule = (facts as { eligibility?: { rule?: unknown } } | null)?.eligibility?.rule;
  return typeof rule === 'string' ? describeRule(rule, lang) : null;
}
