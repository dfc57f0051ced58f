import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { SeedPerson } from '../seed-people';
import { listenHttp, readBody, sendHtml, sendJson, type Listening } from './http';
import { normalizePersonCode } from './person-code';
import { renderRequestErrorPage, renderSignInPage, type AuthRequest } from './sso-pages';

/** A relying party registered with the SSO stub. */
export interface SsoClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

/** The national single-sign-on stub; each `listen` gets its own signing key and issuer. */
export interface SsoStub {
  listen(port?: number, host?: string): Promise<Listening>;
}

/** What `signInHeadless` needs to complete the sign-in step without a browser. */
export interface HeadlessSignIn {
  clientId: string;
  redirectUri: string;
  state: string;
  nonce: string;
  personCode: string;
  /** The PKCE challenge of the authorization request (S256), when it had one. */
  codeChallenge?: string;
}

const CODE_TTL_MS = 60_000;
const TOKEN_TTL_S = 300;

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  nonce: string;
  /** PKCE: the S256 challenge the authorization request carried; the token request must bring its verifier. */
  codeChallenge: string | null;
  person: SeedPerson;
  personCode: string;
  authTime: number;
  expiresAt: number;
}

type Validated = { ok: true; request: AuthRequest } | { ok: false; param: string; problem: string };

/** RFC 7636 §4.1: a verifier (and an S256 challenge) is 43 to 128 unreserved characters. */
const PKCE_VALUE = /^[A-Za-z0-9._~-]{43,128}$/;

/** The S256 code challenge of a verifier: BASE64URL(SHA256(verifier)). */
function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

function secretsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

