import type { Knex } from 'knex';

/**
 * Service accounting (issue 17 item 6, docs/contracts/service-accounting.md): every change of a case's stage is
 * queued for the national service platform in `service_status_outbox`, in the same transaction as the change, so
 * a status is reported if and only if it was written. The worker's publisher sends the queue.
 */

/**
 * Queues the case's current stage as its next status, unless it is the status queued last (an event that did not
 * move the stage). Call it inside the transaction that wrote the stage, after the write: the case row is then
 * locked by this transaction, so two transitions of one case cannot take the same sequence number. One statement.
 */
export async function queueServiceStatus(trx: Knex.Transaction, caseId: string): Promise<void> {
  await trx.raw(`
    INSERT INTO service_status_outbox (case_id, seq, service_case_id, status, channel, idempotency_key)
    SELECT c.id, COALESCE(last.seq, 0) + 1, c.service_case_id, c.stage, c.channel, c.id || ':' || (COALESCE(last.seq, 0) + 1)
    FROM cases c
    LEFT JOIN LATERAL (
      SELECT o.seq, o.status FROM service_status_outbox o WHERE o.case_id = c.id ORDER BY o.seq DESC LIMIT 1
    ) last ON true
    WHERE c.id = ? AND last.status IS DISTINCT FROM c.stage`, [caseId]);
}
