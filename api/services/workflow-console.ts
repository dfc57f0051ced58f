import { WorkflowNotFoundError } from '@temporalio/client';
import { decodeSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { temporal } from '@temporalio/proto';
import type { Session } from '../../lib/sessions';
import {
  STUCK_ATTEMPTS, causeOf, failingActivities, failingWorkflowTaskAttempt, isRunning, lastWorkflowTaskFailure, workflowTaskCause,
} from '../../lib/workflow-failures';
import { journeyStateQuery, closeJourneySignal } from '../../workflows/learner-journey';
import { providerOfferStatusQuery } from '../../workflows/provider-offer';
import { providerRegistrationStateQuery } from '../../workflows/provider-registration';
import { parseLearnerJourneyId, parseProviderWorkflowId, workflowCleanupId } from '../../workflows/ids';
import { workflowCleanup } from '../../workflows/workflow-cleanup';
import { recordStopRequest } from '../../lib/workflow-stops';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { auditUserAction } from './audit';
import { within } from '../../lib/concurrency';
import { decodeDescribed, decodeHistory } from '../../lib/payload-decoding';
import { forgetActivities, resolveWorkflow } from '../../lib/stuck-index';
import { GROUP_LISTED, stuckGroups } from './stuck-view';

/**
 * The administrators' view of the workflows themselves (the one place that reads Temporal rather than the read
 * model, because the question is "what is Temporal doing"): lists by type, status and search attributes, the
 * stuck view grouped by cause, one workflow's page, and the actions retry, signal, cancel and terminate.
 * Everything is limited to the API's own task queue, so the console never touches another system's workflows.
 */

/** The workflow types this system runs, by their Temporal type name. */
export const WORKFLOW_TYPES = ['learnerJourney', 'populationRecheck', 'providerRegistration', 'providerOffer', 'consoleBatch', 'workflowCleanup', 'passwordReset', 'auditPurge'] as const;

/** Execution statuses as the console names them, with their visibility-query spelling. */
export const WORKFLOW_STATUSES = {
  running: 'Running', completed: 'Completed', failed: 'Failed', terminated: 'Terminated', timed_out: 'TimedOut',
  canceled: 'Canceled', continued_as_new: 'ContinuedAsNew',
} as const;

/** A console status name. */
export type WorkflowStatusName = keyof typeof WORKFLOW_STATUSES;

// The "is it failing" rule is shared with the batch verification (activities/console.ts); re-exported for callers here.
export { STUCK_ATTEMPTS, causeOf };

/** How many running workflows a terminate by filter selects at most (the preview says how many it left out). */
export const FILTER_SELECT_LIMIT = 5_000;

/** The list filters. */
export interface WorkflowFilter {
  type?: string;
  status?: WorkflowStatusName;
  caseId?: string;
  serviceCaseId?: string;
  personCode?: string;
  programme?: string;
  stage?: string;
  workflowId?: string;
}

/** One workflow in a list. */
export interface WorkflowRow {
  workflowId: string; runId: string; type: string; status: WorkflowStatusName; startedAt: string; closedAt: string | null;
  caseId: string | null; serviceCaseId: string | null; programme: string | null; stage: string | null;
}

/** One failing thing in a running workflow. */
export interface StuckWorkflow {
  workflowId: string; runId: string; type: string; caseId: string | null;
  /** 'activity': a pending activity failed STUCK_ATTEMPTS times or more; 'workflow_task': the workflow code itself fails. */
  kind: 'activity' | 'workflow_task';
  activityId: string | null; activityType: string | null; attempt: number; lastFailure: string; nextRetryAt: string | null;
  cause: string;
}

/** A cause and the workflows it holds up. */
export interface StuckGroup { cause: string; count: number; workflows: StuckWorkflow[] }

/** What reading workflows from visibility needs: Temporal, the task queue that scopes it, the database (person codes). */
type VisibilityDeps = Pick<ApiDeps, 'db' | 'temporal' | 'taskQueue'>;

function namespaceOf(deps: Pick<ApiDeps, 'temporal'>): string {
  return deps.temporal.options.namespace;
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The visibility query for a filter, limited to our task queue. Only the consistency command, asked to look at the
 * whole namespace, passes an empty task queue (api/services/consistency.ts).
 */
export async function visibilityQuery(deps: VisibilityDeps, filter: WorkflowFilter): Promise<string> {
  const parts = deps.taskQueue ? [`TaskQueue = ${quote(deps.taskQueue)}`] : [];
  if (filter.type) parts.push(`WorkflowType = ${quote(filter.type)}`);
  if (filter.status) parts.push(`ExecutionStatus = ${quote(WORKFLOW_STATUSES[filter.status])}`);
  if (filter.workflowId) parts.push(`WorkflowId = ${quote(filter.workflowId)}`);
  if (filter.caseId) parts.push(`CaseId = ${quote(filter.caseId)}`);
  if (filter.serviceCaseId) parts.push(`ServiceCaseId = ${quote(filter.serviceCaseId)}`);
  if (filter.programme) parts.push(`Programme = ${quote(filter.programme)}`);
  if (filter.stage) parts.push(`JourneyStage = ${quote(filter.stage)}`);
  if (filter.personCode) {
    // Person codes are not put into Temporal (personal data stays in Postgres): find the person's cases here.
    const cases = await deps.db('cases').join('learners', 'learners.id', 'cases.learnerId')
      .where('learners.personCode', filter.personCode).pluck('cases.id') as string[];
    parts.push(cases.length > 0 ? `CaseId IN (${cases.map(quote).join(', ')})` : `CaseId = ${quote('-')}`);
  }
  return parts.join(' AND ');
}

/** Temporal's execution status numbers by their console names. */
export const STATUS_NAMES = Object.fromEntries(
  Object.entries(WORKFLOW_STATUSES).map(([name]) => [
    temporal.api.enums.v1.WorkflowExecutionStatus[`WORKFLOW_EXECUTION_STATUS_${name.toUpperCase()}` as keyof typeof temporal.api.enums.v1.WorkflowExecutionStatus],
    name,
  ]),
) as Record<number, WorkflowStatusName>;

function iso(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): string | null {
  if (!ts || ts.seconds === undefined || ts.seconds === null) return null;
  return new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

function toRow(info: temporal.api.workflow.v1.IWorkflowExecutionInfo): WorkflowRow {
  const attrs = decodeSearchAttributes(info.searchAttributes?.indexedFields ?? {});
  const first = (name: string) => {
    const value = attrs[name]?.[0];
    return typeof value === 'string' ? value : null;
  };
  return {
    workflowId: info.execution?.workflowId ?? '', runId: info.execution?.runId ?? '', type: info.type?.name ?? '',
    status: STATUS_NAMES[info.status ?? 0] ?? 'running', startedAt: iso(info.startTime) ?? '', closedAt: iso(info.closeTime),
    caseId: first('CaseId') ?? parseLearnerJourneyId(info.execution?.workflowId ?? ''), serviceCaseId: first('ServiceCaseId'), programme: first('Programme'), stage: first('JourneyStage'),
  };
}

// One page from visibility; a page token that is not one of Temporal's (edited by hand) is the caller's mistake.
async function listPage(deps: VisibilityDeps, query: string, size: number, token?: string) {
  let listed;
  try {
    listed = await deps.temporal.workflowService.listWorkflowExecutions({
      namespace: namespaceOf(deps), query, pageSize: size, nextPageToken: token ? Buffer.from(token, 'base64url') : undefined,
    });
  } catch (err) {
    if (token && [2, 3].includes((err as { code?: number }).code ?? 0)) throw new HttpError(400, 'invalid_request', 'pageToken: is not a page of this list', [{ field: 'pageToken' }]);
    throw err;
  }
  const next = listed.nextPageToken && listed.nextPageToken.length > 0 ? Buffer.from(listed.nextPageToken).toString('base64url') : null;
  return { workflows: (listed.executions ?? []).map(toRow), nextPageToken: next };
}

/** One page of workflows matching the filter, newest first, with the total and the token of the next page. */
export async function listWorkflows(deps: ApiDeps, filter: WorkflowFilter, page: { size: number; token?: string }) {
  const query = await visibilityQuery(deps, filter);
  const [listed, counted] = await Promise.all([
    listPage(deps, query, page.size, page.token),
    deps.temporal.workflowService.countWorkflowExecutions({ namespace: namespaceOf(deps), query }),
  ]);
  return { ...listed, total: Number(counted.count ?? 0) };
}

/** How many workflows match the filter (visibility's count, no listing). */
export async function countWorkflows(deps: VisibilityDeps, filter: WorkflowFilter): Promise<number> {
  const counted = await deps.temporal.workflowService.countWorkflowExecutions({ namespace: namespaceOf(deps), query: await visibilityQuery(deps, filter) });
  return Number(counted.count ?? 0);
}

/** Every workflow matching the filter (a terminate by filter, the consistency check); stops at `limit`. */
export async function allWorkflowIds(deps: VisibilityDeps, filter: WorkflowFilter, limit = FILTER_SELECT_LIMIT): Promise<WorkflowRow[]> {
  const query = await visibilityQuery(deps, filter);
  const rows: WorkflowRow[] = [];
  let token: string | undefined;
  do {
    const page = await listPage(deps, query, 1_000, token);
    rows.push(...page.workflows);
    token = page.nextPageToken ?? undefined;
  } while (token && rows.length < limit);
  return rows.slice(0, limit);
}

/** What is failing in one running workflow right now, or an empty list when it is moving. */
export async function failuresOf(deps: ApiDeps, row: Pick<WorkflowRow, 'workflowId' | 'runId' | 'type' | 'caseId'>): Promise<StuckWorkflow[]> {
  let described;
  try {
    // Raw from the service: failure messages are encrypted until decoded (lib/payload-decoding.ts).
    described = await decodeDescribed(deps.temporal.options.loadedDataConverter, await deps.temporal.workflowService.describeWorkflowExecution({
      namespace: namespaceOf(deps), execution: { workflowId: row.workflowId },
    }));
  } catch (err) {
    if ((err as { code?: number }).code === 5) return []; // NOT_FOUND: gone since the list was read
    throw err;
  }
  if (!isRunning(described)) return [];
  const found: StuckWorkflow[] = [];
  for (const activity of failingActivities(described)) {
    const { activityType, attempt, lastFailure: message } = activity;
    found.push({
      workflowId: row.workflowId, runId: described.workflowExecutionInfo?.execution?.runId ?? row.runId, type: row.type,
      caseId: row.caseId, kind: 'activity', activityId: activity.activityId, activityType, attempt,
      lastFailure: message, nextRetryAt: iso(activity.nextAttemptScheduleTime), cause: causeOf(activityType, message),
    });
  }
  const taskAttempt = failingWorkflowTaskAttempt(described);
  if (taskAttempt !== null) {
    const message = await lastWorkflowTaskFailure(deps.temporal, row.workflowId);
    found.push({
      workflowId: row.workflowId, runId: described.workflowExecutionInfo?.execution?.runId ?? row.runId, type: row.type,
      caseId: row.caseId, kind: 'workflow_task', activityId: null, activityType: null, attempt: taskAttempt,
      lastFailure: message, nextRetryAt: null, cause: workflowTaskCause(row.type, message),
    });
  }
  return found;
}

/**
 * The stuck view: running workflows whose pending activity failed STUCK_ATTEMPTS times or more, or whose workflow
 * task keeps failing, grouped by cause (largest group first), together with the overdue human tasks, so one queue
 * shows everything that is not moving. Read from the stuck index (api/services/stuck-view.ts), not by describing
 * every running workflow: each group counts all its workflows and lists at most GROUP_LISTED, saying how many it
 * left out.
 */
export async function findStuck(deps: ApiDeps, filter: WorkflowFilter = {}) {
  const stuck = await stuckGroups(deps, filter);
  const overdueTasks = await deps.db('tasks').where('state', 'open')
    .andWhere((q) => q.where('dueAt', '<', new Date()).orWhereNotNull('escalatedAt'))
    .orderBy('dueAt').limit(200)
    .select('id', 'type', 'workflowId', 'caseId', 'providerId', 'offerId', 'dueAt', 'escalatedAt', 'assigneeId');
  const [{ count: overdueTotal }] = await deps.db('tasks').where('state', 'open')
    .andWhere((q) => q.where('dueAt', '<', new Date()).orWhereNotNull('escalatedAt')).count<{ count: string }[]>('* as count');
  return {
    // Kept for clients of the scanning view: what the answer is made of now (failing steps read from the index).
    scanned: stuck.total, scanLimit: GROUP_LISTED,
    total: stuck.total, leftOut: stuck.leftOut, groupListed: GROUP_LISTED,
    groups: stuck.groups,
    overdueTasks: overdueTasks.map((t) => ({ ...t, dueAt: new Date(t.dueAt).toISOString(), escalatedAt: t.escalatedAt ? new Date(t.escalatedAt).toISOString() : null })),
    overdueTotal: Number(overdueTotal),
  };
}

/** One line of a workflow's history, in words. */
export interface HistoryLine { id: number; at: string | null; event: string; detail: string }

const EVENT_TYPE_NAMES = temporal.api.enums.v1.EventType as unknown as Record<number, string>;

function describeEvent(e: temporal.api.history.v1.IHistoryEvent): HistoryLine {
  const name = (EVENT_TYPE_NAMES[e.eventType ?? 0] ?? 'EVENT_TYPE_UNSPECIFIED').replace(/^EVENT_TYPE_/, '').toLowerCase();
  const detail = e.activityTaskScheduledEventAttributes?.activityType?.name
    ?? e.activityTaskFailedEventAttributes?.failure?.message
    ?? e.activityTaskTimedOutEventAttributes?.failure?.message
    ?? e.workflowTaskFailedEventAttributes?.failure?.message
    ?? e.workflowExecutionSignaledEventAttributes?.signalName
    ?? e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name
    ?? (e.timerStartedEventAttributes?.startToFireTimeout ? `${Number(e.timerStartedEventAttributes.startToFireTimeout.seconds ?? 0)} s` : undefined)
    ?? e.workflowExecutionTerminatedEventAttributes?.reason
    ?? e.workflowExecutionCancelRequestedEventAttributes?.cause
    ?? e.workflowExecutionStartedEventAttributes?.workflowType?.name
    ?? e.workflowExecutionFailedEventAttributes?.failure?.message
    ?? '';
  return { id: Number(e.eventId ?? 0), at: iso(e.eventTime), event: name.replace(/_/g, ' '), detail: detail ?? '' };
}

/** Which part of the product a workflow belongs to, for links from its page. */
function subjectOf(workflowId: string): { caseId: string | null; providerId: string | null; offerId: string | null } {
  const caseId = parseLearnerJourneyId(workflowId);
  const provider = parseProviderWorkflowId(workflowId);
  return {
    caseId, providerId: provider?.kind === 'registration' ? provider.id : null, offerId: provider?.kind === 'offer' ? provider.id : null,
  };
}

/** One workflow's page: its subject, state, pending activities, failures and readable history. */
export async function workflowDetail(deps: ApiDeps, workflowId: string) {
  const handle = deps.temporal.workflow.getHandle(workflowId);
  let described;
  try {
    described = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
  if (described.taskQueue !== deps.taskQueue) return null;
  const row: WorkflowRow = toRow(described.raw.workflowExecutionInfo!);
  const state = row.status === 'running' ? await queryState(deps, row.type, workflowId) : null;
  // The handle decodes neither of these: the history and the raw describe answer hold encrypted failures.
  const converter = deps.temporal.options.loadedDataConverter;
  const history = await decodeHistory(converter, await handle.fetchHistory());
  const events = (history.events ?? []).map(describeEvent);
  const raw = await decodeDescribed(converter, described.raw);
  const pending = (raw.pendingActivities ?? []).map((a) => ({
    activityId: a.activityId ?? '', activityType: a.activityType?.name ?? '', attempt: a.attempt ?? 0,
    lastFailure: a.lastFailure?.message ?? null, nextRetryAt: iso(a.nextAttemptScheduleTime), lastStartedAt: iso(a.lastStartedTime),
  }));
  const failures = row.status === 'running' ? await failuresOf(deps, row) : [];
  const subject = subjectOf(workflowId);
  const ui = deps.temporalUiUrl
    ? `${deps.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespaceOf(deps))}/workflows/${encodeURIComponent(workflowId)}`
    : null;
  return { workflow: row, state, pending, failures, events, subject, temporalUiUrl: ui, signals: SIGNALS[row.type] ?? [] };
}

// The workflow's own Query, for the page; a workflow that cannot answer (stuck in its first task) shows none.
async function queryState(deps: ApiDeps, type: string, workflowId: string): Promise<unknown> {
  const handle = deps.temporal.workflow.getHandle(workflowId);
  try {
    if (type === 'learnerJourney') return await handle.query(journeyStateQuery);
    if (type === 'providerRegistration') return await handle.query(providerRegistrationStateQuery);
    if (type === 'providerOffer') return await handle.query(providerOfferStatusQuery);
  } catch {
    return null;
  }
  return null;
}

/** The signals an administrator may send, per workflow type. */
const SIGNALS: Record<string, string[]> = { learnerJourney: ['closeJourney'] };

/** The administrator's actions on one workflow. */
export type ConsoleAction = 'retry' | 'signal' | 'cancel' | 'terminate';

/** What an action did, as the administrator and the audit log see it. */
export interface ActionOutcome { workflowId: string; action: ConsoleAction; outcome: string }

/**
 * Retry now: failing activities are reset (attempts start again and the next one runs at once); a workflow whose
 * own code fails is reset to its last completed workflow task, so it runs that code again (after a fix is
 * deployed). A workflow with nothing failing is left alone.
 */
export async function retryNow(deps: ApiDeps, workflowId: string): Promise<string> {
  const detail = await workflowDetail(deps, workflowId);
  if (!detail) throw new HttpError(404, 'workflow_not_found', 'There is no such workflow');
  if (detail.workflow.status !== 'running') throw new HttpError(409, 'not_running', `The workflow is ${detail.workflow.status}; only running workflows can be retried`);
  const namespace = namespaceOf(deps);
  const failingActivities = detail.pending.filter((a) => a.lastFailure !== null && a.attempt > 1);
  if (failingActivities.length > 0) {
    for (const activity of failingActivities) {
      await deps.temporal.workflowService.resetActivity({
        namespace, execution: { workflowId }, id: activity.activityId, identity: 'workflow-console',
      });
    }
    // The attempts start again at 1: the index forgets these rows, so the next failure opens a fresh one.
    await forgetActivities(deps.db, workflowId, failingActivities.map((a) => a.activityId));
    return `activity restarted: ${failingActivities.map((a) => a.activityType).join(', ')}`;
  }
  if (detail.failures.some((f) => f.kind === 'workflow_task')) {
    const lastGood = [...detail.events].reverse().find((e) => e.event === 'workflow task completed');
    if (!lastGood) throw new HttpError(409, 'nothing_to_reset_to', 'The workflow has no completed step to go back to; terminate it or fix the code');
    const reset = await deps.temporal.workflowService.resetWorkflowExecution({
      namespace, workflowExecution: { workflowId, runId: detail.workflow.runId }, // protobufjs takes a plain number for an int64 field; the generated type says Long.
      workflowTaskFinishEventId: lastGood.id as unknown as temporal.api.workflowservice.v1.IResetWorkflowExecutionRequest['workflowTaskFinishEventId'],
      // Derived from the run and the event: a second click on the same failure is the same reset, done once.
      reason: 'workflow console: retry', requestId: `console-retry:${detail.workflow.runId}:${lastGood.id}`,
    });
    // The failing run is over; a new run that fails again is found by the sweep (lib/stuck-sweep.ts).
    await resolveWorkflow(deps.db, workflowId, 'retried');
    return `workflow reset to event ${lastGood.id} (new run ${reset.runId ?? ''})`;
  }
  throw new HttpError(409, 'nothing_to_retry', 'Nothing in this workflow is failing right now');
}

/** Sends one of the type's allowed signals, carrying the administrator and the reason. */
export async function sendSignal(deps: ApiDeps, admin: Session, workflowId: string, type: string, signal: string, reason: string): Promise<string> {
  if (!(SIGNALS[type] ?? []).includes(signal)) throw new HttpError(400, 'invalid_request', `"${signal}" is not a signal a ${type} workflow takes`, [{ field: 'signal' }]);
  await deps.temporal.workflow.getHandle(workflowId).signal(closeJourneySignal, {
    reason: 'closed_by_agency', detail: reason, actor: { role: 'staff', id: admin.subject, name: admin.name, channel: 'staff' },
  });
  return `signal ${signal} sent`;
}

// Whether the console stopped this workflow and its read model is not known to be closed yet.
async function stopNotCleanedUp(deps: ApiDeps, workflowId: string): Promise<boolean> {
  return Boolean(await deps.db('workflowStopRequests').where({ workflowId }).whereNull('cleanedAt').first('workflowId'));
}

/** How long the console waits for the cleanup after a terminate before answering that it is under way. */
const CLEANUP_WAIT_MS = 10_000;

/**
 * Terminate runs no workflow code, so the console follows it with the cleanup a cancelled workflow runs itself:
 * a small workflow (workflows/workflow-cleanup.ts) with the same activity, durable and idempotent. Waits briefly
 * so the administrator reads what it closed.
 */
export async function cleanUpAfterTerminate(deps: ApiDeps, workflowId: string): Promise<string> {
  const handle = await deps.temporal.workflow.start(workflowCleanup, {
    workflowId: workflowCleanupId(workflowId), taskQueue: deps.taskQueue, args: [{ workflowId }],
    // A second terminate of the same workflow (or a retried request) joins the running cleanup or runs it again.
    workflowIdConflictPolicy: 'USE_EXISTING', workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
  const result = await within(handle.result(), CLEANUP_WAIT_MS);
  return result ? `read model closed (${result.closed})` : 'the read model is being closed';
}

/**
 * The workflow ended by itself between the describe and the action (the action found no running execution): a 409
 * like any action on an ended workflow. A stop request recorded for it is settled, since the workflow closed its own
 * read model and no cleanup will run; one whose stop another request did carry out is left to that cleanup.
 */
async function endedMeanwhile(deps: ApiDeps, workflowId: string, action: ConsoleAction): Promise<HttpError> {
  const status = await deps.temporal.workflow.getHandle(workflowId).describe().then((d) => d.status.name, () => null);
  if (status === null) return new HttpError(409, 'not_running', 'The workflow is no longer running');
  if ((action === 'cancel' || action === 'terminate') && status !== 'TERMINATED' && status !== 'CANCELLED') {
    await deps.db('workflowStopRequests').where({ workflowId }).whereNull('cleanedAt').update({ cleanedAt: new Date() });
  }
  return new HttpError(409, 'not_running', `The workflow is already ${status.toLowerCase()}`);
}

/**
 * Performs one action on one workflow with the administrator's reason and audits it (who, what, which workflow,
 * reason, result), whether it worked or not.
 */
export async function performAction(deps: ApiDeps, admin: Session, workflowId: string, request: { action: ConsoleAction; reason: string; signal?: string }): Promise<ActionOutcome> {
  let outcome: string;
  let failed: unknown = null;
  try {
    const handle = deps.temporal.workflow.getHandle(workflowId);
    const described = await handle.describe().catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) throw new HttpError(404, 'workflow_not_found', 'There is no such workflow');
      throw err;
    });
    if (described.taskQueue !== deps.taskQueue) throw new HttpError(404, 'workflow_not_found', 'There is no such workflow');
    // A batch keeps its progress in Postgres and finishes it itself; ending it from outside would leave it "running".
    if (described.type === 'consoleBatch' && request.action !== 'retry') {
      throw new HttpError(409, 'batch_workflow', 'A batch runs to its end by itself; it cannot be signalled, cancelled or terminated here');
    }
    // A terminate whose cleanup did not get through (Temporal or the database failed just then) is finished here.
    if (request.action === 'terminate' && described.status.name === 'TERMINATED' && await stopNotCleanedUp(deps, workflowId)) {
      outcome = `already terminated; ${await cleanUpAfterTerminate(deps, workflowId)}`;
    } else if (request.action !== 'retry' && described.status.name !== 'RUNNING') {
      throw new HttpError(409, 'not_running', `The workflow is already ${described.status.name.toLowerCase()}`);
    } else switch (request.action) {
      case 'retry': outcome = await retryNow(deps, workflowId); break;
      case 'signal': outcome = await sendSignal(deps, admin, workflowId, described.type, request.signal ?? '', request.reason); break;
      case 'cancel':
        // Who and why first: the workflow's own cleanup (workflows/stop.ts) records them when it closes its case.
        await recordStopRequest(deps.db, { workflowId, action: 'cancel', actor: { id: admin.subject, name: admin.name }, reason: request.reason });
        await handle.cancel();
        outcome = 'cancellation requested; the workflow closes its case, task, earmark and place itself';
        break;
      case 'terminate':
        await recordStopRequest(deps.db, { workflowId, action: 'terminate', actor: { id: admin.subject, name: admin.name }, reason: request.reason });
        await handle.terminate(`${request.reason} (by ${admin.name})`);
        // Out of the stuck view at once, whatever the cleanup below does (it resolves the rows too).
        await resolveWorkflow(deps.db, workflowId).catch((err: unknown) => deps.logger.warn('stuck index not updated', { workflowId, error: String(err) }));
        // The terminate happened whatever the cleanup does next: the answer says so, and how far the cleanup got.
        outcome = `terminated; ${await cleanUpAfterTerminate(deps, workflowId).catch((err: unknown) => {
          deps.logger.error('cleanup after terminate failed to start', { workflowId, error: String(err) });
          return `the read model could not be closed yet (${err instanceof Error ? err.message : String(err)}); terminate it again to finish the cleanup`;
        })}`;
        break;
    }
  } catch (err) {
    failed = err instanceof WorkflowNotFoundError ? await endedMeanwhile(deps, workflowId, request.action) : err;
    outcome = `refused: ${failed instanceof Error ? failed.message : String(failed)}`;
  }
  await auditUserAction(deps.db, admin, {
    action: `console.${request.action}`, purpose: request.reason,
    result: { workflowIds: [workflowId], outcome: outcome!, ...(request.signal ? { signal: request.signal } : {}) },
  });
  deps.logger.info('console action', { workflowId, action: request.action, outcome: outcome! });
  if (failed) throw failed;
  return { workflowId, action: request.action, outcome: outcome! };
}
