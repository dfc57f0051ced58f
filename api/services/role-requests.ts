import { randomUUID } from 'node:crypto';
import { WorkflowIdConflictPolicy } from '@temporalio/client';
import type { Knex } from 'knex';
import { rigaDate } from '../../domain/dates';
import { isUuid } from '../../domain/uuid';
import { checkRevocation, checkRoleDecision, checkRoleRequest, type RoleProblem } from '../../domain/role-requests';
import type { Session } from '../../lib/sessions';
import { roleRequestId } from '../../workflows/ids';
import { decideRoleRequestUpdate, roleRequest } from '../../workflows/role-request';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { auditUserAction } from './audit';
import { dataRequestDueAt, invalidRequest } from './data-requests';
import { alreadyDecided, refusedDecision, staffMember } from './tasks';
import { startFailed, startWorkflow } from './workflow-start';

// Role requests and grants (issue 15 item 6): a person asks, staff decide in the inbox (the request's workflow makes
// the grant), an administrator lists grants and revokes one with a reason. Every change is audited with before and
// after; a revoked grant stops counting at the person's next request (lib/sessions.ts, activeGrants).

/** A role request as the person and staff see it. */
export interface RoleRequestView {
  id: string; role: 'coordinator' | 'career_consultant'; municipality: string; organisation: string | null; reason: string;
  state: 'open' | 'approved' | 'rejected' | 'cancelled'; validUntil: string | null; decisionReason: string | null; decidedByName: string | null;
  decidedAt: string | null; createdAt: string;
}

const COLUMNS = ['id', 'role', 'municipality', 'organisation', 'reason', 'state', 'validUntil', 'decisionReason', 'decidedByName', 'decidedAt', 'createdAt'];

const iso = (v: unknown) => (v ? new Date(v as Date).toISOString() : null);

function toView(row: Record<string, unknown>): RoleRequestView {
  const view = Object.fromEntries(COLUMNS.map((c) => [c, row[c] ?? null])) as unknown as RoleRequestView;
  return { ...view, validUntil: row.validUntil ? rigaDate(new Date(row.validUntil as Date)) : null, decidedAt: iso(row.decidedAt), createdAt: iso(row.createdAt)! };
}

// Dates come back from Postgres as local midnights; the grant's days are read as text instead.
const DAY_COLUMN = (db: Knex, column: string, as: string) => db.raw(`to_char(${column}, 'YYYY-MM-DD') AS ${as}`);

/** A conflict the person reads, in both languages (the API's message is the English one). */
function conflict(code: string, words: { lv: string; en: string }, extra: Record<string, unknown> = {}): HttpError {
  return new HttpError(409, code, words.en, [{ ...extra, words }]);
}

/** The signed-in person's role requests, newest first. */
export async function listMyRoleRequests(db: Knex, personCode: string): Promise<RoleRequestView[]> {
  const rows = await db('roleRequests').where({ personCode }).orderBy('createdAt', 'desc').select([...COLUMNS.filter((c) => c !== 'validUntil'), DAY_COLUMN(db, 'valid_until', 'valid_until')]);
  return rows.map((r: Record<string, unknown>) => ({ ...toView(r), validUntil: (r.validUntil as string | null) ?? null }));
}

/**
 * Files a request and starts its workflow, which opens the inbox task. The form's requestId makes a double submit
 * one request. A second open request for the same role and municipality is a 409 (staff decide the first).
 */
