import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { listenHttp, sendHtml, sendJson } from './http';
import { renderMessage, renderMessageList, type CaughtMessage } from './mail-catcher-pages';
import { controlEndpoint } from './switchboard';

export type { CaughtMessage } from './mail-catcher-pages';

/** Where a running mail catcher can be reached. */
export interface MailCatcherListening {
  smtpPort: number;
  httpUrl: string;
  close(): Promise<void>;
}

/** Where the catcher holds its reply: the greeting of a new connection, or the reply to the end of DATA. */
export type StallPoint = 'connect' | 'data';

/** Snapshot of the catcher's switches, as `GET /__control` returns it. */
export interface MailCatcherState {
  /** Replies still to hold (`null`: every one until reset), where, and for how long. */
  stall: { at: StallPoint; ms: number; remaining: number | null } | null;
  /** Addresses refused with a permanent 550 at RCPT TO (lower case). */
  rejectAddresses: string[];
}

/**
 * Switches for making the SMTP side slow or refusing, like the registry stubs' `/__control` (also served over
 * HTTP on the catcher's web port: `GET /__control`, `POST /__control` with a JSON body of the same names,
 * `POST /__control/reset`).
 */
export interface MailCatcherControl {
  /**
   * Holds the next `count` replies at `at` (all of them when `count` is omitted) for `ms`: `connect` holds the
   * greeting of a new connection, `data` the reply to the end of a message. A message whose sender hangs up
   * before the held reply is sent is not caught (as a server that had not yet taken it over, e.g. one still
   * running its content filter).
   */
  stall(opts: { ms: number; at?: StallPoint; count?: number }): void;
  /** Refuses `address` for good: RCPT TO gets `550 5.1.1 <address>: no such user`. */
  rejectAddress(address: string): void;
  /** Clears every switch (caught messages stay; `clear` forgets those). */
  reset(): void;
  /** Current switches. */
  state(): MailCatcherState;
}

/** An in-memory SMTP sink with an HTTP viewer and helpers for tests. */
export interface MailCatcher extends MailCatcherControl {
  listen(opts?: { smtpPort?: number; httpPort?: number; host?: string }): Promise<MailCatcherListening>;
  /** All messages caught so far, oldest first. */
  messages(): CaughtMessage[];
  /** Resolves with the first message (already caught or arriving later) matching `pred`; rejects after `timeoutMs`. */
  waitFor(pred: (m: CaughtMessage) => boolean, timeoutMs?: number): Promise<CaughtMessage>;
  /** Forgets all caught messages. */
  clear(): void;
  /** How many SMTP connections senders opened so far (a pooled sender keeps reusing a few). */
  connectionsOpened(): number;
}

interface Waiter {
  pred: (m: CaughtMessage) => boolean;
  resolve: (m: CaughtMessage) => void;
  reject: (err: unknown) => void;
}

