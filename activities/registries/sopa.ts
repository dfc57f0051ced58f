import type { Knex } from 'knex';
import { ApplicationFailure } from '@temporalio/common';
import { writeAudit } from '../../lib/audit';
import type { ClientTlsFiles } from '../../lib/mtls';
import type { RegistryMetrics } from '../../lib/metrics';
import { FailureType } from '../../domain/failures';
import type { SocialStatusRecord } from '../../domain/social-status';
import { pickProtocol, SOPA_PROTOCOLS, type SopaProtocol } from './protocols';
import { createSopaJsonClient } from './sopa-json';

/**
 * SOPA, the municipal social-assistance status register: the client interface the activities depend on, the
 * factory that picks its adapter by configuration (SOPA_PROTOCOL), and the activities. The JSON adapter is
 * ./sopa-json.ts.
 */

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

/** A SOPA client, whatever protocol it speaks; the base URL points at the municipal service or our stub. */
export interface SopaClient {
  /**
   * The person's status records overlapping the period. Throws a plain Error on transport errors, timeouts, 5xx
   * and malformed answers (Temporal retries them) and a non-retryable SocialStatusRefused failure on 4xx.
   */
  getStatuses(query: SocialStatusQuery): Promise<SocialStatusResult>;
}

/** What every SOPA adapter is made from: the address, the client certificate (mutual TLS), a timeout, metrics. */
export interface SopaClientOptions {
  baseUrl: string;
  /** The client certificate and key issued by the SOPA provider, and the CA of SOPA's server certificate. */
  tls: ClientTlsFiles;
  timeoutMs?: number;
  metrics?: RegistryMetrics;
}

/** One adapter per protocol; TypeScript makes each name in SOPA_PROTOCOLS have one. */
const SOPA_ADAPTERS: Record<SopaProtocol, (opts: SopaClientOptions) => SopaClient> = {
  json: createSopaJsonClient,
};

/** The SOPA client for the configured protocol (default json); an unknown protocol is an Error at start. */
export function createSopaClient(opts: SopaClientOptions & { protocol?: string }): SopaClient {
  return SOPA_ADAPTERS[pickProtocol('SOPA_PROTOCOL', SOPA_PROTOCOLS, opts.protocol ?? 'json')](opts);
}

/**
 * The operator as the activity receives it: the SOPA identity plus the audit role it acts in: an employee who
 * started the query (a coordinator registering someone, staff) or `system` for the designated operator.
 */
export interface SocialStatusOperator extends SopaOperator {
  role: 'staff' | 'coordinator' | 'system';
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
   * Who asks. A query an employee started passes them (the coordinator who registered the person); a check the
   * system makes on a learner's own application leaves it out and the agency's designated SOPA operator
   * (configured, never in workflow history) is used.
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
