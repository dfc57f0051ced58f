import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import { CaseEvent, Offer, Provider, ProviderEvent, StoredDocument, Task, User } from '../../lib/db';
import { lastRigaDayOf, rigaDate, rigaEndOfDay } from '../../domain/dates';
import { shift, weekdayOf } from '../../domain/holidays';
import { isWorkingDay } from '../../domain/working-days';
import { holidaysBetween } from '../../lib/holidays';
import type { Session } from '../../lib/sessions';
import { FailureType } from '../../domain/failures';
import { decideApprovalUpdate, type ApprovalDecisionInput } from '../../workflows/task-decision';
import type { ApiDeps } from '../deps';
import { heldByBlock, taskHold } from './account-access';
import { HttpError, type WordedProblem } from '../errors';
import { ruleWords } from '../messages';
import { REASONED_TASK_TYPES, TASK_TYPES, decisionProblems, type DecisionInput, type InboxQuery } from '../schemas';
import type { InboxEventKind } from '../../domain/journey';
import { isUuid } from '../../domain/uuid';
import { parseInboxSearch } from '../../domain/inbox-search';
import { DATA_REQUEST_TASK_TYPE } from '../../domain/data-requests';
import { ROLE_REQUEST_TASK_TYPE } from '../../domain/role-requests';
import { countCombos, facetCounts } from './inbox-counts';

/** A task as the inbox shows it: a learner's case, a provider's registration, or a provider's offer. */
export interface TaskView {
  id: string; caseId: string | null; serviceCaseId: string | null; providerId: string | null; offerId: string | null;
  type: string; state: string; learnerName: string | null; providerName: string | null; providerRegistrationNumber: string | null;
  offerTitle: { lv: string; en: string } | null;
  /** Who or what the task is about, in words: the learner, or the provider (and the offer's title). */
  subject: string;
  /** The learner case's programme, or the offer's; null for a provider's registration. */
  programme: string | null; callId: string | null;
  dueAt: string; escalatedAt: string | null; overdue: boolean;
  /** Working days (Riga calendar, public holidays skipped) from today to the due day; negative when overdue. */
  dueInWorkingDays: number;
  createdAt: string; assigneeId: string | null; assigneeName: string | null; claimedAt: string | null;
  decision: string | null; decidedByName: string | null; decidedAt: string | null; comment: string | null; facts: Record<string, unknown>;
}

/** One step of the history shown with a task: the learner's case events, or the provider's or offer's events. */
export interface TaskEvent {
  kind: string; stage: string; actorRole: string; actorName: string | null; occurredAt: string; details: Record<string, unknown>;
}

/** A provider's uploaded document as a task shows it (the bytes are downloaded separately). */
export interface TaskDocument {
  id: string; kind: string; filename: string; contentType: string; sizeBytes: number; sha256: string; uploadedAt: string;
  offerId: string | null; downloadPath: string;
}

/** Tasks per inbox page. */
export const PAGE_SIZE = 50;

/** How many tasks each option of each inbox filter would give, with the other filters as they are. */
export interface InboxCounts {
  type: Record<string, number>; programme: Record<string, number>; call: Record<string, number>;
  state: Record<string, number>; assignee: Record<string, number>; due: Record<string, number>;
}

/** The instants the inbox's due filters are judged by: now, and the end of today and of this week (Sunday) in Riga. */
export interface InboxMoment { now: Date; today: string; endOfToday: Date; endOfWeek: Date }

/** The inbox's sense of "today" and "this week" at an instant (Riga calendar; the week ends on Sunday). */
export function inboxMoment(now = new Date()): InboxMoment {
  const today = rigaDate(now);
  const weekday = weekdayOf(today);
  return { now, today, endOfToday: rigaEndOfDay(today), endOfWeek: rigaEndOfDay(weekday === 0 ? today : shift(today, 7 - weekday)) };
}

type Dimension = keyof InboxCounts;

// Overdue: an open task past its due time, or one the workflow escalated. "Today" and "this week" are open tasks due
// by the end of that Riga day (overdue ones included, so the buckets nest); decided tasks are not "due" any more.
function dueCondition(due: InboxQuery['due'], m: InboxMoment): [string, Date[]] {
  if (due === 'overdue') return ["(tasks.state = 'open' AND (tasks.escalated_at IS NOT NULL OR tasks.due_at < ?))", [m.now]];
  // The end of today (or of the week) is after now, so "<= end" takes in every task past due as well.
  return ["(tasks.state = 'open' AND (tasks.escalated_at IS NOT NULL OR tasks.due_at <= ?))", [due === 'today' ? m.endOfToday : m.endOfWeek]];
}

const PROGRAMME_SQL = 'coalesce(cases.programme, offers.programme)';

// The inbox's filters on a query that joins cases and offers; `except` leaves one dimension out (for its counts).
function applyFilters(query: Knex.QueryBuilder, filter: InboxQuery, viewerId: string | null, m: InboxMoment, except?: Dimension) {
  if (except !== 'state' && filter.state !== 'all') query.where('tasks.state', filter.state);
  if (except !== 'type' && filter.type) query.where('tasks.type', filter.type);
  if (except !== 'programme' && filter.programme) query.whereRaw(`${PROGRAMME_SQL} = ?`, [filter.programme]);
  if (except !== 'call' && filter.call) query.where('offers.callId', filter.call);
  if (except !== 'assignee' && filter.assignee === 'unassigned') query.whereNull('tasks.assigneeId');
  if (except !== 'assignee' && filter.assignee === 'mine') {
    if (viewerId) query.where('tasks.assigneeId', viewerId);
    else query.whereRaw('false');
  }
  if (except !== 'due' && filter.due !== 'any') {
    const [sql, bindings] = dueCondition(filter.due, m);
    query.whereRaw(sql, bindings);
  }
  applySearch(query, filter.q);
  return query;
}

