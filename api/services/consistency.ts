import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import type { Actor } from '../../domain/journey';
import { writeAudit } from '../../lib/audit';
import { mapConcurrent, within } from '../../lib/concurrency';
import { DependencyUnavailableError } from '../../lib/dependency-errors';
import type { Session } from '../../lib/sessions';
import { translate, type PageLanguage } from '../../web/render';
import { releaseHolds } from '../../activities/applications';
import { OFFER_OVER_STATES, PROVIDER_OPEN_STATES, closeReadModel } from '../../activities/workflow-stop';
import { RESERVATION_SETTLES_MS } from './journey-reservations';
import { learnerJourneyId, parseLearnerJourneyId } from '../../workflows/ids';
import { STATUS_NAMES, allWorkflowIds, type WorkflowStatusName } from './workflow-console';
import { HttpError } from '../errors';
import { stopRequestOf } from '../../lib/workflow-stops';
import { checkStuckIndex, stuckSubject } from './stuck-consistency';
import { countsDrift, rebuildCounts } from './inbox-counts';

/**
 * The consistency check (issue 12): does the read model in PostgreSQL agree with the workflows in Temporal, and with
 * itself? Every rule below is an invariant the code keeps when nothing goes wrong; a violation means something
 * changed behind the system's back (a workflow terminated outside the console, a row edited by hand, a cleanup
 * that never finished). Each violation names its subject, links to the console page to look at, and, where the
 * fix cannot lose anything, names a repair an administrator may run (repairViolation), audited.
 *
 * The check reads Temporal for the workflows' own state (visibility for the list of running workflows, then a
 * describe of each one the list and the database disagree about, because visibility lags), so it is bounded: one
 * paged list plus a describe per disagreement, 16 at a time, all within a budget after which it answers "Temporal
 * did not answer" instead of hanging.
 */

/** The rules, by their stable codes (the panel, the command's output and the message keys use them). */
export const CONSISTENCY_RULES = [
  'case_without_running_workflow',
  'journey_without_open_case',
  'registration_without_running_workflow',
  'offer_without_running_workflow',
  'earmark_without_live_application',
  'case_balance_mismatch',
  'programme_places_mismatch',
  'group_places_mismatch',
  'email_sent_twice',
  'email_stuck_pending',
  'task_open_on_closed_workflow',
  'task_open_on_closed_case',
  'reservation_unsettled',
  'stop_cleanup_unfinished',
  // stuck: the stuck index agrees with Temporal (issue 17 item 1; api/services/stuck-consistency.ts).
  'stuck_index_disagrees',
  'stuck_not_indexed',
  'inbox_counts_drift',
] as const;

/** A rule's code. */
export type ConsistencyRule = typeof CONSISTENCY_RULES[number];

/**
 * The repairs offered, each one the same change the system makes itself when nothing goes wrong:
 * - close_read_model: the console's stop cleanup (activities/workflow-stop.ts) for a workflow that has ended:
 *   the case closed (closed_by_agency) with its task withdrawn and its earmark, places and reservation given back,
 *   or the registration cancelled, or the offer closed;
 * - withdraw_task: an inbox task nobody can decide any more (its workflow ended) is withdrawn;
 * - release_application: an earmark (and capped and group place) held by an application that ended before study,
 *   or by one whose case and workflow are over, goes back to the case's balance (releaseHolds);
 * - release_reservation: a reservation that holds nothing is deleted (the API would take it over anyway);
 * - resolve_stuck_row: a stuck-index row Temporal no longer bears out is resolved, as the worker's sweep would.
 * - rebuild_inbox_counts: the inbox's counts are recounted from the task rows (they are derived, nothing is lost).
 */
export const REPAIRS = ['close_read_model', 'withdraw_task', 'release_application', 'release_reservation', 'resolve_stuck_row', 'rebuild_inbox_counts'] as const;

/** A repair's name. */
export type RepairName = typeof REPAIRS[number];

/** What a violation is about: its kind and id (a case, workflow, task, application, outbox row, ...). */
export interface ViolationSubject {
  kind: 'case' | 'workflow' | 'provider' | 'offer' | 'group' | 'application' | 'email' | 'task' | 'reservation' | 'programme' | 'stop_request'
    | 'stuck_row' | 'summary';
  id: string;
}

/** One violation of one rule. */
export interface Violation {
  rule: ConsistencyRule;
  subject: ViolationSubject;
  /** The workflow the subject belongs to, when there is one. */
  workflowId: string | null;
  /** The rule's text with this violation's figures, in Latvian and English (keys consistency.rule.<rule>). */
  message: { lv: string; en: string };
  /** The console page to look at (relative to the web app). */
  link: string;
  /** The repair the panel offers, or null when a person must decide (money, e-mail, a running workflow). */
  repair: RepairName | null;
  details: Record<string, string | number | null>;
}

/** What the check examined and what it found. */
export interface ConsistencyReport {
  checkedAt: string;
  /** The Temporal scope: a task queue, or null for the whole namespace. */
  scope: { namespace: string; taskQueue: string | null };
  counts: {
    cases: number; openCases: number; workflows: number; applications: number; emails: number; openTasks: number;
    reservations: number; stopRequests: number; providers: number; offers: number;
    /** The stuck index: open rows, open rows not compared (beyond ROWS_CHECKED), running workflows sampled. */
    stuckRows: number; stuckRowsLeftOut: number; stuckSampled: number;
  };
  violations: Violation[];
}

