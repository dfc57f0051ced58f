import Router from '@koa/router';
import type { Context } from 'koa';
import type { Renderer } from '../../web/render';
import { translate, type PageLanguage } from '../../web/render';
import { parseInboxSearch } from '../../domain/inbox-search';
import { rigaDate } from '../../domain/dates';
import { attachment } from '../content-disposition';
import { toCsv } from '../csv';
import { text } from '../text-input';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { inboxQuery, taskParams } from '../schemas';
import { auditUserAction } from '../services/audit';
import { caseFile, type CaseFile } from '../services/case-file';
import { EXPORT_LIMIT, exportTasks, type TaskView } from '../services/tasks';
import type { ApiRegistry } from './define';
import { shownFilter } from './inbox-search';
import { eventLabel, flatten, label, subjectWords, viewerId } from './staff';

const STAFF = ['staff', 'admin'] as const;

/** What agency staff take away from the inbox: a view as CSV, and a case's file to print. */
export function staffFileRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.page(router, {
    method: 'get', path: '/staff/tasks.csv', tag: 'staff pages', roles: [...STAFF], query: inboxQuery.extend({ lang: text().max(10).optional() }),
    summary: `The inbox view (its filters, search and order; every page, at most ${EXPORT_LIMIT} tasks) as CSV (UTF-8 with BOM, semicolons); the export is audited`,
    responses: {
      200: { description: 'The CSV file, as an attachment', contentType: 'text/csv' },
      400: { description: 'A filter is wrong, or the view holds more tasks than one export may: a page saying so' },
    },
  }, async (ctx) => {
    const lang = ctx.state.lang as PageLanguage;
    const raw = Object.fromEntries(Object.entries(ctx.query).filter(([key]) => key !== 'lang'));
    const parsed = inboxQuery.safeParse(raw);
    if (!parsed.success) {
      refusal(ctx, 'inbox.export.badFilters', { href: `/staff/tasks?${new URLSearchParams(raw as Record<string, string>).toString()}` });
      return;
    }
    const filter = parsed.data;
    const tasks = await exportTasks(deps, filter, viewerId(currentSession(ctx)));
    if (!tasks) {
      refusal(ctx, 'inbox.export.tooLarge', { limit: EXPORT_LIMIT.toLocaleString(lang === 'lv' ? 'lv-LV' : 'en-GB') });
      return;
    }
    // The file holds the learners' names of a whole view: who took it, with which filters (and whose person code).
    const search = parseInboxSearch(filter.q);
    const personCode = search.ok && search.search?.kind === 'personCode' ? search.search.value : null;
    await auditUserAction(deps.db, currentSession(ctx), {
      action: 'inbox.export', purpose: personCode ? 'staff inbox: CSV export of the tasks of a person' : 'staff inbox: CSV export of a view',
      subjectPersonCode: personCode, result: { export: 'inbox', filter: { ...shownFilter(filter), page: undefined }, rows: tasks.length },
    });
    ctx.set('content-disposition', attachment(`${translate(lang, 'inbox.export.filename')}-${rigaDate(new Date())}.csv`));
    ctx.set('cache-control', 'private, no-store');
    ctx.type = 'text/csv; charset=utf-8';
    ctx.body = inboxCsv(lang, tasks);
  });

  api.page(router, {
    method: 'get', path: '/staff/tasks/:taskId/file', tag: 'staff pages', roles: [...STAFF], params: taskParams,
    summary: "The printable file of a task's case (or provider registration, or offer): its decisions with their facts, history and documents; audited as a view",
    responses: { 200: { description: 'The page (print styles: no navigation, sections kept whole)' }, 404: { description: 'No such task, or a request\'s task (no case)' } },
  }, async (ctx) => {
    const params = taskParams.safeParse(ctx.params);
    const file = params.success ? await caseFile(deps, params.data.taskId) : null;
    if (!file) throw new HttpError(404, 'not_found', translate(ctx.state.lang, 'error.404'));
    const session = currentSession(ctx);
    await auditUserAction(deps.db, session, {
      action: 'case-file.view', purpose: 'staff inbox: printable case file', caseId: file.task.caseId,
      result: { taskId: file.task.id, taskType: file.task.type, providerId: file.task.providerId, offerId: file.task.offerId, decisions: file.decisions.length },
    });
    const lang = ctx.state.lang as PageLanguage;
    renderPage(ctx, renderer, 'case-file', 'caseFile.title', { ...caseFileView(lang, file), printedBy: session.name, printedAt: new Date().toISOString() },
      { reference: subjectWords(lang, file.task).reference });
  });

  // A refused export is a page in the reader's language, with the way back to the inbox.
  function refusal(ctx: Context, key: string, vars: Record<string, unknown>) {
    ctx.status = 400;
    renderPage(ctx, renderer, 'error', 'error.title', { message: translate(ctx.state.lang, key, vars) });
  }

  return router;
}

