import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

/**
 * What the server keeps or hands out under its own key (SESSION_SECRET): short-lived signed values that travel
 * through the browser (the single sign-on's state and nonce, the login step between password and second-factor
 * code), and sealed values it stores (TOTP secrets, so a copy of the database alone does not give the second factor).
 * Sessions themselves are rows (lib/sessions.ts), not signed tokens.
 */

const ISSUER = 'learning-accounts:value';

/** Signs, verifies, seals and opens values with keys derived from the server's secret. */
export function createServerKey(secret: string) {
  const signingKey = new TextEncoder().encode(secret);
  // A separate key for sealing, derived from the secret, so a signature key never doubles as an encryption key.
  const sealingKey = Buffer.from(hkdfSync('sha256', secret, 'learning-accounts', 'sealed values v1', 32));
  return {
    /** A short-lived signed value (e.g. the SSO state and nonce) kept in a cookie or form across a step. */
    async signValue(value: Record<string, string>, minutes: number): Promise<string> {
      return new SignJWT(value).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER)
        .setIssuedAt().setExpirationTime(`${minutes}m`).sign(signingKey);
    },
    /** Reads a value signed by signValue, or null when it is forged or expired. */
    async verifyValue(token: string): Promise<Record<string, string> | null> {
      try {
        const { payload } = await jwtVerify(token, signingKey, { issuer: ISSUER, algorithms: ['HS256'] });
        return payload as Record<string, string>;
      } catch {
        return null;
      }
    },
    /** Encrypts a value to store (AES-256-GCM): "v1.<iv>.<tag>.<ciphertext>" in base64url. */
    seal(plain: string): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', sealingKey, iv);
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), data].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
    },
    /** Decrypts a sealed value; throws when it was sealed with another key or altered. */
    open(sealed: string): string {
      const [version, iv, tag, data] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('not a sealed value');
      const decipher = createDecipheriv('aes-256-gcm', sealingKey, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}

/** The helper createServerKey returns. */
export type ServerKey = ReturnType<typeof createServerKey>;
