import { randomUUID } from 'node:crypto';
import test from 'ava';
import { assertError, fieldsOf, httpClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

// The doors the account routes of issue 13 added (password change and reset, second factor, sessions, keep-alive,
// logout), each tried as every kind of caller and with bad input: who may use it is what its guard says, and bad
// input is a 400 naming each field and its rule, before anything is looked up or changed.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
type Caller = 'anonymous' | 'learner' | 'provider' | 'staff' | 'admin';
const tokens = new Map<Caller, string>();

test.before(async () => {
  stack = await startTestStack();
  tokens.set('learner', await stack.tokenFor('learner', '010190-10011', 'Anna Bērziņa'));
  const provider = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  tokens.set('provider', await stack.signIn({ role: 'provider', subject: provider.id, name: provider.displayName, providerId: provider.providerId, providerRole: 'admin' }));
  tokens.set('staff', await stack.staffToken('staff'));
  tokens.set('admin', await stack.adminToken());
});

test.after.always(async () => { await stack?.stop(); });

/** Each state-changing route of the account doors: who may use it, and a body that breaks its rules. */
const DOORS: { path: string; roles: Caller[] | 'public'; bad: unknown; fields: string[] }[] = [
  { path: '/api/account/password', roles: ['provider', 'staff', 'admin'], bad: { currentPassword: '', newPassword: 'x'.repeat(201) }, fields: ['currentPassword', 'newPassword', 'newPasswordRepeat'] },
  { path: '/api/account/second-factor/setup', roles: ['staff', 'admin'], bad: null, fields: [] },
  { path: '/api/account/second-factor', roles: ['staff', 'admin'], bad: { code: '' }, fields: ['code'] },
  { path: '/api/account/second-factor/confirm', roles: ['staff', 'admin'], bad: { code: 42 }, fields: ['code'] },
  { path: '/api/account/sessions/not-a-session/end', roles: ['provider', 'staff', 'admin'], bad: null, fields: ['sessionId'] },
  { path: '/api/session/keep-alive', roles: ['learner', 'provider', 'staff', 'admin'], bad: null, fields: [] },
  { path: '/api/auth/password-reset-requests', roles: 'public', bad: { login: '', language: 'de' }, fields: ['login', 'language'] },
  { path: '/api/auth/password-resets', roles: 'public', bad: { token: '', password: '' }, fields: ['token', 'password', 'passwordRepeat'] },
];

test('each account door lets in exactly the roles its guard names: 401 anonymous, 403 any other role', async (t) => {
  for (const door of DOORS.filter((d) => d.roles !== 'public')) {
    const allowed = door.roles as Caller[];
    for (const caller of ['anonymous', 'learner', 'provider', 'staff', 'admin'] as const) {
      // A valid-looking but harmless body: the guard answers before the body is judged.
      const answer = await call('POST', door.path.replace('not-a-session', randomUUID()), { token: tokens.get(caller), json: {} });
      const where = `${caller} → ${door.path}`;
      if (caller === 'anonymous') assertError(t, answer, 401, 'not_logged_in');
      else if (!allowed.includes(caller)) assertError(t, answer, 403, 'forbidden');
      else t.false([401, 403].includes(answer.status), `${where}: let in (${answer.status} ${answer.text})`);
    }
  }
});

test('bad input to each account door is a 400 naming each field and its rule', async (t) => {
  for (const door of DOORS.filter((d) => d.fields.length > 0)) {
    const caller = door.roles === 'public' ? undefined : door.roles.at(-1)!;
    const answer = await call('POST', door.path, { token: caller && tokens.get(caller), ...(door.bad === null ? {} : { json: door.bad }) });
    const error = assertError(t, answer, 400, 'invalid_request');
    t.deepEqual([...new Set(fieldsOf(error))].sort(), [...door.fields].sort(), door.path);
    t.true(error.details.every((d) => typeof d.rule === 'string' && d.rule.length > 0), `${door.path}: every problem names its rule`);
  }
});

test('logout is open to anyone: without a session it is a 204 that ends nothing', async (t) => {
  const before = await stack.db('sessions').whereNull('endedAt').count<{ count: string }[]>('* as count');
  t.is((await call('POST', '/api/auth/logout', { json: {} })).status, 204);
  const after = await stack.db('sessions').whereNull('endedAt').count<{ count: string }[]>('* as count');
  t.is(after[0]!.count, before[0]!.count);
});
