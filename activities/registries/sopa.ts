import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { Knex } from 'knex';
import { ApplicationFailure } from '@temporalio/common';
import { writeAudit } from '../../lib/audit';
import type { RegistryMetrics } from '../../lib/metrics';
import { FailureType } from '../../domain/failures';
import type { SocialStatusRecord } from '../../domain/social-status';

/** Body of `POST /status`: the spec's input parameters (seed 002), dates as YYYY-MM-DD. */
export interface SopaStatusRequest {
  PersonCode: string;
  dateFrom: string;
  dateTill: string;
  /** Operator's first name. */
  userName: string;
  /** Operator's surname. */
  userSecondName: string;
  /** Operator's person code. */
  userPersonCode: string;
}

/** One status record on the wire: 1 = poor, 2 = low-income, or the single 0 record meaning "not found". */
export type SopaStatusRecord =
  | { Statuss: 1 | 2; DatumsNo: string; DatumsLidz: string; Pasvaldiba: string }
  | { Statuss: 0; DatumsNo: null; DatumsLidz: null; Pasvaldiba: null };

/** Answer of `POST /status`: the person asked about and their status records (several are possible). */
export interface SopaStatusResponse {
  PKods: string;
  statusi: SopaStatusRecord[];
}

/** The staff member (or designated responsible person) on whose behalf SOPA is asked; the spec requires all three. */
export interface SopaOperator {
  firstName: string;
  lastName: string;
  personCode: string;
}

/** A status record as the domain uses it (status, validFrom..validTo inclusive, municipality reg. no.); re-exported here. */
export type { SocialStatusRecord };

/** A person's status records overlapping the asked period; empty when SOPA answered status 0 (not found). */
export interface SocialStatusResult {
  personCode: string;
  records: SocialStatusRecord[];
}

/** A status query: whose status, for which period, asked by whom. */
export interface SocialStatusQuery {
  personCode: string;
  /** YYYY-MM-DD */
  dateFrom: string;
  /** YYYY-MM-DD */
  dateTill: string;
  operator: SopaOperator;
}

/** Paths of the PEM client certificate and key that production SOPA requires (HTTPS with client-certificate auth). */
export interface SopaClientCert {
  certPath: string;
  keyPath: string;
}

/** HTTP client for SOPA; the base URL points at the municipal service or our stub. */
export interface SopaClient {
  /**
   * The person's status records overlapping the period. Throws a plain Error on transport errors, timeouts, 5xx
   * and malformed answers (Temporal retries them) and a non-retryable SocialStatusRefused failure on 4xx.
   */
  getStatuses(query: SocialStatusQuery): Promise<SocialStatusResult>;
}

/** A bare HTTP answer, whichever transport produced it. */
type Answer = { status: number; text: string };
type Post = (url: string, body: string, timeoutMs: number) => Promise<Answer>;

const jsonHeaders = { 'content-type': 'application/json', accept: 'application/json' };

