import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../domain/failures';
import { clientTlsAgent, tlsRequest } from '../../lib/mtls';
import type { SocialStatusRecord } from '../../domain/social-status';
import type { SocialStatusResult, SopaClient, SopaClientOptions } from './sopa';

/**
 * The SOPA client speaking our stub's JSON (docs/decisions.md, "SOPA social-assistance status") over HTTPS with a
 * client certificate, as the data-sharing agreement requires. The contract's other side is dev/stubs/sopa.ts.
 */

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

const jsonHeaders = { 'content-type': 'application/json', accept: 'application/json' };

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

/** Creates the JSON client; it refuses at start a base URL that is not https:// (a certificate over HTTP authenticates nothing). */
export function createSopaJsonClient(opts: SopaClientOptions): SopaClient {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const url = `${opts.baseUrl.replace(/\/+$/, '')}/status`;
  if (!url.startsWith('https://')) throw new Error('SOPA: the base URL must be https:// (the agreement requires HTTPS with a client certificate)');
  const agent = clientTlsAgent(opts.tls);
  return {
    async getStatuses(query) {
      const stopTimer = opts.metrics?.start('sopa');
      let outcome = 'error';
      try {
        const request: SopaStatusRequest = {
          PersonCode: query.personCode, dateFrom: query.dateFrom, dateTill: query.dateTill,
          userName: query.operator.firstName, userSecondName: query.operator.lastName, userPersonCode: query.operator.personCode,
        };
        let answer;
        try {
          answer = await tlsRequest(url, { agent, method: 'POST', headers: jsonHeaders, body: JSON.stringify(request), timeoutMs });
        } catch (err) {
          // A refused certificate shows here as a TLS alert or a reset: a plain Error, so it is retried and shows in
          // the stuck view and the health panel rather than deciding anyone's case.
          // Node's codes are strings (ECONNRESET, ERR_SSL_…); an abort's DOMException carries a number instead.
          const code = (err as { code?: unknown }).code;
          throw new Error(`SOPA: ${typeof code === 'string' ? `${code} ` : ''}${(err as Error).message}`);
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
