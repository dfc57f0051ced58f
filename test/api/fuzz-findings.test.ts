import { randomUUID } from 'node:crypto';
import http from 'node:http';
import test from 'ava';
import { httpClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

// What the fuzz stage (dev/fuzz.ts) found, and the document it fuzzes from: every door is in it, with what it answers.

let stack: TestStack;

test.before(async () => {
  stack = await startTestStack();
});
test.after.always(async () => { await stack?.stop(); });

/** A raw request (fetch refuses TRACE and CONNECT). */
function raw(method: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${stack.appUrl}${path}`, { method, headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

// Found by the fuzz stage: TRACE (a method no route takes) was a bare 501, a server error, without our error body.
test('a method no route takes (TRACE) is a 405 with the uniform error body, not a 501', async (t) => {
  for (const path of ['/api/health', '/staff/tasks']) {
    const answer = await raw('TRACE', path);
    t.is(answer.status, 405, `${path}: ${answer.text}`);
    t.regex(answer.headers.allow ?? '', /GET/, 'Allow names the methods the path takes');
    const body = JSON.parse(answer.text) as { error: { code: string; message: string; details: unknown[] } };
    t.is(body.error.code, 'method_not_allowed');
    t.regex(body.error.message, /TRACE is not supported here/);
  }
});

interface Operation { security?: unknown; 'x-roles'?: string[]; requestBody?: { content: Record<string, unknown> }; responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }> }

test('the OpenAPI document lists the page forms, uploads and filters with their roles, and what every door answers', async (t) => {
  const doc = await (await fetch(`${stack.appUrl}/api/openapi.json`)).json() as { paths: Record<string, Record<string, Operation>> };
  const op = (path: string, method: string) => doc.paths[path]?.[method];

  const form = op('/learner/journeys', 'post');
  t.deepEqual(form?.['x-roles'], ['learner']);
  t.truthy(form?.requestBody?.content['application/x-www-form-urlencoded'], 'a page form is posted url-encoded');
  t.truthy(form?.responses['302']?.headers?.Location, 'a form that succeeds redirects');
  t.truthy(form?.responses['400']?.content?.['text/html'], 'a form with problems is shown again');

  t.truthy(op('/providers/register', 'post')?.requestBody?.content['multipart/form-data'], 'the registration upload');
  // Found by the fuzz stage: the document called an e-mail address any text, so no generated registration got through.
  const registration = op('/api/learner/journeys', 'post')?.requestBody?.content['application/json'] as { schema: { properties: Record<string, { format?: string }> } };
  t.is(registration.schema.properties.email?.format, 'email');
  t.truthy(op('/provider/offers/{offerId}/documents/{kind}', 'post')?.requestBody?.content['multipart/form-data'], 'the offer document upload');
  t.deepEqual(op('/admin/workflows/{workflowId}/actions', 'post')?.['x-roles'], ['admin']);
  t.truthy(op('/staff/tasks', 'get')?.responses['302'], 'a page asked for without a session sends a browser to the login');
  t.true(JSON.stringify(op('/catalogue', 'get')).includes('"name":"maxCost"'), 'a page\'s filters are its query parameters');

  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const label = `${method.toUpperCase()} ${path}`;
      t.truthy(operation.responses['503']?.headers?.['Retry-After'], `${label}: a 503 comes with Retry-After`);
      if (path.includes('{')) t.truthy(operation.responses['404'], `${label}: an id that names nothing is a 404`);
      if (operation.security) t.truthy(operation.responses['401'] && operation.responses['403'], `${label}: 401 and 403`);
    }
  }
});

// Found by the browser walk (issue 16): a page re-shown with its form's problems sits at the form's POST address, so a
// refresh, the back button or the language switch there answered "405 GET is not supported here; use POST".
test('a form\'s address opened with GET goes to the form\'s page with its query, as the form\'s own guard allows', async (t) => {
  const call = httpClient(() => stack.appUrl);
  const learner = await stack.tokenFor('learner', '321178-40215', 'Anna Bērziņa');
  const toPage = await call('GET', '/learner/journeys?lang=en', { token: learner, html: true });
  t.is(toPage.status, 303);
  t.is(toPage.headers.get('location'), '/learner?lang=en');
  t.is((await call('GET', '/learner?lang=en', { token: learner, html: true })).status, 200, 'and that page opens');
  const taskId = randomUUID();
  const staff = await call('GET', `/staff/tasks/${taskId}/decision?lang=lv&x=1`, { token: await stack.staffToken(), html: true });
  t.is(staff.status, 303);
  t.is(staff.headers.get('location'), `/staff/tasks/${taskId}?lang=lv&x=1`);
  const anonymous = await call('GET', `/staff/tasks/${taskId}/decision`, { html: true });
  t.is(anonymous.status, 302, 'nobody signed in goes to the login, as on the page itself');
  t.regex(anonymous.headers.get('location') ?? '', /^\/staff\/login/);
  t.is((await call('GET', '/staff/tasks/x/decision', { token: learner, html: true })).status, 403, 'the form\'s guard holds');
});

// Found by the fuzz stage (issue 16's offer form): an empty form posted to a published offer's page was a 500 (a
// problem about the whole form has no field for the error summary to link to).
test('an empty form posted to an offer page is answered with the page and its problems, not a 500', async (t) => {
  const call = httpClient(() => stack.appUrl);
  const provider = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  const token = await stack.signIn({ role: 'provider', subject: provider.id, name: provider.displayName, providerId: provider.providerId, providerRole: 'admin' });
  const offer = await stack.db('offers').where({ providerId: provider.providerId }).first<{ id: string }>('id');
  const answer = await call('POST', `/provider/offers/${offer.id}`, { token, html: true, form: {} });
  t.true(answer.status < 500, `HTTP ${answer.status}`);
  t.regex(answer.headers.get('content-type') ?? '', /text\/html/);
});