// The search narrows every view and count alike: to the tasks of the learner cases it finds. A subquery rather
// than a join, so the counts (which join no learners) take it as they are; each key has its index (migration
// 20261209020000): the person code and case number are unique, names are matched by prefix on the folded names.
function applySearch(query: Knex.QueryBuilder, q: string | undefined) {
  const parsed = parseInboxSearch(q);
  if (!parsed.ok) {
    query.whereRaw('false');
    return;
  }
  const search = parsed.search;
  if (!search) return;
  query.whereIn('tasks.caseId', (sub) => {
    void sub.from('cases').select('cases.id');
    if (search.kind === 'caseNumber') {
      void sub.where('cases.serviceCaseId', search.value);
      return;
    }
    void sub.join('learners', 'learners.id', 'cases.learnerId');
    if (search.kind === 'personCode') {
      void sub.where('learners.personCode', search.value);
      return;
    }
    for (const word of search.words) {
      const pattern = `${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      void sub.where((w) => {
        void w.whereRaw('learner_name_key(learners.first_name) LIKE ?', [pattern]).orWhereRaw('learner_name_key(learners.last_name) LIKE ?', [pattern]);
      });
    }
  });
}

function countBase(deps: ApiDeps, filter: InboxQuery, viewerId: string | null, m: InboxMoment, except?: Dimension) {
  return applyFilters(deps.db('tasks').leftJoin('cases', 'cases.id', 'tasks.caseId').leftJoin('offers', 'offers.id', 'tasks.offerId'),
    filter, viewerId, m, except);
}

/**
 * The counts straight from the task rows: one GROUP BY (or FILTER) query per dimension, each with the other
 * dimensions' filters applied. Used for a search (a few cases' tasks); otherwise the summary serves them
 * (inbox-counts.ts), and the tests compare the two.
 */
export async function countTaskRows(deps: ApiDeps, filter: InboxQuery, viewerId: string | null, m: InboxMoment): Promise<InboxCounts> {
  const grouped = async (except: Dimension, expression: string) => {
    const rows = await countBase(deps, filter, viewerId, m, except)
      .select(deps.db.raw(`${expression} AS value`), deps.db.raw('count(*)::int AS count')).groupByRaw(expression) as { value: string | null; count: number }[];
    const out: Record<string, number> = { any: 0 };
    for (const row of rows) {
      out.any += row.count;
      if (row.value !== null) out[row.value] = row.count;
    }
    return out;
  };
  const [type, programme, call, stateRows, assignee, due] = await Promise.all([
    grouped('type', 'tasks.type'),
    grouped('programme', PROGRAMME_SQL),
    grouped('call', 'offers.call_id'),
    grouped('state', 'tasks.state'),
    countBase(deps, filter, viewerId, m, 'assignee').first(deps.db.raw(
      'count(*) FILTER (WHERE tasks.assignee_id = ?)::int AS mine, count(*) FILTER (WHERE tasks.assignee_id IS NULL)::int AS unassigned, count(*)::int AS anyone',
      [viewerId])) as Promise<Record<string, number>>,
    countBase(deps, filter, viewerId, m, 'due').first(deps.db.raw(
      `count(*) FILTER (WHERE ${dueCondition('overdue', m)[0]})::int AS overdue, count(*) FILTER (WHERE ${dueCondition('today', m)[0]})::int AS today, `
      + `count(*) FILTER (WHERE ${dueCondition('week', m)[0]})::int AS week, count(*)::int AS any`,
      [...dueCondition('overdue', m)[1], ...dueCondition('today', m)[1], ...dueCondition('week', m)[1]])) as Promise<Record<string, number>>,
  ]);
  for (const t of TASK_TYPES) type[t] ??= 0;
  const { any: all, ...states } = stateRows;
  return { type, programme, call, state: { open: 0, decided: 0, cancelled: 0, ...states, all }, assignee, due };
}

/**
 * The counts per filter option: from the summary kept by triggers, or for a search (which the summary cannot
 * narrow) from the few task rows the search finds.
 */
export async function inboxCounts(deps: ApiDeps, filter: InboxQuery, viewerId: string | null, m: InboxMoment): Promise<InboxCounts> {
  const parsed = parseInboxSearch(filter.q);
  if (!parsed.ok || parsed.search) return countTaskRows(deps, filter, viewerId, m);
  return facetCounts(await countCombos(deps.db, m), filter, viewerId);
}

/**
 * One page of the inbox with the filters applied, the total for paging, and the counts per filter option. Sorted
 * by due date (overdue first, then soonest due) or by age (oldest first); ties by creation and id, so pages never
 * overlap.
 */
export async function listTasks(deps: ApiDeps, filter: InboxQuery, viewerId: string | null, m: InboxMoment = inboxMoment()) {
  const [tasks, counts] = await Promise.all([taskPage(deps, filter, viewerId, m), inboxCounts(deps, filter, viewerId, m)]);
  // With every filter applied, the count of the chosen state is the total.
  const total = counts.state[filter.state] ?? 0;
  const parsed = parseInboxSearch(filter.q);
  return { tasks, total, page: filter.page, pageSize: PAGE_SIZE, counts,
    search: parsed.ok && parsed.search ? { kind: parsed.search.kind, value: parsed.search.value } : null };
}

/** One page of an inbox view without its counts (the inbox benchmark's baseline is this alone). */
export async function taskPage(deps: ApiDeps, filter: InboxQuery, viewerId: string | null, m: InboxMoment = inboxMoment()): Promise<TaskView[]> {
  const rows = await viewRows(deps, filter, viewerId, m, PAGE_SIZE, (filter.page - 1) * PAGE_SIZE);
  return toViews(deps, rows, m);
}

// The inbox's tasks with the filters and search applied, in the view's order: `limit` of them after `offset`.
async function viewRows(deps: ApiDeps, filter: InboxQuery, viewerId: string | null, m: InboxMoment, limit: number, offset = 0): Promise<TaskRow[]> {
  // A search narrows to a few cases' tasks (by their own indexes), which one sort orders at once; walking every open
  // task in due order to find them would be slower.
  const searching = parseInboxSearch(filter.q);
  if (filter.sort === 'due' && filter.state === 'open' && searching.ok && !searching.search) return openByDue(deps, filter, viewerId, m, limit, offset);
  const query = applyFilters(tasksQuery(deps), filter, viewerId, m);
  if (filter.sort === 'age') query.orderBy([{ column: 'tasks.createdAt', order: 'asc' }, { column: 'tasks.id', order: 'asc' }]);
  else query.orderByRaw(`${dueCondition('overdue', m)[0]} DESC, tasks.due_at ASC, tasks.created_at ASC, tasks.id ASC`, dueCondition('overdue', m)[1]);
  return await query.limit(limit).offset(offset) as TaskRow[];
}

// Open tasks in due order, overdue first, read as three index range scans in due order instead of sorting every
// open task by "overdue" (an expression of now no index holds): due before now (overdue, escalated or not), then
// escalated but due later (a small partial index), then the rest by due time. Concatenated, that is the order
// "overdue first, then by due time, creation and id", since every task of the first part is due before any of the
// second. Each part reads at most offset + limit rows.
async function openByDue(deps: ApiDeps, filter: InboxQuery, viewerId: string | null, m: InboxMoment, limit: number, offset: number): Promise<TaskRow[]> {
  // In the last part the due filter is a plain bound on the due time, written out so the index range ends there.
  const notDueYet = filter.due === 'overdue' ? 'false' : filter.due === 'any' ? 'true' : 'tasks.due_at <= ?';
  const parts: [string, Date[]][] = [
    ['tasks.due_at < ?', [m.now]],
    ['tasks.escalated_at IS NOT NULL AND tasks.due_at >= ?', [m.now]],
    [`tasks.escalated_at IS NULL AND tasks.due_at >= ? AND ${notDueYet}`,
      filter.due === 'today' ? [m.now, m.endOfToday] : filter.due === 'week' ? [m.now, m.endOfWeek] : [m.now]],
  ];
  // The page's ids first, over the tasks and only the joins the filters need (the planner drops the others), then
  // the page's rows with everything the list shows.
  const sql = parts.map(([where, bindings], part) => {
    const q = countBase(deps, filter, viewerId, m).whereRaw(where, bindings)
      .select('tasks.id', 'tasks.dueAt', 'tasks.createdAt', deps.db.raw(`${part} AS inbox_part`))
      .orderBy([{ column: 'tasks.dueAt', order: 'asc' }, { column: 'tasks.createdAt', order: 'asc' }, { column: 'tasks.id', order: 'asc' }])
      .limit(offset + limit).toSQL();
    return { sql: `(${q.sql})`, bindings: q.bindings };
  });
  const ids = await deps.db.from(deps.db.raw(`(${sql.map((p) => p.sql).join(' UNION ALL ')}) AS page`, sql.flatMap((p) => p.bindings)))
    .orderBy(['inboxPart', 'dueAt', 'createdAt', 'id']).limit(limit).offset(offset).pluck('id') as string[];
  if (ids.length === 0) return [];
  const rows = await tasksQuery(deps).whereIn('tasks.id', ids) as TaskRow[];
  const position = new Map(ids.map((id, i) => [id, i]));
  return rows.sort((a, b) => position.get(a.id)! - position.get(b.id)!);
}

/** The most tasks one CSV export holds: a bigger view is narrowed with the filters or the search first. */
export const EXPORT_LIMIT = 10_000;

/**
 * Every task of an inbox view (all its pages, in its order, the page number ignored) for the CSV export; null when
 * the view holds more than EXPORT_LIMIT tasks.
 */
export async function exportTasks(deps: ApiDeps, filter: InboxQuery, viewerId: string | null, m: InboxMoment = inboxMoment()): Promise<TaskView[] | null> {
  const rows = await viewRows(deps, filter, viewerId, m, EXPORT_LIMIT + 1);
  if (rows.length > EXPORT_LIMIT) return null;
  return toViews(deps, rows, m);
}

/**
 * One task with its history and, for provider and offer tasks, the subject's details: the provider (with its
 * declaration), or the offer (with its provider and annexes). Null when there is no such task.
 */
export async function getTask(deps: ApiDeps, taskId: string) {
  const row: TaskRow | undefined = await tasksQuery(deps).where('tasks.id', taskId).first();
  if (!row) return null;
  const [task] = await toViews(deps, [row], inboxMoment());
  const providerId = task.providerId;
  const [events, provider, offer, documents, employment] = await Promise.all([
    taskEvents(deps, task),
    providerId ? Provider.query(deps.db).findById(providerId)
      .select('id', 'name', 'registrationNumber', 'educationRegistrationNumber', 'email', 'status') : Promise.resolve(undefined),
    task.offerId ? offerDetails(deps, task.offerId) : Promise.resolve(null),
    providerId ? taskDocuments(deps, providerId, task.offerId) : Promise.resolve([]),
    // What an officer deciding a programme for the employed decides on: the learner's employment declaration.
    task.caseId ? deps.db('employmentDeclarations').where({ caseId: task.caseId })
      .first<{ employerName: string; employerRegistrationNumber: string | null; declaredAt: Date } | undefined>('employerName', 'employerRegistrationNumber', 'declaredAt')
      : Promise.resolve(undefined),
  ]);
  return {
    task, events, provider: provider ? { ...provider } : null, offer, documents,
    employment: employment ? { ...employment, declaredAt: new Date(employment.declaredAt).toISOString() } : null,
  };
}

/**
 * Every task about the same subject as this one, oldest first: the learner case's tasks, the offer's, or the
 * provider registration's (the provider's tasks about no offer). A request's task (no case, provider or offer) is
 * its own only subject.
 */
export async function subjectTasks(deps: ApiDeps, task: TaskView): Promise<TaskView[]> {
  const query = tasksQuery(deps).orderBy([{ column: 'tasks.createdAt', order: 'asc' }, { column: 'tasks.id', order: 'asc' }]);
  if (task.caseId) query.where('tasks.caseId', task.caseId);
  else if (task.offerId) query.where('tasks.offerId', task.offerId);
  else if (task.providerId) query.where('tasks.providerId', task.providerId).whereNull('tasks.offerId').whereNull('tasks.caseId');
  else query.where('tasks.id', task.id);
  return toViews(deps, await query as TaskRow[], inboxMoment());
}

/** A stored document's bytes and how to serve them, or null. */
export async function getDocument(deps: ApiDeps, documentId: string) {
  return StoredDocument.query(deps.db).findById(documentId)
    .select('id', 'providerId', 'offerId', 'kind', 'filename', 'contentType', 'sizeBytes', 'sha256', 'content');
}

/**
 * The checks of a decision before anything is sent: what the task's type needs (400), the task (404), still open,
 * decided here (not on a request's own page), not held by a block, not a colleague's (409). The confirmation page
 * runs them too, so the officer is told before confirming.
 */
export async function checkDecision(deps: ApiDeps, staff: Session, taskId: string, input: DecisionInput) {
  const task = await Task.query(deps.db).findById(taskId);
  const checklistCodes = task ? checklistOf(task.facts).map((item) => item.code) : null;
  const problems = decisionProblems(task?.type ?? null, input, checklistCodes && checklistCodes.length > 0 ? checklistCodes : null);
  if (problems.length > 0) {
    throw new HttpError(400, 'invalid_request', `Invalid body: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
  }
  if (!task) throw new HttpError(404, 'task_not_found', 'There is no such task');
  if (task.state !== 'open') throw notOpen(task);
  // A data-subject request is answered with an outcome (done, partly, refused), on its own page.
  if (task.type === DATA_REQUEST_TASK_TYPE) {
    throw new HttpError(409, 'decide_on_request_page', 'Decide this request on its own page, with an outcome', [{ location: `/staff/data-requests/${String(task.facts.requestId)}` }]);
  }
  // A role request is approved with an end date, on its own page.
  if (task.type === ROLE_REQUEST_TASK_TYPE) {
    throw new HttpError(409, 'decide_on_request_page', 'Decide this role request on its own page, with an end date', [{ location: `/staff/role-requests/${String(task.facts.roleRequestId)}` }]);
  }
  // The same rule as claiming: only an active member of the agency staff decides (a token outlives a deactivation).
  if (isUuid(staff.subject)) await staffMember(deps, staff);
  // A decision about a blocked learner or provider is held until an administrator reinstates them (nothing closes).
  const hold = await taskHold(deps.db, task);
  if (hold) throw heldByBlock(hold, 'person');
  // A task a colleague has claimed is theirs to decide (or a team lead's to reassign first).
  if (task.assigneeId && task.assigneeId !== staff.subject) {
    const holder = await User.query(deps.db).findById(task.assigneeId).select('displayName');
    throw claimedByOther(task.assigneeId, holder?.displayName ?? null);
  }
  return { task, checklistCodes };
}

/**
 * Delivers a staff decision to the waiting workflow with an Update. What a decision needs depends on the task's type
 * (`decisionProblems`) and is checked before anything is sent; an unknown task gets the general rule first, so a
 * malformed request is a 400 whether or not the task exists. The workflow's validator is the judge of "still
 * open": of two staff deciding at once exactly one wins, the other is told who decided.
 */
export async function decideTask(deps: ApiDeps, staff: Session, taskId: string, input: DecisionInput) {
  const { task, checklistCodes } = await checkDecision(deps, staff, taskId, input);
  const decision: ApprovalDecisionInput = {
    taskId, decision: input.decision, comment: input.comment,
    decidedBy: { role: 'staff', id: staff.subject, name: staff.name, channel: 'staff' },
  };
  if ((REASONED_TASK_TYPES as readonly string[]).includes(task.type)) {
    // Every item of the task's checklist is answered: an item left out was not ticked.
    decision.checklist = { ...Object.fromEntries((checklistCodes ?? []).map((code) => [code, false])), ...input.checklist };
    decision.reasons = input.decision === 'reject' ? input.reasons ?? [] : [];
  }
  const handle = deps.temporal.workflow.getHandle(task.workflowId);
  try {
    const result = await handle.executeUpdate(decideApprovalUpdate, {
      args: [decision],
      // The same person submitting twice (a double click) is one Update, answered once.
      updateId: `decide:${taskId}:${staff.subject}`,
    });
    // Deciding an unclaimed task makes the decider its assignee (a session without a user row, e.g. a system
    // token, leaves it unassigned).
    if (isUuid(staff.subject)) {
      await Task.query(deps.db).patch({ assigneeId: staff.subject, claimedAt: new Date() } as Partial<Task>)
        .where('id', taskId).whereNull('assigneeId').whereExists(User.query(deps.db).where('id', staff.subject).select(1));
    }
    deps.logger.info('task decided', { taskId, type: task.type, caseId: task.caseId, providerId: task.providerId, offerId: task.offerId, workflowId: task.workflowId, decision: input.decision });
    return result;
  } catch (err) {
    throw refusedDecision(err, 'case');
  }
}

/**
 * The checklist items an offer-evaluation task asks about, from its facts: a list of item codes (or of objects
 * with a `code` and optional `label`). Empty for other tasks.
 */
export function checklistOf(facts: Record<string, unknown>): { code: string; label: string | null }[] {
  const list = facts.checklist;
  if (!Array.isArray(list)) return [];
  return list.flatMap((item): { code: string; label: string | null }[] => {
    if (typeof item === 'string') return [{ code: item, label: null }];
    if (item && typeof item === 'object' && typeof (item as { code?: unknown }).code === 'string') {
      const label = (item as { label?: unknown }).label;
      return [{ code: (item as { code: string }).code, label: typeof label === 'string' ? label : null }];
    }
    return [];
  });
}


/** What a claim, release or assignment did: `changed` is false when the task already was as asked. */
export interface AssignmentResult { changed: boolean; task: TaskView }

/**
 * Claims an open, unassigned task for the staff member. One conditional UPDATE is the judge: of two staff
 * claiming at once exactly one wins, the other is told who has it. Claiming one's own task again changes nothing.
 */
export async function claimTask(deps: ApiDeps, session: Session, taskId: string): Promise<AssignmentResult> {
  const me = await staffMember(deps, session);
  // A colleague may release the task between our UPDATE and the second look; then we simply try again.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const claimed = await deps.db.transaction(async (trx) => {
      const rows = await trx('tasks').where({ id: taskId, state: 'open' }).whereNull('assigneeId')
        .update({ assigneeId: me.id, claimedAt: trx.fn.now() }).returning('*') as TaskRecord[];
      if (rows.length === 0) return false;
      await recordTaskAction(trx, rows[0], me, 'task_claimed', { assigneeId: me.id, assigneeName: me.displayName });
      return true;
    });
    if (claimed) return { changed: true, task: await viewOf(deps, taskId) };
    const current = await assignmentOf(deps.db, taskId);
    if (!current) throw new HttpError(404, 'task_not_found', 'There is no such task');
    if (current.state !== 'open') throw notOpen(current);
    if (current.assigneeId === me.id) return { changed: false, task: await viewOf(deps, taskId) };
    if (current.assigneeId) throw claimedByOther(current.assigneeId, current.assigneeName);
  }
  throw new HttpError(409, 'task_busy', 'The task changed hands several times meanwhile; try again');
}

