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
      res.end(JSON.stringify({ error: { code: 'shutting_down', message: english ? SHUTTING_DOWN.en : SHUTTING_DOWN.lv, details: {} } }));
      return;
    }
    inFlight.add(res);
    res.once('close', () => {
      inFlight.delete(res);
      if (inFlight.size === 0) idle?.();
    });
    handler(req, res);
  });
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
