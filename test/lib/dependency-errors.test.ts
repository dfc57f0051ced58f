/** Which failures are "a dependency is down" (503 with Retry-After) rather than our bug (500). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import test from 'ava';
import Koa from 'koa';
import { errorMiddleware } from '../../api/middleware/errors';
import { unreachableDependency } from '../../lib/dependency-errors';

/** A gRPC error as @grpc/grpc-js raises it for a call that ended with `code`. */
function grpcError(code: GrpcStatus, details: string): Error {
  return Object.assign(new Error(`${code} ${GrpcStatus[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

/** The SDK's error for an Update whose long poll ended without the workflow's answer, as executeUpdate throws it. */
const updateCancelled = () => new WorkflowUpdateRPCTimeoutOrCancelledError('Call cancelled', { cause: grpcError(GrpcStatus.CANCELLED, 'Call cancelled') });

test('an Update whose poll the server cancelled at its deadline is Temporal not answering, like one past its deadline', (t) => {
  // Found by the fault drill: a journey busy sending an e-mail to a stalled SMTP server does not answer an apply
  // Update; the long poll ends at 10 s sometimes as DEADLINE_EXCEEDED (503) and sometimes as CANCELLED (was a 500).
  t.is(unreachableDependency(updateCancelled()), 'temporal');
  t.is(unreachableDependency(new WorkflowUpdateRPCTimeoutOrCancelledError('Deadline exceeded', { cause: grpcError(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded') })), 'temporal');
  // Other failures stay ours.
  t.is(unreachableDependency(grpcError(GrpcStatus.INVALID_ARGUMENT, 'bad request')), null);
  t.is(unreachableDependency(new Error('Call cancelled')), null);
});

test('the API answers such an Update with 503, the uniform body and Retry-After, not 500', async (t) => {
  const app = new Koa();
  app.use(errorMiddleware());
  app.use(() => {
    throw updateCancelled();
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/learner/journeys/x/applications`, {
      method: 'POST', headers: { accept: 'application/json' },
    });
    t.is(res.status, 503);
    t.is(res.headers.get('retry-after'), '10');
    const body = (await res.json()) as { error: { code: string; message: string; details: unknown[] } };
    t.deepEqual(Object.keys(body.error).sort(), ['code', 'details', 'message']);
    t.is(body.error.code, 'service_unavailable');
  } finally {
    server.close();
  }
});