/** Releases a claimed task back to the team: only its assignee or a team lead may. */
export async function unclaimTask(deps: ApiDeps, session: Session, taskId: string): Promise<AssignmentResult> {
  const me = await staffMember(deps, session);
  const changed = await deps.db.transaction(async (trx) => {
    const task = await lockedTask(trx, taskId);
    if (!task.assigneeId) return false;
    if (task.assigneeId !== me.id && !me.teamLead) {
      throw new HttpError(403, 'not_your_task', `Only ${task.assigneeName ?? 'the assignee'} or a team lead can release this task`,
        [{ assigneeId: task.assigneeId, assigneeName: task.assigneeName }]);
    }
    await trx('tasks').where('id', taskId).update({ assigneeId: null, claimedAt: null });
    await recordTaskAction(trx, task, me, 'task_unclaimed', { previousAssigneeId: task.assigneeId, previousAssigneeName: task.assigneeName });
    return true;
  });
  return { changed, task: await viewOf(deps, taskId) };
}

/**
 * A team lead gives an open task to a colleague (an active staff member or administrator), whoever had it before.
 * The colleague is checked before the task, so a wrong assigneeId is a 400 whether or not the task exists.
 */
export async function assignTask(deps: ApiDeps, session: Session, taskId: string, assigneeId: string): Promise<AssignmentResult> {
  const me = await staffMember(deps, session);
  if (!me.teamLead) throw new HttpError(403, 'team_lead_only', 'Only a team lead can assign tasks to colleagues');
  const assignee = await User.query(deps.db).findById(assigneeId);
  if (!assignee || !isActiveStaff(assignee)) {
    const problem: WordedProblem = { field: 'assigneeId', rule: 'active_staff_member', message: 'must be an active member of the agency staff', words: ruleWords('assigneeId', 'active_staff_member') };
    throw new HttpError(400, 'invalid_request', `Invalid body: assigneeId: ${problem.message}`, [problem]);
  }
  const changed = await deps.db.transaction(async (trx) => {
    const task = await lockedTask(trx, taskId);
    if (task.assigneeId === assignee.id) return false;
    await trx('tasks').where('id', taskId).update({ assigneeId: assignee.id, claimedAt: trx.fn.now() });
    await recordTaskAction(trx, task, me, 'task_assigned', {
      assigneeId: assignee.id, assigneeName: assignee.displayName, previousAssigneeId: task.assigneeId, previousAssigneeName: task.assigneeName,
    });
    return true;
  });
  return { changed, task: await viewOf(deps, taskId) };
}