/** What the check needs: the database, a Temporal client, and the task queue that scopes it (null: the namespace). */
export interface ConsistencyDeps { db: Knex; temporal: Client; taskQueue: string | null }

/** Tunables; the defaults are explained where they are defined. */
export interface ConsistencyOptions {
  /** Rows and workflows younger than this may be mid-transition (see SETTLE_MS). */
  settleMs?: number;
  /** An e-mail pending longer than this (and not being sent) is stuck (see PENDING_EMAIL_MAX_AGE_MS). */
  pendingEmailMaxAgeMs?: number;
  /** The whole conversation with Temporal must end by then (see TEMPORAL_BUDGET_MS). */
  temporalBudgetMs?: number;
}

/**
 * Two minutes: a journey's case row is written by its first activity and closed a moment before its last e-mail, a
 * provider's row is committed a moment before its workflow starts, a stop's cleanup runs right after the stop. With
 * a worker that is up, each of these gaps is seconds (a start answers within 5 s, RESERVATION_SETTLES_MS is 8 s);
 * two minutes also lets a restarted worker catch up before a gap counts as a violation.
 */
export const SETTLE_MS = 120_000;

/**
 * Thirty minutes. An e-mail is pending while its activity retries (5 s, doubling, at most every 10 minutes) and
 * leased while an attempt talks to the server (a 10 s lease, renewed). After an SMTP outage ends, the next attempt
 * comes within 10 minutes, so a row pending for half an hour with no live lease means either that the mail server
 * has been failing for 20 minutes or more (the health page says so too) or that nothing will ever send it (its
 * workflow ended mid-send). Neither is repaired here: an e-mail is never re-sent by the check.
 */
export const PENDING_EMAIL_MAX_AGE_MS = 30 * 60_000;

/** Twenty seconds for every Temporal call of one check; each call also has its own deadline (lib/temporal.ts). */
export const TEMPORAL_BUDGET_MS = 20_000;

const DESCRIBE_CONCURRENCY = 16;
const LIVE_APPLICATION_STATES = ['applied', 'enrolled'];
/** Application states that end before study: their earmark goes back to the balance (releaseApplication). */
const RELEASED_APPLICATION_STATES = ['declined', 'timed_out', 'withdrawn', 'refused', 'waitlisted'];

/** A workflow's status as the console names it, or 'not_found' when Temporal does not know it. */
type WorkflowStatus = WorkflowStatusName | 'not_found';

/** The console page of a workflow. */
export function workflowLink(workflowId: string): string {
  return `/admin/workflows/${encodeURIComponent(workflowId)}`;
}

function namespaceOf(deps: ConsistencyDeps): string {
  return deps.temporal.options.namespace;
}

/** The status of one workflow's latest run, straight from Temporal (not visibility, which lags). */
async function describeStatus(deps: ConsistencyDeps, workflowId: string): Promise<WorkflowStatus> {
  try {
    const described = await deps.temporal.workflowService.describeWorkflowExecution({ namespace: namespaceOf(deps), execution: { workflowId } });
    return STATUS_NAMES[described.workflowExecutionInfo?.status ?? 0] ?? 'running';
  } catch (err) {
    if ((err as { code?: number }).code === 5) return 'not_found'; // gRPC NOT_FOUND
    throw err;
  }
}

/**
 * The Temporal side of a check: which workflows run (visibility), and the true status of any workflow the caller
 * asks about that visibility does not list as running (a describe each, so a workflow that just ended is not taken
 * for running, and one that just started is found).
 */
class WorkflowStatuses {
  private readonly statuses = new Map<string, WorkflowStatus>();
  running = new Map<string, { type: string; startedAt: string }>();

  constructor(private readonly deps: ConsistencyDeps) {}

  async listRunning(): Promise<void> {
    const rows = await allWorkflowIds({ ...this.deps, taskQueue: this.deps.taskQueue ?? '' }, { status: 'running' }, 100_000);
    for (const row of rows) this.running.set(row.workflowId, { type: row.type, startedAt: row.startedAt });
  }

  /** Describes every id not listed as running (and, with `confirmRunning`, those listed too), in parallel. */
  async resolve(ids: Iterable<string>, opts: { confirmRunning?: boolean } = {}): Promise<void> {
    const wanted = [...new Set(ids)].filter((id) => !this.statuses.has(id) && (opts.confirmRunning || !this.running.has(id)));
    const found = await mapConcurrent(wanted, DESCRIBE_CONCURRENCY, (id) => describeStatus(this.deps, id));
    wanted.forEach((id, i) => this.statuses.set(id, found[i]!));
  }

  /** The status of a workflow resolved (or listed as running) before. */
  status(id: string): WorkflowStatus {
    return this.statuses.get(id) ?? (this.running.has(id) ? 'running' : 'not_found');
  }
}

function ago(ms: number): Date {
  return new Date(Date.now() - ms);
}

