import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../../lib/logger';
import type { Metrics } from '../../lib/metrics';
import { learnerJourneyId } from '../../workflows/ids';

/** Logs one JSON line per request (with the case and workflow id when the route names a case) and times it. */
export function requestLogMiddleware(logger: Logger, metrics: Metrics) {
  return async (ctx: Context, next: Next) => {
    const requestId = ctx.get('x-request-id') || randomUUID();
    ctx.set('x-request-id', requestId);
    ctx.state.log = logger.child({ requestId });
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      metrics.httpRequests.observe({ method: ctx.method, route: String(route), status: String(ctx.status) }, seconds);
      const caseId = ctx.params?.caseId as string | undefined;
      ctx.state.log.info('request', {
        method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(seconds * 1000),
        ...(caseId ? { caseId, workflowId: learnerJourneyId(caseId) } : {}),
      });
    }
  };
}
