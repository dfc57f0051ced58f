import type { Listening } from './http';
import { readBody, sendJson } from './http';
import { createSwitchboard, decodeSegment, withSwitches, type StubAnswer, type StubSwitches, type SwitchboardState } from './switchboard';

/**
 * The national service platform's service-accounting interface, as a stub speaking our contract
 * (docs/contracts/service-accounting.md): `POST /service-accounting/v1/statuses` takes one status of one case; it
 * keeps one status per idempotency key (a repeat is acknowledged again, not kept twice) and, once it holds a status
 * of a case, takes the case's next one only with the next sequence number (else 409 `out_of_order`), so the order
 * is checked where it matters. It also counts statuses sent before their predecessor was acknowledged (the
 * publisher must wait for the acknowledgement). `GET /service-accounting/v1/cases/:caseId/statuses` lists what it
 * holds for a case.
 */

/** One status as the platform holds it. */
export interface HeldStatus {
  idempotencyKey: string; serviceCode: string; caseId: string; sequence: number; status: string; channel: string; occurredAt: string;
  receivedAt: string;
}

/** Snapshot of the stub's switches and counters, as `GET /__control` returns it. */
export interface ServicePlatformState extends SwitchboardState { held: number; duplicates: number; outOfOrder: number; sentBeforeAcknowledged: number }

/** In-process control: the shared switches plus what the stub holds. */
export interface ServicePlatformControl extends StubSwitches {
  /** Every status held, in the order received. */
  statuses(): HeldStatus[];
  /** One case's statuses, in the order received. */
  statusesOf(caseId: string): HeldStatus[];
  /** Repeats acknowledged without keeping them (an idempotency key already held). */
  readonly duplicates: number;
  /** Statuses refused because their sequence number was not the one after the case's last one. */
  readonly outOfOrder: number;
  /** Statuses that arrived while the answer to their predecessor had not been sent yet. */
  readonly sentBeforeAcknowledged: number;
  /** Forgets every status held (the switches stay). */
  clear(): void;
}

/** The stub: its control and a way to serve it over HTTP. */
export interface ServicePlatformStub {
  control: ServicePlatformControl;
  listen(port?: number, host?: string): Promise<Listening>;
}

/** The channels the contract knows (how the case came to the agency, or who moved it). */
export const SERVICE_CHANNELS = ['e-service', 'assisted', 'staff', 'system'] as const;

/** Checks one status body against the contract; returns the status or what is wrong. */
function readStatus(body: unknown): Omit<HeldStatus, 'receivedAt'> | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object';
  const b = body as Record<string, unknown>;
  for (const field of ['idempotencyKey', 'serviceCode', 'caseId', 'status', 'channel', 'occurredAt']) {
    if (typeof b[field] !== 'string' || (b[field] as string).length === 0 || (b[field] as string).length > 200) return `${field} must be a non-empty string of at most 200 characters`;
  }
  if (!Number.isInteger(b.sequence) || (b.sequence as number) < 1) return 'sequence must be an integer >= 1';
  if (!(SERVICE_CHANNELS as readonly string[]).includes(b.channel as string)) return `channel must be one of ${SERVICE_CHANNELS.join(', ')}`;
  if (Number.isNaN(Date.parse(b.occurredAt as string))) return 'occurredAt must be an ISO 8601 time';
  return {
    idempotencyKey: b.idempotencyKey as string, serviceCode: b.serviceCode as string, caseId: b.caseId as string, sequence: b.sequence as number,
    status: b.status as string, channel: b.channel as string, occurredAt: b.occurredAt as string,
  };
}

