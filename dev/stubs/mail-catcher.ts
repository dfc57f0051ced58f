import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { listenHttp, sendHtml, sendJson } from './http';
import { renderMessage, renderMessageList, type CaughtMessage } from './mail-catcher-pages';

export type { CaughtMessage } from './mail-catcher-pages';

/** Where a running mail catcher can be reached. */
export interface MailCatcherListening {
  smtpPort: number;
  httpUrl: string;
  close(): Promise<void>;
}

/** An in-memory SMTP sink with an HTTP viewer and helpers for tests. */
export interface MailCatcher {
  listen(opts?: { smtpPort?: number; httpPort?: number; host?: string }): Promise<MailCatcherListening>;
  /** All messages caught so far, oldest first. */
  messages(): CaughtMessage[];
  /** Resolves with the first message (already caught or arriving later) matching `pred`; rejects after `timeoutMs`. */
  waitFor(pred: (m: CaughtMessage) => boolean, timeoutMs?: number): Promise<CaughtMessage>;
  /** Forgets all caught messages. */
  clear(): void;
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
        onData(stream, session, callback) {
          simpleParser(stream)
            .then((parsed) => {
              const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
              store({
                id: String(nextId++),
                from: parsed.from?.text ?? envelopeFrom,
                to: session.envelope.rcptTo.map((r) => r.address),
                subject: parsed.subject ?? '',
                text: parsed.text ?? '',
                html: parsed.html || '',
                date: (parsed.date ?? new Date()).toISOString(),
                messageId: parsed.messageId ?? '',
              });
              callback();
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
      const closeSmtp = (): Promise<void> => new Promise((resolve) => smtp.close(() => resolve()));
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
  };
}
