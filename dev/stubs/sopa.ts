import type { IncomingMessage } from 'node:http';
import type { SopaStatusRecord, SopaStatusRequest, SopaStatusResponse } from '../../activities/registries/sopa-json';
import type { SeedSocialStatus } from '../seed-social-status';
import { readBody, type Listening } from './http';
import { normalizePersonCode } from './person-code';
import { createSwitchboard, withSwitches, type StubAnswer, type StubTls, type SwitchboardState } from './switchboard';

/** One status record as the stub keeps it (a seed record without the person code). */
export type SopaStubRecord = Omit<SeedSocialStatus, 'personCode'>;

/** Snapshot of the stub's switches, as `GET /__control` returns it. */
export type SopaControlState = SwitchboardState;

/** In-process switches for making SOPA slow, failing or unreachable, and for inspecting what it was asked. */
export interface SopaControl {
  /** Status requests received so far, failed and dropped ones included. */
  readonly requests: number;
  /** The last 50 status requests that carried a JSON object, oldest first, so tests can check the operator identity sent. */
  readonly lastRequests: readonly SopaStatusRequest[];
  /** Why each of the last 50 refused TLS handshakes was refused (no client certificate, an unknown CA, expired). */
  readonly refusedClients: readonly string[];
  /** Makes the next `n` status requests answer `status` with a JSON error body. */
  failNext(n: number, status?: number): void;
  /** Delays every status response by `ms`. */
  setDelay(ms: number): void;
  /** While down, status requests get their connection destroyed without a response. */
  setDown(down: boolean): void;
  /** Clears the switches, the counter, the recorded requests and refusals; records set with `setStatuses` stay. */
  reset(): void;
  /** Replaces a person's status records; an empty list makes the person unknown (status 0). */
  setStatuses(personCode: string, records: SopaStubRecord[]): void;
  /** Current switches and counter. */
  state(): SopaControlState;
}

/** The SOPA stub: shared control plus a way to serve it over HTTPS with mutual TLS. */
export interface SopaStub {
  control: SopaControl;
  listen(port?: number, host?: string): Promise<Listening>;
}

/** How many requests `lastRequests` keeps. */
const KEEP_REQUESTS = 50;