/** Creates the SSO stub: an OpenID Connect provider (authorization-code flow, RS256 ID tokens) over the given people. */
export function createSsoStub(opts: { people: SeedPerson[]; clients: SsoClient[] }): SsoStub {
  const people = new Map<string, SeedPerson>();
  for (const p of opts.people) {
    const code = normalizePersonCode(p.personCode);
    if (code) people.set(code, p);
  }
  const clients = new Map(opts.clients.map((c) => [c.clientId, c]));

  function validate(params: URLSearchParams): Validated {
    const clientId = params.get('client_id');
    if (!clientId) return { ok: false, param: 'client_id', problem: 'missing' };
    const client = clients.get(clientId);
    if (!client) return { ok: false, param: 'client_id', problem: 'unknown client' };
    const redirectUri = params.get('redirect_uri');
    if (!redirectUri) return { ok: false, param: 'redirect_uri', problem: 'missing' };
    if (!client.redirectUris.includes(redirectUri)) {
      return { ok: false, param: 'redirect_uri', problem: 'not registered for this client' };
    }
    const responseType = params.get('response_type');
    if (responseType !== 'code') return { ok: false, param: 'response_type', problem: 'must be "code"' };
    const state = params.get('state');
    if (!state) return { ok: false, param: 'state', problem: 'missing' };
    const nonce = params.get('nonce');
    if (!nonce) return { ok: false, param: 'nonce', problem: 'missing' };
    // PKCE as a real provider checks it (RFC 7636 §4.4.1): S256 only (a missing method would mean "plain").
    const challenge = params.get('code_challenge');
    if (challenge === null) return { ok: true, request: { response_type: 'code', client_id: clientId, redirect_uri: redirectUri, state, nonce } };
    if (!PKCE_VALUE.test(challenge)) return { ok: false, param: 'code_challenge', problem: 'must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~' };
    if (params.get('code_challenge_method') !== 'S256') return { ok: false, param: 'code_challenge_method', problem: 'must be "S256"' };
    return {
      ok: true,
      request: { response_type: 'code', client_id: clientId, redirect_uri: redirectUri, state, nonce, code_challenge: challenge, code_challenge_method: 'S256' },
    };
  }

  return {
    async listen(port = 0, host = '127.0.0.1') {
      const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
      const publicJwk: JWK = await exportJWK(publicKey);
      const kid = await calculateJwkThumbprint(publicJwk);
      const jwks = { keys: [{ ...publicJwk, kid, alg: 'RS256', use: 'sig' }] };
      const codes = new Map<string, IssuedCode>();
      // Only known once the server is bound (port 0 in tests); every handler reads it at request time.
      let issuer = '';

      function discovery(): Record<string, unknown> {
        return {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          grant_types_supported: ['authorization_code'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          scopes_supported: ['openid'],
          claims_supported: ['sub', 'given_name', 'family_name', 'name', 'nonce', 'auth_time'],
        };
      }

      function showAuthorize(res: ServerResponse, params: URLSearchParams): void {
        const v = validate(params);
        if (!v.ok) return sendHtml(res, 400, renderRequestErrorPage(v.param, v.problem));
        sendHtml(res, 200, renderSignInPage({ request: v.request, people: [...people.values()] }));
      }

      async function submitAuthorize(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const form = new URLSearchParams(await readBody(req));
        const v = validate(form);
        if (!v.ok) return sendHtml(res, 400, renderRequestErrorPage(v.param, v.problem));
        const entered = (form.get('personCode') ?? '').trim();
        const personCode = normalizePersonCode(entered);
        const person = personCode ? people.get(personCode) : undefined;
        if (!personCode || !person) {
          const error = !entered
            ? 'Ievadiet personas kodu.'
            : !personCode
              ? 'Personas kodam jābūt 11 cipariem formātā DDMMGG-NNNNN.'
              : 'Persona ar šādu personas kodu testa datos nav atrasta.';
          const page = renderSignInPage({ request: v.request, people: [...people.values()], error, enteredCode: entered });
          return sendHtml(res, 400, page);
        }
        const now = Date.now();
        for (const [c, issued] of codes) if (issued.expiresAt <= now) codes.delete(c);
        const code = randomBytes(32).toString('base64url');
        codes.set(code, {
          clientId: v.request.client_id,
          redirectUri: v.request.redirect_uri,
          nonce: v.request.nonce,
          codeChallenge: v.request.code_challenge ?? null,
          person,
          personCode,
          authTime: Math.floor(now / 1000),
          expiresAt: now + CODE_TTL_MS,
        });
        const location = new URL(v.request.redirect_uri);
        location.searchParams.set('code', code);
        location.searchParams.set('state', v.request.state);
        res.writeHead(302, { location: location.toString(), 'cache-control': 'no-store' });
        res.end();
      }

      async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };
        const form = new URLSearchParams(await readBody(req));
        const basic = basicCredentials(req.headers.authorization);
        const clientId = basic?.id ?? form.get('client_id') ?? '';
        const secret = basic?.secret ?? form.get('client_secret') ?? '';
        const client = clients.get(clientId);
        if (!client || !secretsEqual(secret, client.clientSecret)) {
          return sendJson(res, 401, { error: 'invalid_client' }, { ...noStore, 'www-authenticate': 'Basic realm="sso-stub"' });
        }
        if (form.get('grant_type') !== 'authorization_code') {
          return sendJson(res, 400, { error: 'unsupported_grant_type' }, noStore);
        }
        const code = form.get('code');
        if (!code) return sendJson(res, 400, { error: 'invalid_request', error_description: 'code is missing' }, noStore);
        const issued = codes.get(code);
        // Deleted before any check so a code can never be tried twice, whatever the outcome.
        codes.delete(code);
        if (
          !issued ||
          issued.expiresAt <= Date.now() ||
          issued.clientId !== client.clientId ||
          issued.redirectUri !== form.get('redirect_uri')
        ) {
          return sendJson(res, 400, { error: 'invalid_grant' }, noStore);
        }
        // A code issued for a PKCE request is redeemed only with the verifier whose S256 hash is its challenge, so a
        // code intercepted on its way back (a log, a referrer, another app) is worth nothing without it.
        if (issued.codeChallenge !== null) {
          const verifier = form.get('code_verifier');
          if (!verifier) return sendJson(res, 400, { error: 'invalid_grant', error_description: 'code_verifier is missing' }, noStore);
          if (!PKCE_VALUE.test(verifier) || !secretsEqual(s256(verifier), issued.codeChallenge)) {
            return sendJson(res, 400, { error: 'invalid_grant', error_description: 'code_verifier does not match the code_challenge' }, noStore);
          }
        }
        const now = Math.floor(Date.now() / 1000);
        const { person } = issued;
        const idToken = await new SignJWT({
          given_name: person.firstName,
          family_name: person.lastName,
          name: `${person.firstName} ${person.lastName}`,
          nonce: issued.nonce,
          auth_time: issued.authTime,
        })
          .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
          .setIssuer(issuer)
          .setAudience(client.clientId)
          .setSubject(issued.personCode)
          .setIssuedAt(now)
          .setExpirationTime(now + TOKEN_TTL_S)
          .sign(privateKey);
        sendJson(
          res,
          200,
          { id_token: idToken, access_token: randomBytes(32).toString('base64url'), token_type: 'Bearer', expires_in: TOKEN_TTL_S },
          noStore,
        );
      }

      async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const url = new URL(req.url ?? '/', 'http://stub');
        const key = `${req.method} ${url.pathname}`;
        switch (key) {
          case 'GET /.well-known/openid-configuration':
            return sendJson(res, 200, discovery());
          case 'GET /jwks':
            return sendJson(res, 200, jwks);
          case 'GET /authorize':
            return showAuthorize(res, url.searchParams);
          case 'POST /authorize':
            return submitAuthorize(req, res);
          case 'POST /token':
            return token(req, res);
          default:
            return sendJson(res, 404, { error: 'not_found' });
        }
      }

      const server = createServer((req, res) => {
        route(req, res).catch((err: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(err) });
          else res.destroy();
        });
      });
      const listening = await listenHttp(server, port, host);
      issuer = listening.url;
      return listening;
    },
  };
}

/** Performs the sign-in form POST for a person without a browser; resolves to the redirect Location carrying the code. */
export async function signInHeadless(ssoUrl: string, params: HeadlessSignIn): Promise<string> {
  const body = new URLSearchParams({
    response_type: 'code',
    client_id: params.clientId,
    redirect_uri: params.redirectUri,
    state: params.state,
    nonce: params.nonce,
    ...(params.codeChallenge ? { code_challenge: params.codeChallenge, code_challenge_method: 'S256' } : {}),
    personCode: params.personCode,
  });
  const res = await fetch(`${ssoUrl.replace(/\/$/, '')}/authorize`, { method: 'POST', body, redirect: 'manual' });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) {
    const text = await res.text();
    throw new Error(`SSO stub sign-in failed: HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  await res.body?.cancel();
  return location;
}
