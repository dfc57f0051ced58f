import { SignJWT, jwtVerify } from 'jose';

/** Who is logged in: a learner (through the single sign-on) or a user with a password. */
export interface Session {
  role: 'learner' | 'coordinator' | 'staff' | 'admin' | 'provider';
  /** The learner's (or coordinator's) person code, or the user's id. */
  subject: string;
  name: string;
  providerId?: string | null;
  /** A provider user's role at their provider: the administrator approves staff and submits offers. */
  providerRole?: 'admin' | 'staff' | null;
  /** A coordinator's municipality (name), from their role grant. */
  municipality?: string | null;
}

const ISSUER = 'learning-accounts';
const SESSION_HOURS = 8;

/** Signs and verifies our own session tokens (HS256), used as a cookie by browsers and as a bearer token by API clients. */
export function createSessionTokens(secret: string) {
  const key = new TextEncoder().encode(secret);
  return {
    /** A token for the session, valid for one working day. */
    async sign(session: Session): Promise<string> {
      return new SignJWT({
        role: session.role, name: session.name, providerId: session.providerId ?? null,
        ...(session.providerRole ? { providerRole: session.providerRole } : {}),
        ...(session.municipality ? { municipality: session.municipality } : {}),
      })
        .setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setSubject(session.subject)
        .setIssuedAt().setExpirationTime(`${SESSION_HOURS}h`).sign(key);
    },
    /** The session in a token, or null when it is missing, forged or expired. */
    async verify(token: string): Promise<Session | null> {
      try {
        const { payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: ['HS256'] });
        return { role: payload.role as Session['role'], subject: payload.sub!, name: String(payload.name), providerId: payload.providerId as string | null,
          ...(payload.providerRole === 'admin' || payload.providerRole === 'staff' ? { providerRole: payload.providerRole } : {}),
          ...(typeof payload.municipality === 'string' ? { municipality: payload.municipality } : {}) };
      } catch {
        return null;
      }
    },
    /** A short-lived signed value (the SSO state and nonce) kept in a cookie across the redirect. */
    async signValue(value: Record<string, string>, minutes: number): Promise<string> {
      return new SignJWT(value).setProtectedHeader({ alg: 'HS256' }).setIssuer(`${ISSUER}:value`)
        .setIssuedAt().setExpirationTime(`${minutes}m`).sign(key);
    },
    /** Reads a value signed by signValue, or null. */
    async verifyValue(token: string): Promise<Record<string, string> | null> {
      try {
        const { payload } = await jwtVerify(token, key, { issuer: `${ISSUER}:value`, algorithms: ['HS256'] });
        return payload as Record<string, string>;
      } catch {
        return null;
      }
    },
    maxAgeMs: SESSION_HOURS * 3_600_000,
  };
}

/** The session token helper createSessionTokens returns. */
export type SessionTokens = ReturnType<typeof createSessionTokens>;