/** Creates a mail catcher; nothing listens until `listen` is called. */
export function createMailCatcher(): MailCatcher {
  const caught: CaughtMessage[] = [];
  const waiters = new Set<Waiter>();
  let nextId = 1;
  let stall: MailCatcherState['stall'] = null;
  const rejected = new Set<string>();
  // Connections still open, so a held reply knows whether anybody is listening any more.
  const openSessions = new Set<string>();
  let connectionsOpened = 0;
  // Held replies, cancelled when the catcher closes so no timer keeps the process alive.
  const held = new Set<NodeJS.Timeout>();

  const control: MailCatcherControl = {
    stall({ ms, at = 'data', count }) {
      if (!(typeof ms === 'number' && ms >= 0)) throw new RangeError('stall: ms must be a number >= 0');
      if (at !== 'connect' && at !== 'data') throw new RangeError('stall: at must be "connect" or "data"');
      if (count !== undefined && !(Number.isInteger(count) && count >= 0)) throw new RangeError('stall: count must be a non-negative integer');
      stall = { at, ms, remaining: count ?? null };
    },
    rejectAddress(address) {
      if (typeof address !== 'string' || !address.includes('@')) throw new RangeError('rejectAddress: address must be an e-mail address');
      rejected.add(address.toLowerCase());
    },
    reset() {
      stall = null;
      rejected.clear();
    },
    state: () => ({ stall: stall && { ...stall }, rejectAddresses: [...rejected] }),
  };

  /** How long to hold the reply at `at` (consuming one from the count), or 0. */
  function takeStall(at: StallPoint): number {
    if (!stall || stall.at !== at || stall.remaining === 0) return 0;
    if (stall.remaining !== null) stall.remaining -= 1;
    return stall.ms;
  }

  function hold(ms: number, then: () => void): void {
    if (ms === 0) return then();
    const timer = setTimeout(() => {
      held.delete(timer);
      then();
    }, ms);
    held.add(timer);
  }

  /** Applies the JSON body of `POST /__control`; returns an error message when a field is malformed. */
  function applyControl(body: unknown): string | undefined {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object';
    const b = body as { stall?: unknown; rejectAddresses?: unknown };
    try {
      if (b.stall !== undefined) {
        if (typeof b.stall !== 'object' || b.stall === null) return 'stall must be an object { ms, at?, count? }';
        control.stall(b.stall as { ms: number; at?: StallPoint; count?: number });
      }
      if (b.rejectAddresses !== undefined) {
        if (!Array.isArray(b.rejectAddresses)) return 'rejectAddresses must be an array of e-mail addresses';
        for (const address of b.rejectAddresses) control.rejectAddress(address as string);
      }
    } catch (err) {
      return (err as Error).message;
    }
    return undefined;
  }

  const handleControl = controlEndpoint({ state: () => control.state(), reset: () => control.reset(), apply: applyControl });

  /** Returns whether the waiter is settled (matched, or its predicate threw). */
  function offer(w: Waiter, m: CaughtMessage): boolean {
    try {
      if (!w.pred(m)) return false;
      w.resolve(m);
    } catch (err) {
      w.reject(err);
    }
    return true;
  }

  function store(m: CaughtMessage): void {
    caught.push(m);
    for (const w of waiters) if (offer(w, m)) waiters.delete(w);
  }

  function handleHttp(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://stub').pathname;
    if (path.startsWith('/__control')) {
      handleControl(req, res, path).catch(() => sendJson(res, 500, { error: 'internal_error' }));
      return;
    }
    if (path === '/api/messages' && req.method === 'GET') return sendJson(res, 200, caught);
    if (path === '/api/messages' && req.method === 'DELETE') {
      caught.length = 0;
      res.writeHead(204).end();
      return;
    }
    if (path === '/' && req.method === 'GET') return sendHtml(res, 200, renderMessageList(caught));
    const one = /^\/messages\/([^/]+)$/.exec(path);
    const message = one && req.method === 'GET' ? caught.find((m) => m.id === one[1]) : undefined;
    if (message) return sendHtml(res, 200, renderMessage(message));
    sendJson(res, 404, { error: 'not_found' });
  }

  return {
    async listen(opts = {}) {
      const host = opts.host ?? '127.0.0.1';
      const smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        banner: 'mail catcher (development stub)',
        // Senders normally QUIT right away; this only bounds how long close() waits for a stuck one.
        closeTimeout: 1000,
        onConnect(session, callback) {
          openSessions.add(session.id);
          connectionsOpened += 1;
          hold(takeStall('connect'), () => callback());
        },
        onRcptTo(address, _session, callback) {
          if (!rejected.has(address.address.toLowerCase())) return callback();
          const refusal = Object.assign(new Error(`5.1.1 <${address.address}>: no such user (mail catcher)`), { responseCode: 550 });
          callback(refusal);
        },
        onClose(session) {
          openSessions.delete(session.id);
        },
        onData(stream, session, callback) {
          simpleParser(stream)
            .then((parsed) => {
              const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
              const message: Omit<CaughtMessage, 'id'> = {
                from: parsed.from?.text ?? envelopeFrom,
                to: session.envelope.rcptTo.map((r) => r.address),
                subject: parsed.subject ?? '',
                text: parsed.text ?? '',
                html: parsed.html || '',
                date: (parsed.date ?? new Date()).toISOString(),
                messageId: parsed.messageId ?? '',
              };
              hold(takeStall('data'), () => {
                if (!openSessions.has(session.id)) return callback(new Error('sender hung up'));
                store({ id: String(nextId++), ...message });
                callback();
              });
            })
            .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
        },
      });
      await new Promise<void>((resolve, reject) => {
        smtp.once('error', reject);
        smtp.listen(opts.smtpPort ?? 0, host, () => {
          smtp.off('error', reject);
          resolve();
        });
      });
      const closeSmtp = (): Promise<void> => {
        for (const timer of held) clearTimeout(timer);
        held.clear();
        return new Promise((resolve) => smtp.close(() => resolve()));
      };
      const smtpPort = (smtp.server.address() as AddressInfo).port;
      const http = await listenHttp(createServer(handleHttp), opts.httpPort ?? 0, host).catch(async (err: unknown) => {
        await closeSmtp();
        throw err;
      });
      return {
        smtpPort,
        httpUrl: http.url,
        close: async () => {
          await Promise.all([closeSmtp(), http.close()]);
        },
      };
    },
    messages: () => [...caught],
    connectionsOpened: () => connectionsOpened,
    waitFor(pred, timeoutMs = 10_000) {
      return new Promise<CaughtMessage>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const subjects = caught.map((m) => JSON.stringify(m.subject));
          reject(
            new Error(
              `mail catcher: no matching message within ${timeoutMs} ms; ` +
                `${caught.length} message(s) seen${subjects.length ? `: ${subjects.join(', ')}` : ''}`,
            ),
          );
        }, timeoutMs);
        const waiter: Waiter = {
          pred,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        };
        for (const m of caught) if (offer(waiter, m)) return;
        waiters.add(waiter);
      });
    },
    clear() {
      caught.length = 0;
    },
    ...control,
  };
}
