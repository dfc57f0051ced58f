// The worker bundles this file: every workflow type the task queue serves.
export { learnerJourney } from './learner-journey';
export { populationRecheck } from './population-recheck';
export { providerRegistration } from './provider-registration';
export { providerOffer } from './provider-offer';
export { consoleBatch } from './console-batch';
export { workflowCleanup } from './workflow-cleanup';
export { passwordReset } from './password-reset';
export { auditPurge } from './audit-purge';
export { retention } from './retention';
export { dataSubjectRequest } from './data-subject-request';
export { waitlistSweep } from './waitlist-sweep';
export { roleRequest } from './role-request';
export { announcementMailing } from './announcement-mailing';
export { providerNotices } from './provider-notices';
export { outcomesOverdue } from './outcomes-overdue';
