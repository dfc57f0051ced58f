import fs from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { listenHttp, readBody, sendJson, type Listening } from './http';

/** Snapshot of a registry stub's switches, as `GET /__control` returns it. */
export interface SwitchboardState {
  requests: number;
  failNext: number;
  delayMs: number;
  down: boolean;
}

/** The status and JSON body a stub has decided to send for one request. */
export interface StubAnswer {
  status: number;
  body: unknown;
}

/** Sends a contract request's answer through the switches; `decide` may be async (e.g. to read the body). */
export type Answer = (req: IncomingMessage, res: ServerResponse, decide: () => StubAnswer | Promise<StubAnswer>) => void;

/** A stub's own routes: handles the request and returns true, or returns false for a path it does not serve. */
export type Route = (req: IncomingMessage, res: ServerResponse, path: string, answer: Answer) => boolean;

/**
 * HTTPS that requires a client certificate signed by `caCert` (mutual TLS): the PEM files of the server's
 * certificate and key and of the CA that client certificates must chain to. A client without one, with one of
 * another CA, or with an expired one is refused during the handshake, before any request is read.
 */
export interface StubTls {
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** Called for each refused handshake, with the reason (e.g. "peer did not return a certificate"). */
  onRefused?: (reason: string) => void;
}

/** The switches the registry stubs share for being slow, failing or unreachable, plus their HTTP serving. */
export interface Switchboard {
  /** Contract requests received so far, failed and dropped ones included. */
  readonly requests: number;
  /** Makes the next `n` contract requests answer `status` with a JSON error body. */
  failNext(n: number, status?: number): void;
  /** Delays every contract response by `ms`. */
  setDelay(ms: number): void;
  /** While down, contract requests get their connection destroyed without a response. */
  setDown(down: boolean): void;
  /** Clears the switches and the counter, then runs the stub's own `onReset`. */
  reset(): void;
  /** Current switches and counter. */
  state(): SwitchboardState;
  /** Serves `route` plus the `/__control` endpoints (over mutual TLS with `tls`); closing also cancels delayed responses. */
  listen(route: Route, port: number, host: string, tls?: StubTls): Promise<Listening>;
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function isErrorStatus(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 400 && v <= 599;
}

/** Creates a switchboard; `onReset` clears whatever extra the stub records (its data stays). */
export function createSwitchboard(onReset: () => void = () => {}): Switchboard {
  let requests = 0;
  let failRemaining = 0;
  let failStatus = 500;
  let delayMs = 0;
  let down = false;

  const board: Switchboard = {
    get requests() {
      return requests;
    },
    failNext(n, status = 500) {
      if (!isNonNegativeInteger(n)) throw new RangeError('failNext: n must be a non-negative integer');
      if (!isErrorStatus(status)) throw new RangeError('failNext: status must be an HTTP error status (400-599)');
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
      onReset();
    },
    state: () => ({ requests, failNext: failRemaining, delayMs, down }),
    listen,
  };

  /** Applies the JSON body of `POST /__control`; returns an error message when a field is malformed. */
  function applyControl(body: unknown): string | undefined {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object';
    const b = body as Record<string, unknown>;
    if (b.failNext !== undefined && !isNonNegativeInteger(b.failNext)) return 'failNext must be a non-negative integer';
    if (b.failStatus !== undefined && !isErrorStatus(b.failStatus)) return 'failStatus must be an HTTP error status (400-599)';
    if (b.delayMs !== undefined && !(typeof b.delayMs === 'number' && b.delayMs >= 0)) return 'delayMs must be a number >= 0';
    if (b.down !== undefined && typeof b.down !== 'boolean') return 'down must be a boolean';
    if (b.failStatus !== undefined && b.failNext === undefined) return 'failStatus only applies together with failNext';
    if (b.failNext !== undefined) board.failNext(b.failNext as number, (b.failStatus as number | undefined) ?? 500);
    if (b.delayMs !== undefined) board.setDelay(b.delayMs);
    if (b.down !== undefined) board.setDown(b.down);
    return undefined;
  }

  const handleControl = controlEndpoint({ state: () => board.state(), reset: () => board.reset(), apply: applyControl });

  async function listen(route: Route, port: number, host: string, tls?: StubTls): Promise<Listening> {
    // Delayed responses are tracked so closing the server does not leave timers holding the process open.
    const timers = new Set<NodeJS.Timeout>();

    function reply(res: ServerResponse, { status, body }: StubAnswer): void {
      if (delayMs === 0) return sendJson(res, status, body);
      const timer = setTimeout(() => {
        timers.delete(timer);
        sendJson(res, status, body);
      }, delayMs);
      timers.add(timer);
    }

    /**
     * The failure switch is consumed once the stub has decided, i.e. when the request (and its body) has arrived,
     * so a delay cannot reorder which requests fail; `decide` still runs for a failing request so the stub can
     * record what it was asked.
     */
    function failOr(decided: StubAnswer): StubAnswer {
      if (failRemaining <= 0) return decided;
      failRemaining -= 1;
      return { status: failStatus, body: { error: 'stub_failure', message: `simulated failure (HTTP ${failStatus})` } };
    }

    const answer: Answer = (req, res, decide) => {
      requests += 1;
      if (down) {
        req.socket.destroy();
        return;
      }
      const decided = decide();
      // A synchronous decision is answered in the same tick, as a plain handler would.
      if (!(decided instanceof Promise)) return reply(res, failOr(decided));
      decided
        .then((a) => reply(res, failOr(a)))
        .catch(() => sendJson(res, 500, { error: 'internal_error' }));
    };

    const handle: RequestListener = (req, res) => {
      const path = new URL(req.url ?? '/', 'http://stub').pathname;
      if (route(req, res, path, answer)) return;
      if (path.startsWith('/__control')) {
        handleControl(req, res, path).catch(() => sendJson(res, 500, { error: 'internal_error' }));
        return;
      }
      sendJson(res, 404, { error: 'not_found' });
    };

    let listening: Listening;
    if (tls) {
      const server = createHttpsServer({
        cert: fs.readFileSync(tls.serverCert), key: fs.readFileSync(tls.serverKey), ca: fs.readFileSync(tls.caCert),
        // Mutual TLS. The certificate is checked below rather than by `rejectUnauthorized`, which closes the
        // connection without saying why; either way no request is read from a client that did not verify.
        requestCert: true, rejectUnauthorized: false,
      }, handle);
      server.prependListener('secureConnection', (socket: TLSSocket) => {
        if (socket.authorized) return;
        // Without a certificate Node reports UNABLE_TO_GET_ISSUER_CERT; say what happened instead.
        const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
        tls.onRefused?.(presented ? String(socket.authorizationError) : 'no client certificate');
        socket.destroy();
      });
      server.on('tlsClientError', (err) => tls.onRefused?.(err.message));
      listening = await listenHttp(server, port, host, 'https');
    } else {
      listening = await listenHttp(createServer(handle), port, host);
    }
    return {
      url: listening.url,
      close: () => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        return listening.close();
      },
    };
  }

