import type { RegisterPerson } from '../../activities/registries/population-register';
import type { SeedPerson } from '../seed-people';
import type { Listening } from './http';
import { normalizePersonCode } from './person-code';
import { createSwitchboard, withSwitches, decodeSegment, type StubAnswer, type SwitchboardState } from './switchboard';

/** Snapshot of the stub's switches, as `GET /__control` returns it. */
export type RegisterControlState = SwitchboardState;

/** In-process switches for making the register slow, failing or unreachable. */
export interface RegisterControl {
  /** Person requests received so far, failed and dropped ones included. */
  readonly requests: number;
  /** Makes the next `n` person requests answer `status` with a JSON error body. */
  failNext(n: number, status?: number): void;
  /** Delays every person response by `ms`. */
  setDelay(ms: number): void;
  /** While down, person requests get their connection destroyed without a response. */
  setDown(down: boolean): void;
  /** Clears all switches and the request counter; people added with `setPerson` stay. */
  reset(): void;
  /** Adds or replaces a person (matched by person code). */
  setPerson(person: SeedPerson): void;
  /** Current switches and counter. */
  state(): RegisterControlState;
}

/** The Population Register stub: shared control plus a way to serve it over HTTP. */
export interface PopulationRegisterStub {
  control: RegisterControl;
  listen(port?: number, host?: string): Promise<Listening>;
}

function toRegisterPerson(p: SeedPerson, personCode: string): RegisterPerson {
  return {
    personCode,
    firstName: p.firstName,
    lastName: p.lastName,
    birthDate: p.birthDate,
    deceased: p.deceased,
    deceasedDate: p.deceasedDate ?? null,
    address: p.address,
    municipality: p.municipality ?? null,
  };
}

/** Creates the Population Register (FPR) stub serving `GET /persons/:personCode` from the given people. */
export function createPopulationRegisterStub(opts: { people: SeedPerson[] }): PopulationRegisterStub {
  const people = new Map<string, RegisterPerson>();
  const board = createSwitchboard();

  const control = withSwitches<RegisterControl>(board, {
    setPerson(p) {
      const code = normalizePersonCode(p.personCode);
      if (!code) throw new RangeError(`setPerson: invalid person code ${p.personCode}`);
      people.set(code, toRegisterPerson(p, code));
    },
  });
  for (const p of opts.people) control.setPerson(p);

  function decidePerson(rawCode: string): StubAnswer {
    const code = normalizePersonCode(rawCode);
    if (!code) return { status: 400, body: { error: 'invalid_person_code' } };
    const person = people.get(code);
    return person ? { status: 200, body: person } : { status: 404, body: { error: 'not_found' } };
  }

  return {
    control,
    listen(port = 0, host = '127.0.0.1') {
      return board.listen((req, res, path, answer) => {
        const personMatch = /^\/persons\/([^/]+)$/.exec(path);
        if (!personMatch || req.method !== 'GET') return false;
        answer(req, res, () => decidePerson(decodeSegment(personMatch[1])));
        return true;
      }, port, host);
    },
  };
}
