import { COMPANY_STATUSES, type RegisteredCompany } from '../../activities/registries/enterprise-register';
import type { SeedCompany } from '../seed-institutions';
import type { Listening } from './http';
import { isIsoDate } from './iso-date';
import { createSwitchboard, withSwitches, decodeSegment, type StubAnswer, type SwitchboardState } from './switchboard';

/** Snapshot of the stub's switches, as `GET /__control` returns it. */
export type EnterpriseRegisterControlState = SwitchboardState;

/** In-process switches for making the Enterprise Register slow, failing or unreachable. */
export interface EnterpriseRegisterControl {
  /** Company requests received so far, failed and dropped ones included. */
  readonly requests: number;
  /** Makes the next `n` company requests answer `status` with a JSON error body. */
  failNext(n: number, status?: number): void;
  /** Delays every company response by `ms`. */
  setDelay(ms: number): void;
  /** While down, company requests get their connection destroyed without a response. */
  setDown(down: boolean): void;
  /** Clears all switches and the request counter; companies added with `setCompany` stay. */
  reset(): void;
  /** Adds or replaces a company (matched by registration number), e.g. to liquidate one mid-test. */
  setCompany(company: RegisteredCompany): void;
  /** Current switches and counter. */
  state(): EnterpriseRegisterControlState;
}

/** The Enterprise Register stub: shared control plus a way to serve it over HTTP. */
export interface EnterpriseRegisterStub {
  control: EnterpriseRegisterControl;
  listen(port?: number, host?: string): Promise<Listening>;
}

/** Company registration numbers are 11 digits; institution numbers (10) are refused, as the register would. */
const COMPANY_NUMBER = /^\d{11}$/;

/** Refuses data the real register could not hold, so a test's typo fails where it is made rather than in an activity. */
function checkCompany(c: RegisteredCompany): void {
  if (!COMPANY_NUMBER.test(c.registrationNumber)) {
    throw new RangeError(`setCompany: registration number must be 11 digits, got ${c.registrationNumber}`);
  }
  if (c.name.trim() === '') throw new RangeError('setCompany: name must not be empty');
  if (!COMPANY_STATUSES.includes(c.status)) throw new RangeError(`setCompany: status must be one of ${COMPANY_STATUSES.join(', ')}`);
  if (!isIsoDate(c.registeredOn)) throw new RangeError('setCompany: registeredOn must be YYYY-MM-DD');
}

/** Creates the Enterprise Register stub serving `GET /companies/:registrationNumber` from the given companies. */
export function createEnterpriseRegisterStub(opts: { companies: SeedCompany[] }): EnterpriseRegisterStub {
  const companies = new Map<string, RegisteredCompany>();
  const board = createSwitchboard();

  const control = withSwitches<EnterpriseRegisterControl>(board, {
    setCompany(c) {
      checkCompany(c);
      // The contract's fields only: a seed's `note` is for people reading the seed, not part of the answer.
      companies.set(c.registrationNumber, { registrationNumber: c.registrationNumber, name: c.name, status: c.status, registeredOn: c.registeredOn });
    },
  });
  for (const company of opts.companies) control.setCompany(company);

  function decideCompany(number: string): StubAnswer {
    if (!COMPANY_NUMBER.test(number)) return { status: 400, body: { error: 'invalid_registration_number' } };
    const company = companies.get(number);
    return company ? { status: 200, body: company } : { status: 404, body: { error: 'not_found' } };
  }

  return {
    control,
    listen(port = 0, host = '127.0.0.1') {
      return board.listen((req, res, path, answer) => {
        const match = /^\/companies\/([^/]+)$/.exec(path);
        if (!match || req.method !== 'GET') return false;
        answer(req, res, () => decideCompany(decodeSegment(match[1])));
        return true;
      }, port, host);
    },
  };
}