/** The colleagues a team lead may assign tasks to: active agency staff and administrators, by name. */
export async function assignableStaff(deps: ApiDeps): Promise<{ id: string; displayName: string }[]> {
  return User.query(deps.db).whereIn('role', ['staff', 'admin']).where({ active: true, status: 'active' })
    .select('id', 'displayName').orderBy('displayName');
}

/** The logged-in staff member's user row (staff sessions carry the users.id), with the team-lead flag. */
/** The 409 of a decision on a request someone decided first: by whom, and what they decided. */
export function alreadyDecided(by: string | null, outcome: string | null): HttpError {
  return new HttpError(409, 'already_decided', `Already decided${outcome ? ` (${outcome})` : ''} by ${by ?? 'a colleague'}`, [{ decidedBy: by, decision: outcome }]);
}

/**
 * A decision Update that failed (on a case's, a provider's, a role or a data-subject request's task), as the staff
 * member reads it: decided first by someone else (by whom, what), the task no longer open (a stale task, or the
 * workflow stopped or ended), a reason missing, or the error itself.
 */
export function refusedDecision(err: unknown, about: 'case' | 'request'): unknown {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  if (cause instanceof ApplicationFailure && cause.type === FailureType.AlreadyDecided) {
    const detail = cause.details?.[0] as { decidedBy?: string; decision?: string } | undefined;
    return alreadyDecided(detail?.decidedBy ?? null, detail?.decision ?? null);
  }
  if (cause instanceof ApplicationFailure && cause.type === FailureType.StaleDecision) {
    return new HttpError(409, 'task_not_open', 'This task is no longer open for a decision');
  }
  if (cause instanceof ApplicationFailure && cause.type === FailureType.ReasonRequired) {
    const field = (cause.details?.[0] as { field?: string } | undefined)?.field ?? 'comment';
    return new HttpError(400, 'invalid_request', cause.message, [{ field, rule: 'reason_required', message: cause.message, words: ruleWords(field, 'reason_required') }]);
  }
  if (err instanceof WorkflowNotFoundError) return new HttpError(409, 'task_not_open', `This ${about} is no longer waiting for a decision`);
  return err;
}

