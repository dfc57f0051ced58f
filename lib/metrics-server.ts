import http from 'node:http';

/**
 * A listener of its own for Prometheus' /metrics, apart from the public port: per-route counts, error counts and
 * the Node version are of use to an attacker and to nobody outside the operators. It binds to 127.0.0.1 unless the
 * deployment says otherwise (METRICS_HOST, WORKER_METRICS_HOST: e.g. 0.0.0.0 inside a container network whose
 * Prometheus scrapes it, never a published port).
 */
export function serveMetrics(opts: {
  host: string;
  port: number;
  /** The text to serve and its content type, made per request. */
  render: () => Promise<{ contentType: string; body: string }>;
  onError?: (err: unknown) => void;
}): http.Server {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    opts.render().then(({ contentType, body }) => {
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body);
    }, (err: unknown) => {
      opts.onError?.(err);
      res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n');
    });
  });
  server.listen(opts.port, opts.host);
  return server;
}
