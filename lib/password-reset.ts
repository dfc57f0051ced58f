import { createHash } from 'node:crypto';

/**
 * A password-reset link is single-use because it carries a fingerprint of the password hash it was made for:
 * setting a new password (through the link or any other way) changes the hash, so the link no longer matches.
 * The fingerprint is of the salted scrypt hash, so it says nothing about the password.
 */
export function passwordFingerprint(passwordHash: string): string {
  return createHash('sha256').update(passwordHash).digest('base64url').slice(0, 22);
}

/** The page an e-mailed reset link opens. */
export function passwordResetUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/staff/password/reset?token=${encodeURIComponent(token)}`;
}

/** How long a reset link is valid by default: one hour. */
export const PASSWORD_RESET_VALID_HOURS = 1;

/**
 * How long the first link of a new staff account is valid: three days, since its holder may not read their mail
 * the hour the account is made. It works once, like a reset link; an administrator can send a new one.
 */
export const ACCOUNT_SETUP_LINK_VALID_HOURS = 72;
