import type { ViisInstitution } from '../../activities/registries/viis';
import type { SeedInstitution } from '../seed-institutions';
import type { Listening } from './http';
import { isIsoDate } from './iso-date';
import { createSwitchboard, withSwitches, decodeSegment, type StubAnswer, type SwitchboardState } from './switchboard';

/** Snapshot of the stub's switches, as `GET /__control` returns it. */
export type ViisControlState = SwitchboardState;

/** In-process switches for making VIIS slow, failing or unreachable. */
export interface ViisControl {
  /** Institution requests received so far, failed and dropped ones included. */
  readonly requests: number;
  /** Makes the next `n` institution requests answer `status` with a JSON error body. */
  failNext(n: number, status?: number): void;
  /** Delays every institution response by `ms`. */
  setDelay(ms: number): void;
  /** While down, institution requests get their connection destroyed without a response. */
  setDown(down: boolean): void;
  /** Clears all switches and the request counter; institutions added with `setInstitution` stay. */
  reset(): void;
  /** Adds or replaces an institution (matched by registration number); a test may pass a seed one with fields changed. */
  setInstitution(institution: ViisInstitution): void;
  /** Current switches and counter. */
  state(): ViisControlState;
}

/** The VIIS stub: shared control plus a way to serve it over HTTP. */
export interface ViisStub {
  control: ViisControl;
  listen(port?: number, host?: string): Promise<Listening>;
}

/** Education-institution registration numbers are 10 digits; company numbers (11) are refused, as VIIS would. */
const INSTITUTION_NUMBER = /^\d{10}$/;

/** Refuses data the real VIIS could not hold, so a test's typo fails where it is made rather than in an activity. */
function checkInstitution(i: ViisInstitution): void {
  if (!INSTITUTION_NUMBER.test(i.registrationNumber)) {
    throw new RangeError(`setInstitution: registration number must be 10 digits, got ${i.registrationNumber}`);
  }
  if (!/^\d{11}$/.test(i.companyRegistrationNumber)) throw new RangeError('setInstitution: companyRegistrationNumber must be 11 digits');
  if (i.name.trim() === '') throw new RangeError('setInstitution: name must not be empty');
  if (!isIsoDate(i.registeredSince)) throw new RangeError('setInstitution: registeredSince must be YYYY-MM-DD');
  if (i.placesOfDelivery.some((p) => p.address.trim() === '')) throw new RangeError('setInstitution: an address is empty');
  if (i.licences.some((l) => !(Number.isInteger(l.hours) && l.hours > 0))) {
    throw new RangeError('setInstitution: licence hours must be positive whole numbers');
  }
}

/** The institution as VIIS answers it: the contract's fields only (a seed's `note` stays here), copied so callers cannot mutate it. */
function toViisInstitution(i: ViisInstitution): ViisInstitution {
  return {
    registrationNumber: i.registrationNumber,
    name: i.name,
    companyRegistrationNumber: i.companyRegistrationNumber,
    accredited: i.accredited,
    registeredSince: i.registeredSince,
    placesOfDelivery: i.placesOfDelivery.map(({ address }) => ({ address })),
    licences: i.licences.map(({ number, programme, hours }) => ({ number, programme, hours })),
  };
}

/** Creates the VIIS stub serving `GET /institutions/:registrationNumber` from the given institutions. */
export function createViisStub(opts: { institutions: SeedInstitution[] }): ViisStub {
  const institutions = new Map<string, ViisInstitution>();
  const board = createSwitchboard();

  const control = withSwitches<ViisControl>(board, {
    setInstitution(institution) {
      checkInstitution(institution);
      institutions.set(institution.registrationNumber, toViisInstitution(institution));
    },
  });
  for (const institution of opts.institutions) control.setInstitution(institution);

  function decideInstitution(number: string): StubAnswer {
    if (!INSTITUTION_NUMBER.test(number)) return { status: 400, body: { error: 'invalid_registration_number' } };
    const institution = institutions.get(number);
    return institution ? { status: 200, body: institution } : { status: 404, body: { error: 'not_found' } };
  }

  return {
    control,
    listen(port = 0, host = '127.0.0.1') {
      return board.listen((req, res, path, answer) => {
        const match = /^\/institutions\/([^/]+)$/.exec(path);
        if (!match || req.method !== 'GET') return false;
        answer(req, res, () => decideInstitution(decodeSegment(match[1])));
        return true;
      }, port, host);
    },
  };
}