export async function staffMember(deps: ApiDeps, session: Session): Promise<User> {
  const user = isUuid(session.subject) ? await User.query(deps.db).findById(session.subject) : undefined;
  if (!user || !isActiveStaff(user)) throw new HttpError(403, 'not_staff_member', 'Only agency staff with an active user account can take tasks');
  return user;
}

function isActiveStaff(user: User): boolean {
  return user.active && user.status === 'active' && (user.role === 'staff' || user.role === 'admin');
}

// A task row as knex returns it (not an objection model).
type TaskRecord = Pick<Task, 'id' | 'caseId' | 'providerId' | 'offerId' | 'workflowId' | 'type' | 'state' | 'assigneeId' | 'decision' | 'decidedByName'>;

interface Assignment { id: string; state: string; assigneeId: string | null; assigneeName: string | null; decision: string | null; decidedByName: string | null }

function assignmentOf(db: Knex | Knex.Transaction, taskId: string) {
  return db('tasks').leftJoin('users', 'users.id', 'tasks.assigneeId').where('tasks.id', taskId)
    .first<Assignment | undefined>('tasks.id', 'tasks.state', 'tasks.assigneeId', 'users.displayName as assigneeName', 'tasks.decision', 'tasks.decidedByName');
}

// The task row locked for this transaction (claims, releases and assignments of one task queue behind each
// other), which must exist and be open.
async function lockedTask(trx: Knex.Transaction, taskId: string): Promise<TaskRecord & { assigneeName: string | null }> {
  const task = await trx('tasks').where('id', taskId).forUpdate().first<TaskRecord | undefined>();
  if (!task) throw new HttpError(404, 'task_not_found', 'There is no such task');
  if (task.state !== 'open') throw notOpen(task);
  const holder = task.assigneeId ? await trx('users').where('id', task.assigneeId).first<{ displayName: string }>('displayName') : undefined;
  return { ...task, assigneeName: holder?.displayName ?? null };
}