  return board;
}

/** The switches every registry stub's control offers, taken from its switchboard. */
export type StubSwitches = Pick<Switchboard, 'requests' | 'failNext' | 'setDelay' | 'setDown' | 'reset' | 'state'>;

/** A stub's control: the switchboard's switches plus the stub's own setters (`own`'s getters are kept). */
export function withSwitches<C extends StubSwitches>(board: Switchboard, own: Omit<C, keyof StubSwitches>): C {
  const control = Object.defineProperties({}, Object.getOwnPropertyDescriptors(own)) as C;
  Object.defineProperty(control, 'requests', { get: () => board.requests, enumerable: true });
  return Object.assign(control, { failNext: board.failNext, setDelay: board.setDelay, setDown: board.setDown, reset: board.reset, state: board.state });
}

/** A URL path segment decoded, or as it is when it is not valid percent-encoding (the stub then answers 400/404). */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The switches' HTTP endpoint every stub serves the same way: `GET /__control` shows them, `POST /__control` with a
 * JSON body sets them (400 naming what is wrong), `POST /__control/reset` clears them.
 */
export function controlEndpoint(switches: { state(): unknown; reset(): void; apply(body: unknown): string | undefined }) {
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (path === '/__control' && req.method === 'GET') return sendJson(res, 200, switches.state());
    if (path === '/__control/reset' && req.method === 'POST') {
      switches.reset();
      return sendJson(res, 200, switches.state());
    }
    if (path === '/__control' && req.method === 'POST') {
      let body: unknown;
      try {
        body = JSON.parse((await readBody(req)) || '{}');
      } catch {
        return sendJson(res, 400, { error: 'invalid_json' });
      }
      const problem = switches.apply(body);
      if (problem) return sendJson(res, 400, { error: 'invalid_control', message: problem });
      return sendJson(res, 200, switches.state());
    }
    sendJson(res, 404, { error: 'not_found' });
  };
}