export async function fileRoleRequest(deps: ApiDeps, session: Session, body: Record<string, unknown>): Promise<{ request: RoleRequestView; created: boolean }> {
  const { problems, input } = checkRoleRequest(body);
  if (!input) throw invalidRequest(problems);
  const existing = await deps.db('roleRequests').where({ requestId: input.requestId }).first<{ id: string; personCode: string } | undefined>('id', 'personCode');
  if (existing && existing.personCode !== session.subject) {
    throw invalidRequest([{ field: 'requestId', rule: 'invalid_format', words: { lv: 'Atveriet veidlapu vēlreiz.', en: 'Open the form again.' } }]);
  }
  const id = existing?.id ?? randomUUID();
  if (!existing) {
    const open = await deps.db('roleRequests').where({ personCode: session.subject, role: input.role, state: 'open' })
      .whereRaw('lower(municipality) = lower(?)', [input.municipality]).first('id');
    if (open) {
      throw conflict('role_request_open', {
        lv: 'Jums jau ir neizskatīts pieprasījums par šo lomu šajā pašvaldībā: aģentūra to izskatīs.',
        en: 'You already have an open request for this role in this municipality: the agency will decide it.',
      }, { field: 'role', rule: 'one_open_request', requestId: open.id });
    }
    const inserted = await deps.db('roleRequests').insert({
      id, requestId: input.requestId, personCode: session.subject, name: session.name, role: input.role, municipality: input.municipality,
      organisation: input.organisation, reason: input.reason, workflowId: roleRequestId(id),
    }).onConflict('requestId').ignore().returning('id');
    // Two submits at the same moment: the other one inserted the row; join it.
    if (inserted.length === 0) return fileRoleRequest(deps, session, body);
  }
  const row = await deps.db('roleRequests').where({ id }).first();
  // Staff answer a role request in the same 5 working days as a data-subject request (the inbox flags it after).
  const dueAt = await dataRequestDueAt(deps.db, new Date(row.createdAt));
  const started = await startWorkflow(deps, () => deps.temporal.workflow.start(roleRequest, {
    workflowId: roleRequestId(id), taskQueue: deps.taskQueue, workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    // The task's id is the request's, so a repeated start opens the same task.
    args: [{ requestId: id, taskId: id, dueAt: dueAt.toISOString() }],
  }));
  if (started.outcome === 'not_started') {
    // Nothing waits for the row: remove it, so the same form sent again starts over.
    if (!existing) await deps.db('roleRequests').where({ id }).delete();
    throw startFailed(started, 'The request');
  }
  if (started.outcome === 'unknown') throw startFailed(started, 'The request');
  await auditUserAction(deps.db, session, {
    action: 'role_request.filed', subjectPersonCode: session.subject, purpose: input.reason,
    result: { requestId: id, role: input.role, municipality: input.municipality, organisation: input.organisation }, idempotencyKey: `role-request:${id}:filed`,
  });
  return { request: toView(row), created: !existing };
}

/** One request with its task, as a member of staff opens it (audited: it shows who asked and why). */
export async function viewRoleRequest(db: Knex, staff: Session, id: string) {
  const row = await db('roleRequests').where({ id }).first();
  if (!row) throw new HttpError(404, 'not_found', 'There is no such role request');
  const task = await db('tasks').where({ workflowId: row.workflowId }).first<{ id: string; assigneeId: string | null } | undefined>('id', 'assigneeId');
  await auditUserAction(db, staff, { action: 'role_request.view', subjectPersonCode: row.personCode, purpose: 'Deciding a role request', result: { requestId: id } });
  const grants = await db('roleGrants').where({ personCode: row.personCode }).orderBy('createdAt')
    .select('id', 'role', 'municipality', 'organisation', 'revokedAt', DAY_COLUMN(db, 'valid_from', 'valid_from'), DAY_COLUMN(db, 'valid_until', 'valid_until'));
  return {
    request: { ...toView(row), validUntil: row.validUntil ? rigaDate(new Date(row.validUntil)) : null },
    personCode: row.personCode as string, name: row.name as string, taskId: task?.id ?? null, assigneeId: task?.assigneeId ?? null,
    workflowId: row.workflowId as string, grants,
  };
}

/**
 * A staff decision, delivered to the request's workflow with an Update: approve with an end date (the workflow makes
 * the grant) or reject, each with a reason. Of two staff deciding at once one wins; the other is told who.
 */
export async function decideRoleRequest(deps: ApiDeps, staff: Session, id: string, body: Record<string, unknown>): Promise<RoleRequestView & { grantId: string | null }> {
  const { problems, decision } = checkRoleDecision(body, rigaDate(new Date()));
  if (!decision) throw invalidRequest(problems);
  const row = await deps.db('roleRequests').where({ id }).first();
  if (!row) throw new HttpError(404, 'not_found', 'There is no such role request');
  if (row.state === 'cancelled') throw new HttpError(409, 'task_not_open', 'This request is no longer waiting for a decision');
  if (row.state !== 'open') throw alreadyDecided(row.decidedByName, row.state);
  const me = await staffMember(deps, staff);
  const task = await deps.db('tasks').where({ workflowId: row.workflowId, step: 'decide' }).first<{ id: string; assigneeId: string | null } | undefined>('id', 'assigneeId');
  if (!task) throw new HttpError(409, 'task_not_open', 'The request\'s task is not open yet: try again in a moment');
  if (task.assigneeId && task.assigneeId !== me.id) throw new HttpError(409, 'claimed_by_other', 'A colleague has claimed this task', [{ assigneeId: task.assigneeId }]);
  let grantId: string | null;
  try {
    ({ grantId } = await deps.temporal.workflow.getHandle(row.workflowId).executeUpdate(decideRoleRequestUpdate, {
      args: [{
        taskId: task.id, decision: decision.decision, validUntil: decision.decision === 'approve' ? decision.validUntil : null, reason: decision.reason,
        decidedBy: { role: 'staff', id: me.id, name: me.displayName, channel: 'staff' },
      }],
      // The same person submitting twice (a double click) is one Update, answered once.
      updateId: `decide:${task.id}:${me.id}`,
    }));
  } catch (err) {
    throw refusedDecision(err, 'request');
  }
  const after = (await listMyRoleRequests(deps.db, row.personCode)).find((r) => r.id === id)!;
  return { ...after, grantId };
}