/** Creates the service-accounting stub (empty). */
export function createServicePlatformStub(): ServicePlatformStub {
  const held: HeldStatus[] = [];
  const byKey = new Map<string, HeldStatus>();
  const lastSequence = new Map<string, number>();
  /** `caseId#sequence` of the statuses whose acknowledgement has gone out. */
  const acknowledged = new Set<string>();
  let duplicates = 0;
  let outOfOrder = 0;
  let sentBeforeAcknowledged = 0;
  const board = createSwitchboard(() => { duplicates = 0; outOfOrder = 0; sentBeforeAcknowledged = 0; });
  const clear = () => { held.length = 0; byKey.clear(); lastSequence.clear(); acknowledged.clear(); };

  const control = withSwitches<ServicePlatformControl>(board, {
    statuses: () => [...held],
    statusesOf: (caseId: string) => held.filter((s) => s.caseId === caseId),
    get duplicates() { return duplicates; },
    get outOfOrder() { return outOfOrder; },
    get sentBeforeAcknowledged() { return sentBeforeAcknowledged; },
    clear,
  });
  // withSwitches copies getters, but `state` is the switchboard's: the counters are added here.
  const boardState = board.state;
  control.state = (): ServicePlatformState => ({ ...boardState(), held: held.length, duplicates, outOfOrder, sentBeforeAcknowledged });

  /** The answer to one status, and the status it is about (kept now, or held from before). */
  async function decideStatus(raw: string): Promise<{ answer: StubAnswer; about?: HeldStatus }> {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return { answer: { status: 400, body: { error: 'invalid_json' } } };
    }
    const status = readStatus(body);
    if (typeof status === 'string') return { answer: { status: 400, body: { error: 'invalid_status', message: status } } };
    const known = byKey.get(status.idempotencyKey);
    if (known) {
      duplicates += 1;
      return { answer: { status: 200, body: { accepted: true, duplicate: true, receivedAt: known.receivedAt } }, about: known };
    }
    // A case the platform knows takes exactly its next status. The first status of a case it does not know is taken
    // whatever its number: the stub forgets everything when restarted, and a real platform may start counting later.
    const last = lastSequence.get(status.caseId);
    if (last !== undefined && status.sequence !== last + 1) {
      outOfOrder += 1;
      return { answer: { status: 409, body: { error: 'out_of_order', message: `case ${status.caseId}: the next status is ${last + 1}`, lastSequence: last } } };
    }
    if (last !== undefined && !acknowledged.has(`${status.caseId}#${last}`)) sentBeforeAcknowledged += 1;
    const kept: HeldStatus = { ...status, receivedAt: new Date().toISOString() };
    held.push(kept);
    byKey.set(kept.idempotencyKey, kept);
    lastSequence.set(kept.caseId, kept.sequence);
    return { answer: { status: 201, body: { accepted: true, duplicate: false, receivedAt: kept.receivedAt } }, about: kept };
  }

  return {
    control,
    listen(port = 0, host = '127.0.0.1') {
      return board.listen((req, res, path, answer) => {
        if (path === '/service-accounting/v1/statuses' && req.method === 'POST') {
          // The body is read before deciding, so a status is kept on arrival even when the answer is delayed or lost.
          let about: HeldStatus | undefined;
          // Acknowledged once a 2xx answer has gone out (a failure switch or a delay may change or hold it).
          res.once('finish', () => {
            if (about && res.statusCode < 300) acknowledged.add(`${about.caseId}#${about.sequence}`);
          });
          answer(req, res, async () => {
            const decided = await decideStatus(await readBody(req));
            about = decided.about;
            return decided.answer;
          });
          return true;
        }
        const list = /^\/service-accounting\/v1\/cases\/([^/]+)\/statuses$/.exec(path);
        if (list && req.method === 'GET') {
          answer(req, res, () => ({ status: 200, body: { statuses: control.statusesOf(decodeSegment(list[1])) } }));
          return true;
        }
        if (path === '/__control' && req.method === 'GET') {
          // The switches plus the counters (the switchboard's own endpoint shows the switches only).
          sendJson(res, 200, control.state());
          return true;
        }
        return false;
      }, port, host);
    },
  };
}
