import { SignJWT, jwtVerify } from 'jose';

/**
 * Signed, expiring tokens for links sent by e-mail (confirming a provider's e-mail address, ...). Each token names
 * its purpose, so a link made for one purpose (or a session token) is refused for another, and it never carries a
 * raw workflow id a reader could use elsewhere.
 */

const ISSUER = 'learning-accounts:link';

/** What an e-mailed link may be used for. */
export type LinkPurpose = 'confirm-provider-email' | 'confirm-provider-staff-email' | 'reset-password';

/** Signs and verifies e-mailed link tokens (HS256) with the platform's secret. */
export function createLinkTokens(secret: string) {
  const key = new TextEncoder().encode(secret);
  return {
    /**
     * A token for `subject` (e.g. a provider id) valid for `hours` (fractions allowed); `claims` are signed with it
     * (e.g. a fingerprint that makes a password-reset link single-use).
     */
    async sign(purpose: LinkPurpose, subject: string, hours: number, claims: Record<string, string> = {}): Promise<string> {
      return new SignJWT({ ...claims, purpose }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setSubject(subject)
        .setIssuedAt().setExpirationTime(`${hours}h`).sign(key);
    },
    /** The subject (and claims) of a valid token for `purpose`, 'expired' for a genuine token past its time, or null. */
    async verify(purpose: LinkPurpose, token: string): Promise<{ subject: string; claims: Record<string, unknown> } | 'expired' | null> {
      try {
        const { payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: ['HS256'] });
        return payload.purpose === purpose && payload.sub ? { subject: payload.sub, claims: payload } : null;
      } catch (err) {
        return (err as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'expired' : null;
      }
    },
  };
}

/** The link token helper createLinkTokens returns. */
export type LinkTokens = ReturnType<typeof createLinkTokens>;
