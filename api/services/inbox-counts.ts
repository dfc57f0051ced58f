import type { Knex } from 'knex';
import { shift } from '../../domain/holidays';
import { rigaEndOfDay } from '../../domain/dates';
import type { InboxQuery } from '../schemas';
import { TASK_TYPES } from '../schemas';
import type { InboxCounts, InboxMoment } from './tasks';

/**
 * The inbox's counts per filter option from the summary `inbox_counts` (migration 20261210020000), kept by triggers
 * in the same transaction as every task row change: a page view sums a few hundred summary rows instead of counting
 * every task. What the summary cannot serve, the search (`q`), is counted over the narrowed task rows instead
 * (tasks.ts), as before: a search finds the tasks of a few cases.
 */

/** The tasks of one (state, type, programme, call, assignee), in total and in each due bucket (open tasks only). */
export interface CountCombo {
  state: string; type: string; programme: string | null; callId: string | null; assigneeId: string | null;
  total: number; overdue: number; today: number; week: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

/**
 * The combinations with their counts at a moment. "Overdue" is escalated or due before now: the day rows of days
 * before today, today's hour rows before this hour, this hour's minute rows before this minute (each row holds the
 * tasks due by its end), plus the open tasks of this minute counted one by one (an index range of seconds).
 */
export async function countCombos(db: Knex, m: InboxMoment): Promise<CountCombo[]> {
  const startOfToday = rigaEndOfDay(shift(m.today, -1));
  const hour = new Date(Math.floor(m.now.getTime() / HOUR) * HOUR);
  const minute = new Date(Math.floor(m.now.getTime() / MINUTE) * MINUTE);
  const b = { endOfToday: m.endOfToday, endOfWeek: m.endOfWeek, startOfToday, hour, minute };
  const { rows } = await db.raw<{ rows: CountCombo[] }>(`
    SELECT state, type, programme, call_id AS "callId", assignee_id AS "assigneeId",
      coalesce(sum(n) FILTER (WHERE grain = 'day'), 0)::int AS total,
      coalesce(sum(n) FILTER (WHERE grain = 'day' AND state = 'open' AND (escalated OR due_end <= :endOfToday)), 0)::int AS today,
      coalesce(sum(n) FILTER (WHERE grain = 'day' AND state = 'open' AND (escalated OR due_end <= :endOfWeek)), 0)::int AS week,
      coalesce(sum(n) FILTER (WHERE state = 'open' AND (
        (grain = 'day' AND (escalated OR due_end <= :startOfToday))
        OR (grain = 'hour' AND NOT escalated AND due_end > :startOfToday AND due_end <= :hour)
        OR (grain = 'minute' AND NOT escalated AND due_end > :hour AND due_end <= :minute))), 0)::int AS overdue
    FROM inbox_counts
    WHERE grain = 'day' OR (grain = 'hour' AND due_end > :startOfToday AND due_end <= :hour)
      OR (grain = 'minute' AND due_end > :hour AND due_end <= :minute)
    GROUP BY state, type, programme, call_id, assignee_id`, b);

  // The summary counted every task due by the start of this minute; "overdue" means due before now. So add the
  // tasks due since then and before now, or (now exactly on the minute) take back those due at this very instant.
  const onTheMinute = m.now.getTime() === minute.getTime();
  const current = await db.raw<{ rows: { type: string; programme: string | null; callId: string | null; assigneeId: string | null; n: number }[] }>(`
    SELECT t.type, coalesce(c.programme, o.programme) AS programme, o.call_id AS "callId", t.assignee_id AS "assigneeId", count(*)::int AS n
    FROM tasks t LEFT JOIN cases c ON c.id = t.case_id LEFT JOIN offers o ON o.id = t.offer_id
    WHERE t.state = 'open' AND t.escalated_at IS NULL AND ${onTheMinute ? 't.due_at = :minute' : 't.due_at > :minute AND t.due_at < :now'}
    GROUP BY 1, 2, 3, 4`, { minute, now: m.now });
  for (const row of current.rows) {
    const sign = onTheMinute ? -1 : 1;
    const combo = rows.find((c) => c.state === 'open' && c.type === row.type && c.programme === row.programme
      && c.callId === row.callId && c.assigneeId === row.assigneeId);
    if (combo) combo.overdue += sign * row.n;
  }
  return rows;
}

type Dimension = keyof InboxCounts;

// Whether a combination passes the filters, leaving out one dimension (for that dimension's own counts).
function passes(c: CountCombo, filter: InboxQuery, viewerId: string | null, except: Dimension): boolean {
  if (except !== 'state' && filter.state !== 'all' && c.state !== filter.state) return false;
  if (except !== 'type' && filter.type && c.type !== filter.type) return false;
  if (except !== 'programme' && filter.programme && c.programme !== filter.programme) return false;
  if (except !== 'call' && filter.call && c.callId !== filter.call) return false;
  if (except !== 'assignee' && filter.assignee === 'unassigned' && c.assigneeId !== null) return false;
  if (except !== 'assignee' && filter.assignee === 'mine' && (viewerId === null || c.assigneeId !== viewerId)) return false;
  return true;
}

// A combination's tasks in a due bucket ("any": all of them); decided and withdrawn tasks are in no bucket.
function inBucket(c: CountCombo, due: InboxQuery['due']): number {
  return due === 'any' ? c.total : c[due];
}

/**
 * Each dimension's counts with the other filters applied, as one GROUP BY per dimension over the task rows would
 * give them: an option appears only when it has tasks, `any` (state: `all`) is the sum, every task type and state
 * is always named, and the assignee and due options are always all there.
 */
export function facetCounts(combos: CountCombo[], filter: InboxQuery, viewerId: string | null): InboxCounts {
  const grouped = (dimension: 'type' | 'programme' | 'call' | 'state', valueOf: (c: CountCombo) => string | null) => {
    const out: Record<string, number> = { any: 0 };
    for (const c of combos) {
      const n = passes(c, filter, viewerId, dimension) ? inBucket(c, filter.due) : 0;
      if (n === 0) continue;
      out.any += n;
      const value = valueOf(c);
      if (value !== null) out[value] = (out[value] ?? 0) + n;
    }
    return out;
  };
  const type = grouped('type', (c) => c.type);
  for (const t of TASK_TYPES) type[t] ??= 0;
  const { any: all, ...states } = grouped('state', (c) => c.state);
  const assignee = { mine: 0, unassigned: 0, anyone: 0 };
  const due = { overdue: 0, today: 0, week: 0, any: 0 };
  for (const c of combos) {
    if (passes(c, filter, viewerId, 'assignee')) {
      const n = inBucket(c, filter.due);
      assignee.anyone += n;
      if (c.assigneeId === null) assignee.unassigned += n;
      else if (viewerId !== null && c.assigneeId === viewerId) assignee.mine += n;
    }
    if (passes(c, filter, viewerId, 'due')) {
      due.overdue += c.overdue; due.today += c.today; due.week += c.week; due.any += c.total;
    }
  }
  return {
    type, programme: grouped('programme', (c) => c.programme), call: grouped('call', (c) => c.callId),
    state: { open: 0, decided: 0, cancelled: 0, ...states, all }, assignee, due,
  };
}

/** A summary row that differs from a recount over the task rows (`stored` or `counted` is 0 when that side has none). */
export interface CountDrift {
  grain: string; dueEnd: Date | null; state: string; type: string; programme: string | null; callId: string | null;
  assigneeId: string | null; escalated: boolean; stored: number; counted: number;
}

/**
 * The summary against a recount of every task row (the consistency check): the rows that differ, at most `limit`.
 * The recount reads the programme and call through the case and offer as the inbox's filters do, so it also catches
 * a case or offer changed behind the triggers' back.
 */
export async function countsDrift(db: Knex, limit = 100): Promise<CountDrift[]> {
  const { rows } = await db.raw<{ rows: CountDrift[] }>(`
    SELECT grain, due_end AS "dueEnd", state, type, programme, call_id AS "callId", assignee_id AS "assigneeId", escalated,
      sum(stored)::int AS stored, sum(counted)::int AS counted
    FROM (
      SELECT grain, due_end, state, type, programme, call_id, assignee_id, escalated, n AS stored, 0 AS counted FROM inbox_counts
      UNION ALL
      SELECT k.grain, k.due_end, t.state, t.type, coalesce(c.programme, o.programme), o.call_id, t.assignee_id, k.escalated, 0, 1
      FROM tasks t LEFT JOIN cases c ON c.id = t.case_id LEFT JOIN offers o ON o.id = t.offer_id
      CROSS JOIN LATERAL inbox_count_keys(t.state, t.due_at, t.escalated_at) k
    ) both_sides
    GROUP BY grain, due_end, state, type, programme, call_id, assignee_id, escalated
    HAVING sum(stored) <> sum(counted)
    ORDER BY grain, due_end, state, type LIMIT ?`, [limit]);
  return rows;
}

/**
 * Rebuilds the summary from the task rows (the consistency check's repair). The summary is locked first: a task
 * change that already added its part has committed by then and is in the recount; one that has not waits and adds
 * its part to the rebuilt rows.
 */
export async function rebuildCounts(trx: Knex.Transaction): Promise<void> {
  await trx.raw('LOCK TABLE inbox_counts IN EXCLUSIVE MODE');
  await trx.raw('DELETE FROM inbox_counts');
  await trx.raw(`
    INSERT INTO inbox_counts (grain, due_end, state, type, programme, call_id, assignee_id, escalated, n)
    SELECT k.grain, k.due_end, t.state, t.type, coalesce(c.programme, o.programme), o.call_id, t.assignee_id, k.escalated, count(*)
    FROM tasks t LEFT JOIN cases c ON c.id = t.case_id LEFT JOIN offers o ON o.id = t.offer_id
    CROSS JOIN LATERAL inbox_count_keys(t.state, t.due_at, t.escalated_at) k
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`);
}
