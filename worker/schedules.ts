import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import {
  ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction, type ScheduleSpec,
} from '@temporalio/client';
import type { Logger } from '../lib/logger';
import { auditPurge, PURGE_DEFAULTS, type AuditPurgeInput } from '../workflows/audit-purge';
import {
  auditPurgeId, auditPurgeScheduleId, populationRecheckId, populationRecheckScheduleId, retentionRunId, retentionScheduleId,
  providerNoticesId, providerNoticesScheduleId,
} from '../workflows/ids';
import { providerNotices, type ProviderNoticesInput } from '../workflows/provider-notices';
import { populationRecheck, type PopulationRecheckInput } from '../workflows/population-recheck';
import { retention, type RetentionInput } from '../workflows/retention';
import { waitlistSweep } from '../workflows/waitlist-sweep';
import { waitlistSweepId, waitlistSweepScheduleId } from '../workflows/ids';

/** What ensureSchedules did to one schedule. */
export type ScheduleOutcome = 'created' | 'updated' | 'unchanged';

/** Options of ensureSchedules. */
export interface EnsureSchedulesOptions {
  client: Client;
  /** The task queue the scheduled workflows run on (the worker's). */
  taskQueue: string;
  /** RECHECK_INTERVAL: no active learner goes longer than this without a Population Register re-check. */
  recheckIntervalMs: number;
  /** Learners per page in each re-check run, which is also the registry calls in flight (default 20). */
  recheckBatchSize?: number;
  /** Appended to schedule and workflow ids; tests pass one so their schedule never touches the real one. */
  idSuffix?: string;
}

const DAY_MS = 86_400_000;

/**
 * How often the re-check runs and when a learner is due, for a re-check interval. It runs every interval/30, at
 * most daily (daily for the 180-day default): each run asks the register about a small, steady slice of
 * learners instead of everyone at once, and after an outage the next run is never far off. A learner is due one
 * run period before the interval ends, so nobody goes longer than the interval between checks.
 */
export function recheckPlan(recheckIntervalMs: number): { everyMs: number; dueAfterMs: number } {
  // Schedules work in whole seconds.
  const everyMs = Math.min(DAY_MS, Math.max(1000, Math.round(recheckIntervalMs / 30 / 1000) * 1000));
  return { everyMs, dueAfterMs: Math.max(0, recheckIntervalMs - everyMs) };
}

/**
 * Creates the worker's schedules if they are missing and brings them in line with the configuration if it
 * changed; otherwise changes nothing, so every worker runs it at start. A schedule an operator paused stays
 * paused. Two workers starting at once may both try to create it: the loser finds it and compares.
 */
export async function ensureSchedules(opts: EnsureSchedulesOptions): Promise<Record<'populationRecheck' | 'auditPurge' | 'retention' | 'waitlistSweep' | 'providerNotices', EnsuredSchedule>> {
  return {
    populationRecheck: await ensurePopulationRecheckSchedule(opts),
    auditPurge: await ensureAuditPurgeSchedule(opts),
    retention: await ensureRetentionSchedule(opts),
    waitlistSweep: await ensureWaitlistSweepSchedule(opts),
    providerNotices: await ensureProviderNoticesSchedule(opts),
  };
}

/** The ids of every schedule ensureSchedules makes, for a suffix (tests delete theirs with it). */
export function workerScheduleIds(suffix = ''): string[] {
  return [
    populationRecheckScheduleId(suffix), auditPurgeScheduleId(suffix), retentionScheduleId(suffix), waitlistSweepScheduleId(suffix),
    providerNoticesScheduleId(suffix),
  ];
}

/** One schedule that ensureSchedules made sure of, and what it did to it. */
export interface EnsuredSchedule { scheduleId: string; outcome: ScheduleOutcome }

