/**
 * How the drill judges each HTTP answer it gets while faults come and go: a 2xx or 4xx is an answer, a 503 with
 * the uniform error body and Retry-After is the documented "a dependency is down", anything else (another 5xx, a
 * 503 without that body, no answer within 10 s, a refused connection) is a defect.
 */

/** Longest an answer may take, during an outage too (DESIGN.md habit 15). */
export const ANSWER_DEADLINE_MS = 10_000;

/** What one request came to. */
export type AnswerKind = 'ok' | 'client-error' | 'unavailable' | 'bad-503' | 'server-error' | 'timeout' | 'no-connection';

/**
 * Sorts one answer: its status, body, Retry-After and content type. A 503 counts as the documented outage answer
 * only with Retry-After and one of the documented bodies: the uniform error body (API), a page saying what is
 * down (pages), or the health report naming the dependency (`/api/health`, `/api/ready`).
 */
export function classifyAnswer(status: number, body: string, retryAfter: string | null, contentType = 'application/json'): AnswerKind {
  if (status >= 200 && status < 400) return 'ok';
  if (status >= 400 && status < 500) return 'client-error';
  if (status !== 503) return 'server-error';
  const documented = contentType.startsWith('text/html') ? /<html/i.test(body) : isUniformErrorBody(body) || isHealthReport(body);
  return retryAfter !== null && documented ? 'unavailable' : 'bad-503';
}

/** Whether a body is the health report of /api/health and /api/ready saying something is down. */
export function isHealthReport(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as { status?: unknown; dependencies?: unknown };
    return parsed.status === 'down' && typeof parsed.dependencies === 'object' && parsed.dependencies !== null;
  } catch {
    return false;
  }
}

/** Whether a body is exactly `{"error":{"code","message","details"}}` (pages answer HTML, which does not count). */
export function isUniformErrorBody(body: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  if (typeof parsed !== 'object' || parsed === null || Object.keys(parsed).join() !== 'error') return false;
  const error = (parsed as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, details } = error as Record<string, unknown>;
  return Object.keys(error).sort().join() === 'code,details,message' && typeof code === 'string' && typeof message === 'string' && Array.isArray(details);
}

/** Figures of one phase of the drill: a fault's window, or the time outside every fault. */
export interface PhaseFigures {
  name: string;
  /** How long the phase lasted (for "outside faults": the sum of the gaps). */
  durationMs: number;
  requests: number;
  byKind: Record<AnswerKind, number>;
  maxAnswerMs: number;
  journeysStarted: number;
  /** Whether this phase is an outage (503 allowed) or the time outside faults (no 5xx at all). */
  outage: boolean;
  /** A few examples of what went wrong, for the log. */
  examples: string[];
}

/** Empty figures for a phase. */
export function newPhase(name: string, outage: boolean): PhaseFigures {
  return {
    name, durationMs: 0, requests: 0, maxAnswerMs: 0, journeysStarted: 0, outage, examples: [],
    byKind: { ok: 0, 'client-error': 0, unavailable: 0, 'bad-503': 0, 'server-error': 0, timeout: 0, 'no-connection': 0 },
  };
}

/** Adds one request's outcome to a phase. */
export function recordAnswer(phase: PhaseFigures, kind: AnswerKind, ms: number, what: string): void {
  phase.requests += 1;
  phase.byKind[kind] += 1;
  phase.maxAnswerMs = Math.max(phase.maxAnswerMs, ms);
  const defect = ['server-error', 'bad-503', 'timeout', 'no-connection'].includes(kind) || (!phase.outage && kind === 'unavailable') || ms > ANSWER_DEADLINE_MS;
  if (defect && phase.examples.length < 5) phase.examples.push(`${what}: ${kind} after ${ms} ms`);
}

/** What is wrong with a phase's answers (empty when it met every target). */
export function phaseProblems(phase: Pick<PhaseFigures, 'name' | 'byKind' | 'maxAnswerMs' | 'outage'>): string[] {
  const problems: string[] = [];
  const { byKind } = phase;
  if (byKind['server-error'] > 0) problems.push(`${byKind['server-error']} answers 5xx other than 503`);
  if (byKind['bad-503'] > 0) problems.push(`${byKind['bad-503']} answers 503 without the uniform body and Retry-After`);
  if (!phase.outage && byKind.unavailable > 0) problems.push(`${byKind.unavailable} answers 503 outside an outage`);
  if (byKind.timeout > 0) problems.push(`${byKind.timeout} requests unanswered within ${ANSWER_DEADLINE_MS / 1000} s`);
  if (byKind['no-connection'] > 0) problems.push(`${byKind['no-connection']} requests whose connection failed`);
  if (phase.maxAnswerMs > ANSWER_DEADLINE_MS) problems.push(`an answer took ${phase.maxAnswerMs} ms`);
  return problems;
}
