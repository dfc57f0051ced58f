/**
 * The drill's check of the national service platform (issue 17 item 6): after the faults (the worker is killed while
 * the platform is down), every drill case's statuses are on the service-accounting stub exactly as the outbox
 * numbered them, acknowledged, ending with the case's stage; the stub saw nothing out of order and no status sent
 * before its predecessor was acknowledged; every decision for an e-address holder was delivered once.
 */
import type { Knex } from 'knex';

/** A drill case: its ids and its stage now. */
export interface PlatformCase { caseId: string; serviceCaseId: string; stage: string }

/** A status outbox row (the fields the check needs). */
export interface StatusRow { caseId: string; seq: number; status: string; acked: boolean }

/** A status as the stub holds it. */
export interface HeldStatus { sequence: number; status: string }

/** The stub's counters (`GET /__control`). */
export interface PlatformCounters { duplicates: number; outOfOrder: number; sentBeforeAcknowledged: number }

/** An official delivery row (the fields the check needs). */
export interface DeliveryRow { dedupeKey: string; status: string }

/** What the check found. */
export interface PlatformCount {
  cases: number;
  /** Cases whose statuses on the platform are the outbox's, all acknowledged, the last one the case's stage. */
  casesMatching: number;
  statuses: number;
  /** Status rows not acknowledged yet. */
  waiting: number;
  counters: PlatformCounters;
  decisions: { delivered: number; noEAddress: number; pending: number; messages: number };
  /** Cases (and deliveries) that disagree, "what: why", for the log. */
  off: string[];
}

/** Compares the platform's statuses and the e-address's messages with our outboxes. */
export function comparePlatform(input: {
  cases: readonly PlatformCase[]; outbox: readonly StatusRow[]; held: ReadonlyMap<string, readonly HeldStatus[]>; counters: PlatformCounters;
  deliveries: readonly DeliveryRow[]; messageKeys: readonly string[];
}): PlatformCount {
  const off: string[] = [];
  const rowsOf = new Map<string, StatusRow[]>();
  for (const row of input.outbox) rowsOf.set(row.caseId, [...(rowsOf.get(row.caseId) ?? []), row]);
  let casesMatching = 0;
  let statuses = 0;
  for (const c of input.cases) {
    const rows = (rowsOf.get(c.caseId) ?? []).sort((a, b) => a.seq - b.seq);
    const held = input.held.get(c.serviceCaseId) ?? [];
    statuses += held.length;
    const ours = rows.map((r) => `${r.seq}:${r.status}`).join(' ');
    const theirs = held.map((h) => `${h.sequence}:${h.status}`).join(' ');
    const problem = rows.length === 0 ? 'no status queued'
      : rows.some((r) => !r.acked) ? 'statuses not acknowledged'
        : ours !== theirs ? `the platform holds [${theirs}], we sent [${ours}]`
          : rows[rows.length - 1]!.status !== c.stage ? `the last status ${rows[rows.length - 1]!.status} is not the stage ${c.stage}` : null;
    if (problem) off.push(`${c.serviceCaseId}: ${problem}`);
    else casesMatching += 1;
  }
  const delivered = input.deliveries.filter((d) => d.status === 'delivered');
  const messageKeys = new Set(input.messageKeys);
  for (const d of delivered) if (!messageKeys.has(d.dedupeKey)) off.push(`${d.dedupeKey}: delivered, but not on the e-address`);
  return {
    cases: input.cases.length, casesMatching, statuses, waiting: input.outbox.filter((r) => !r.acked).length, counters: input.counters,
    decisions: {
      delivered: delivered.length, noEAddress: input.deliveries.filter((d) => d.status === 'no_e_address').length,
      pending: input.deliveries.filter((d) => d.status === 'pending').length, messages: input.messageKeys.length,
    },
    off,
  };
}

/** The targets the check sets: every case matching, nothing out of order or early, every decision settled and there once. */
export function platformProblems(count: PlatformCount): string[] {
  const problems: string[] = [];
  if (count.casesMatching !== count.cases) problems.push(`${count.cases - count.casesMatching} cases whose statuses the platform does not hold as sent`);
  if (count.counters.outOfOrder > 0) problems.push(`${count.counters.outOfOrder} statuses refused as out of order`);
  if (count.counters.sentBeforeAcknowledged > 0) problems.push(`${count.counters.sentBeforeAcknowledged} statuses sent before their predecessor was acknowledged`);
  if (count.decisions.pending > 0) problems.push(`${count.decisions.pending} decisions not delivered to the e-address yet`);
  if (count.decisions.messages !== count.decisions.delivered) problems.push(`${count.decisions.messages} e-address messages for ${count.decisions.delivered} decisions delivered`);
  return problems;
}

/** Gives these people an e-address on the drill's e-address stub. */
export async function giveEAddresses(eAddressUrl: string, personCodes: readonly string[]): Promise<void> {
  const res = await fetch(`${eAddressUrl}/__control/holders`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ personCodes }), signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`${eAddressUrl}/__control/holders: HTTP ${res.status} ${await res.text()}`);
}

/** Reads both outboxes of the drill's cases and what the two stubs hold, and compares them. */
export async function readPlatform(db: Knex, env: NodeJS.ProcessEnv, caseIds: readonly string[]): Promise<PlatformCount> {
  const json = async <T>(url: string): Promise<T> => {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return await res.json() as T;
  };
  const cases = await db('cases').whereIn('id', caseIds).select<PlatformCase[]>('id as caseId', 'serviceCaseId', 'stage');
  const outbox = (await db('serviceStatusOutbox').whereIn('caseId', caseIds)
    .select<{ caseId: string; seq: number; status: string; ackedAt: Date | null }[]>('caseId', 'seq', 'status', 'ackedAt'))
    .map((r) => ({ caseId: r.caseId, seq: r.seq, status: r.status, acked: r.ackedAt !== null }));
  const held = new Map<string, HeldStatus[]>();
  for (const c of cases) {
    const answer = await json<{ statuses: HeldStatus[] }>(`${env.SERVICE_PLATFORM_URL}/service-accounting/v1/cases/${encodeURIComponent(c.serviceCaseId)}/statuses`);
    held.set(c.serviceCaseId, answer.statuses);
  }
  const counters = await json<PlatformCounters>(`${env.SERVICE_PLATFORM_URL}/__control`);
  const deliveries = await db('officialDeliveries').whereIn('caseId', caseIds).select<DeliveryRow[]>('dedupeKey', 'status');
  const messages = await json<{ messages: { idempotencyKey: string }[] }>(`${env.E_ADDRESS_URL}/__control/messages`);
  return comparePlatform({ cases, outbox, held, counters, deliveries, messageKeys: messages.messages.map((m) => m.idempotencyKey) });
}
