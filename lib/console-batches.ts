import type { Knex } from 'knex';

/** A batch action the console can take over many workflows. */
export type ConsoleBatchAction = 'retry' | 'terminate' | 'cancel';

/** Per-batch counts of the administrators' batch operations (console_batch_items), as the batch page shows them. */
export interface ConsoleBatchCounts {
  /** By what the command did: not yet applied, accepted by Temporal, not applied (refused, nothing to do, gone). */
  pending: number; sent: number; failed: number;
  /** By what the verification found afterwards. */
  cleared: number; stillFailing: number; notFound: number; unverified: number;
}

/** Counts a batch's items by status and by verification (shared by the worker's batch activities and the API). */
export async function batchCounts(db: Knex, batchId: string): Promise<ConsoleBatchCounts> {
  return (await batchCountsOf(db, [batchId])).get(batchId) ?? emptyCounts();
}

/** The counts of several batches in one query. */
export async function batchCountsOf(db: Knex, batchIds: string[]): Promise<Map<string, ConsoleBatchCounts>> {
  const out = new Map<string, ConsoleBatchCounts>();
  if (batchIds.length === 0) return out;
  const rows = await db('consoleBatchItems').whereIn('batchId', batchIds).groupBy('batchId', 'status', 'verified')
    .select('batchId', 'status', 'verified').count({ n: '*' }) as { batchId: string; status: string; verified: string | null; n: string }[];
  for (const row of rows) {
    const counts = out.get(row.batchId) ?? emptyCounts();
    out.set(row.batchId, counts);
    const n = Number(row.n);
    if (row.status === 'pending') counts.pending += n;
    if (row.status === 'sent') counts.sent += n;
    if (row.status === 'failed') counts.failed += n;
    if (row.verified === 'cleared') counts.cleared += n;
    else if (row.verified === 'still_failing') counts.stillFailing += n;
    else if (row.verified === 'not_found') counts.notFound += n;
    else counts.unverified += n;
  }
  return out;
}

function emptyCounts(): ConsoleBatchCounts {
  return { pending: 0, sent: 0, failed: 0, cleared: 0, stillFailing: 0, notFound: 0, unverified: 0 };
}
