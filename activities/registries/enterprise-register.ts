import type { RegistryMetrics } from '../../lib/metrics';
import { fetchRegistryRecord } from './fetch-record';

/** The legal states of a company the Enterprise Register reports; only an active company may run an institution. */
export type CompanyStatus = 'active' | 'liquidated' | 'insolvent';

/** The statuses above, for checking answers at run time. */
export const COMPANY_STATUSES: readonly CompanyStatus[] = ['active', 'liquidated', 'insolvent'];

/** A company as the Enterprise Register (Uzņēmumu reģistrs) describes it. */
export interface RegisteredCompany {
  /** The 11-digit company registration number. */
  registrationNumber: string;
  name: string;
  status: CompanyStatus;
  /** YYYY-MM-DD, the day the company was registered. */
  registeredOn: string;
}

/** HTTP client for the Enterprise Register; the base URL points at the real service or our stub. */
export interface EnterpriseRegisterClient {
  /** The company, or null when the register does not know the number; throws on transport, server or malformed answers. */
  getCompany(registrationNumber: string): Promise<RegisteredCompany | null>;
}

/** True for the shape of a company registration number (11 digits); lets callers refuse typos before asking. */
export function isCompanyRegistrationNumber(value: string): boolean {
  return /^\d{11}$/.test(value);
}

/** Checks the answer's shape; provider registration decides on the status, so a guess would be worse than a retry. */
function isCompany(v: unknown): v is RegisteredCompany {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const c = v as Record<string, unknown>;
  return typeof c.registrationNumber === 'string' && typeof c.name === 'string'
    && COMPANY_STATUSES.includes(c.status as CompanyStatus) && typeof c.registeredOn === 'string';
}

/** Creates the client; requests time out so a hung registry turns into a retry, not a stuck activity. */
export function createEnterpriseRegisterClient(opts: { baseUrl: string; timeoutMs?: number; metrics?: RegistryMetrics }): EnterpriseRegisterClient {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  return {
    getCompany(registrationNumber) {
      return fetchRegistryRecord({
        name: 'Enterprise Register', metric: 'enterprise-register', url: `${baseUrl}/companies/${encodeURIComponent(registrationNumber)}`,
        timeoutMs: opts.timeoutMs ?? 5_000, metrics: opts.metrics,
        read: (body) => {
          if (!isCompany(body)) throw new Error('answered with a malformed company');
          // Attributing another company's status to this one would be worse than no answer.
          if (body.registrationNumber !== registrationNumber) throw new Error('answered about a different registration number');
          // Only the contract's fields are kept, so whatever else the real service sends stays out of workflow history.
          return { registrationNumber: body.registrationNumber, name: body.name, status: body.status, registeredOn: body.registeredOn };
        },
      });
    },
  };
}
