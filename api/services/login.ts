import { User } from '../../lib/db';
import { DUMMY_HASH, hashPassword, needsRehash, verifyPassword } from '../../lib/passwords';
import type { ApiDeps } from '../deps';
import { throttleOf } from '../throttle';

/**
 * A password login, throttled: the login page and the API both call logIn. Only wrong passwords count, per
 * account and address (the 11th within a minute is refused), per address across accounts and per account across
 * addresses (larger budgets), so the account's holder still gets in from their own address while someone else
 * guesses. Every attempt is counted against the name typed, known or not, so throttling does not reveal which
 * usernames exist.
 */
export async function logIn(deps: ApiDeps, address: string, username: string, password: string): Promise<User | null> {
  const throttle = throttleOf(deps.db);
  const account = username.toLowerCase();
  const pair = `${account}|${address}`;
  await throttle.check('loginAccountAddress', pair, 'password');
  await throttle.check('loginAddress', address, 'password');
  await throttle.check('loginAccount', account, 'password');
  const user = await checkLogin(deps, username, password);
  if (!user) {
    await Promise.all([throttle.fail('loginAccountAddress', pair), throttle.fail('loginAddress', address), throttle.fail('loginAccount', account)]);
    return null;
  }
  await throttle.clear('loginAccountAddress', pair);
  await rehashIfOld(deps, user, password);
  return user;
}

/**
 * The user whose password this is, or null. A user who is not active yet (or was rejected) is returned too, so
 * the caller can say why they cannot log in; that is told only to someone who knows the password. A deactivated
 * user (active false, status active) is refused like a wrong password.
 */
async function checkLogin(deps: ApiDeps, username: string, password: string): Promise<User | null> {
  // Provider users log in with their e-mail address, stored lower-cased as the username.
  const user = await User.query(deps.db).whereIn('username', [...new Set([username, username.toLowerCase()])])
    .where((q) => q.where('active', true).orWhereNot('status', 'active')).orderByRaw('username = ? desc', [username]).first();
  // Verify against a dummy hash (same parameters) when the user is unknown, so timing does not reveal which usernames exist.
  const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
  return user && ok ? user : null;
}

/**
 * A hash made with older scrypt parameters is replaced by one with the current parameters while the password is
 * at hand. The password itself is the same, so this is not a password change (the user's sessions stay); only the
 * row still holding the old hash is updated, so a password changed meanwhile is never overwritten.
 */
async function rehashIfOld(deps: ApiDeps, user: User, password: string): Promise<void> {
  if (!needsRehash(user.passwordHash)) return;
  try {
    const passwordHash = await hashPassword(password);
    await deps.db('users').where({ id: user.id, passwordHash: user.passwordHash }).update({ passwordHash });
  } catch (err) {
    // The login itself succeeded; the next one tries again.
    deps.logger.warn('could not rehash a password with the current parameters', { userId: user.id, err });
  }
}
