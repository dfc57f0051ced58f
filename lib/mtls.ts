import { readFileSync } from 'node:fs';
import https from 'node:https';

/**
 * HTTPS with a client certificate (mutual TLS), as the SOPA agreement requires. Node 20's global fetch cannot
 * present a client certificate (that needs undici's own Agent), node:https can.
 */

/** PEM files of a client certificate, its key and the CA that signed the server's certificate (null: public CAs). */
export interface ClientTlsFiles {
  certPath: string;
  keyPath: string;
  caPath: string | null;
}

/**
 * A keep-alive agent presenting the client certificate. The files are read now, so a wrong path stops the process
 * at start instead of failing every request.
 */
export function clientTlsAgent(files: ClientTlsFiles): https.Agent {
  return new https.Agent({
    cert: readFileSync(files.certPath), key: readFileSync(files.keyPath),
    ...(files.caPath ? { ca: readFileSync(files.caPath) } : {}),
    keepAlive: true,
  });
}

/** A bare HTTP answer. */
export interface TlsAnswer { status: number; text: string }

/** One request through `agent`; rejects on transport errors (a refused handshake included) and after `timeoutMs`. */
export function tlsRequest(url: string, opts: {
  agent: https.Agent; method?: string; body?: string; headers?: Record<string, string>; timeoutMs: number;
}): Promise<TlsAnswer> {
  return new Promise<TlsAnswer>((resolve, reject) => {
    const headers = { ...opts.headers, ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}) };
    const req = https.request(url, { method: opts.method ?? 'GET', agent: opts.agent, headers, signal: AbortSignal.timeout(opts.timeoutMs) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
      // A connection cut mid-body ends with 'close' but no 'end'; without this the promise would hang.
      res.on('close', () => { if (!res.complete) reject(new Error('response ended before it was complete')); });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
