/**
 * What a deployment adds around the routes, over HTTP on the real stack: personal data is never cached
 * (`Cache-Control: no-store` on every JSON answer and page, only public static files are cacheable), HSTS and a
 * `Secure` sign-on cookie when the public address is https, the sign-on uses PKCE, and the API's metrics are not
 * on the public port.
 */
import test from 'ava';
import { signInHeadless } from '../../dev/stubs/sso';
import { createPkce } from '../../lib/sso';
import { startTestStack, type TestStack } from '../helpers/stack';
import { httpClient } from '../helpers/http';

const HSTS = 'max-age=31536000; includeSubDomains';

let stack: TestStack;
let httpsUrl: string;
const call = httpClient(() => stack.appUrl);
const https = httpClient(() => httpsUrl);
// As a TLS-terminating proxy forwards a request (Koa trusts it: proxy true), so Secure cookies may be set.
const callHttps: typeof https = (method, path, opts = {}) => https(method, path, { ...opts, headers: { 'x-forwarded-proto': 'https', ...opts.headers } });

test.before(async () => {
  stack = await startTestStack();
  // The same app as deployed behind a TLS-terminating proxy at an https address.
  httpsUrl = (await stack.serveApi({ publicUrl: 'https://imk.example.lv' })).url;
});

test.after.always(async () => {
  await stack?.stop();
});

test('/metrics is not served on the public port', async (t) => {
  const metrics = await call('GET', '/metrics', { headers: { accept: 'text/plain' } });
  t.is(metrics.status, 404);
  t.false(metrics.text.includes('http_request_duration_seconds'));
  const document = (await call('GET', '/api/openapi.json')).json as { paths: Record<string, unknown> };
  t.false('/metrics' in document.paths, 'the public document does not list it');
});

test('every JSON answer and every page says no-store; only static files may be cached', async (t) => {
  const learner = await stack.tokenFor('learner', '321178-40215', 'Anna Bērziņa');
  const answers = {
    'learner JSON': await call('GET', '/api/learner/journeys', { token: learner }),
    'learner page': await call('GET', '/learner', { token: learner, html: true }),
    'an error': await call('GET', '/api/learner/journeys'),
    'a 404 page': await call('GET', '/no-such-page', { html: true }),
    'the OpenAPI document': await call('GET', '/api/openapi.json'),
    'the staff login page': await call('GET', '/staff/login', { html: true }),
    'a redirect': await call('GET', '/auth/sso/login'),
  };
  for (const [what, answer] of Object.entries(answers)) t.is(answer.headers.get('cache-control'), 'no-store', `${what} (${answer.status})`);
  const css = await call('GET', '/static/site.css', { headers: { accept: 'text/css' } });
  t.is(css.status, 200);
  t.is(css.headers.get('cache-control'), 'public, max-age=3600');
});

test('HSTS only when the public address is https', async (t) => {
  t.is((await callHttps('GET', '/api/health')).headers.get('strict-transport-security'), HSTS);
  t.is((await callHttps('GET', '/staff/login', { html: true })).headers.get('strict-transport-security'), HSTS);
  t.is((await call('GET', '/api/health')).headers.get('strict-transport-security'), null, 'not on plain http');
});

test('the sign-on cookie is Secure when the public address is https, and the redirect carries a PKCE challenge', async (t) => {
  const secure = await callHttps('GET', '/auth/sso/login');
  t.is(secure.status, 302);
  const cookie = secure.headers.getSetCookie().find((c) => c.startsWith('ila_sso='));
  t.truthy(cookie);
  t.regex(cookie!, /;\s*secure/i);
  t.regex(cookie!, /;\s*httponly/i);

  const plain = await call('GET', '/auth/sso/login');
  const plainCookie = plain.headers.getSetCookie().find((c) => c.startsWith('ila_sso='));
  t.notRegex(plainCookie!, /;\s*secure/i, 'a local http trial still signs in');
  const authorize = new URL(plain.headers.get('location')!);
  t.regex(authorize.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
  t.is(authorize.searchParams.get('code_challenge_method'), 'S256');
});

test('the sign-on redeems its code only with the verifier it kept: another verifier is refused, the right one signs in', async (t) => {
  const start = await call('GET', '/auth/sso/login');
  const authorize = new URL(start.headers.get('location')!);
  const [state, nonce, codeChallenge] = ['state', 'nonce', 'code_challenge'].map((name) => authorize.searchParams.get(name)!);
  const signIn = async () => signInHeadless(stack.ssoUrl, {
    clientId: stack.sso.clientId, redirectUri: stack.sso.redirectUri, state, nonce, personCode: '321178-40215', codeChallenge,
  });
  // A sign-on cookie as our app signs it, but carrying someone else's verifier: the provider refuses the code.
  const forged = await stack.tokens.signValue({ state, nonce, next: '/learner', verifier: createPkce().verifier }, 10);
  const refused = await fetch(await signIn(), { redirect: 'manual', headers: { cookie: `ila_sso=${forged}`, accept: 'application/json' } });
  t.is(refused.status, 502);
  t.false(refused.headers.getSetCookie().some((c) => c.startsWith('ila_session=')), 'no session');

  const cookie = start.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('ila_sso='))!;
  const signedIn = await fetch(await signIn(), { redirect: 'manual', headers: { cookie, accept: 'text/html' } });
  t.is(signedIn.status, 302);
  t.true(signedIn.headers.getSetCookie().some((c) => c.startsWith('ila_session=')));
});
