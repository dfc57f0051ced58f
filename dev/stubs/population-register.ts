import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { RegisterPerson } from '../../activities/registries/population-register';
import type { SeedPerson } from '../seed-people';
import { listenHttp, readBody, sendJson, type Listening } from './http';
import { normalizePersonCode } from './person-code';

/** Snapshot of the stub's switches, as `GET /__control` returns it. */
export interface RegisterControlState {
  requests: number;
  failNext: number;
  delayMs: number;
  down: boolean;
}

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
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function isErrorStatus(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 400 && v <= 599;
}

/** Creates the Population Register (FPR) stub serving `GET /persons/:personCode` from the given people. */
export function createPopulationRegisterStub(opts: { people: SeedPerson[] }): PopulationRegisterStub {
  const people = new Map<string, RegisterPerson>();
  let requests = 0;
  let failRemaining = 0;
  let failStatus = 500;
  let delayMs = 0;
  let down = false;

  const control: RegisterControl = {
    get requests() {
      return requests;
    },
    failNext(n, status = 500) {
      if (!isNonNegativeInteger(n)) throw new RangeError('failNext: n must be a non-negative integer');
      if (!isErrorStatus(status)) {
        throw new RangeError('failNext: status must be an HTTP error status (400-599)');
      }
      failRemaining = n;
      failStatus = status;
    },
    setDelay(ms) {
      if (!(ms >= 0)) throw new RangeError('setDelay: ms must be >= 0');
      delayMs = ms;
    },
    setDown(value) {
      down = value;
    },
    reset() {
      requests = 0;
      failRemaining = 0;
      failStatus = 500;
      delayMs = 0;
      down = false;
    },
    setPerson(p) {
      const code = normalizePersonCode(p.personCode);
      if (!code) throw new RangeError(`setPerson: invalid person code ${p.personCode}`);
      people.set(code, toRegisterPerson(p, code));
    },
    state: () => ({ requests, failNext: failRemaining, delayMs, down }),
  };
  for (const p of opts.people) control.setPerson(p);

  /** Applies the JSON body of `POST /__control`; returns an error message when a field is malformed. */
  function applyControl(body: unknown): string | undefined {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object';
    const b = body as Record<string, unknown>;
    if (b.failNext !== undefined && !isNonNegativeInteger(b.failNext)) return 'failNext must be a non-negative integer';
    if (b.failStatus !== undefined && !isErrorStatus(b.failStatus)) return 'failStatus must be an HTTP error status (400-599)';
    if (b.delayMs !== undefined && !(typeof b.delayMs === 'number' && b.delayMs >= 0)) return 'delayMs must be a number >= 0';
    if (b.down !== undefined && typeof b.down !== 'boolean') return 'down must be a boolean';
    if (b.failStatus !== undefined && b.failNext === undefined) return 'failStatus only applies together with failNext';
    if (b.failNext !== undefined) control.failNext(b.failNext as number, (b.failStatus as number | undefined) ?? 500);
    if (b.delayMs !== undefined) control.setDelay(b.delayMs);
    if (b.down !== undefined) control.setDown(b.down);
    return undefined;
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === '/__control' && req.method === 'GET') return sendJson(res, 200, control.state());
    if (path === '/__control/reset' && req.method === 'POST') {
      control.reset();
      return sendJson(res, 200, control.state());
    }
    if (path === '/__control' && req.method === 'POST') {
      let body: unknown;
      try {
        body = JSON.parse((await readBody(req)) || '{}');
      } catch {
        return sendJson(res, 400, { error: 'invalid_json' });
      }
      const problem = applyControl(body);
      if (problem) return sendJson(res, 400, { error: 'invalid_control', message: problem });
      return sendJson(res, 200, control.state());
    }
    sendJson(res, 404, { error: 'not_found' });
  }

  return {
    control,
    async listen(port = 0, host = '127.0.0.1') {
      // Delayed responses are tracked so closing the server does not leave timers holding the process open.
      const timers = new Set<NodeJS.Timeout>();

      /** Decides the answer when the request arrives, so a delay cannot reorder which requests fail. */
      function decidePerson(rawCode: string): { status: number; body: unknown } {
        if (failRemaining > 0) {
          failRemaining -= 1;
          return { status: failStatus, body: { error: 'stub_failure', message: `simulated failure (HTTP ${failStatus})` } };
        }
        const code = normalizePersonCode(rawCode);
        if (!code) return { status: 400, body: { error: 'invalid_person_code' } };
        const person = people.get(code);
        return person ? { status: 200, body: person } : { status: 404, body: { error: 'not_found' } };
      }

      const server = createServer((req, res) => {
        const path = new URL(req.url ?? '/', 'http://stub').pathname;
        const personMatch = /^\/persons\/([^/]+)$/.exec(path);
        if (personMatch && req.method === 'GET') {
          requests += 1;
          if (down) {
            req.socket.destroy();
            return;
          }
          const { status, body } = decidePerson(safeDecode(personMatch[1]));
          if (delayMs === 0) return sendJson(res, status, body);
          const timer = setTimeout(() => {
            timers.delete(timer);
            sendJson(res, status, body);
          }, delayMs);
          timers.add(timer);
          return;
        }
        if (path.startsWith('/__control')) {
          handleControl(req, res, path).catch(() => sendJson(res, 500, { error: 'internal_error' }));
          return;
        }
        sendJson(res, 404, { error: 'not_found' });
      });

      const listening = await listenHttp(server, port, host);
      return {
        url: listening.url,
        close: () => {
          for (const t of timers) clearTimeout(t);
          timers.clear();
          return listening.close();
        },
      };
    },
  };
}
