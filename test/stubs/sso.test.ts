import test, { type ExecutionContext } from 'ava';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { seedPeople } from '../../dev/seed-people';
import { createSsoStub, signInHeadless } from '../../dev/stubs/sso';
import { createPkce } from '../../lib/sso';

const client = { clientId: 'learning-accounts', clientSecret: 'dev-sso-secret', redirectUris: ['http://app.test/auth/sso/callback'] };
const redirectUri = client.redirectUris[0];

async function startStub(t: ExecutionContext): Promise<string> {
  const server = await createSsoStub({ people: seedPeople, clients: [client] }).listen(0);
  t.teardown(() => server.close());
  return server.url;
}

async function signIn(url: string, personCode = '321178-40215'): Promise<string> {
  const location = new URL(await signInHeadless(url, { clientId: client.clientId, redirectUri, state: 'st-1', nonce: 'n-1', personCode }));
  return location.searchParams.get('code') ?? '';
}

function tokenRequest(url: string, code: string, overrides: Record<string, string> = {}, headers: Record<string, string> = {}) {
  return fetch(`${url}/token`, {
    method: 'POST',
    headers,
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: client.clientId,
      client_secret: client.clientSecret,
      ...overrides,
    }),
  });
}

test('discovery document points at the listening URL', async (t) => {
  const url = await startStub(t);
  const doc = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.like(doc, {
    issuer: url,
    authorization_endpoint: `${url}/authorize`,
    token_endpoint: `${url}/token`,
    jwks_uri: `${url}/jwks`,
    id_token_signing_alg_values_supported: ['RS256'],
  });
});

test('authorize page lists the seeded people as named buttons', async (t) => {
  const url = await startStub(t);
  const q = new URLSearchParams({ response_type: 'code', client_id: client.clientId, redirect_uri: redirectUri, state: 's', nonce: 'n' });
  const res = await fetch(`${url}/authorize?${q}`);
  t.is(res.status, 200);
  const html = await res.text();
  t.regex(html, /<html lang="lv">/);
  t.regex(html, /<title>Latvija\.gov\.lv — test sign-in<\/title>/);
  t.regex(html, /<h1>/);
  for (const p of seedPeople) t.true(html.includes(`<button type="submit" name="personCode" value="${p.personCode}">`));
  t.regex(html, /<label for="personCode">/);
});

test('authorize rejects missing params and unregistered redirect URIs', async (t) => {
  const url = await startStub(t);
  const missing = await fetch(`${url}/authorize?response_type=code&client_id=${client.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&state=s`);
  t.is(missing.status, 400);
  t.regex(await missing.text(), /<code>nonce<\/code>/);
  const badRedirect = await fetch(`${url}/authorize?response_type=code&client_id=${client.clientId}&redirect_uri=http://evil.test/&state=s&nonce=n`);
  t.is(badRedirect.status, 400);
  t.regex(await badRedirect.text(), /<code>redirect_uri<\/code>/);
});

test('unknown person code re-shows the form with an error', async (t) => {
  const url = await startStub(t);
  const body = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: redirectUri,
    state: 's',
    nonce: 'n',
    personCode: '010101-99999',
  });
  const res = await fetch(`${url}/authorize`, { method: 'POST', body, redirect: 'manual' });
  t.is(res.status, 400);
  const html = await res.text();
  t.regex(html, /<p id="personCode-error" class="error">[^<]+<\/p>/);
  t.regex(html, /aria-invalid="true"/);
  t.regex(html, /value="010101-99999"/);
  await t.throwsAsync(signIn(url, '010101-99999'), { message: /HTTP 400/ });
});

test('full code flow yields a verifiable RS256 id_token with the person claims', async (t) => {
  const url = await startStub(t);
  const location = new URL(
    await signInHeadless(url, { clientId: client.clientId, redirectUri, state: 'st-1', nonce: 'n-1', personCode: '32117840215' }),
  );
  t.is(`${location.origin}${location.pathname}`, redirectUri);
  t.is(location.searchParams.get('state'), 'st-1');
  const res = await tokenRequest(url, location.searchParams.get('code') ?? '');
  t.is(res.status, 200);
  const body = (await res.json()) as { id_token: string; access_token: string; token_type: string; expires_in: number };
  t.is(body.token_type, 'Bearer');
  t.is(body.expires_in, 300);
  t.truthy(body.access_token);
  t.truthy(decodeProtectedHeader(body.id_token).kid);

  const jwks = createRemoteJWKSet(new URL(`${url}/jwks`));
  const { payload } = await jwtVerify(body.id_token, jwks, { issuer: url, audience: client.clientId, algorithms: ['RS256'] });
  t.like(payload, {
    sub: '321178-40215',
    given_name: 'Anna',
    family_name: 'Bērziņa',
    name: 'Anna Bērziņa',
    nonce: 'n-1',
  });
  t.is((payload.exp ?? 0) - (payload.iat ?? 0), 300);
  t.is(typeof payload.auth_time, 'number');
});

