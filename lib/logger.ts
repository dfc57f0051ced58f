/**
 * JSON-lines logger shared by the API and the worker. Every line carries the time, level and message, plus the
 * case id and workflow id when known, so one case can be followed across processes with grep.
 */

/** Log levels in increasing severity. */
export type Level = 'debug' | 'info' | 'warn' | 'error';

/** Structured fields attached to a log line. */
export type Fields = Record<string, unknown>;

/** A logger writing one JSON object per line. */
export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * The level a process logs from: LOG_LEVEL if set (the fuzz stage runs its stack at warn, so its output is not
 * thousands of request lines), otherwise info. A value that is not a level stops the process at start.
 */
export function defaultLogLevel(env: NodeJS.ProcessEnv = process.env): Level {
  const asked = env.LOG_LEVEL?.trim();
  if (!asked) return 'info';
  if (!(asked in order)) throw new Error(`LOG_LEVEL must be one of ${Object.keys(order).join(', ')}, got ${asked}`);
  return asked as Level;
}

/** Creates a logger for a service ("api", "worker"); lines below minLevel are dropped. */
export function createLogger(service: string, minLevel: Level = defaultLogLevel(), base: Fields = {},
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Logger {
  const log = (level: Level, msg: string, fields: Fields = {}) => {
    if (order[level] < order[minLevel]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, service, msg, ...base, ...fields }, errorReplacer));
  };
  return {
    debug: (msg, fields) => log('debug', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
    child: (fields) => createLogger(service, minLevel, { ...base, ...fields }, write),
  };
}

// Errors have no enumerable fields; keep their message and stack (logs are the one place stacks belong).
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}
