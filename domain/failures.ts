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
} as const;

/** One of the failure kinds above. */
export type FailureType = (typeof FailureType)[keyof typeof FailureType];
