import { createHash, randomInt } from 'node:crypto';
import { generateSecret, generateURI, verifySync } from 'otplib';
import QRCode from 'qrcode';
import { markSecondFactor } from '../../lib/sessions';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';

// The TOTP second factor of password users (RFC 6238 through otplib: 6 digits, 30 s steps, SHA-1, what every
// authenticator app reads). Required for administrators, optional for agency staff. The secret is stored sealed
// with the server's key and never shown again after enrolment; the last time step used is stored, so a code
// (even one still inside its window) works once; ten recovery codes are shown once and stored as hashes.

/** The name authenticator apps show above the code. */
const ISSUER = 'IMK';
/** How many recovery codes an enrolment gives. */
export const RECOVERY_CODE_COUNT = 10;
/** A code from the step before or after the current one is accepted too (clocks drift, people type slowly). */
const TOLERANCE_SECONDS = 30;
/**
 * After this many wrong codes in a row, codes are not checked for LOCK_MS: three codes are valid at any time, so
 * unlimited tries would find one among a million in hours. Someone who gets here knows the password already.
 */
export const MAX_CODE_FAILURES = 5;
export const CODE_LOCK_MS = 15 * 60_000;

/** What the enrolment page shows: the secret to type in, the otpauth:// address and its QR code. */
export interface Enrolment { secret: string; uri: string; qrDataUrl: string }

interface SecondFactorRow {
  id: string; username: string; totpSecret: string | null; totpPendingSecret: string | null; totpEnrolledAt: Date | null; totpLastStep: string | null;
  totpFailures: number; totpFailedAt: Date | null;
}

async function userRow(deps: ApiDeps, userId: string): Promise<SecondFactorRow> {
  const row = await deps.db('users').where({ id: userId })
    .first<SecondFactorRow | undefined>('id', 'username', 'totpSecret', 'totpPendingSecret', 'totpEnrolledAt', 'totpLastStep', 'totpFailures', 'totpFailedAt');
  if (!row) throw new HttpError(404, 'not_found', 'No such user');
  return row;
}

/**
 * The secret a user is about to enrol: the pending one if the page was shown before (so a reload shows the same
 * QR code), else a new one. Refused (409) once a second factor is enrolled: the secret is never shown again.
 */
export async function startEnrolment(deps: ApiDeps, userId: string): Promise<Enrolment> {
  const user = await userRow(deps, userId);
  if (user.totpEnrolledAt) throw new HttpError(409, 'second_factor_enrolled', 'A second factor is already set up for this account');
  let secret = user.totpPendingSecret ? deps.tokens.open(user.totpPendingSecret) : null;
  if (!secret) {
    secret = generateSecret();
    await deps.db('users').where({ id: userId }).update({ totpPendingSecret: deps.tokens.seal(secret) });
  }
  const uri = generateURI({ issuer: ISSUER, label: user.username, secret });
  return { secret, uri, qrDataUrl: await QRCode.toDataURL(uri, { margin: 1, width: 220 }) };
}

/**
 * Confirms the enrolment with a code from the app: the pending secret becomes the user's second factor, the session
 * counts as confirmed, and the recovery codes are returned (the only time they are shown).
 */
export async function confirmEnrolment(deps: ApiDeps, userId: string, sessionId: string, code: string): Promise<string[]> {
  const user = await userRow(deps, userId);
  if (user.totpEnrolledAt) throw new HttpError(409, 'second_factor_enrolled', 'A second factor is already set up for this account');
  if (!user.totpPendingSecret) throw new HttpError(409, 'second_factor_not_started', 'Open the set-up page first to get the secret');
  const step = totpStep(deps.tokens.open(user.totpPendingSecret), code, null);
  if (step === null) throw invalidCode();
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await deps.db.transaction(async (trx) => {
    await trx('users').where({ id: userId }).update({
      totpSecret: user.totpPendingSecret, totpPendingSecret: null, totpEnrolledAt: new Date(), totpLastStep: step,
    });
    await trx('recoveryCodes').where({ userId }).delete();
    await trx('recoveryCodes').insert(codes.map((c) => ({ userId, codeHash: hashRecoveryCode(c) })));
  });
  await markSecondFactor(deps.db, sessionId);
  return codes;
}

/**
 * Checks a second-factor code of an enrolled user: a 6-digit code from the app (each time step once), or one of the
 * unused recovery codes (which is then used up). Returns what matched, or null; throws 429 too_many_code_attempts
 * after MAX_CODE_FAILURES wrong codes in a row, for CODE_LOCK_MS from the last one.
 */
