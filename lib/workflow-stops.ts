import type { Knex } from 'knex';

/**
 * Who stopped a workflow from the console, and why. The console writes it before it cancels or terminates, so
 * the cleanup that closes the read model (in the workflow on cancel, from outside after terminate) can record
 * them without the administrator's words entering workflow history.
 */
export interface StopRequest {
  workflowId: string;
  action: 'cancel' | 'terminate';
  actor: { id: string; name: string };
  reason: string;
  /** The console batch that asked, if any. */
  batchId?: string | null;
}

/**
 * Records a stop request; a later request for the same workflow (a cancel, then a terminate) replaces it. A cancel
 * repeated while the first is being carried out keeps the first one's cleanup mark: the workflow cleans up once, so
 * nothing would set the mark again (the consistency check found this after a fuzzer's double cancel). A terminate
 * clears it, because the console runs its cleanup again right after.
 */
export async function recordStopRequest(db: Knex, request: StopRequest): Promise<void> {
  await db('workflowStopRequests').insert({
    workflowId: request.workflowId, action: request.action, actorId: request.actor.id, actorName: request.actor.name,
    reason: request.reason, batchId: request.batchId ?? null, requestedAt: new Date(), cleanedAt: null,
  }).onConflict('workflowId').merge({
    action: request.action, actorId: request.actor.id, actorName: request.actor.name, reason: request.reason,
    batchId: request.batchId ?? null, requestedAt: new Date(),
    cleanedAt: db.raw("CASE WHEN workflow_stop_requests.action = 'cancel' AND excluded.action = 'cancel' THEN workflow_stop_requests.cleaned_at END"),
  });
}

/** The stop request of a workflow, or null when nobody asked through the console. */
export async function stopRequestOf(db: Knex, workflowId: string): Promise<StopRequest | null> {
  const row = await db('workflowStopRequests').where({ workflowId })
    .first<{ action: 'cancel' | 'terminate'; actorId: string; actorName: string; reason: string; batchId: string | null } | undefined>();
  return row ? { workflowId, action: row.action, actor: { id: row.actorId, name: row.actorName }, reason: row.reason, batchId: row.batchId } : null;
}