/** The population re-check's schedule (see ensureSchedules). */
async function ensurePopulationRecheckSchedule(opts: EnsureSchedulesOptions): Promise<EnsuredSchedule> {
  const suffix = opts.idSuffix ?? '';
  const scheduleId = populationRecheckScheduleId(suffix);
  const { everyMs, dueAfterMs } = recheckPlan(opts.recheckIntervalMs);
  const args: [PopulationRecheckInput] = [{ intervalMs: dueAfterMs, batchSize: opts.recheckBatchSize ?? 20 }];
  const spec: ScheduleSpec = { intervals: [{ every: everyMs }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof populationRecheck> = {
    type: 'startWorkflow', workflowType: populationRecheck, taskQueue: opts.taskQueue, args,
    // The server appends each run's start time to this id.
    workflowId: populationRecheckId(suffix ? `scheduled-${suffix}` : 'scheduled'),
  };
  const policies = {
    // A run still going when the next is due (a registry outage) is enough: the next one is skipped, not queued.
    overlap: ScheduleOverlapPolicy.SKIP,
    // After a server outage, make up the missed run (one is enough: they check the same people).
    catchupWindow: Math.max(everyMs, 60_000),
  };

  return { scheduleId, outcome: await ensureSchedule(opts.client, { scheduleId, spec, action, policies }, { everyMs, offsetMs: 0 }) };
}

/** When the daily audit purge runs: 01:00 UTC (03:00 or 04:00 in Riga), a quiet hour. */
export const AUDIT_PURGE_PLAN = { everyMs: DAY_MS, offsetMs: 3_600_000 } as const;

/** The audit purge's schedule: daily; see workflows/audit-purge.ts. */
async function ensureAuditPurgeSchedule(opts: EnsureSchedulesOptions): Promise<EnsuredSchedule> {
  const suffix = opts.idSuffix ?? '';
  const scheduleId = auditPurgeScheduleId(suffix);
  const args: [AuditPurgeInput] = [{ ...PURGE_DEFAULTS }];
  const spec: ScheduleSpec = { intervals: [{ every: AUDIT_PURGE_PLAN.everyMs, offset: AUDIT_PURGE_PLAN.offsetMs }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof auditPurge> = {
    type: 'startWorkflow', workflowType: auditPurge, taskQueue: opts.taskQueue, args,
    workflowId: auditPurgeId(suffix ? `scheduled-${suffix}` : 'scheduled'),
  };
  // A missed day is made up once the server is back; a run still going when the next is due is enough.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: DAY_MS };
  return { scheduleId, outcome: await ensureSchedule(opts.client, { scheduleId, spec, action, policies }, AUDIT_PURGE_PLAN) };
}

/** How often overdue place offers are passed on: every 10 minutes, so a deadline is kept within minutes. */
export const WAITLIST_SWEEP_PLAN = { everyMs: 600_000, offsetMs: 0 } as const;

/** The wait-list sweep's schedule; see workflows/waitlist-sweep.ts. */
async function ensureWaitlistSweepSchedule(opts: EnsureSchedulesOptions): Promise<EnsuredSchedule> {
  const suffix = opts.idSuffix ?? '';
  const scheduleId = waitlistSweepScheduleId(suffix);
  const spec: ScheduleSpec = { intervals: [{ every: WAITLIST_SWEEP_PLAN.everyMs }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof waitlistSweep> = {
    type: 'startWorkflow', workflowType: waitlistSweep, taskQueue: opts.taskQueue, args: [],
    workflowId: waitlistSweepId(suffix ? `scheduled-${suffix}` : 'scheduled'),
  };
  // Missed runs are not made up one by one: the next run expires everything overdue at once.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: WAITLIST_SWEEP_PLAN.everyMs };
  return { scheduleId, outcome: await ensureSchedule(opts.client, { scheduleId, spec, action, policies }, WAITLIST_SWEEP_PLAN) };
}

/** A schedule as ensureSchedule wants it: one interval, one start-workflow action, its policies. */
interface DesiredSchedule {
  scheduleId: string;
  spec: ScheduleSpec;
  action: ScheduleOptionsStartWorkflowAction<any>;
  policies: { overlap: ScheduleOverlapPolicy; catchupWindow: number };
}

/**
 * Creates a schedule if it is missing, or brings it in line when its interval, action or policies differ; else
 * changes nothing. A schedule an operator paused stays paused. Two workers starting at once may both try to create
 * it: the loser finds it and compares.
 */
async function ensureSchedule(client: Client, desired: DesiredSchedule, interval: { everyMs: number; offsetMs: number }): Promise<ScheduleOutcome> {
  const { scheduleId, spec, action, policies } = desired;
  const handle = client.schedule.getHandle(scheduleId);
  let existing: ScheduleDescription | null = null;
  try {
    existing = await handle.describe();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  if (!existing) {
    try {
      await client.schedule.create({ scheduleId, spec, action, policies });
      return 'created';
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      existing = await handle.describe();
    }
  }

  const current = existing.action;
  const intervals = existing.spec.intervals ?? [];
  const workflowType = typeof action.workflowType === 'string' ? action.workflowType : action.workflowType.name;
  const unchanged = intervals.length === 1 && intervals[0].every === interval.everyMs && (Number(intervals[0].offset ?? 0) === interval.offsetMs)
    && (existing.spec.calendars ?? []).length === 0
    && current.type === 'startWorkflow' && current.workflowType === workflowType && current.taskQueue === action.taskQueue
    && current.workflowId === action.workflowId && isDeepStrictEqual(current.args, action.args)
    && existing.policies.overlap === policies.overlap && existing.policies.catchupWindow === policies.catchupWindow;
  if (unchanged) return 'unchanged';

  await handle.update((previous) => ({
    spec, action, policies: { ...previous.policies, ...policies },
    state: { paused: previous.state.paused, note: previous.state.note },
  }));
  return 'updated';
}

/** When the daily retention run goes: 02:00 UTC (04:00 or 05:00 in Riga), after the audit purge. */
export const RETENTION_PLAN = { everyMs: DAY_MS, offsetMs: 2 * 3_600_000 } as const;

/**
 * The retention rules' schedule (workflows/retention.ts): daily, or at the interval a test passes. A run still going
 * when the next is due is enough; a missed day is made up once the server is back.
 */
export async function ensureRetentionSchedule(
  opts: Pick<EnsureSchedulesOptions, 'client' | 'taskQueue' | 'idSuffix'>, plan: { everyMs: number; offsetMs: number } = RETENTION_PLAN,
): Promise<EnsuredSchedule> {
  const suffix = opts.idSuffix ?? '';
  const scheduleId = retentionScheduleId(suffix);
  const args: [RetentionInput] = [{}];
  const spec: ScheduleSpec = { intervals: [{ every: plan.everyMs, offset: plan.offsetMs }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof retention> = {
    type: 'startWorkflow', workflowType: retention, taskQueue: opts.taskQueue, args,
    workflowId: retentionRunId(suffix ? `scheduled-${suffix}` : 'scheduled'),
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(plan.everyMs, 60_000) };
  return { scheduleId, outcome: await ensureSchedule(opts.client, { scheduleId, spec, action, policies }, plan) };
}

/**
 * ensureSchedules, tried again after 1 s, 2 s … up to `maxDelayMs` until it succeeds, or null once `stopped()`
 * says the worker is stopping. The worker runs it once it polls: a worker already holding tasks must not end
 * because Temporal was slow or away for a moment (the fault drill saw a worker, restarted after a kill -9 on a
 * busy machine, exit on "Failed to describe schedule" and be restarted again).
 */
export async function ensureSchedulesPatiently(
  opts: EnsureSchedulesOptions & { logger: Logger; stopped: () => boolean; firstDelayMs?: number; maxDelayMs?: number },
): Promise<Awaited<ReturnType<typeof ensureSchedules>> | null> {
  let delay = opts.firstDelayMs ?? 1_000;
  for (let attempt = 1; !opts.stopped(); attempt += 1) {
    try {
      return await ensureSchedules(opts);
    } catch (err) {
      opts.logger.warn('schedules not ensured yet; trying again', { attempt, retryInMs: delay, error: String((err as Error)?.message ?? err) });
    }
    // Not holding the process open: a stopping worker exits without waiting for this pause.
    await sleep(delay, undefined, { ref: false });
    delay = Math.min(delay * 2, opts.maxDelayMs ?? 30_000);
  }
  return null;
}

/**
 * How often the provider notifications are scanned for: every 10 minutes, so a provider hears of a new application
 * soon; the deadline and outcome reminders are once per offer whatever the frequency.
 */
export const PROVIDER_NOTICES_PLAN = { everyMs: 10 * 60_000, offsetMs: 0 } as const;

/** The provider notifications' schedule (workflows/provider-notices.ts). */
export async function ensureProviderNoticesSchedule(
  opts: Pick<EnsureSchedulesOptions, 'client' | 'taskQueue' | 'idSuffix'>, plan: { everyMs: number; offsetMs: number } = PROVIDER_NOTICES_PLAN,
): Promise<EnsuredSchedule> {
  const suffix = opts.idSuffix ?? '';
  const scheduleId = providerNoticesScheduleId(suffix);
  const args: [ProviderNoticesInput] = [{}];
  const spec: ScheduleSpec = { intervals: [{ every: plan.everyMs, offset: plan.offsetMs }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof providerNotices> = {
    type: 'startWorkflow', workflowType: providerNotices, taskQueue: opts.taskQueue, args,
    workflowId: providerNoticesId(suffix ? `scheduled-${suffix}` : 'scheduled'),
  };
  // A scan still going when the next is due is enough; one missed scan is made up, the next one covers the rest.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(plan.everyMs, 60_000) };
  return { scheduleId, outcome: await ensureSchedule(opts.client, { scheduleId, spec, action, policies }, plan) };
}
