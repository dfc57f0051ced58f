import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { isUuid } from '../domain/uuid';

/** Workflow ids, task queues and search attributes, in one place so API, worker and console agree. */

const LEARNER_JOURNEY_PREFIX = 'learner-journey:';

/** The workflow id of a learner's journey: one per case. */
export function learnerJourneyId(caseId: string): string {
  return `${LEARNER_JOURNEY_PREFIX}${caseId}`;
}

/** The case id inside a learner-journey workflow id, or null if the id is not one. */
export function parseLearnerJourneyId(workflowId: string): string | null {
  if (!workflowId.startsWith(LEARNER_JOURNEY_PREFIX)) return null;
  const caseId = workflowId.slice(LEARNER_JOURNEY_PREFIX.length);
  return isUuid(caseId) ? caseId : null;
}

const POPULATION_RECHECK = 'population-recheck';

/**
 * The workflow id of one Population Register re-check run, e.g. `population-recheck:scheduled` (the schedule's
 * runs; the server appends the start time) or `population-recheck:manual-<uuid>`.
 */
export function populationRecheckId(runKey: string): string {
  return `${POPULATION_RECHECK}:${runKey}`;
}

/** The id of the schedule that starts the re-check; tests pass a suffix so their schedule is their own. */
export function populationRecheckScheduleId(suffix = ''): string {
  return suffix ? `${POPULATION_RECHECK}:${suffix}` : POPULATION_RECHECK;
}

/** The default task queue the worker polls; overridable by TEMPORAL_TASK_QUEUE. */
export const DEFAULT_TASK_QUEUE = 'learning-accounts';

/** Custom search attributes the workflows set; registered on the server at start. */
export const searchAttributes = {
  caseId: defineSearchAttributeKey('CaseId', SearchAttributeType.KEYWORD),
  serviceCaseId: defineSearchAttributeKey('ServiceCaseId', SearchAttributeType.KEYWORD),
  programme: defineSearchAttributeKey('Programme', SearchAttributeType.KEYWORD),
  journeyStage: defineSearchAttributeKey('JourneyStage', SearchAttributeType.KEYWORD),
};

/** The same attributes as name → type, the form the dev server's command line and operator API take. */
export const searchAttributeTypes: Record<string, 'Keyword'> = {
  CaseId: 'Keyword',
  ServiceCaseId: 'Keyword',
  Programme: 'Keyword',
  JourneyStage: 'Keyword',
};

const PROVIDER_REGISTRATION_PREFIX = 'provider-registration:';
const PROVIDER_OFFER_PREFIX = 'provider-offer:';

/** The workflow id of a provider's registration (onboarding): one per provider. */
export function providerRegistrationId(providerId: string): string {
  return `${PROVIDER_REGISTRATION_PREFIX}${providerId}`;
}

/** The workflow id of a provider's offer in a call: one per offer. */
export function providerOfferId(offerId: string): string {
  return `${PROVIDER_OFFER_PREFIX}${offerId}`;
}

/** The provider or offer id inside one of the two workflow ids above, or null. */
export function parseProviderWorkflowId(workflowId: string): { kind: 'registration' | 'offer'; id: string } | null {
  for (const [prefix, kind] of [[PROVIDER_REGISTRATION_PREFIX, 'registration'], [PROVIDER_OFFER_PREFIX, 'offer']] as const) {
    if (workflowId.startsWith(prefix) && isUuid(workflowId.slice(prefix.length))) return { kind, id: workflowId.slice(prefix.length) };
  }
  return null;
}

const CONSOLE_BATCH_PREFIX = 'console-batch:';

/** The workflow id of an administrator's batch retry or terminate: one per console_batches row. */
export function consoleBatchId(batchId: string): string {
  return `${CONSOLE_BATCH_PREFIX}${batchId}`;
}

const WORKFLOW_CLEANUP_PREFIX = 'workflow-cleanup:';

/** The workflow id of the cleanup the console runs after terminating a workflow: one per terminated workflow. */
export function workflowCleanupId(workflowId: string): string {
  return `${WORKFLOW_CLEANUP_PREFIX}${workflowId}`;
}

/** The workflow id of one password-reset request (one e-mail per request). */
export function passwordResetId(requestId: string): string {
  return `password-reset:${requestId}`;
}

const AUDIT_PURGE = 'audit-purge';

/** The workflow id of one audit purge run, e.g. `audit-purge:scheduled` (the server appends the start time). */
export function auditPurgeId(runKey: string): string {
  return `${AUDIT_PURGE}:${runKey}`;
}

/** The id of the schedule that starts the audit purge; tests pass a suffix so their schedule is their own. */
export function auditPurgeScheduleId(suffix = ''): string {
  return suffix ? `${AUDIT_PURGE}:${suffix}` : AUDIT_PURGE;
}

const DATA_SUBJECT_REQUEST_PREFIX = 'data-subject-request:';

/** The workflow id of a learner's erasure or correction request: one per data_subject_requests row. */
export function dataSubjectRequestId(requestId: string): string {
  return `${DATA_SUBJECT_REQUEST_PREFIX}${requestId}`;
}

const RETENTION = 'retention';

/** The workflow id of one retention run, e.g. `retention:scheduled` (the server appends the start time) or `retention:manual-<uuid>`. */
export function retentionRunId(runKey: string): string {
  return `${RETENTION}:${runKey}`;
}

/** The id of the schedule that applies the retention rules; tests pass a suffix so their schedule is their own. */
export function retentionScheduleId(suffix = ''): string {
  return suffix ? `${RETENTION}:${suffix}` : RETENTION;
}

const WAITLIST_SWEEP = 'waitlist-sweep';

/** The workflow id of one wait-list sweep run, e.g. `waitlist-sweep:scheduled` (the server appends the start time). */
export function waitlistSweepId(runKey: string): string {
  return `${WAITLIST_SWEEP}:${runKey}`;
}

/** The id of the schedule that starts the wait-list sweep; tests pass a suffix so their schedule is their own. */
export function waitlistSweepScheduleId(suffix = ''): string {
  return suffix ? `${WAITLIST_SWEEP}:${suffix}` : WAITLIST_SWEEP;
}

const ROLE_REQUEST_PREFIX = 'role-request:';

/** The workflow id of a person's request for the coordinator or career-consultant role: one per role_requests row. */
export function roleRequestId(requestId: string): string {
  return `${ROLE_REQUEST_PREFIX}${requestId}`;
}

/**
 * The workflow id of one mailing of an announcement: `announcement-mailing:<id>:<run>`. A mailing restarted by an
 * administrator is a new run of the same list; the outbox keeps every address to one e-mail across runs.
 */
export function announcementMailingId(announcementId: string, run: string): string {
  return `announcement-mailing:${announcementId}:${run}`;
}

const PROVIDER_NOTICES = 'provider-notices';

/** The workflow id of one scan for provider notifications, e.g. `provider-notices:scheduled` (the server appends the start time). */
export function providerNoticesId(runKey: string): string {
  return `${PROVIDER_NOTICES}:${runKey}`;
}

/** The id of the schedule that scans for provider notifications; tests pass a suffix so their schedule is their own. */
export function providerNoticesScheduleId(suffix = ''): string {
  return suffix ? `${PROVIDER_NOTICES}:${suffix}` : PROVIDER_NOTICES;
}

/** The workflow id of the agency's follow-up of an offer whose learners' outcomes are overdue: one per offer. */
export function outcomesOverdueId(offerId: string): string {
  return `outcomes-overdue:${offerId}`;
}
