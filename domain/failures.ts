/**
 * Kinds of permanent business failure. Workflows raise them as non-retryable ApplicationFailures with one of
 * these types, and the API maps them to HTTP answers, so both sides spell them the same way.
 */
export const FailureType = {
  /** A decision on a task that is no longer open, or not the task the case waits for. */
  StaleDecision: 'StaleDecision',
  /** Someone already decided this task. */
  AlreadyDecided: 'AlreadyDecided',
  /** The person already has an open journey in this programme. */
  DuplicateJourney: 'DuplicateJourney',
  /** No programme with this code. */
  UnknownProgramme: 'UnknownProgramme',
  /** The registry does not know the person. */
  PersonNotFound: 'PersonNotFound',
  /** SOPA refused a social-status query (4xx: bad input or missing operator identity); retrying cannot help. */
  SocialStatusRefused: 'SocialStatusRefused',
  /** Another request on the same offer or case is being processed; try again in a moment. */
  Busy: 'Busy',
  /** The actor's role may not do this (e.g. only the provider submits its offer). */
  NotAllowed: 'NotAllowed',
  /** A rejection without a reason (a provider's registration needs a comment, an offer at least one reason). */
  ReasonRequired: 'ReasonRequired',
  /** The registration link was followed after the registration expired. */
  RegistrationExpired: 'RegistrationExpired',
  /** The call's submission deadline has passed: the offer can no longer be submitted or withdrawn. */
  SubmissionClosed: 'SubmissionClosed',
  /** Only a draft or withdrawn offer can be submitted (a submitted one is frozen until withdrawn). */
  OfferNotEditable: 'OfferNotEditable',
  /** Only a submitted offer can be withdrawn. */
  OfferNotSubmitted: 'OfferNotSubmitted',
  /** A registry the automated checks need (VIIS) did not answer; the provider may try again later. */
  RegistryUnavailable: 'RegistryUnavailable',
} as const;

/** One of the failure kinds above. */
export type FailureType = (typeof FailureType)[keyof typeof FailureType];