async function viewOf(deps: ApiDeps, taskId: string): Promise<TaskView> {
  const row: TaskRow = await tasksQuery(deps).where('tasks.id', taskId).first();
  const [view] = await toViews(deps, [row], inboxMoment());
  return view;
}

// A claim, release or assignment goes into the subject's history in the same transaction as the task row: the
// learner's case events (at the case's current stage), or the provider's or offer's events (at its current state).
// Steps are `task-claimed:<task>:<n>`, numbered per task and kind under the task's row lock.
async function recordTaskAction(trx: Knex.Transaction, task: TaskRecord, me: User, kind: InboxEventKind,
  details: Record<string, unknown>) {
  const prefix = `${kind.replace('_', '-')}:${task.id}:`;
  const actor = { actorRole: 'staff', actorId: me.id, actorName: me.displayName };
  const body = JSON.stringify({ taskId: task.id, taskType: task.type, ...details });
  if (task.caseId) {
    const [c, done] = await Promise.all([
      trx('cases').where('id', task.caseId).first<{ stage: string }>('stage'),
      trx('caseEvents').where('caseId', task.caseId).where('step', 'like', `${prefix}%`).count<{ count: string }[]>('* as count'),
    ]);
    await trx('caseEvents').insert({ caseId: task.caseId, step: `${prefix}${Number(done[0].count) + 1}`, kind, stage: c.stage, ...actor, channel: 'staff', details: body });
    return;
  }
  const offer = task.offerId ? await trx('offers').where('id', task.offerId).first<{ providerId: string; state: string }>('providerId', 'state') : undefined;
  const providerId = task.providerId ?? offer!.providerId;
  const state = offer ? offer.state : (await trx('providers').where('id', providerId).first<{ status: string }>('status')).status;
  const done = await trx('providerEvents').where('workflowId', task.workflowId).where('step', 'like', `${prefix}%`).count<{ count: string }[]>('* as count');
  await trx('providerEvents').insert({
    providerId, offerId: task.offerId ?? null, workflowId: task.workflowId, step: `${prefix}${Number(done[0].count) + 1}`, kind, state, ...actor, details: body,
  });
}