test('HTTP Basic client authentication is accepted', async (t) => {
  const url = await startStub(t);
  const code = await signIn(url);
  const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64');
  const res = await tokenRequest(url, code, { client_id: '', client_secret: '' }, { authorization: `Basic ${basic}` });
  t.is(res.status, 200);
});

test('a code is single-use; bad clients and bad codes are refused', async (t) => {
  const url = await startStub(t);
  const code = await signIn(url);
  t.is((await tokenRequest(url, code)).status, 200);
  const reused = await tokenRequest(url, code);
  t.is(reused.status, 400);
  t.deepEqual(await reused.json(), { error: 'invalid_grant' });

  const wrongSecret = await tokenRequest(url, await signIn(url), { client_secret: 'nope' });
  t.is(wrongSecret.status, 401);
  t.deepEqual(await wrongSecret.json(), { error: 'invalid_client' });

  const unknown = await tokenRequest(url, 'no-such-code');
  t.deepEqual(await unknown.json(), { error: 'invalid_grant' });

  const wrongRedirect = await tokenRequest(url, await signIn(url), { redirect_uri: 'http://app.test/other' });
  t.deepEqual(await wrongRedirect.json(), { error: 'invalid_grant' });
});

// PKCE (RFC 7636) as a real provider checks it: a code issued for a request with a challenge is redeemed only with
// the matching verifier.
test('PKCE: a code issued with an S256 challenge needs its verifier; a missing or wrong one is refused', async (t) => {
  const url = await startStub(t);
  const { verifier, challenge } = createPkce();
  const signInWithChallenge = async () => new URL(await signInHeadless(url, {
    clientId: client.clientId, redirectUri, state: 'st-1', nonce: 'n-1', personCode: '321178-40215', codeChallenge: challenge,
  })).searchParams.get('code') ?? '';

  const missing = await tokenRequest(url, await signInWithChallenge());
  t.is(missing.status, 400);
  t.deepEqual(await missing.json(), { error: 'invalid_grant', error_description: 'code_verifier is missing' });

  const wrong = await tokenRequest(url, await signInWithChallenge(), { code_verifier: createPkce().verifier });
  t.is(wrong.status, 400);
  t.deepEqual(await wrong.json(), { error: 'invalid_grant', error_description: 'code_verifier does not match the code_challenge' });

  // The challenge itself is not the verifier.
  const challengeAsVerifier = await tokenRequest(url, await signInWithChallenge(), { code_verifier: challenge });
  t.is(challengeAsVerifier.status, 400);

  const right = await tokenRequest(url, await signInWithChallenge(), { code_verifier: verifier });
  t.is(right.status, 200);
  t.truthy(((await right.json()) as { id_token?: string }).id_token);
});

test('PKCE: only S256 is accepted, and the challenge must be well formed', async (t) => {
  const url = await startStub(t);
  const base = `response_type=code&client_id=${client.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&state=s&nonce=n`;
  const { challenge } = createPkce();
  const plain = await fetch(`${url}/authorize?${base}&code_challenge=${challenge}&code_challenge_method=plain`);
  t.is(plain.status, 400);
  t.true((await plain.text()).includes('code_challenge_method'));
  const noMethod = await fetch(`${url}/authorize?${base}&code_challenge=${challenge}`);
  t.is(noMethod.status, 400, 'no method means "plain", which is refused');
  await noMethod.body?.cancel();
  const short = await fetch(`${url}/authorize?${base}&code_challenge=abc&code_challenge_method=S256`);
  t.is(short.status, 400);
  await short.body?.cancel();
  const page = await fetch(`${url}/authorize?${base}&code_challenge=${challenge}&code_challenge_method=S256`);
  t.is(page.status, 200);
  t.true((await page.text()).includes(`name="code_challenge" value="${challenge}"`), 'the sign-in form carries the challenge on');
  const discovery = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  t.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
});
