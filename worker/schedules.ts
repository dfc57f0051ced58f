import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import {
  ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction, type ScheduleSpec,
} from '@temporalio/client';
import type { Logger } from '../lib/logger';
import { populationRecheckId, populationRecheckScheduleId, retentionRunId, retentionScheduleId } from '../workflows/ids';
import { populationRecheck, type PopulationRecheckInput } from '../workflows/population-recheck';
import { retention, type RetentionInput } from '../workflows/retention';

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
  /** How often the retention rules run (the worker: daily); without it no retention schedule is ensured. */
  retentionEveryMs?: number;
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
export async function ensureSchedules(opts: EnsureSchedulesOptions): Promise<{ populationRecheck: { scheduleId: string; outcome: ScheduleOutcome } }> {
  // The retention rules' schedule is its own, self-contained: see ensureRetentionSchedule.
  if (opts.retentionEveryMs) await ensureRetentionSchedule({ ...opts, everyMs: opts.retentionEveryMs });
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

  const handle = opts.client.schedule.getHandle(scheduleId);
  let existing: ScheduleDescription | null = null;
  try {
    existing = await handle.describe();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  if (!existing) {
    try {
      await opts.client.schedule.create({ scheduleId, spec, action, policies });
      return { populationRecheck: { scheduleId, outcome: 'created' } };
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      existing = await handle.describe();
    }
  }

  const current = existing.action;
  const intervals = existing.spec.intervals ?? [];
  const unchanged = intervals.length === 1 && intervals[0].every === everyMs && !intervals[0].offset
    && (existing.spec.calendars ?? []).length === 0
    && current.workflowType === populationRecheck.name && current.taskQueue === opts.taskQueue
    && current.workflowId === action.workflowId && isDeepStrictEqual(current.args, args)
    && existing.policies.overlap === policies.overlap && existing.policies.catchupWindow === policies.catchupWindow;
  if (unchanged) return { populationRecheck: { scheduleId, outcome: 'unchanged' } };

  await handle.update((previous) => ({
    spec, action, policies: { ...previous.policies, ...policies },
    state: { paused: previous.state.paused, note: previous.state.note },
  }));
  return { populationRecheck: { scheduleId, outcome: 'updated' } };
}

/**
 * The retention rules' schedule (workflows/retention.ts), created when missing and brought in line with `everyMs`
 * otherwise; a schedule an operator paused stays paused. Overlapping runs are skipped: one run at a time.
 */
export async function ensureRetentionSchedule(opts: { client: Client; taskQueue: string; everyMs: number; idSuffix?: string }): Promise<{ scheduleId: string; outcome: ScheduleOutcome }> {
  const suffix = opts.idSuffix ?? '';
  const scheduleId = retentionScheduleId(suffix);
  const args: [RetentionInput] = [{}];
  const spec: ScheduleSpec = { intervals: [{ every: opts.everyMs }] };
  const action: ScheduleOptionsStartWorkflowAction<typeof retention> = {
    type: 'startWorkflow', workflowType: retention, taskQueue: opts.taskQueue, args,
    workflowId: retentionRunId(suffix ? `scheduled-${suffix}` : 'scheduled'),
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(opts.everyMs, 60_000) };
  const handle = opts.client.schedule.getHandle(scheduleId);
  let existing: ScheduleDescription;
  try {
    existing = await handle.describe();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    try {
      await opts.client.schedule.create({ scheduleId, spec, action, policies });
      return { scheduleId, outcome: 'created' };
    } catch (createErr) {
      if (!(createErr instanceof ScheduleAlreadyRunning)) throw createErr;
      existing = await handle.describe();
    }
  }
  const intervals = existing.spec.intervals ?? [];
  const unchanged = intervals.length === 1 && intervals[0].every === opts.everyMs && existing.action.workflowType === retention.name
    && existing.action.taskQueue === opts.taskQueue && existing.action.workflowId === action.workflowId
    && isDeepStrictEqual(existing.action.args, args) && existing.policies.overlap === policies.overlap;
  if (unchanged) return { scheduleId, outcome: 'unchanged' };
  await handle.update((previous) => ({ spec, action, policies: { ...previous.policies, ...policies }, state: { paused: previous.state.paused, note: previous.state.note } }));
  return { scheduleId, outcome: 'updated' };
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
