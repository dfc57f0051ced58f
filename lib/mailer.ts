import nodemailer, { type Transporter } from 'nodemailer';

/**
 * How long the SMTP client waits at each step. Nodemailer's defaults (2 minutes to connect, 10 minutes of socket
 * silence) outlast the send activity, so a slow server used to get a second, overlapping attempt; these stay well
 * below the e-mail preset's startToCloseTimeout (workflows/activity-presets.ts), so an attempt ends by itself.
 */
export const SMTP_TIMEOUTS = {
  dnsTimeout: 5_000,
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  /** Silence on the socket, e.g. a server holding its reply to DATA. */
  socketTimeout: 30_000,
} as const;

/**
 * The sending pool: a handful of kept-open connections instead of a new one per message (a new connection cost
 * about 107 ms of a journey's ~645 ms of activity time; a pooled send to the mail catcher about 3 ms). Five
 * connections serve the worker's concurrent e-mail activities; a connection is renewed after 100 messages so a
 * server's per-connection limits are never reached. A connection the server closed while idle is dropped by the
 * pool and the next message opens a new one; a message whose connection closed under it is queued again on
 * another connection (nodemailer's requeue), so a restarted server loses nothing.
 */
export const SMTP_POOL = { maxConnections: 5, maxMessages: 100 } as const;

/**
 * A pooled SMTP transport for sending (`smtpUrl`: smtp://host:port, smtps://user:pass@host) with the timeouts
 * above. The health check does not use it: it greets the server on its own connection (api/services/health.ts).
 */
export function createMailTransport(smtpUrl: string, timeouts: Partial<typeof SMTP_TIMEOUTS> = {}): Transporter {
  return nodemailer.createTransport({ url: smtpUrl, pool: true, ...SMTP_POOL, ...SMTP_TIMEOUTS, ...timeouts });
}

/**
 * The server's reply when it refused a message for good: a 5xx reply to RCPT TO (e.g. "550 5.1.1 no such user")
 * or to DATA. Anything else (4xx, timeouts, refused connections, a 5xx to our own login or sender) is temporary
 * or ours to fix, and worth retrying.
 */
export function permanentRejection(err: unknown): string | null {
  if (typeof err !== 'object' || err === null) return null;
  const { responseCode, command, response } = err as { responseCode?: unknown; command?: unknown; response?: unknown };
  if (typeof responseCode !== 'number' || responseCode < 500 || responseCode > 599) return null;
  if (command !== 'RCPT TO' && command !== 'DATA') return null;
  return typeof response === 'string' ? response : String(responseCode);
}
