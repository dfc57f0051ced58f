import { status as GrpcStatus } from '@grpc/grpc-js';
import { WorkflowUpdateRPCTimeoutOrCancelledError, isGrpcServiceError } from '@temporalio/client';

/**
 * Telling "a service we depend on is down" apart from "our bug": the first is a 503 with Retry-After that names the
 * service, the second a 500. Shared by the API's error middleware, its health checks and the journey start.
 */

/** The services the API and the worker cannot work without, as health reports and 503 answers name them. */
export type Dependency = 'temporal' | 'postgresql' | 'smtp';

/** Thrown where code knows a dependency is unreachable (e.g. a start whose outcome Temporal could not confirm). */
export class DependencyUnavailableError extends Error {
  constructor(readonly dependency: Dependency, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

// gRPC answers that mean "no answer from the server": it is down, unreachable, or mute past the call's deadline.
const TEMPORAL_DOWN = new Set<number>([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED]);

// Socket errors of a connection attempt; the API's only plain-socket dependency is PostgreSQL (fetch wraps its own
// errors in a TypeError, and gRPC in a ServiceError, so neither reaches this test as the error itself).
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

// SQLSTATEs of a server that is going away or refusing connections: class 08 (connection exception), 57P01-57P03
// (shutdown, crash, cannot connect now), 53300 (too many connections), 57014 (statement timeout).
const PG_DOWN_STATES = /^(08...|57P0[123]|53300|57014)$/;

// pg and knex say it in words: a dropped connection, the client-side query timeout, a pool that cannot connect,
// and pg's own connect timeout ("timeout expired", which races knex's pool timeout when many requests wait).
const PG_DOWN_MESSAGES = /Connection terminated|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error|^timeout expired$/i;

/** Which dependency an error says is unreachable, or null when the error is anything else. */
export function unreachableDependency(err: unknown): Dependency | null {
  if (err instanceof DependencyUnavailableError) return err.dependency;
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && TEMPORAL_DOWN.has(e.code)) return 'temporal';
    // An Update's long poll that ended without the workflow's answer: past its deadline, or cancelled by the
    // server as that deadline passed (gRPC CANCELLED, seen in the fault drill). Either way Temporal did not answer.
    if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return 'temporal';
  }
  const e = err as { name?: string; code?: unknown; message?: unknown; nativeError?: { code?: unknown } };
  if (err instanceof TypeError) return null;
  if (e?.name === 'KnexTimeoutError') return 'postgresql';
  const code = typeof e?.code === 'string' ? e.code : typeof e?.nativeError?.code === 'string' ? e.nativeError.code : '';
  if (SOCKET_CODES.has(code) || PG_DOWN_STATES.test(code)) return 'postgresql';
  if (typeof e?.message === 'string' && PG_DOWN_MESSAGES.test(e.message)) return 'postgresql';
  return null;
}

/** Whether a Temporal call failed before it could reach the server (nothing was started or changed). */
export function neverReachedTemporal(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e)) {
      return e.code === GrpcStatus.UNAVAILABLE && /No connection established|ECONNREFUSED|connect E/i.test(e.details ?? e.message);
    }
  }
  return false;
}

/** Seconds a client should wait before trying again after a 503 (the Retry-After header). */
export const RETRY_AFTER_SECONDS = 10;
