import type { RegistryMetrics } from '../../lib/metrics';

/**
 * Clients of the national service platform (issue 17 item 6; contract in docs/contracts/service-accounting.md):
 * its service-accounting interface and the official e-address. Both are called by the worker's publisher
 * (worker/national-platform-publisher.ts), never by workflow activities, so a platform that is down holds up no
 * journey. Every call has a deadline and is timed under `service-platform` or `e-address` (the health panel).
 */

/** One status of one case, as the contract sends it. */
export interface ServiceStatus {
  idempotencyKey: string;
  serviceCode: string;
  /** The case's unique public id (cases.service_case_id, e.g. IMK-2026-000123). */
  caseId: string;
  /** 1, 2, 3 … per case, in the order the statuses happened. */
  sequence: number;
  status: string;
  channel: string;
  /** ISO 8601 with offset. */
  occurredAt: string;
}

/** The service-accounting interface: acknowledges a status (also a repeat of one it holds) or throws. */
export interface ServiceAccountingClient {
  publish(status: ServiceStatus): Promise<{ duplicate: boolean }>;
}

/**
 * The official e-address: delivers one message to a person's e-address. The contract also answers whether a person
 * has one (`GET /e-address/v1/persons/:personCode`), but delivering says so too (404 `no_e_address`): one call.
 */
export interface EAddressClient {
  /** The platform's message id, or null when the person has no e-address. */
  deliver(message: { idempotencyKey: string; personCode: string; subject: string; body: string; caseId: string }): Promise<{ messageId: string } | null>;
}

interface CallOptions { baseUrl: string; timeoutMs?: number; metrics?: RegistryMetrics }

// One JSON call under a deadline, timed; an answer other than those `accept` lists throws an Error naming the service.
async function call(opts: CallOptions & { name: string; metric: string; method: 'GET' | 'POST'; path: string; body?: unknown; accept: number[] }): Promise<{ status: number; json: Record<string, unknown> }> {
  const stopTimer = opts.metrics?.start(opts.metric);
  let outcome = 'error';
  try {
    const res = await fetch(`${opts.baseUrl}${opts.path}`, {
      method: opts.method, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      headers: { accept: 'application/json', ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    if (!opts.accept.includes(res.status)) throw new Error(`answered HTTP ${res.status} ${text.slice(0, 200)}`);
    let json: Record<string, unknown> = {};
    try {
      json = text ? JSON.parse(text) as Record<string, unknown> : {};
    } catch {
      throw new Error(`answered HTTP ${res.status} with a body that is not JSON`);
    }
    outcome = res.ok ? 'ok' : 'not_found';
    return { status: res.status, json };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new Error(`${opts.name}: ${cause ? `${cause} ` : ''}${(err as Error).message}`);
  } finally {
    stopTimer?.(outcome);
  }
}

/** Creates the service-accounting client. */
export function createServiceAccountingClient(opts: CallOptions): ServiceAccountingClient {
  return {
    async publish(status) {
      const answer = await call({ ...opts, name: 'Service platform', metric: 'service-platform', method: 'POST', path: '/service-accounting/v1/statuses', body: status, accept: [200, 201] });
      return { duplicate: answer.json.duplicate === true };
    },
  };
}

/** Creates the e-address client. */
export function createEAddressClient(opts: CallOptions): EAddressClient {
  return {
    async deliver(message) {
      const answer = await call({ ...opts, name: 'E-address', metric: 'e-address', method: 'POST', path: '/e-address/v1/messages', body: message, accept: [200, 201, 404] });
      if (answer.status === 404) {
        // Only the contract's own 404 means "no e-address"; any other (a wrong address) is an error to retry.
        if (answer.json.error === 'no_e_address') return null;
        throw new Error(`E-address: answered HTTP 404 ${JSON.stringify(answer.json).slice(0, 200)}`);
      }
      if (typeof answer.json.messageId !== 'string') throw new Error('E-address: answered without a messageId');
      return { messageId: answer.json.messageId };
    },
  };
}
