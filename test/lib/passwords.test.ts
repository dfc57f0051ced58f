import { randomBytes, scryptSync } from 'node:crypto';
import test from 'ava';
import { Semaphore } from '../../lib/concurrency';
import { DUMMY_HASH, hashPassword, needsRehash, SCRYPT_PARAMS, verifyPassword } from '../../lib/passwords';

// Password hashing: OWASP parameters, old hashes still verified and marked for rehash, at most a few at once.

test('new hashes use the current parameters and verify; a wrong password does not', async (t) => {
  const stored = await hashPassword('Kalns#Ezers7');
  t.true(stored.startsWith(`scrypt$${SCRYPT_PARAMS.N}$${SCRYPT_PARAMS.r}$${SCRYPT_PARAMS.p}$`));
  t.false(needsRehash(stored));
  t.true(await verifyPassword('Kalns#Ezers7', stored));
  t.false(await verifyPassword('Kalns#Ezers8', stored));
});

test('a hash with older parameters still verifies and is marked for rehashing', async (t) => {
  const salt = randomBytes(16);
  const old = ['scrypt', 32768, 8, 1, salt.toString('base64'), scryptSync('Kalns#Ezers7', salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }).toString('base64')].join('$');
  t.true(needsRehash(old));
  t.true(await verifyPassword('Kalns#Ezers7', old));
  t.true(needsRehash('not-a-real-hash'));
  t.false(await verifyPassword('x', 'not-a-real-hash'));
});

test('the dummy hash for unknown usernames costs what a real one does (same parameters) and matches nothing', async (t) => {
  t.false(needsRehash(DUMMY_HASH));
  t.false(await verifyPassword('', DUMMY_HASH));
});

test('the semaphore runs at most its limit at once, in arrival order, and frees a slot on failure', async (t) => {
  const gate = new Semaphore(2);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const task = (i: number) => gate.run(async () => {
    running += 1;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, 20));
    order.push(i);
    running -= 1;
    if (i === 1) throw new Error('task 1 fails');
    return i;
  });
  const results = await Promise.allSettled([1, 2, 3, 4, 5].map(task));
  t.is(most, 2);
  t.deepEqual(order, [1, 2, 3, 4, 5]);
  t.is(results[0]!.status, 'rejected');
  t.deepEqual(results.slice(1).map((r) => (r as PromiseFulfilledResult<number>).value), [2, 3, 4, 5]);
});
