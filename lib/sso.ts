import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';

/** The person the national single sign-on vouches for. */
export interface SsoIdentity { personCode: string; firstName: string; lastName: string }

/**
 * A PKCE pair (RFC 7636, S256): the verifier stays with us (in the signed sign-on cookie), the challenge goes to the
 * provider, so a code intercepted on its way back cannot be redeemed by anyone else.
 */
export function createPkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier, 'ascii').digest('base64url') };
}

/**
 * Client of the national single sign-on (an OpenID Connect identity provider): builds the login redirect,
 * exchanges the code and verifies the ID token against the provider's published keys.
 */
export function createSsoClient(opts: { issuer: string; clientId: string; clientSecret: string; redirectUri: string }) {
  const jwks = createRemoteJWKSet(new URL(`${opts.issuer}/jwks`));
  return {
    /** The identity provider's address (pages may post forms that end in a redirect to it). */
    issuer: opts.issuer,
    /** The URL to send the browser to, with the PKCE challenge (createPkce). */
    authorizeUrl(state: string, nonce: string, codeChallenge: string): string {
      const url = new URL(`${opts.issuer}/authorize`);
      url.search = new URLSearchParams({
        response_type: 'code', client_id: opts.clientId, redirect_uri: opts.redirectUri, scope: 'openid', state, nonce,
        code_challenge: codeChallenge, code_challenge_method: 'S256',
      }).toString();
      return url.toString();
    },
    /** Exchanges the code for an ID token and returns the verified identity; throws if anything does not check out. */
    async identify(code: string, nonce: string, codeVerifier: string): Promise<SsoIdentity> {
      const res = await fetch(`${opts.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code', code, redirect_uri: opts.redirectUri,
          client_id: opts.clientId, client_secret: opts.clientSecret, code_verifier: codeVerifier,
        }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`single sign-on token exchange failed with HTTP ${res.status}`);
      const { id_token: idToken } = (await res.json()) as { id_token: string };
      const { payload } = await jwtVerify(idToken, jwks, { issuer: opts.issuer, audience: opts.clientId, algorithms: ['RS256'] });
      if (payload.nonce !== nonce) throw new Error('single sign-on nonce does not match');
      return { personCode: String(payload.sub), firstName: String(payload.given_name ?? ''), lastName: String(payload.family_name ?? '') };
    },
  };
}

/** The client createSsoClient returns. */
export type SsoClient = ReturnType<typeof createSsoClient>;