function violation(
  rule: ConsistencyRule, subject: ViolationSubject, workflowId: string | null, repair: RepairName | null,
  details: Violation['details'], link = workflowId ? workflowLink(workflowId) : '/admin/consistency',
): Violation {
  return {
    rule, subject, workflowId, link, repair, details,
    message: { lv: ruleMessage('lv', rule, subject, workflowId, details), en: ruleMessage('en', rule, subject, workflowId, details) },
  };
}

// The rule's sentence with the violation's figures; a Temporal status and a case's state are words of the language.
function ruleMessage(lang: PageLanguage, rule: ConsistencyRule, subject: ViolationSubject, workflowId: string | null, details: Violation['details']): string {
  const vars: Record<string, unknown> = { ...details, subject: subject.id, workflowId: workflowId ?? '' };
  if (typeof details.status === 'string') {
    vars.status = translate(lang, ['not_found', 'other_run'].includes(details.status) ? `consistency.status.${details.status}` : `console.status.${details.status}`);
  }
  if (typeof details.caseState === 'string') vars.caseState = translate(lang, `consistency.state.${details.caseState}`);
  return translate(lang, `consistency.rule.${rule}`, vars);
}

// The statuses a workflow has when it has ended for good: a read model it left open can be closed.
const ENDED: readonly WorkflowStatus[] = ['completed', 'failed', 'terminated', 'canceled', 'timed_out'];