/** Plain transport: Node's global fetch, used against the stub and any endpoint without a client certificate. */
const fetchPost: Post = async (url, body, timeoutMs) => {
  const res = await fetch(url, { method: 'POST', headers: jsonHeaders, body, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text() };
};

/** Client-certificate transport: Node 20's global fetch cannot present a client certificate, node:https can. */
function httpsPost(agent: https.Agent): Post {
  return (url, body, timeoutMs) =>
    new Promise<Answer>((resolve, reject) => {
      const req = https.request(
        url,
        { method: 'POST', agent, headers: { ...jsonHeaders, 'content-length': Buffer.byteLength(body) }, signal: AbortSignal.timeout(timeoutMs) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
          // A connection cut mid-body ends with 'close' but no 'end'; without this the promise would hang.
          res.on('close', () => { if (!res.complete) reject(new Error('response ended before it was complete')); });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

/** 4xx answers that mean "try again later" rather than "this question is wrong". */
const RETRYABLE_4XX = new Set([408, 429]);

const digits = (code: string): string => code.replace(/\D/g, '');

/** Checks the answer's shape and maps it; anything unexpected is a plain (retryable) Error, never a guess. */
function parseAnswer(text: string, askedCode: string): SocialStatusResult {
  let body: Partial<SopaStatusResponse>;
  try {
    body = JSON.parse(text) as Partial<SopaStatusResponse>;
  } catch {
    throw new Error('SOPA answered with a body that is not JSON');
  }
  if (typeof body?.PKods !== 'string' || !Array.isArray(body.statusi)) throw new Error('SOPA answered without PKods or statusi');
  // Attributing someone else's status to this person would be worse than no answer.
  if (digits(body.PKods) !== digits(askedCode)) throw new Error('SOPA answered about a different person code');
  const records: SocialStatusRecord[] = [];
  for (const r of body.statusi as unknown[]) {
    const rec = (r ?? {}) as Record<string, unknown>;
    if (rec.Statuss === 0) continue;
    if ((rec.Statuss !== 1 && rec.Statuss !== 2) || typeof rec.DatumsNo !== 'string' || typeof rec.DatumsLidz !== 'string'
      || typeof rec.Pasvaldiba !== 'string') {
      throw new Error('SOPA answered with a malformed status record');
    }
    records.push({
      status: rec.Statuss === 1 ? 'poor' : 'low_income',
      // The spec types these as DateTime; only the calendar day matters to us.
      validFrom: rec.DatumsNo.slice(0, 10), validTo: rec.DatumsLidz.slice(0, 10), municipality: rec.Pasvaldiba,
    });
  }
  return { personCode: body.PKods, records };
}

/** Creates the SOPA client; with `clientCert` it speaks HTTPS with that certificate, otherwise plain fetch. */
export function createSopaClient(opts: {
  baseUrl: string;
  timeoutMs?: number;
  metrics?: RegistryMetrics;
  clientCert?: SopaClientCert;
}): SopaClient {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const url = `${opts.baseUrl.replace(/\/+$/, '')}/status`;
  let post = fetchPost;
  if (opts.clientCert) {
    // A certificate sent over plain HTTP would authenticate nothing; refuse the combination at start.
    if (!url.startsWith('https://')) throw new Error('SOPA: a client certificate needs an https:// base URL');
    // Read once at start, so a wrong path stops the process instead of failing every query.
    post = httpsPost(new https.Agent({
      cert: readFileSync(opts.clientCert.certPath), key: readFileSync(opts.clientCert.keyPath), keepAlive: true,
    }));
  }
  return {
    async getStatuses(query) {
      const stopTimer = opts.metrics?.start('sopa');
      let outcome = 'error';
      try {
        const request: SopaStatusRequest = {
          PersonCode: query.personCode, dateFrom: query.dateFrom, dateTill: query.dateTill,
          userName: query.operator.firstName, userSecondName: query.operator.lastName, userPersonCode: query.operator.personCode,
        };
        let answer: Answer;
        try {
          answer = await post(url, JSON.stringify(request), timeoutMs);
        } catch (err) {
          const cause = (err as { cause?: { code?: string } }).cause?.code;
          throw new Error(`SOPA: ${cause ? `${cause} ` : ''}${(err as Error).message}`);
        }
        if (answer.status >= 400 && answer.status < 500 && !RETRYABLE_4XX.has(answer.status)) {
          outcome = 'refused';
          const detail = safeErrorBody(answer.text);
          throw ApplicationFailure.create({
            type: FailureType.SocialStatusRefused, nonRetryable: true,
            message: `SOPA refused the query (HTTP ${answer.status}${detail.error ? ` ${detail.error}` : ''}${detail.field ? ` ${detail.field}` : ''})`,
            details: [{ httpStatus: answer.status, ...detail }],
          });
        }
        if (answer.status !== 200) throw new Error(`SOPA answered HTTP ${answer.status}`);
        const result = parseAnswer(answer.text, query.personCode);
        outcome = result.records.length > 0 ? 'ok' : 'not_found';
        return result;
      } finally {
        stopTimer?.(outcome);
      }
    },
  };
}

/**
 * The `error` and `field` of an error body, if they are codes (letters, `_`, `.`, `-`); the rest is dropped so no
 * personal data (e.g. a person code echoed by the service) reaches the failure message, history or the console.
 */
function safeErrorBody(text: string): { error?: string; field?: string } {
  const code = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z][A-Za-z_.-]{0,63}$/.test(v);
  try {
    const body = JSON.parse(text) as { error?: unknown; field?: unknown };
    return {
      ...(code(body.error) ? { error: body.error } : {}),
      ...(code(body.field) ? { field: body.field } : {}),
    };
  } catch {
    return {};
  }
}

/** The operator as the activity receives it: the SOPA identity plus the audit role it acts in. */
export interface SocialStatusOperator extends SopaOperator {
  role: 'staff' | 'system';
}

/** Input of lookupSocialStatus: whose status on which day, for which case and why, asked by whom (all audited). */
export interface LookupSocialStatusInput {
  personCode: string;
  /** YYYY-MM-DD; SOPA is asked for the period [onDate − lookbackMonths, onDate]. */
  onDate: string;
  /** How far back to ask, so a status that lapsed recently shows (default 0: only the day itself). */
  lookbackMonths?: number;
  caseId: string;
  purpose: string;
  /**
   * Who asks. A staff member's own check passes them; a check the system makes on a learner's application leaves
   * it out and the agency's designated SOPA operator (configured, never in workflow history) is used.
   */
  operator?: SocialStatusOperator;
  /** Stable per workflow step, so a retried lookup is audited once. */
  auditKey: string;
}

/** Activities that query SOPA. */
export function createSopaActivities({ db, sopa, sopaOperator }: { db: Knex; sopa: SopaClient; sopaOperator: SopaOperator }) {
  return {
    /** Asks SOPA for the person's status on one day and audits the query under the operator's identity (24 months). */
    async lookupSocialStatus(input: LookupSocialStatusInput): Promise<SocialStatusResult> {
      const { role, ...operator } = input.operator ?? { ...sopaOperator, role: 'system' as const };
      const dateFrom = monthsBefore(input.onDate, input.lookbackMonths ?? 0);
      // The data-sharing agreement wants every query traceable to the person who made it, so the operator is the
      // actor; the period asked and the municipality go with it, as a municipality's audit request needs them.
      const audit = async (result: Record<string, unknown>) => writeAudit(db, {
        actor: { role, id: operator.personCode, name: `${operator.firstName} ${operator.lastName}` },
        action: SOPA_QUERY_ACTION, subjectPersonCode: input.personCode, caseId: input.caseId, purpose: input.purpose,
        result: { dateFrom, dateTill: input.onDate, ...result }, idempotencyKey: input.auditKey,
        municipality: await queryMunicipality(db, input.caseId, input.personCode),
      });
      let answer: SocialStatusResult;
      try {
        answer = await sopa.getStatuses({ personCode: input.personCode, dateFrom, dateTill: input.onDate, operator });
      } catch (err) {
        // A refused query was still asked in the operator's name; transport errors are retried and audited when answered.
        if (err instanceof ApplicationFailure && err.type === FailureType.SocialStatusRefused) await audit({ refused: true });
        throw err;
      }
      // Count and kinds only: the audit proves who looked, it does not become a second copy of the status data.
      await audit({
        recordCount: answer.records.length, statuses: answer.records.map((r) => r.status),
        // The registration numbers of the municipalities whose records came back (the spec's "Pasvaldība").
        municipalities: [...new Set(answer.records.map((r) => r.municipality))],
      });
      return answer;
    },
  };
}

/** The audit action of a SOPA query (lib/audit.ts; the municipality export reads these rows). */
export const SOPA_QUERY_ACTION = 'sopa.get-statuses';

/**
 * The municipality a SOPA query about a person in a case is audited under: the declared-address municipality the
 * Population Register gave for the same case (the journey asks it just before SOPA), else the municipality of the
 * coordinator who registered the case. One indexed read; null when neither is known.
 */
async function queryMunicipality(db: Knex, caseId: string, personCode: string): Promise<string | null> {
  const row = await db.raw<{ rows: { municipality: string | null }[] }>(`
    SELECT COALESCE(
      (SELECT municipality FROM audit_log WHERE subject_person_code = ? AND case_id = ? AND action = 'population-register.get-person'
          AND municipality IS NOT NULL ORDER BY at DESC LIMIT 1),
      (SELECT details->>'municipality' FROM case_events WHERE case_id = ? AND details->>'municipality' IS NOT NULL
        ORDER BY occurred_at LIMIT 1)) AS municipality`, [personCode, caseId, caseId]);
  return row.rows[0]?.municipality ?? null;
}

// The calendar day n months before a YYYY-MM-DD day (the 31st falls back to the month's last day).
function monthsBefore(day: string, months: number): string {
  const [y, m, d] = day.split('-').map(Number);
  const target = new Date(Date.UTC(y, m - 1 - months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d, lastDay));
  return target.toISOString().slice(0, 10);
}
