/** An HTTP server that stops like a good citizen: refuse new work at once, finish the work in hand, then close. */
import http from 'node:http';

/** An http.Server with a clean stop. */
export interface DrainingServer {
  server: http.Server;
  /** Requests being answered right now. */
  readonly inFlight: number;
  /**
   * Stops listening, closes idle kept-alive connections and asks the clients of the requests in hand to reconnect
   * (`Connection: close`); waits up to graceMs for those requests, then cuts the connections still open. A request
   * that still reaches the app meanwhile is answered 503 with Retry-After instead of being handled.
   */
  drain(graceMs: number): Promise<void>;
}

/**
 * The HTTP server's timeouts, in one place (the API's server is this one). Node's defaults let a client that sends
 * part of a body and then goes quiet hold its request, and the memory of what it sent, for 300 s; a real upload
 * (10 MB) takes seconds even on a slow line, and headers take milliseconds.
 * - requestTimeout: a whole request (headers and body) must arrive within 2 minutes, or it is answered 408 and closed.
 * - headersTimeout: the headers must arrive within 20 s (a client dribbling headers holds a socket for nothing).
 * - keepAliveTimeout: an idle kept-alive connection is closed after 10 s; a browser reuses it for a page's next
 *   request within that. A reverse proxy put in front must close its idle connections sooner than this.
 * Node checks the first two every 30 s (connectionsCheckingInterval), so a stalled request ends within 150 s.
 */
export const SERVER_TIMEOUTS = { requestTimeoutMs: 120_000, headersTimeoutMs: 20_000, keepAliveTimeoutMs: 10_000 } as const;

// Answered outside Koa (the app is no longer asked), so the two languages of the message live here.
const SHUTTING_DOWN = {
  lv: 'Serveris tiek restartēts. Lūdzu, mēģiniet vēlreiz pēc dažām sekundēm.',
  en: 'The server is restarting. Please try again in a few seconds.',
};

/** Wraps a request handler (e.g. Koa's `app.callback()`) in a server that can drain; call server.listen yourself. */
export function createDrainingServer(handler: http.RequestListener): DrainingServer {
  let draining = false;
  const inFlight = new Set<http.ServerResponse>();
  let idle: (() => void) | undefined;
  const server = http.createServer((req, res) => {
    if (draining) {
      // A safety net (Node closes connections of a closing server after their answer): nothing new starts once we
      // are stopping, as a journey started now could find no worker to run it.
      const english = /^en\b/i.test(req.headers['accept-language'] ?? '');
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', connection: 'close', 'retry-after': '5' });
      res.end(JSON.stringify({ error: { code: 'shutting_down', message: english ? SHUTTING_DOWN.en : SHUTTING_DOWN.lv, details: [] } }));
      return;
    }
    inFlight.add(res);
    res.once('close', () => {
      inFlight.delete(res);
      if (inFlight.size === 0) idle?.();
    });
    handler(req, res);
  });
  server.requestTimeout = SERVER_TIMEOUTS.requestTimeoutMs;
  server.headersTimeout = SERVER_TIMEOUTS.headersTimeoutMs;
  server.keepAliveTimeout = SERVER_TIMEOUTS.keepAliveTimeoutMs;
  return {
    server,
    get inFlight() {
      return inFlight.size;
    },
    async drain(graceMs) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Keep-alive clients of the requests in hand are told to reconnect (to the next instance) after this answer.
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      if (inFlight.size > 0) {
        await new Promise<void>((resolve) => {
          idle = resolve;
          setTimeout(resolve, graceMs).unref();
        });
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
