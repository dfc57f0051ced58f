import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Knex } from 'knex';
import type { EAddressClient, ServiceAccountingClient } from '../activities/registries/national-platform';
import type { Logger } from '../lib/logger';

/**
 * The national platform publisher (issue 17 item 6): a loop in every worker process that empties the two outboxes
 * the activities fill in the transactions of what they report (the trigger of migrations/20261210070000_service_status_trigger.ts, lib/official-deliveries.ts).
 *
 * - Statuses, exactly once and in order per case: each round leases only the head of each case's queue (its
 *   lowest unacknowledged seq), so a case's next status is sent only after the previous one was acknowledged. A
 *   lease (owner + expiry) keeps two publishers (several workers, or one restarted) from sending a row at once; the
 *   idempotency key makes a repeat after a lost acknowledgement harmless (the platform keeps one status per key).
 * - Decisions for the official e-address, once per decision: the same lease and the e-mail's dedupe key as the key.
 *
 * A failed send is tried again after a back-off (doubling up to `retryMaxMs`), never given up: a skipped status
 * would leave the platform's history of the case wrong, so a case waits until the platform takes it. Why a loop
 * here and not a Temporal workflow or schedule: see docs/contracts/service-accounting.md ("The publisher").
 */

/** How the publisher polls, leases and backs off; tests shorten it. */
export interface PublisherTiming {
  /** Pause between rounds when a round found nothing to send. */
  pollMs: number;
  /** How long a leased row is this publisher's; longer than a call's deadline, so a live send is never overtaken. */
  leaseMs: number;
  /** Rows per round (statuses of different cases, and deliveries, sent side by side). */
  batch: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

const DEFAULT_TIMING: PublisherTiming = { pollMs: 1_000, leaseMs: 30_000, batch: 20, retryBaseMs: 1_000, retryMaxMs: 60_000 };

/** What the publisher needs. */
export interface PublisherDeps {
  db: Knex;
  serviceAccounting: ServiceAccountingClient;
  eAddress: EAddressClient;
  /** The agency's service code in the platform's catalogue. */
  serviceCode: string;
  logger: Logger;
  timing?: Partial<PublisherTiming>;
}

/** A running publisher. */
export interface NationalPlatformPublisher {
  /** One round: leases and sends what is due; resolves to the number of rows it handled. */
  round(): Promise<number>;
  /** Starts the loop (rounds until stopped). */
  start(): void;
  /** Stops after the round in hand (its sends finish and are recorded). */
  stop(): Promise<void>;
  /**
   * Stops at once as a killed process would: nothing more is written, sends in flight are left to land or not,
   * and leases stay until they expire. For tests of a restart.
   */
  abandon(): void;
}

interface StatusRow { id: string; caseId: string; seq: number; serviceCaseId: string; status: string; channel: string; occurredAt: Date; idempotencyKey: string; attempts: number }
interface DeliveryRow { id: string; dedupeKey: string; caseId: string; subject: string; body: string | null; attempts: number; personCode: string; serviceCaseId: string }

/** Creates the publisher; `start()` runs it. */
export function createNationalPlatformPublisher(deps: PublisherDeps): NationalPlatformPublisher {
  const { db, logger } = deps;
  const timing: PublisherTiming = { ...DEFAULT_TIMING, ...deps.timing };
  const owner = `${os.hostname()}/${process.pid}/${randomUUID()}`;
  const leaseUntil = () => db.raw('now() + make_interval(secs => ?)', [timing.leaseMs / 1000]);
  const retryAt = (attempts: number) => db.raw('now() + make_interval(secs => ?)',
    [Math.min(timing.retryMaxMs, timing.retryBaseMs * 2 ** Math.max(0, attempts - 1)) / 1000]);
  let abandoned = false;
  let stopping = false;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  const failing = new Set<string>();

  /** Leases the head of each case's queue that is due and not leased by a live publisher. */
  async function leaseStatuses(): Promise<StatusRow[]> {
    const { rows } = await db.raw<{ rows: StatusRow[] }>(`
      UPDATE service_status_outbox o SET lease_owner = ?, leased_until = ?, attempts = o.attempts + 1
      WHERE o.id IN (
        SELECT h.id FROM (
          SELECT DISTINCT ON (case_id) id, next_attempt_at, leased_until FROM service_status_outbox
          WHERE acked_at IS NULL ORDER BY case_id, seq
        ) h
        WHERE h.next_attempt_at <= now() AND (h.leased_until IS NULL OR h.leased_until < now())
        ORDER BY h.next_attempt_at LIMIT ?
      )
      -- Checked again on the row itself: of two publishers that chose the same head, one takes it.
      AND o.acked_at IS NULL AND (o.leased_until IS NULL OR o.leased_until < now())
      RETURNING o.id, o.case_id AS "caseId", o.seq, o.service_case_id AS "serviceCaseId", o.status, o.channel,
        o.occurred_at AS "occurredAt", o.idempotency_key AS "idempotencyKey", o.attempts`,
    [owner, leaseUntil(), timing.batch]);
    return rows;
  }

  /** Leases due decisions for the e-address, with the person they go to. */
  async function leaseDeliveries(): Promise<DeliveryRow[]> {
    const { rows } = await db.raw<{ rows: DeliveryRow[] }>(`
      UPDATE official_deliveries d SET lease_owner = ?, leased_until = ?, attempts = d.attempts + 1
      FROM cases c JOIN learners l ON l.id = c.learner_id
      WHERE c.id = d.case_id AND d.id IN (
        SELECT id FROM official_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now() AND (leased_until IS NULL OR leased_until < now())
        ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED
      )
      RETURNING d.id, d.dedupe_key AS "dedupeKey", d.case_id AS "caseId", d.subject, d.body, d.attempts,
        l.person_code AS "personCode", c.service_case_id AS "serviceCaseId"`,
    [owner, leaseUntil(), timing.batch]);
    return rows;
  }

  /** Sends one status; resolves once the platform acknowledged it (the round records the acknowledgements together). */
  async function sendStatus(row: StatusRow): Promise<void> {
    try {
      await deps.serviceAccounting.publish({
        idempotencyKey: row.idempotencyKey, serviceCode: deps.serviceCode, caseId: row.serviceCaseId, sequence: row.seq,
        status: row.status, channel: row.channel, occurredAt: new Date(row.occurredAt).toISOString(),
      });
    } catch (err) {
      if (abandoned) return;
      await db('serviceStatusOutbox').where({ id: row.id, leaseOwner: owner })
        .update({ leaseOwner: null, leasedUntil: null, nextAttemptAt: retryAt(row.attempts), lastError: String((err as Error).message).slice(0, 500) });
      throw err;
    }
  }

  /**
   * Records the acknowledged statuses in one statement, whoever holds their lease now (a publisher that took over
   * sends the same keys again). A crash before it only means those statuses are sent again, as repeats.
   */
  async function recordAcknowledged(rows: StatusRow[], results: PromiseSettledResult<void>[]): Promise<void> {
    const acked = rows.filter((_, i) => results[i]!.status === 'fulfilled').map((r) => r.id);
    if (acked.length === 0 || abandoned) return;
    await db('serviceStatusOutbox').whereIn('id', acked).whereNull('ackedAt')
      .update({ ackedAt: db.fn.now(), leaseOwner: null, leasedUntil: null, lastError: null });
  }

  async function deliver(row: DeliveryRow): Promise<void> {
    let delivered: { messageId: string } | null;
    try {
      delivered = await deps.eAddress.deliver({ idempotencyKey: row.dedupeKey, personCode: row.personCode, subject: row.subject, body: row.body ?? '', caseId: row.serviceCaseId });
    } catch (err) {
      if (abandoned) return;
      await db('officialDeliveries').where({ id: row.id, leaseOwner: owner })
        .update({ leaseOwner: null, leasedUntil: null, nextAttemptAt: retryAt(row.attempts), lastError: String((err as Error).message).slice(0, 500) });
      throw err;
    }
    if (abandoned) return;
    // The text is not kept once it has gone (or cannot go): the e-mail outbox keeps no body either.
    await db('officialDeliveries').where({ id: row.id, status: 'pending' }).update({
      status: delivered ? 'delivered' : 'no_e_address', messageId: delivered?.messageId ?? null, body: null,
      settledAt: db.fn.now(), leaseOwner: null, leasedUntil: null, lastError: null,
    });
  }

  async function round(): Promise<number> {
    const [statuses, deliveries] = await Promise.all([leaseStatuses(), leaseDeliveries()]);
    const [sent, delivered] = await Promise.all([Promise.allSettled(statuses.map(sendStatus)), Promise.allSettled(deliveries.map(deliver))]);
    await recordAcknowledged(statuses, sent);
    noteOutcomes('service accounting', sent);
    noteOutcomes('e-address', delivered);
    return sent.length + delivered.length;
  }

  // One line when sending to a service starts failing and one when it works again, not one per row and round.
  function noteOutcomes(service: 'service accounting' | 'e-address', results: PromiseSettledResult<void>[]): void {
    if (results.length === 0) return;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed && !failing.has(service)) {
      failing.add(service);
      logger.warn(`national platform: sending to ${service} failed; rows wait and are retried`, { error: String(failed.reason?.message ?? failed.reason) });
    } else if (!failed && failing.delete(service)) {
      logger.info(`national platform: sending to ${service} works again`);
    }
  }

  async function run(): Promise<void> {
    while (!stopping && !abandoned) {
      let handled = 0;
      try {
        handled = await round();
      } catch (err) {
        // The database is away: the next round tries again.
        logger.warn('national platform: the outboxes could not be read', { error: String((err as Error).message) });
      }
      if (handled === 0 && !stopping && !abandoned) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timing.pollMs);
          wake = () => { clearTimeout(timer); resolve(); };
        });
        wake = null;
      }
    }
  }

  return {
    round,
    start() {
      loop ??= run();
    },
    async stop() {
      stopping = true;
      wake?.();
      await loop;
    },
    abandon() {
      abandoned = true;
      wake?.();
    },
  };
}