/** Runs every rule; throws DependencyUnavailableError('temporal') when Temporal does not answer within the budget. */
export async function checkConsistency(deps: ConsistencyDeps, options: ConsistencyOptions = {}): Promise<ConsistencyReport> {
  const settleMs = options.settleMs ?? SETTLE_MS;
  const settled = ago(settleMs);
  const { db } = deps;
  const checkedAt = new Date().toISOString();

  // The database first: one snapshot of what the read model says is open.
  const openCases = await db('cases').whereNull('closedAt')
    .select<{ id: string; workflowId: string; createdAt: Date }[]>('id', 'workflowId', 'createdAt');
  const openProviders = await db('providers').whereIn('status', PROVIDER_OPEN_STATES).whereNotNull('workflowId')
    .where('createdAt', '<', settled).select<{ id: string; workflowId: string; status: string }[]>('id', 'workflowId', 'status');
  const openOffers = await db('offers').whereNotIn('state', OFFER_OVER_STATES).whereNotNull('workflowId')
    .where('createdAt', '<', settled).select<{ id: string; workflowId: string; state: string }[]>('id', 'workflowId', 'state');
  const openTasks = await db('tasks').leftJoin('cases', 'cases.id', 'tasks.caseId').where('tasks.state', 'open')
    .select<{ id: string; workflowId: string; caseId: string | null; caseClosedAt: Date | null; createdAt: Date }[]>(
      'tasks.id', 'tasks.workflowId', 'tasks.caseId', 'cases.closedAt as caseClosedAt', 'tasks.createdAt');
  const reservations = await db('journeyReservations').leftJoin('cases', 'cases.id', 'journeyReservations.caseId')
    .select<{ caseId: string; programme: string; createdAt: Date; caseExists: string | null; caseClosedAt: Date | null }[]>(
      'journeyReservations.caseId', 'journeyReservations.programme', 'journeyReservations.createdAt',
      'cases.id as caseExists', 'cases.closedAt as caseClosedAt');
  const earmarks = await db('applications').join('cases', 'cases.id', 'applications.caseId').where('applications.earmarkedCents', '>', 0)
    .where((q) => q.whereNotIn('applications.state', LIVE_APPLICATION_STATES).orWhereNotNull('cases.closedAt'))
    .select<{ id: string; caseId: string; workflowId: string; state: string; earmarkedCents: number; caseClosedAt: Date | null }[]>(
      'applications.id', 'applications.caseId', 'cases.workflowId', 'applications.state', 'applications.earmarkedCents',
      'cases.closedAt as caseClosedAt');
  const stopRequests = await db('workflowStopRequests').whereNull('cleanedAt').where('requestedAt', '<', settled)
    .select<{ workflowId: string; action: string; requestedAt: Date }[]>('workflowId', 'action', 'requestedAt');

  // Then Temporal, within its budget.
  const workflows = new WorkflowStatuses(deps);
  const budget = options.temporalBudgetMs ?? TEMPORAL_BUDGET_MS;
  const runningJourneys = await within((async () => {
    await workflows.listRunning();
    const runningJourneys = [...workflows.running].filter(([, w]) => w.type === 'learnerJourney').map(([id]) => id);
    await workflows.resolve([
      ...openCases.map((c) => c.workflowId), ...openProviders.map((p) => p.workflowId), ...openOffers.map((o) => o.workflowId),
      ...openTasks.map((t) => t.workflowId),
      ...reservations.filter((r) => !r.caseExists).map((r) => learnerJourneyId(r.caseId)), ...earmarks.map((a) => a.workflowId),
    ]);
    // A console stop was asked for these, so each may have ended a moment ago while visibility still lists it as
    // running (for seconds on Temporal's PostgreSQL visibility): Temporal itself is asked. Unfinished stops are few.
    await workflows.resolve(stopRequests.map((s) => s.workflowId), { confirmRunning: true });
    return runningJourneys;
  })(), budget);
  if (!runningJourneys) throw new DependencyUnavailableError('temporal', `Temporal did not answer within ${budget / 1000} s`);
  const stuckIndex = await within(checkStuckIndex(deps, [...workflows.running.keys()], settled), budget);
  if (!stuckIndex) throw new DependencyUnavailableError('temporal', `Temporal did not answer within ${budget / 1000} s`);

  const violations: Violation[] = [];

  // The stuck index agrees with Temporal: its open rows are still failing, and the sampled failures are indexed.
  for (const d of stuckIndex.disagreements) {
    violations.push(violation(d.rule, { kind: 'stuck_row', id: stuckSubject(d) }, d.workflowId,
      d.rule === 'stuck_index_disagrees' ? 'resolve_stuck_row' : null, d.details));
  }

  // An open case has a running journey; one whose journey has ended can be closed as the console's cleanup would.
  for (const c of openCases) {
    const status = workflows.status(c.workflowId);
    if (status === 'running' || c.createdAt > settled) continue;
    violations.push(violation('case_without_running_workflow', { kind: 'case', id: c.id }, c.workflowId,
      ENDED.includes(status) ? 'close_read_model' : null, { status }));
  }

  // A running journey has an open case: the case row is written by its first step, and closed a moment before its
  // last e-mail (so a closed case with an e-mail still pending is the journey finishing, not a violation).
  const journeyCases = new Map<string, { closedAt: Date | null; pendingEmails: number }>();
  const journeyIds = runningJourneys.filter((id) => parseLearnerJourneyId(id));
  for (let i = 0; i < journeyIds.length; i += 1000) {
    const slice = journeyIds.slice(i, i + 1000).map((id) => parseLearnerJourneyId(id)!);
    const rows = await db('cases').whereIn('id', slice).select<{ id: string; closedAt: Date | null }[]>('id', 'closedAt');
    const pending = await db('emailOutbox').whereIn('caseId', slice).where('status', 'pending')
      .groupBy('caseId').select<{ caseId: string; n: string }[]>('caseId', db.raw('count(*) as n'));
    const pendingOf = new Map(pending.map((p) => [p.caseId, Number(p.n)]));
    for (const row of rows) journeyCases.set(row.id, { closedAt: row.closedAt, pendingEmails: pendingOf.get(row.id) ?? 0 });
  }
  const suspects = journeyIds.filter((id) => {
    const started = new Date(workflows.running.get(id)!.startedAt);
    const theCase = journeyCases.get(parseLearnerJourneyId(id)!);
    if (!theCase) return started < settled;
    return theCase.closedAt !== null && theCase.closedAt < settled && theCase.pendingEmails === 0;
  });
  // Visibility lags: confirm with Temporal itself that each suspect still runs.
  const confirmed = await within(workflows.resolve(suspects, { confirmRunning: true }).then(() => true), budget);
  if (!confirmed) throw new DependencyUnavailableError('temporal', `Temporal did not answer within ${budget / 1000} s`);
  for (const id of suspects) {
    if (workflows.status(id) !== 'running') continue;
    const caseId = parseLearnerJourneyId(id)!;
    const theCase = journeyCases.get(caseId);
    violations.push(violation('journey_without_open_case', { kind: 'workflow', id }, id, null,
      { caseId, caseState: theCase ? 'closed' : 'missing' }));
  }

  // A registration or offer still under way in the read model has a running workflow.
  for (const p of openProviders) {
    const status = workflows.status(p.workflowId);
    if (status === 'running') continue;
    violations.push(violation('registration_without_running_workflow', { kind: 'provider', id: p.id }, p.workflowId,
      ENDED.includes(status) ? 'close_read_model' : null, { status, state: p.status }));
  }
  for (const o of openOffers) {
    const status = workflows.status(o.workflowId);
    if (status === 'running') continue;
    violations.push(violation('offer_without_running_workflow', { kind: 'offer', id: o.id }, o.workflowId,
      ENDED.includes(status) ? 'close_read_model' : null, { status, state: o.state }));
  }

  // An open task belongs to a running workflow (which waits for its decision) and an open case.
  for (const task of openTasks) {
    if (task.createdAt > settled) continue;
    const status = workflows.status(task.workflowId);
    if (status !== 'running') {
      violations.push(violation('task_open_on_closed_workflow', { kind: 'task', id: task.id }, task.workflowId,
        ENDED.includes(status) ? 'withdraw_task' : null, { status }));
    } else if (task.caseClosedAt && task.caseClosedAt < settled) {
      // The workflow still waits for this task: withdrawing the row would leave it waiting unseen. Cancel it instead.
      violations.push(violation('task_open_on_closed_case', { kind: 'task', id: task.id }, task.workflowId, null, { caseId: task.caseId }));
    }
  }

  // Money. Every cent of a case moves between three places and never leaves the case: its balance, the earmark of an
  // application (taken from the balance when it is made, given back when it ends before study) and the spent amount
  // (the earmark, once study ends). So for every case
  //     balance_cents + Σ applications.earmarked_cents + Σ applications.spent_cents = granted,
  // where granted is the grant of the programme version the case started with (programme_versions.balance_cents; for a
  // programme without versions its own row's, which no code changes) once the account was
  // approved (the 'approval' event of kind 'imk_approved'), and 0 before or without approval (a rejection sets 0).
  for (const app of earmarks) {
    // An earmark of an application that ended before study goes back to the balance; so does one of a live
    // application whose case is closed and whose journey has ended (the stop cleanup's release). An earmark left on a
    // completed or dropped-out application should have been spent: a person decides.
    const live = LIVE_APPLICATION_STATES.includes(app.state);
    const repairable = live ? app.caseClosedAt !== null && ENDED.includes(workflows.status(app.workflowId))
      : RELEASED_APPLICATION_STATES.includes(app.state);
    violations.push(violation('earmark_without_live_application', { kind: 'application', id: app.id }, app.workflowId,
      repairable ? 'release_application' : null, { caseId: app.caseId, state: app.state, earmarkedCents: app.earmarkedCents, caseState: app.caseClosedAt ? 'closed' : 'open' }));
  }
  const { rows: balances } = await db.raw<{ rows: { id: string; workflow_id: string; balance_cents: number; earmarked: string; spent: string; granted: string }[] }>(`
    SELECT c.id, c.workflow_id, c.balance_cents, coalesce(a.earmarked, 0) AS earmarked, coalesce(a.spent, 0) AS spent,
      CASE WHEN EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.step = 'approval' AND e.kind = 'imk_approved')
        THEN coalesce(v.balance_cents, p.balance_cents) ELSE 0 END AS granted
    FROM cases c JOIN programmes p ON p.code = c.programme
    LEFT JOIN programme_versions v ON v.programme = c.programme AND v.version = c.programme_version
    LEFT JOIN (SELECT case_id, sum(earmarked_cents) AS earmarked, sum(spent_cents) AS spent FROM applications GROUP BY case_id) a
      ON a.case_id = c.id`);
  for (const b of balances) {
    const total = b.balance_cents + Number(b.earmarked) + Number(b.spent);
    if (total === Number(b.granted)) continue;
    violations.push(violation('case_balance_mismatch', { kind: 'case', id: b.id }, b.workflow_id, null, {
      balanceCents: b.balance_cents, earmarkedCents: Number(b.earmarked), spentCents: Number(b.spent), grantedCents: Number(b.granted),
    }));
  }
  // The programme's count of capped places equals the applications holding one (counted when applied, given back
  // when an application ends before study, kept once enrolled), plus the open place offers to wait-listed learners
  // (lib/waitlist.ts: a freed place stays counted while it is offered).
  const { rows: places } = await db.raw<{ rows: { code: string; applications_received: number; holding: string }[] }>(`
    SELECT p.code, p.applications_received,
      count(a.id) + (SELECT count(*) FROM place_offers o WHERE o.programme = p.code AND o.state = 'offered') AS holding
    FROM programmes p
    LEFT JOIN cases c ON c.programme = p.code LEFT JOIN applications a ON a.case_id = c.id AND a.holds_place
    GROUP BY p.code, p.applications_received`);
  for (const p of places) {
    if (p.applications_received === Number(p.holding)) continue;
    violations.push(violation('programme_places_mismatch', { kind: 'programme', id: p.code }, null, null,
      { counted: p.applications_received, holding: Number(p.holding) }, `/admin/workflows?programme=${encodeURIComponent(p.code)}`));
  }
  // Likewise each application window's count (issue 15): the applications that window counted and that still hold it,
  // and the places freed in it that are offered to a wait-listed learner.
  const { rows: windowPlaces } = await db.raw<{ rows: { id: string; programme: string; applications_received: number; holding: string }[] }>(`
    SELECT w.id, w.programme, w.applications_received,
      count(a.id) + (SELECT count(*) FROM place_offers o WHERE o.window_id = w.id AND o.state = 'offered') AS holding FROM programme_windows w
    LEFT JOIN applications a ON a.window_id = w.id AND a.holds_place
    GROUP BY w.id, w.programme, w.applications_received`);
  for (const w of windowPlaces) {
    if (w.applications_received === Number(w.holding)) continue;
    violations.push(violation('programme_places_mismatch', { kind: 'programme', id: w.programme }, null, null,
      { window: w.id, counted: w.applications_received, holding: Number(w.holding) }, `/admin/programmes/${encodeURIComponent(w.programme)}`));
  }

  // A group's count of enrolled learners equals its applications that were enrolled (counted on enrolment, kept when
  // study ends, given back when an enrolled learner's journey is stopped).
  const { rows: groups } = await db.raw<{ rows: { id: string; offer_id: string; enrolled: number; holding: string }[] }>(`
    SELECT g.id, g.offer_id, g.enrolled, count(a.id) AS holding FROM offer_groups g
    LEFT JOIN applications a ON a.group_id = g.id AND a.state IN ('enrolled', 'completed', 'dropped_out')
    GROUP BY g.id, g.offer_id, g.enrolled HAVING g.enrolled <> count(a.id)`);
  for (const g of groups) {
    violations.push(violation('group_places_mismatch', { kind: 'group', id: g.id }, null, null,
      { offerId: g.offer_id, counted: g.enrolled, holding: Number(g.holding) }, `/catalogue/${encodeURIComponent(g.offer_id)}`));
  }

  // E-mail: one sent per (case, step). The outbox key is unique, so two can only come from two keys for one step.
  const twice = await db('emailOutbox').join('cases', 'cases.id', 'emailOutbox.caseId').where('emailOutbox.status', 'sent')
    .groupBy('emailOutbox.caseId', 'emailOutbox.step', 'cases.workflowId').havingRaw('count(*) > 1')
    .select<{ caseId: string; step: string; workflowId: string; n: string }[]>('emailOutbox.caseId', 'emailOutbox.step', 'cases.workflowId', db.raw('count(*) as n'));
  for (const e of twice) {
    violations.push(violation('email_sent_twice', { kind: 'email', id: `${e.caseId}:${e.step}` }, e.workflowId, null,
      { caseId: e.caseId, step: e.step, count: Number(e.n) }));
  }
  const pendingMaxAge = options.pendingEmailMaxAgeMs ?? PENDING_EMAIL_MAX_AGE_MS;
  const stuck = await db('emailOutbox').leftJoin('cases', 'cases.id', 'emailOutbox.caseId').where('emailOutbox.status', 'pending')
    .where('emailOutbox.createdAt', '<', ago(pendingMaxAge))
    .where((q) => q.whereNull('emailOutbox.leasedUntil').orWhere('emailOutbox.leasedUntil', '<', db.fn.now()))
    .select<{ id: string; dedupeKey: string; step: string; workflowId: string | null; attempts: number }[]>(
      'emailOutbox.id', 'emailOutbox.dedupeKey', 'emailOutbox.step', 'cases.workflowId', 'emailOutbox.attempts');
  for (const e of stuck) {
    // A provider's or the agency's e-mail is keyed <workflowId>:<step>.
    const workflowId = e.workflowId ?? (e.dedupeKey.endsWith(`:${e.step}`) ? e.dedupeKey.slice(0, -(e.step.length + 1)) : null);
    violations.push(violation('email_stuck_pending', { kind: 'email', id: String(e.id) }, workflowId, null,
      { step: e.step, attempts: e.attempts, minutes: Math.round(pendingMaxAge / 60_000) }));
  }

  // A reservation is held by an open case, or by a journey on its way to writing its case.
  for (const r of reservations) {
    if (r.createdAt > ago(Math.max(settleMs, RESERVATION_SETTLES_MS))) continue;
    const workflowId = learnerJourneyId(r.caseId);
    const holds = r.caseExists ? r.caseClosedAt === null : workflows.status(workflowId) === 'running';
    if (holds) continue;
    violations.push(violation('reservation_unsettled', { kind: 'reservation', id: r.caseId }, workflowId, 'release_reservation',
      { programme: r.programme, caseState: r.caseExists ? 'closed' : 'missing' }));
  }

  // A console stop is followed by its cleanup; once the workflow has ended, the cleanup can be finished from here.
  for (const s of stopRequests) {
    const status = workflows.status(s.workflowId);
    violations.push(violation('stop_cleanup_unfinished', { kind: 'stop_request', id: s.workflowId }, s.workflowId,
      ENDED.includes(status) || status === 'not_found' ? 'close_read_model' : null, { action: s.action, status }));
  }

  // The inbox's counts (issue 17) are a summary the triggers on tasks keep: it equals a recount of the task rows.
  // Summary and rows are read by one statement, so a task changing meanwhile is not a false alarm.
  const drift = await countsDrift(db, 20);
  if (drift.length > 0) {
    const first = drift[0]!;
    violations.push(violation('inbox_counts_drift', { kind: 'summary', id: 'inbox_counts' }, null, 'rebuild_inbox_counts', {
      rows: drift.length, state: first.state, type: first.type, stored: first.stored, counted: first.counted,
    }, '/staff/tasks'));
  }

  const [counts] = await db.raw<{ rows: Record<string, string>[] }>(`
    SELECT (SELECT count(*) FROM cases) AS cases, (SELECT count(*) FROM applications) AS applications,
      (SELECT count(*) FROM email_outbox) AS emails, (SELECT count(*) FROM providers WHERE workflow_id IS NOT NULL) AS providers,
      (SELECT count(*) FROM offers WHERE workflow_id IS NOT NULL) AS offers`).then((r) => r.rows);
  return {
    checkedAt, scope: { namespace: namespaceOf(deps), taskQueue: deps.taskQueue },
    counts: {
      cases: Number(counts!.cases), openCases: openCases.length, workflows: workflows.running.size,
      applications: Number(counts!.applications), emails: Number(counts!.emails), openTasks: openTasks.length,
      reservations: reservations.length, stopRequests: stopRequests.length, providers: Number(counts!.providers), offers: Number(counts!.offers),
      stuckRows: stuckIndex.rows, stuckRowsLeftOut: stuckIndex.rowsLeftOut, stuckSampled: stuckIndex.sampled,
    },
    violations,
  };
}