/** A grant as the administrator's list shows it. */
export interface GrantView {
  id: string; personCode: string; name: string | null; role: 'coordinator' | 'career_consultant'; municipality: string; organisation: string | null;
  validFrom: string; validUntil: string; grantedBy: string; live: boolean; revokedAt: string | null; revokedByName: string | null; revokeReason: string | null;
}

/** Every grant (live ones first, then by end date), with the person's name where the platform knows it. */
export async function listGrants(db: Knex, at = new Date()): Promise<GrantView[]> {
  const today = rigaDate(at);
  const rows = await grantQuery(db, today).orderByRaw('live DESC, g.valid_until ASC, g.created_at ASC').limit(1000);
  return rows.map(grantView);
}

function grantQuery(db: Knex, today: string) {
  return db('roleGrants as g').leftJoin('roleRequests as r', 'r.id', 'g.roleRequestId')
    .leftJoin('learners as l', 'l.personCode', 'g.personCode')
    .select('g.id', 'g.personCode', 'g.role', 'g.municipality', 'g.organisation', 'g.grantedBy', 'g.revokedAt', 'g.revokedByName', 'g.revokeReason',
      DAY_COLUMN(db, 'g.valid_from', 'valid_from'), DAY_COLUMN(db, 'g.valid_until', 'valid_until'),
      db.raw("coalesce(r.name, nullif(trim(concat_ws(' ', l.first_name, l.last_name)), '')) AS name"),
      db.raw('(g.revoked_at IS NULL AND g.valid_from <= ? AND g.valid_until >= ?) AS live', [today, today]));
}

function grantView(r: Record<string, unknown>): GrantView {
  return { ...(r as unknown as GrantView), revokedAt: iso(r.revokedAt), name: (r.name as string | null) ?? null };
}

/**
 * Revokes a grant with the administrator's reason (audited with before and after). The person's sessions in that
 * role end at their next request; the role choice no longer offers it. A grant revoked already is a 409.
 */
export async function revokeGrant(db: Knex, admin: Session, grantId: string, body: Record<string, unknown>): Promise<GrantView> {
  const { problems, reason } = checkRevocation(body);
  if (reason === null) throw invalidRequest(problems as RoleProblem[]);
  // A page's path can carry anything: what is not a grant id names no grant (PostgreSQL would refuse it as a uuid).
  if (!isUuid(grantId)) throw new HttpError(404, 'not_found', 'There is no such role grant');
  const today = rigaDate(new Date());
  return db.transaction(async (trx) => {
    const before = await grantQuery(trx, today).where('g.id', grantId).forUpdate('g').first();
    if (!before) throw new HttpError(404, 'not_found', 'There is no such role grant');
    if (before.revokedAt) {
      throw conflict('already_revoked', {
        lv: `Loma jau atsaukta (${String(before.revokedByName ?? '')}).`, en: `The role was revoked already (by ${String(before.revokedByName ?? 'a colleague')}).`,
      }, { revokedByName: before.revokedByName });
    }
    await trx('roleGrants').where({ id: grantId }).update({ revokedAt: new Date(), revokedByName: admin.name, revokeReason: reason });
    const after = await grantQuery(trx, today).where('g.id', grantId).first();
    await auditUserAction(trx, admin, {
      action: 'role_grant.revoke', subjectPersonCode: before.personCode, purpose: reason,
      result: {
        grantId, before: { live: before.live, revokedAt: null, validUntil: before.validUntil },
        after: { live: after.live, revokedAt: iso(after.revokedAt), revokedByName: admin.name, validUntil: after.validUntil },
      },
    });
    return grantView(after);
  });
}