function notOpen(task: Pick<Assignment, 'state' | 'decision' | 'decidedByName'>): HttpError {
  if (task.state === 'decided') return alreadyDecided(task.decidedByName, task.decision);
  return new HttpError(409, 'task_not_open', 'This task is no longer open');
}

function claimedByOther(assigneeId: string, name: string | null): HttpError {
  return new HttpError(409, 'claimed_by_other', `Claimed by ${name ?? 'a colleague'}`, [{ assigneeId, assigneeName: name }]);
}

interface TaskRow extends Task {
  serviceCaseId: string | null; firstName: string | null; lastName: string | null; subjectProviderId: string | null;
  providerName: string | null; providerRegistrationNumber: string | null; offerTitleLv: string | null; offerTitleEn: string | null;
  programme: string | null; callId: string | null; assigneeName: string | null;
}

// Every task with its subject: a learner's case (and the learner), or a provider, or an offer and its provider
// (an offer task names the provider through the offer when the task row itself does not), and who has it.
function tasksQuery(deps: ApiDeps) {
  return deps.db('tasks')
    .leftJoin('cases', 'cases.id', 'tasks.caseId')
    .leftJoin('learners', 'learners.id', 'cases.learnerId')
    .leftJoin('offers', 'offers.id', 'tasks.offerId')
    .leftJoin('providers', 'providers.id', deps.db.raw('coalesce(tasks.provider_id, offers.provider_id)'))
    .leftJoin('users as assignees', 'assignees.id', 'tasks.assigneeId')
    .select('tasks.*', 'cases.serviceCaseId', 'learners.firstName', 'learners.lastName', 'providers.id as subjectProviderId',
      'providers.name as providerName', 'providers.registrationNumber as providerRegistrationNumber',
      'offers.titleLv as offerTitleLv', 'offers.titleEn as offerTitleEn', deps.db.raw(`${PROGRAMME_SQL} AS programme`),
      'offers.callId as callId', 'assignees.displayName as assigneeName');
}

// The views of task rows; the working days to each due day need the public holidays between today and that day.
async function toViews(deps: ApiDeps, rows: TaskRow[], m: InboxMoment): Promise<TaskView[]> {
  if (rows.length === 0) return [];
  const days = rows.map((row) => lastRigaDayOf(new Date(row.dueAt))).concat(m.today).sort();
  const holidaySet = await holidaysBetween(deps.db, days[0]!, days[days.length - 1]!);
  return rows.map((row) => toView(row, m, holidaySet));
}

/** Working days from one Riga day to another: counted over (from, to] forwards, negative when `to` is earlier. */
export function workingDaysBetween(from: string, to: string, holidays: ReadonlySet<string>): number {
  const [start, end, sign] = to >= from ? [from, to, 1] : [to, from, -1];
  let n = 0;
  for (let day = start; day < end;) {
    day = shift(day, 1);
    if (isWorkingDay(day, holidays)) n += 1;
  }
  return sign * n;
}

