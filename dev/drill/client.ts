/**
 * The drill's HTTP client: every request has the 10 s deadline, and every answer is sorted (answers.ts) into the
 * figures of the fault whose window it overlaps (sent during it, or answered during it), else of the time outside
 * faults. Faults are 10 s apart, so a request overlaps at most one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ANSWER_DEADLINE_MS, classifyAnswer, newPhase, recordAnswer, type AnswerKind, type PhaseFigures } from './answers';

/** One answer, read whole; status 0 when there was none (timeout, refused connection). */
export interface DrillAnswer { status: number; kind: AnswerKind; headers: Headers; text: string; json: unknown; ms: number }

/** How to send a request. */
export interface RequestOptions {
  token?: string;
  cookie?: string;
  json?: unknown;
  form?: Record<string, string>;
  body?: FormData;
  html?: boolean;
}

/** The phases the answers are counted in; `current` is switched by the fault runner. */
export class Phases {
  readonly outside = newPhase('outside faults', false);
  readonly faults: PhaseFigures[] = [];
  current: PhaseFigures = this.outside;

  /** Starts a fault's window: answers to requests sent from now on count there. */
  begin(name: string): PhaseFigures {
    const phase = newPhase(name, true);
    this.faults.push(phase);
    this.current = phase;
    return phase;
  }

  /** Ends the fault's window. */
  end(): void {
    this.current = this.outside;
  }
}

/** A client of one base URL whose answers are counted in `phases`. */
export function drillClient(baseUrl: string, phases: Phases) {
  return async (method: string, path: string, opts: RequestOptions = {}): Promise<DrillAnswer> => {
    const sentIn = phases.current;
    const headers: Record<string, string> = { accept: opts.html ? 'text/html' : 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.cookie) headers.cookie = opts.cookie;
    let body: string | FormData | undefined = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    }
    if (opts.form) {
      body = new URLSearchParams(opts.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const started = Date.now();
    let answer: DrillAnswer;
    try {
      // A little past the deadline, so an answer at 10.2 s is seen as late rather than as no answer.
      const res = await fetch(`${baseUrl}${path}`, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(ANSWER_DEADLINE_MS + 2_000) });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      answer = { status: res.status, kind: classifyAnswer(res.status, text, res.headers.get('retry-after'), res.headers.get('content-type') ?? ''), headers: res.headers, text, json, ms: Date.now() - started };
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
      answer = { status: 0, kind: timedOut ? 'timeout' : 'no-connection', headers: new Headers(), text: String(err), json: undefined, ms: Date.now() - started };
    }
    // A request sent just before a fault began may meet it: it counts with the fault.
    const phase = sentIn === phases.outside ? phases.current : sentIn;
    recordAnswer(phase, answer.kind, answer.ms, `${method} ${path.replace(/[0-9a-f-]{36}/g, ':id')}`);
    return answer;
  };
}

/** A client made by drillClient. */
export type DrillClient = ReturnType<typeof drillClient>;

/** Thrown when a step could not be done before its deadline; the journey is then reported as not driven. */
export class StepGaveUp extends Error {}

/**
 * Sends a request until its answer is one `accept` takes, as a patient client would: a 503, a timeout or a
 * failed connection is tried again after a pause; any other answer `accept` refuses ends the step with an error.
 */
export async function until<T>(what: string, send: () => Promise<DrillAnswer>, accept: (answer: DrillAnswer) => T | undefined, deadlineMs = 8 * 60_000): Promise<T> {
  const giveUpAt = Date.now() + deadlineMs;
  for (;;) {
    const answer = await send();
    const taken = accept(answer);
    if (taken !== undefined) return taken;
    const transient = answer.status === 0 || answer.status >= 500 || answer.status === 409 || answer.status === 425;
    if (!transient) throw new StepGaveUp(`${what}: HTTP ${answer.status} ${answer.text.slice(0, 300)}`);
    if (Date.now() > giveUpAt) throw new StepGaveUp(`${what}: still HTTP ${answer.status} after ${deadlineMs / 1000} s: ${answer.text.slice(0, 300)}`);
    await sleep(2_000);
  }
}
