import type { Knex } from 'knex';
import type { Client } from '@temporalio/client';
import type { Transporter } from 'nodemailer';
import { createAccountActivities } from './accounts';
import { createCaseActivities } from './cases';
import { createEmailActivities } from './email';
import { createProgrammeActivities } from './programmes';
import { createTaskActivities } from './tasks';
import { createApplicationActivities } from './applications';
import { createSurveyActivities } from './surveys';
import { createLearnerActivities } from './learners';
import { createProviderActivities } from './providers';
import { createOfferActivities } from './offers';
import { createCalendarActivities } from './calendar';
import { createEscalationActivities } from './escalation';
import { createConsoleActivities } from './console';
import { createWorkflowStopActivities } from './workflow-stop';
import { createAuditPurgeActivities } from './audit-purge';
import { createRetentionActivities } from './retention';
import { createDataRequestActivities } from './data-requests';
import { createRoleRequestActivities } from './role-requests';
import { createAnnouncementActivities } from './announcements';
import { createProviderNoticeActivities } from './provider-notices';
import { createPlaceOfferNoticeActivities } from './place-offer-notices';
import { createPopulationRegisterActivities, type PopulationRegisterClient } from './registries/population-register';
import { createSopaActivities, type SopaClient, type SopaOperator } from './registries/sopa';
import type { ViisClient } from './registries/viis';
import type { EnterpriseRegisterClient } from './registries/enterprise-register';
import type { EmailTemplates } from '../lib/email-templates';
import type { LinkTokens } from '../lib/links';
import type { Logger } from '../lib/logger';

/** Everything the activities touch, injected so tests can point them at their own database and stubs. */
export interface ActivityDeps {
  db: Knex;
  mailer: Pick<Transporter, 'sendMail'>;
  templates: EmailTemplates;
  mailFrom: string;
  publicUrl: string;
  populationRegister: PopulationRegisterClient;
  sopa: SopaClient;
  /** The agency employee in whose name the system's own SOPA queries are made (the spec requires a person). */
  sopaOperator: SopaOperator;
  viis: ViisClient;
  enterpriseRegister: EnterpriseRegisterClient;
  /** The agency's shared mailbox that escalation e-mails go to. */
  agencyInboxEmail: string;
  logger: Logger;
  /** The Temporal client the console's batch activities command other workflows with. */
  temporal: Client;
  /** Signs the links sent by e-mail (e.g. a provider confirming its address). */
  links: LinkTokens;
  /** The key of the stable pseudonyms retention gives person codes (lib/pseudonyms.ts). */
  pseudonymKey: string;
  onEmailSent?: (template: string) => void;
}

/** Builds every activity the worker registers. */
export function createActivities(deps: ActivityDeps) {
  const email = createEmailActivities({ ...deps, onSent: deps.onEmailSent });
  return {
    ...createCaseActivities(deps),
    ...createTaskActivities(deps),
    ...createProgrammeActivities(deps),
    ...createPopulationRegisterActivities(deps),
    ...createSopaActivities(deps),
    ...createLearnerActivities(deps),
    ...createApplicationActivities(deps),
    ...createSurveyActivities(deps),
    ...createProviderActivities({ ...deps, email }),
    ...createOfferActivities({ ...deps, email }),
    ...createCalendarActivities(deps),
    ...createEscalationActivities({ ...deps, email }),
    ...createConsoleActivities(deps),
    ...createWorkflowStopActivities(deps),
    ...createAccountActivities({ ...deps, email }),
    ...createAuditPurgeActivities(deps),
    ...createRetentionActivities(deps),
    ...createDataRequestActivities({ ...deps, email }),
    ...createRoleRequestActivities(deps),
    ...createAnnouncementActivities({ ...deps, email }),
    ...createProviderNoticeActivities({ ...deps, email }),
    ...createPlaceOfferNoticeActivities({ ...deps, email }),
    ...email,
  };
}

/** The activity functions as workflows see them (import this type only). */
export type Activities = ReturnType<typeof createActivities>;
