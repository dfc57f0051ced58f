/** The version of the platform's terms of use a learner must accept now (seed 000); acceptance stores it. */
export const CURRENT_TERMS_VERSION = '2025-09';
