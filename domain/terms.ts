/**
 * The first version of the platform's terms of use (seed 000), written by the migration that made versions data.
 * The version in force is read from terms_versions (api/services/terms.ts); administrators publish later ones.
 */
export const INITIAL_TERMS_VERSION = '2025-09';

/**
 * The version in force where no administrator has published another one: the initial version. Tests and the drill
 * register with it; the product reads the version in force from the database.
 */
export const CURRENT_TERMS_VERSION = INITIAL_TERMS_VERSION;
