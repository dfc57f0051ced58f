import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { Semaphore } from './concurrency';

/** Slow password hashing with scrypt (built into Node, memory-hard); the parameters are stored with the hash. */

/**
 * OWASP's Password Storage Cheat Sheet (2025) lists equivalent scrypt settings; we use N=2^16, r=8, p=2: 64 MiB per
 * hash (half of N=2^17's 128 MiB, which matters with two hashes running at once) and about 0.33 s on the 2-core
 * development machine (N=2^17, r=8, p=1: 0.37 s; the old N=2^15, p=1: 0.14 s). A stored hash made with other
 * parameters is still verified with its own, and replaced at the next successful login (needsRehash).
 */
export const SCRYPT_PARAMS = { N: 2 ** 16, r: 8, p: 2 } as const;

// Node refuses scrypt above maxmem (128 × N × r bytes needed); room for stored hashes with stronger parameters.
const MAX_MEM = 256 * 1024 * 1024;

/**
 * At most this many hashes at once per process. Node runs scrypt on libuv's thread pool (4 threads by default),
 * which file reads, DNS lookups and zlib share: a login flood must not take every thread, so the other requests
 * keep being served while the hashes wait their turn here.
 */
export const MAX_CONCURRENT_HASHES = 2;
const hashing = new Semaphore(MAX_CONCURRENT_HASHES);

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return hashing.run(() => new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, 32, { ...options, maxmem: MAX_MEM }, (err, key) => (err ? reject(err) : resolve(key)));
  }));
}

/** Hashes a password as "scrypt$N$r$p$salt$hash" (base64) with the current parameters. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, SCRYPT_PARAMS);
  return format(SCRYPT_PARAMS, salt, key);
}

function format(params: { N: number; r: number; p: number }, salt: Buffer, key: Buffer): string {
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/**
 * A hash no password matches, with the current parameters: verified when the username is unknown, so the answer
 * takes as long as for a known user and timing does not reveal which usernames exist.
 */
export const DUMMY_HASH = format(SCRYPT_PARAMS, Buffer.alloc(16), Buffer.alloc(32));

/** Checks a password against a stored hash in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed.params);
  return key.length === parsed.hash.length && timingSafeEqual(key, parsed.hash);
}

/** Whether a stored hash was made with other parameters than the current ones (so it is replaced at the next login). */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.params.N !== SCRYPT_PARAMS.N || parsed.params.r !== SCRYPT_PARAMS.r || parsed.params.p !== SCRYPT_PARAMS.p;
}

function parse(stored: string) {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (scheme !== 'scrypt' || !salt || !hash || !Object.values(params).every((v) => Number.isInteger(v) && v > 0)) return null;
  return { params, salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
}
