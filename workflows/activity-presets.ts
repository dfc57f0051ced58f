import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FailureType } from '../domain/failures';

// One retry preset per risk, shared by every workflow. Registries may be down for hours: retry forever with a
// capped backoff, never lose a case. Database writes are quick and idempotent. E-mail goes through the outbox,
// so retrying is safe.

/** Calls to state registries (Population Register, SOPA). */
export const registry = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes',
    nonRetryableErrorTypes: [FailureType.PersonNotFound, FailureType.SocialStatusRefused],
  },
});

/** Writes to the read model. */
export const db = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '1 minute' },
});

/**
 * E-mail through the outbox. The send heartbeats while it holds the outbox row's lease, so a crashed worker's send
 * is retried within seconds; one attempt (its wait for another attempt's lease, then one SMTP conversation with
 * the client's own timeouts, lib/mailer.ts) ends well inside startToCloseTimeout, so attempts never overlap. A
 * permanent refusal by the recipient's server is a result, not a failure: the workflow goes on.
 */
export const email = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '5 seconds', maximumInterval: '10 minutes' },
});

/**
 * Activities a person is waiting on (an offer's submission checks ask VIIS while the provider waits for the
 * answer): a few quick retries, then the provider is told to try again rather than kept waiting for an outage.
 */
export const interactive = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '4 seconds', maximumAttempts: 4 },
});