function toView(row: TaskRow, m: InboxMoment, holidays: ReadonlySet<string>): TaskView {
  const learnerName = row.caseId ? [row.firstName, row.lastName].filter(Boolean).join(' ') : null;
  const offerTitle = row.offerId && row.offerTitleLv !== null ? { lv: row.offerTitleLv, en: row.offerTitleEn ?? row.offerTitleLv } : null;
  // A data-subject request names no case or provider: its facts name the person.
  const subject = learnerName ?? ([row.providerName, offerTitle?.lv].filter(Boolean).join(' — ') || String(row.facts?.subject ?? ''));
  const escalatedAt = row.escalatedAt ? new Date(row.escalatedAt).toISOString() : null;
  const dueAt = new Date(row.dueAt).toISOString();
  return {
    id: row.id, caseId: row.caseId, serviceCaseId: row.serviceCaseId ?? null, providerId: row.subjectProviderId ?? row.providerId ?? null,
    offerId: row.offerId ?? null, type: row.type, state: row.state, learnerName, providerName: row.providerName ?? null,
    providerRegistrationNumber: row.providerRegistrationNumber ?? null, offerTitle, subject,
    programme: row.programme ?? null, callId: row.callId ?? null,
    dueAt, escalatedAt, overdue: row.state === 'open' && (escalatedAt !== null || Date.parse(dueAt) < m.now.getTime()),
    dueInWorkingDays: workingDaysBetween(m.today, lastRigaDayOf(new Date(row.dueAt)), holidays),
    createdAt: new Date(row.createdAt).toISOString(), assigneeId: row.assigneeId ?? null, assigneeName: row.assigneeName ?? null,
    claimedAt: row.claimedAt ? new Date(row.claimedAt).toISOString() : null,
    decision: row.decision, decidedByName: row.decidedByName, decidedAt: row.decidedAt ? new Date(row.decidedAt).toISOString() : null,
    comment: row.comment, facts: row.facts ?? {},
  };
}

// A learner's task shows the case's history; a provider's task the registration's (events with no offer); an
// offer's task that offer's history.
export async function taskEvents(deps: ApiDeps, task: TaskView): Promise<TaskEvent[]> {
  if (task.caseId) {
    const rows = await CaseEvent.query(deps.db).where('caseId', task.caseId).orderBy('id');
    return rows.map((e) => ({ kind: e.kind, stage: e.stage, actorRole: e.actorRole, actorName: e.actorName, occurredAt: new Date(e.occurredAt).toISOString(), details: e.details }));
  }
  const query = ProviderEvent.query(deps.db).orderBy('id');
  // Both columns, so the (provider_id, offer_id) index serves the offer's history too.
  if (task.offerId && task.providerId) query.where('providerId', task.providerId).where('offerId', task.offerId);
  else if (task.offerId) query.where('offerId', task.offerId);
  else if (task.providerId) query.where('providerId', task.providerId).whereNull('offerId');
  else return [];
  const rows = await query;
  return rows.map((e) => ({ kind: e.kind, stage: e.state, actorRole: e.actorRole, actorName: e.actorName, occurredAt: new Date(e.occurredAt).toISOString(), details: e.details }));
}

async function offerDetails(deps: ApiDeps, offerId: string) {
  const offer = await Offer.query(deps.db).findById(offerId);
  if (!offer) return null;
  const [coefficient, call] = await Promise.all([
    offer.coefficientCode ? deps.db('costCoefficients').where('code', offer.coefficientCode).first<{ code: string; nameLv: string; nameEn: string; coefficientThousandths: number } | undefined>() : undefined,
    offer.callId ? deps.db('calls').where('id', offer.callId).first<{ code: string; titleLv: string; titleEn: string } | undefined>('code', 'titleLv', 'titleEn') : undefined,
  ]);
  return {
    id: offer.id, state: offer.state, programme: offer.programme, title: { lv: offer.titleLv, en: offer.titleEn },
    call: call ?? null, competence: offer.competence, language: offer.language,
    description: { lv: offer.descriptionLv, en: offer.descriptionEn }, prerequisites: { lv: offer.prerequisitesLv, en: offer.prerequisitesEn },
    digcompLevel: offer.digcompLevel, digitalSharePercent: offer.digitalSharePercent,
    hoursTheory: offer.hoursTheory, hoursPractice: offer.hoursPractice, licenceNumber: offer.licenceNumber,
    coefficient: coefficient ? { code: coefficient.code, name: { lv: coefficient.nameLv, en: coefficient.nameEn }, value: coefficient.coefficientThousandths / 1000 } : null,
    costCents: offer.costCents, statedCostCents: offer.statedCostCents,
    costMatches: offer.statedCostCents === null || offer.statedCostCents === offer.costCents,
    places: (offer.places ?? []).map((p) => p.address), submittedAt: offer.submittedAt ? new Date(offer.submittedAt).toISOString() : null,
  };
}

// The provider's own documents (the declaration) and, for an offer task, that offer's annexes; never the bytes.
export async function taskDocuments(deps: ApiDeps, providerId: string, offerId: string | null): Promise<TaskDocument[]> {
  const rows = await StoredDocument.query(deps.db).where('providerId', providerId)
    .where((w) => { void (offerId ? w.whereNull('offerId').orWhere('offerId', offerId) : w.whereNull('offerId')); })
    .select('id', 'kind', 'filename', 'contentType', 'sizeBytes', 'sha256', 'uploadedAt', 'offerId').orderBy([{ column: 'offerId', order: 'desc' }, 'kind']);
  return rows.map((d) => ({
    id: d.id, kind: d.kind, filename: d.filename, contentType: d.contentType, sizeBytes: d.sizeBytes, sha256: d.sha256,
    uploadedAt: new Date(d.uploadedAt).toISOString(), offerId: d.offerId, downloadPath: `/staff/documents/${d.id}`,
  }));
}
