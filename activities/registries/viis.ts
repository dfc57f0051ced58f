import type { RegistryMetrics } from '../../lib/metrics';
import { fetchRegistryRecord } from './fetch-record';

/** A place where an institution may teach, as registered in VIIS. */
export interface ViisPlaceOfDelivery {
  address: string;
}

/** A licensed programme of an institution, as VIIS lists it. */
export interface ViisLicence {
  number: string;
  programme: string;
  /** Hours of the licensed curriculum. */
  hours: number;
}

/** An education institution as VIIS (State Education Information System) describes it. */
export interface ViisInstitution {
  /** The 10-digit education-institution registration number. */
  registrationNumber: string;
  name: string;
  /** The 11-digit Enterprise Register number of the company that runs the institution. */
  companyRegistrationNumber: string;
  accredited: boolean;
  /** YYYY-MM-DD, the day the institution entered the Register of Educational Institutions. */
  registeredSince: string;
  placesOfDelivery: ViisPlaceOfDelivery[];
  licences: ViisLicence[];
}

/** HTTP client for VIIS; the base URL points at the real service or our stub. */
export interface ViisClient {
  /** The institution, or null when VIIS does not know the number; throws on transport, server or malformed answers. */
  getInstitution(registrationNumber: string): Promise<ViisInstitution | null>;
}

/** True for the shape of an education-institution registration number (10 digits); lets callers refuse typos before asking. */
export function isViisRegistrationNumber(value: string): boolean {
  return /^\d{10}$/.test(value);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPlace(v: unknown): v is ViisPlaceOfDelivery {
  return isObject(v) && typeof v.address === 'string';
}

function isLicence(v: unknown): v is ViisLicence {
  return isObject(v) && typeof v.number === 'string' && typeof v.programme === 'string' && typeof v.hours === 'number';
}

/** Checks the answer's shape; offer validation decides on these fields, so a guess would be worse than a retry. */
function isInstitution(v: unknown): v is ViisInstitution {
  return isObject(v) && typeof v.registrationNumber === 'string' && typeof v.name === 'string'
    && typeof v.companyRegistrationNumber === 'string' && typeof v.accredited === 'boolean'
    && typeof v.registeredSince === 'string' && Array.isArray(v.placesOfDelivery) && v.placesOfDelivery.every(isPlace)
    && Array.isArray(v.licences) && v.licences.every(isLicence);
}

/** Creates the client; requests time out so a hung registry turns into a retry, not a stuck activity. */
export function createViisClient(opts: { baseUrl: string; timeoutMs?: number; metrics?: RegistryMetrics }): ViisClient {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  return {
    getInstitution(registrationNumber) {
      return fetchRegistryRecord({
        name: 'VIIS', metric: 'viis', url: `${baseUrl}/institutions/${encodeURIComponent(registrationNumber)}`,
        timeoutMs: opts.timeoutMs ?? 5_000, metrics: opts.metrics,
        read: (body) => {
          if (!isInstitution(body)) throw new Error('answered with a malformed institution');
          // Attributing another institution's licences and addresses to this one would be worse than no answer.
          if (body.registrationNumber !== registrationNumber) throw new Error('answered about a different registration number');
          // Only the contract's fields are kept, so whatever else the real service sends stays out of workflow history.
          return {
            registrationNumber: body.registrationNumber, name: body.name, companyRegistrationNumber: body.companyRegistrationNumber,
            accredited: body.accredited, registeredSince: body.registeredSince,
            placesOfDelivery: body.placesOfDelivery.map(({ address }) => ({ address })),
            licences: body.licences.map(({ number, programme, hours }) => ({ number, programme, hours })),
          };
        },
      });
    },
  };
}