const CSV_COLUMNS = ['reference', 'subject', 'type', 'programme', 'state', 'dueAt', 'overdue', 'assignee', 'createdAt', 'decision', 'decidedBy', 'taskId'] as const;

/** The inbox's rows as CSV: the columns of the page and a little more (programme, created, decision), Riga time. */
export function inboxCsv(lang: PageLanguage, tasks: TaskView[]): string {
  const yesNo = (v: boolean) => translate(lang, v ? 'task.yes' : 'task.no');
  return toCsv(CSV_COLUMNS.map((c) => translate(lang, `inbox.csv.${c}`)), tasks.map((t) => {
    const words = subjectWords(lang, t);
    return [
      words.reference, words.subjectText, words.typeText, t.programme ?? '', translate(lang, `state.${t.state}`), rigaMinutes(t.dueAt),
      yesNo(t.overdue), t.assigneeName ?? '', rigaMinutes(t.createdAt), t.decision ? decisionWord(lang, t.decision) : '', t.decidedByName ?? '', t.id,
    ];
  }));
}

const rigaMinuteFormat = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Europe/Riga', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

// "2026-12-05 14:03", Riga time: sorts as text in a spreadsheet and reads the same in both languages.
function rigaMinutes(iso: string): string {
  return rigaMinuteFormat.format(new Date(iso));
}

function decisionWord(lang: PageLanguage, decision: string): string {
  return label(lang, 'caseFile.decision', decision);
}

// The case file in words: the subject, each decision with its facts, the history, the documents and letters.
function caseFileView(lang: PageLanguage, file: CaseFile) {
  const actor = (role: string, name: string | null) => name ?? translate(lang, role === 'learner' ? 'caseFile.role.learner' : `role.${role}`);
  return {
    ...file,
    subject: subjectWords(lang, file.task),
    stageText: file.case ? label(lang, 'stage', file.case.stage) : null,
    offerTitleText: file.offerTitle ? file.offerTitle[lang] : null,
    decisions: file.decisions.map((d) => {
      const { checklist: _checklist, ...facts } = d.facts;
      return {
        ...d, typeText: translate(lang, `task.type.${d.type}`), stateText: translate(lang, `state.${d.state}`),
        decisionText: d.decision ? decisionWord(lang, d.decision) : null, facts: flatten(lang, facts),
      };
    }),
    events: file.events.map((e) => ({ ...e, label: eventLabel(lang, e.kind, e.details), stageText: label(lang, 'stage', e.stage), actor: actor(e.actorRole, e.actorName) })),
    documents: file.documents.map((d) => ({ ...d, kindText: label(lang, 'document.kind', d.kind) })),
    hasDocuments: file.documents.length > 0 || file.employment !== null || file.letters.length > 0,
    letters: file.letters.map((l) => ({ ...l, statusText: translate(lang, `caseFile.letter.${l.status}`) })),
  };
}
