import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';

/** What the API passes when a provider has registered (the provider and its first user are stored, inactive). */
export interface ProviderRegistrationInput {
  providerId: string;
  /** The registrant, who becomes the provider's administrator on approval. */
  userId: string;
  email: string;
  language: 'lv' | 'en';
  /** Durations come from configuration (outside workflow code) so tests can shorten them. */
  timing: {
    /** How long the e-mailed confirmation link stays valid; unconfirmed registrations then expire. */
    emailConfirmationValid: Duration;
    /** The agency's deadline for the approval task, in working days (1 by the terms of use). */
    approvalWorkingDays: number;
    /** Tests only: a fixed time from opening to the task's deadline instead of working days. */
    approvalDueOverride?: Duration;
  };
}

/** Where a provider's registration stands. */
export type ProviderRegistrationStage =
  | 'awaiting_email' | 'checking_registries' | 'awaiting_approval' | 'approved' | 'rejected' | 'expired';

/** The registration's state, as its Query returns it. */
export interface ProviderRegistrationState {
  providerId: string;
  stage: ProviderRegistrationStage;
  openTaskId: string | null;
  /** The approval task's deadline (ISO instant) and whether it has passed and been escalated. */
  dueAt: string | null;
  escalated: boolean;
}

/** The registrant followed the e-mailed link (the API has verified its signature and expiry). */
export const confirmProviderEmailUpdate = defineUpdate<{ stage: ProviderRegistrationStage }, [{ confirmedAt: string }]>('confirmProviderEmail');

/** The registration's current state. */
export const providerRegistrationStateQuery = defineQuery<ProviderRegistrationState>('providerRegistrationState');
