/** An education provider's offer in a call for offers: where it stands, and what a failed check looks like. */

/** Every state an offer can be in (the offers_state constraint). */
export const OFFER_STATES = [
  'draft', 'submitted', 'withdrawn', 'not_submitted', 'in_evaluation', 'approved', 'rejected', 'published', 'closed',
] as const;

/** Where an offer stands in its workflow (workflows/provider-offer.ts). */
export type OfferState = (typeof OFFER_STATES)[number];

/** States in which the provider may edit the offer: once submitted it is frozen until withdrawn. */
export const EDITABLE_OFFER_STATES: readonly OfferState[] = ['draft', 'withdrawn'];

/** States in which an offer counts towards the provider's limit of offers per call. */
export const COUNTED_OFFER_STATES: readonly OfferState[] = ['submitted', 'in_evaluation', 'approved', 'published'];

/** States in which the provider manages groups (the offer passed evaluation). */
export const GROUP_OFFER_STATES: readonly OfferState[] = ['approved', 'published'];

/**
 * One failed automated check on submission (seed 001, "common mistakes"). `field` is the offer form's field name
 * (e.g. 'hoursTheory', 'places[1]'), so the form can show the message next to it.
 */
export interface OfferProblem {
  field: string;
  code: string;
  message: { lv: string; en: string };
}