export async function checkSecondFactor(deps: ApiDeps, userId: string, code: string, now = new Date()): Promise<'totp' | 'recovery' | null> {
  const user = await userRow(deps, userId);
  if (!user.totpEnrolledAt || !user.totpSecret) return null;
  const lockedUntil = user.totpFailedAt && user.totpFailures >= MAX_CODE_FAILURES ? user.totpFailedAt.getTime() + CODE_LOCK_MS : 0;
  if (lockedUntil > now.getTime()) throw tooManyAttempts(Math.ceil((lockedUntil - now.getTime()) / 1000));
  const matched = await matchCode(deps, user, code.replace(/\s+/g, ''));
  // A run of failures counts from the last one: a wrong code after a quiet quarter of an hour starts a new run.
  const inRun = user.totpFailedAt !== null && now.getTime() - user.totpFailedAt.getTime() < CODE_LOCK_MS;
  await deps.db('users').where({ id: userId }).update(matched
    ? { totpFailures: 0, totpFailedAt: null }
    : { totpFailures: inRun ? user.totpFailures + 1 : 1, totpFailedAt: now });
  return matched;
}

async function matchCode(deps: ApiDeps, user: SecondFactorRow, typed: string): Promise<'totp' | 'recovery' | null> {
  if (/^\d{6}$/.test(typed)) {
    const step = totpStep(deps.tokens.open(user.totpSecret!), typed, user.totpLastStep === null ? null : Number(user.totpLastStep));
    if (step === null) return null;
    // Written only if no other request used this step (or a later one) meanwhile: a code works once, even in a race.
    const won = await deps.db('users').where({ id: user.id })
      .where((q) => q.whereNull('totpLastStep').orWhere('totpLastStep', '<', step)).update({ totpLastStep: step });
    return won > 0 ? 'totp' : null;
  }
  const used = await deps.db('recoveryCodes').where({ userId: user.id, codeHash: hashRecoveryCode(typed) }).whereNull('usedAt')
    .update({ usedAt: new Date() });
  return used > 0 ? 'recovery' : null;
}

/** The 429 after too many wrong codes, with the seconds until codes are checked again (Retry-After). */
function tooManyAttempts(retryAfterSeconds: number): HttpError {
  return new HttpError(429, 'too_many_code_attempts', `Too many wrong codes: try again in ${Math.ceil(retryAfterSeconds / 60)} minutes`,
    [{ field: 'code', rule: 'too_many_attempts', retryAfterSeconds }]);
}

/** Confirms a session of an enrolled user with a code (e.g. a session started before the user became administrator). */
export async function confirmSession(deps: ApiDeps, userId: string, sessionId: string, code: string): Promise<void> {
  if (!(await checkSecondFactor(deps, userId, code))) throw invalidCode();
  await markSecondFactor(deps.db, sessionId);
}

/** How many recovery codes the user has left. */
export async function recoveryCodesLeft(deps: ApiDeps, userId: string): Promise<number> {
  const [{ count }] = await deps.db('recoveryCodes').where({ userId }).whereNull('usedAt').count<{ count: string }[]>('* as count');
  return Number(count);
}

/** The 400 for a wrong, expired or already used code, naming the field and the rule. */
export function invalidCode(): HttpError {
  return new HttpError(400, 'invalid_request', 'Invalid body: code: is not a valid code (wrong, expired or already used)',
    [{ field: 'code', rule: 'second_factor_code', message: 'is not a valid code (wrong, expired or already used)' }]);
}

// The time step the code belongs to, if it is valid for the secret and later than the last step used.
function totpStep(secret: string, code: string, afterStep: number | null): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const result = verifySync({ secret, token: code, epochTolerance: TOLERANCE_SECONDS, ...(afterStep === null ? {} : { afterTimeStep: afterStep }) });
  // A TOTP result carries its time step (an HOTP one would not: the type is shared).
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

// Ten random characters (50 bits) in two groups, from an alphabet without look-alikes (0/o, 1/l).
function newRecoveryCode(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const chars = Array.from({ length: 10 }, () => alphabet[randomInt(alphabet.length)]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

// Recovery codes are random (not chosen by people), so a plain SHA-256 is enough; typed without the dash or in capitals is fine.
function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(code.toLowerCase().replace(/[^a-z0-9]/g, '')).digest('hex');
}