/** A real calendar date written as YYYY-MM-DD (rejects 2026-02-30, which Date would roll over). */
function isIsoDate(v: unknown): v is string {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return false;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

function checkRecord(r: SopaStubRecord): void {
  if (r.status !== 1 && r.status !== 2) throw new RangeError('setStatuses: status must be 1 (poor) or 2 (low-income)');
  if (!isIsoDate(r.validFrom) || !isIsoDate(r.validTo) || r.validFrom > r.validTo) {
    throw new RangeError('setStatuses: validFrom and validTo must be YYYY-MM-DD with validFrom <= validTo');
  }
  if (!/^\d{11}$/.test(r.municipality)) throw new RangeError('setStatuses: municipality must be an 11-digit registration number');
}

/** Decides the answer to a parsed status request body: 401 without operator identity, 400 naming a bad field. */
function answerStatus(body: Record<string, unknown>, records: Map<string, SopaStubRecord[]>): StubAnswer {
  // The real service authorises the operator before it looks at the question, so identity is checked first.
  if (!nonEmptyString(body.userName) || !nonEmptyString(body.userSecondName) || !nonEmptyString(body.userPersonCode)) {
    return { status: 401, body: { error: 'operator_identity_required' } };
  }
  const code = typeof body.PersonCode === 'string' ? normalizePersonCode(body.PersonCode) : undefined;
  if (!code) return { status: 400, body: { error: 'invalid_field', field: 'PersonCode' } };
  if (!isIsoDate(body.dateFrom)) return { status: 400, body: { error: 'invalid_field', field: 'dateFrom' } };
  if (!isIsoDate(body.dateTill) || body.dateTill < body.dateFrom) {
    return { status: 400, body: { error: 'invalid_field', field: 'dateTill' } };
  }
  const from = body.dateFrom;
  const till = body.dateTill;
  // A record overlaps the period when it starts on or before its end and ends on or after its start.
  const statusi: SopaStatusRecord[] = (records.get(code) ?? [])
    .filter((r) => r.validFrom <= till && r.validTo >= from)
    .map((r) => ({ Statuss: r.status, DatumsNo: r.validFrom, DatumsLidz: r.validTo, Pasvaldiba: r.municipality }));
  // The spec's "not found" is one record with status 0; we answer it also when the person has nothing in the period.
  const answer: SopaStatusResponse = {
    PKods: code,
    statusi: statusi.length > 0 ? statusi : [{ Statuss: 0, DatumsNo: null, DatumsLidz: null, Pasvaldiba: null }],
  };
  return { status: 200, body: answer };
}

/**
 * Creates the SOPA social-assistance status stub serving `POST /status` (JSON) from the given records, over HTTPS
 * that refuses, as the real service does, any client without a certificate signed by `tls.caCert` (dev/tls.ts).
 */
export function createSopaStub(opts: { statuses: SeedSocialStatus[]; tls: Omit<StubTls, 'onRefused'> }): SopaStub {
  const records = new Map<string, SopaStubRecord[]>();
  const recorded: SopaStatusRequest[] = [];
  const refused: string[] = [];
  const board = createSwitchboard(() => {
    recorded.length = 0;
    refused.length = 0;
  });

  const control = withSwitches<SopaControl>(board, {
    get lastRequests() {
      return [...recorded];
    },
    get refusedClients() {
      return [...refused];
    },
    setStatuses(personCode, list) {
      const code = normalizePersonCode(personCode);
      if (!code) throw new RangeError(`setStatuses: invalid person code ${personCode}`);
      list.forEach(checkRecord);
      records.set(code, list.map((r) => ({ ...r })).sort((a, b) => a.validFrom.localeCompare(b.validFrom)));
    },
  });
  const byPerson = new Map<string, SopaStubRecord[]>();
  for (const { personCode, ...record } of opts.statuses) {
    const code = normalizePersonCode(personCode) ?? personCode;
    byPerson.set(code, [...(byPerson.get(code) ?? []), record]);
  }
  for (const [personCode, list] of byPerson) control.setStatuses(personCode, list);

  /** Remembers who asked what; strings only, so a malformed body cannot put objects into the log. */
  function record(body: Record<string, unknown>): void {
    const text = (v: unknown): string => (typeof v === 'string' ? v : '');
    recorded.push({
      PersonCode: text(body.PersonCode), dateFrom: text(body.dateFrom), dateTill: text(body.dateTill),
      userName: text(body.userName), userSecondName: text(body.userSecondName), userPersonCode: text(body.userPersonCode),
    });
    if (recorded.length > KEEP_REQUESTS) recorded.splice(0, recorded.length - KEEP_REQUESTS);
  }

  async function readJson(req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false }> {
    try {
      return { ok: true, value: JSON.parse((await readBody(req)) || '{}') };
    } catch {
      return { ok: false };
    }
  }

  /** Reads and records a status request; the switchboard may still override this answer with a simulated failure. */
  async function decideStatus(req: IncomingMessage): Promise<StubAnswer> {
    const parsed = await readJson(req);
    const body = parsed.ok && typeof parsed.value === 'object' && parsed.value !== null && !Array.isArray(parsed.value)
      ? (parsed.value as Record<string, unknown>)
      : undefined;
    if (!body) return { status: 400, body: { error: 'invalid_json' } };
    record(body);
    return answerStatus(body, records);
  }

  return {
    control,
    listen(port = 0, host = '127.0.0.1') {
      const onRefused = (reason: string): void => {
        refused.push(reason);
        if (refused.length > KEEP_REQUESTS) refused.splice(0, refused.length - KEEP_REQUESTS);
      };
      return board.listen((req, res, path, answer) => {
        if (path !== '/status' || req.method !== 'POST') return false;
        answer(req, res, () => decideStatus(req));
        return true;
      }, port, host, { ...opts.tls, onRefused });
    },
  };
}
