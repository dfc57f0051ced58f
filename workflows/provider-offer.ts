import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Actor } from '../domain/journey';
import type { OfferProblem, OfferState } from '../domain/offers';

/** What the API passes when a provider starts a draft offer in a call (the draft row is already stored). */
export interface ProviderOfferInput {
  offerId: string;
  providerId: string;
  callId: string;
}

/** The offer's state, as its Query returns it. */
export interface ProviderOfferStatus {
  offerId: string;
  state: OfferState;
  openTaskId: string | null;
  /** The problems found by the last refused submission. */
  problems: OfferProblem[];
}

/** A provider's request to submit or withdraw the offer. */
export interface OfferActionInput { actor: Actor }

/** The answer to a submission: accepted (state 'submitted') or refused with the problems found. */
export interface SubmitOfferResult { state: OfferState; problems: OfferProblem[] }

/** Submits the offer (frozen afterwards); refused before anything is stored if the checks find problems. */
export const submitOfferUpdate = defineUpdate<SubmitOfferResult, [OfferActionInput]>('submitOffer');

/** Withdraws a submitted offer so it can be edited and submitted again, until the submission deadline. */
export const withdrawOfferUpdate = defineUpdate<{ state: OfferState }, [OfferActionInput]>('withdrawOffer');

/** The offer's current state. */
export const providerOfferStatusQuery = defineQuery<ProviderOfferStatus>('providerOfferStatus');