/** The one-line summary the command ends with, e.g. "0 violations (212 cases, 230 workflows, 1040 e-mails)". */
export function summaryLine(report: ConsistencyReport): string {
  const c = report.counts;
  // Always "violations", even for one: other scripts match this line by its fixed words.
  return `consistency: ${report.violations.length} violations (${c.cases} cases, ${c.workflows} running workflows, ${c.applications} applications, `
    + `${c.emails} e-mails, ${c.openTasks} open tasks, ${c.providers} provider registrations, ${c.offers} offers)`;
}

/** What a repair did: repaired, or nothing to do (the violation no longer holds: repaired already, or fixed meanwhile). */
export interface RepairResult {
  repaired: boolean;
  rule: ConsistencyRule;
  subject: string;
  repair: RepairName | null;
  /** The row(s) before and after, as audited; null when nothing changed. */
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/**
 * Repairs one violation, if it still holds: re-runs the check, finds the violation by rule and subject, and makes
 * the repair in one transaction that locks the rows and checks them again, writing the audit row (who, why,
 * before and after) in the same transaction. A second request for the same violation (a double click) finds
 * nothing to repair and changes nothing. A violation without a repair is a 409.
 */
export async function repairViolation(
  deps: ConsistencyDeps, target: { rule: ConsistencyRule; subject: string }, by: Session, reason: string,
  options: ConsistencyOptions = {},
): Promise<RepairResult> {
  const report = await checkConsistency(deps, options);
  const found = report.violations.find((v) => v.rule === target.rule && v.subject.id === target.subject);
  if (!found) return { repaired: false, rule: target.rule, subject: target.subject, repair: null, before: null, after: null };
  if (!found.repair) {
    throw new HttpError(409, 'no_safe_repair', 'This violation has no automatic repair: a person must decide (see the linked page)', [{ rule: found.rule }]);
  }
  const actor: Actor = { role: 'staff', id: by.subject, name: by.name, channel: 'staff' };
  const repair = found.repair;
  const change = await deps.db.transaction(async (trx) => {
    const made = await REPAIR_STEPS[repair](trx, found, actor, reason);
    if (!made) return null;
    const caseId = typeof found.details.caseId === 'string' ? found.details.caseId
      : found.subject.kind === 'case' ? found.subject.id : found.workflowId ? parseLearnerJourneyId(found.workflowId) : null;
    await writeAudit(trx, {
      actor: { role: by.role, id: by.subject, name: by.name }, action: `consistency.${repair}`, subjectPersonCode: null,
      caseId, purpose: reason,
      result: { rule: found.rule, subject: found.subject, workflowId: found.workflowId, before: made.before, after: made.after },
      idempotencyKey: null,
    });
    return made;
  });
  return {
    repaired: change !== null, rule: found.rule, subject: found.subject.id, repair,
    before: change?.before ?? null, after: change?.after ?? null,
  };
}

type RepairStep = (trx: Knex.Transaction, v: Violation, actor: Actor, reason: string) => Promise<{ before: Record<string, unknown>; after: Record<string, unknown> } | null>;

// Each step locks its rows, checks the violation's database side again, and changes nothing if it no longer holds.
// The Temporal side needs no second look: a workflow that has ended stays ended (our ids are never reused).
const REPAIR_STEPS: Record<RepairName, RepairStep> = {
  async close_read_model(trx, v, actor, reason) {
    const workflowId = v.workflowId!;
    const stop = await trx('workflowStopRequests').where({ workflowId }).whereNull('cleanedAt').forUpdate().first<{ workflowId: string } | undefined>('workflowId');
    const before = await readModelOf(trx, workflowId, true);
    if (!before && !stop) return null;
    // Finishing a console stop records the stop's own actor and reason on the case, as its cleanup would have.
    const request = stop ? await stopRequestOf(trx, workflowId) : null;
    const by: Actor = request ? { role: 'staff', id: request.actor.id, name: request.actor.name, channel: 'staff' } : actor;
    // The case closes as a console stop closes it (closed_by_agency); how its workflow ended is kept with the event.
    const details = request ? { action: request.action, reason: request.reason } : { action: 'consistency_repair', reason, workflowStatus: v.details.status ?? null };
    if (before) await closeReadModel(trx, workflowId, by, details);
    if (stop) await trx('workflowStopRequests').where({ workflowId }).update({ cleanedAt: new Date() });
    return {
      before: { ...before, ...(stop ? { stopCleanup: 'unfinished' } : {}) },
      after: { ...(await readModelOf(trx, workflowId, false)), ...(stop ? { stopCleanup: 'finished' } : {}) },
    };
  },

  async withdraw_task(trx, v) {
    const task = await trx('tasks').where({ id: v.subject.id }).forUpdate().first<{ state: string } | undefined>('state');
    if (task?.state !== 'open') return null;
    await trx('tasks').where({ id: v.subject.id, state: 'open' }).update({ state: 'cancelled' });
    return { before: { task: { id: v.subject.id, state: 'open' } }, after: { task: { id: v.subject.id, state: 'cancelled' } } };
  },

  async release_application(trx, v) {
    const app = await trx('applications').where({ id: v.subject.id }).forUpdate()
      .first<{ id: string; caseId: string; groupId: string; state: string; earmarkedCents: number; holdsPlace: boolean; reason: string | null; windowId: string | null } | undefined>(
        'id', 'caseId', 'groupId', 'state', 'earmarkedCents', 'holdsPlace', 'reason', 'windowId');
    if (!app || app.earmarkedCents === 0) return null;
    const theCase = await trx('cases').where({ id: app.caseId }).forUpdate().first<{ balanceCents: number; closedAt: Date | null }>('balanceCents', 'closedAt');
    const live = LIVE_APPLICATION_STATES.includes(app.state);
    if (live && theCase.closedAt === null) return null;
    if (!live && !RELEASED_APPLICATION_STATES.includes(app.state)) return null;
    // A live application on a closed case ends as the stop cleanup ends it; an ended one keeps its state and reason.
    const end = live ? { state: 'withdrawn' as const, reason: 'closed_by_agency' } : { state: app.state as 'withdrawn', reason: app.reason };
    await releaseHolds(trx, { ...app, state: app.state as 'applied' | 'enrolled' }, end);
    const after = await trx('cases').where({ id: app.caseId }).first<{ balanceCents: number }>('balanceCents');
    return {
      before: { application: { state: app.state, earmarkedCents: app.earmarkedCents, holdsPlace: app.holdsPlace }, caseBalanceCents: theCase.balanceCents },
      after: { application: { state: end.state, earmarkedCents: 0, holdsPlace: false }, caseBalanceCents: after.balanceCents },
    };
  },

  async resolve_stuck_row(trx, v) {
    const key = { workflowId: v.workflowId!, runId: String(v.details.runId), kind: String(v.details.kind), activityId: String(v.details.activityId) };
    const row = await trx('stuckIndex').where(key).whereNull('resolvedAt').forUpdate().first<{ cause: string; attempt: number } | undefined>('cause', 'attempt');
    if (!row) return null;
    const resolution = v.details.status === 'running' ? 'not_failing' : 'workflow_closed';
    await trx('stuckIndex').where(key).update({ resolvedAt: new Date(), resolution, checkedAt: new Date() });
    return { before: { stuckRow: { ...key, cause: row.cause, attempt: row.attempt, open: true } }, after: { stuckRow: { ...key, open: false, resolution } } };
  },

  async rebuild_inbox_counts(trx) {
    const before = await countsDrift(trx, 1000);
    if (before.length === 0) return null;
    await rebuildCounts(trx);
    return { before: { inboxCountRowsDiffering: before.length }, after: { inboxCountRowsDiffering: (await countsDrift(trx, 1000)).length } };
  },

  async release_reservation(trx, v) {
    const held = await trx('journeyReservations').where({ caseId: v.subject.id }).forUpdate()
      .first<{ personCode: string; programme: string } | undefined>('personCode', 'programme');
    if (!held) return null;
    const theCase = await trx('cases').where({ id: v.subject.id }).first<{ closedAt: Date | null } | undefined>('closedAt');
    if (theCase && theCase.closedAt === null) return null;
    await trx('journeyReservations').where({ caseId: v.subject.id }).delete();
    return { before: { reservation: { caseId: v.subject.id, programme: held.programme } }, after: { reservation: null } };
  },
};

// What a workflow's read model holds now (for the audit's before and after); null when there is nothing open to close.
async function readModelOf(trx: Knex.Transaction, workflowId: string, lock: boolean): Promise<Record<string, unknown> | null> {
  const caseId = parseLearnerJourneyId(workflowId);
  const tasks = await trx('tasks').where({ workflowId, state: 'open' }).pluck('id') as string[];
  if (caseId) {
    const q = trx('cases').where({ id: caseId });
    const row = await (lock ? q.forUpdate() : q).first<{ stage: string; closedAt: Date | null; balanceCents: number } | undefined>('stage', 'closedAt', 'balanceCents');
    const held = await trx('applications').where({ caseId }).whereIn('state', LIVE_APPLICATION_STATES).select('id', 'state', 'earmarkedCents');
    const reservation = await trx('journeyReservations').where({ caseId }).first('programme');
    if (lock && (!row || row.closedAt) && held.length === 0 && tasks.length === 0 && !reservation) return null;
    return { case: row ?? null, openTasks: tasks, liveApplications: held, reservation: reservation ?? null };
  }
  const providerRow = await trx('providers').where({ workflowId }).first<{ id: string; status: string } | undefined>('id', 'status');
  if (providerRow) {
    if (lock && !PROVIDER_OPEN_STATES.includes(providerRow.status) && tasks.length === 0) return null;
    return { provider: providerRow, openTasks: tasks };
  }
  const offerRow = await trx('offers').where({ workflowId }).first<{ id: string; state: string } | undefined>('id', 'state');
  if (offerRow) {
    if (lock && OFFER_OVER_STATES.includes(offerRow.state) && tasks.length === 0) return null;
    return { offer: offerRow, openTasks: tasks };
  }
  return lock && tasks.length === 0 ? null : { openTasks: tasks };
}
