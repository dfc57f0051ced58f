import type { Knex } from 'knex';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { translate, type PageLanguage } from '../web/render';
import { HttpError } from './errors';

/**
 * Throttling: how often one client address, account, e-mail address or company may do the costly or abusable
 * things. Counts live in PostgreSQL (the rate_limits table, through rate-limiter-flexible), so every API instance
 * shares them. The client address is Koa's ctx.ip: the app trusts X-Forwarded-For (proxy: true), so the API must
 * run behind a reverse proxy that sets that header, and must not be reachable around it.
 */

/** One limit: at most `points` in a window of `seconds` that starts at the first point. */
export interface Limit { points: number; seconds: number }

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Every limit, by name. */
export const LIMITS = {
  /** Wrong passwords for one account from one address: the 11th attempt within a minute is refused. */
  loginAccountAddress: { points: 10, seconds: MINUTE },
  /**
   * Wrong passwords from one address, whatever the account: one guesser trying many accounts. Larger, as an
   * office behind one address shares it.
   */
  loginAddress: { points: 100, seconds: 15 * MINUTE },
  /**
   * Wrong passwords for one account, whatever the address: guessing spread over many addresses. Large, because
   * reaching it locks the account's holder out too; below it the holder gets in from their own address.
   */
  loginAccount: { points: 200, seconds: HOUR },
  /** Provider registrations (each holds numbers and sends a confirmation e-mail) from one address. */
  providerRegistrationAddress: { points: 20, seconds: HOUR },
  /** Requests of provider staff to join (each makes a user for the administrator to decide) from one address. */
  staffRegistrationAddress: { points: 20, seconds: HOUR },
  /** Confirmation e-mails to one e-mail address (registrations naming it). */
  confirmationMailTarget: { points: 3, seconds: DAY },
  /** Password-reset requests from one address. */
  resetMailAddress: { points: 10, seconds: HOUR },
  /** Password-reset e-mails to one account. */
  resetMailTarget: { points: 3, seconds: HOUR },
  /** Catalogue searches (the public list, page and API) from one address. */
  catalogueSearchAddress: { points: 120, seconds: MINUTE },
  /**
   * Times one company registration number may be held by a registration (each holds it for the confirmation's
   * validity, 72 h): a registrant whose link expired may try again, but nobody can keep a company's number held.
   */
  registrationNumberHolds: { points: 3, seconds: 30 * DAY },
} as const satisfies Record<string, Limit>;

/** The name of a limit. */
export type LimitName = keyof typeof LIMITS;

/** What a refusal says: the reader's words per kind of limit (web/i18n/account.*.json `throttle.*`). */
const KIND: Record<LimitName, string> = {
  loginAccountAddress: 'login', loginAddress: 'login', loginAccount: 'login',
  providerRegistrationAddress: 'registration', staffRegistrationAddress: 'registration',
  confirmationMailTarget: 'confirmationMail', resetMailAddress: 'resetMail', resetMailTarget: 'resetMail',
  catalogueSearchAddress: 'search', registrationNumberHolds: 'registrationNumber',
};

/** The table rate-limiter-flexible keeps its counts in (created by our migration). */
const TABLE = 'rate_limits';

/** The limiters over one database. */
export class Throttle {
  private readonly limiters: Record<LimitName, RateLimiterPostgres>;

  constructor(db: Knex, limits: Record<LimitName, Limit> = LIMITS) {
    this.limiters = Object.fromEntries(Object.entries(limits).map(([name, limit], index) => [name, new RateLimiterPostgres({
      storeClient: db, storeType: 'knex', tableName: TABLE, tableCreated: true, keyPrefix: name,
      points: limit.points, duration: limit.seconds,
      // Each limiter would delete the table's expired rows every five minutes; they share the table, so one does.
      clearExpiredByTimeout: index === 0,
    })])) as Record<LimitName, RateLimiterPostgres>;
  }

  /**
   * Counts one use of `name` by `key`; beyond the limit, a 429 naming `field` (the count still goes up, so a
   * client that keeps trying does not get more).
   */
  async consume(name: LimitName, key: string, field = '(request)'): Promise<void> {
    try {
      await this.limiters[name].consume(normalize(key));
    } catch (err) {
      if (err instanceof RateLimiterRes) throw tooManyRequests(name, err.msBeforeNext, field);
      throw err;
    }
  }

  /** A 429 when `key` has used up `name` already (without counting): for counts of failures, such as wrong passwords. */
  async check(name: LimitName, key: string, field = '(request)'): Promise<void> {
    const used = await this.limiters[name].get(normalize(key));
    if (used && used.consumedPoints >= this.limiters[name].points) throw tooManyRequests(name, used.msBeforeNext, field);
  }

  /** Counts one failure of `key` against `name` (checked with check()). */
  async fail(name: LimitName, key: string): Promise<void> {
    await this.limiters[name].penalty(normalize(key), 1);
  }

  /** Forgets `key`'s count (a successful login clears that account's wrong passwords from that address). */
  async clear(name: LimitName, key: string): Promise<void> {
    await this.limiters[name].delete(normalize(key));
  }
}

// Keys are case-insensitive (an e-mail address, a username) and bounded to the table's key column.
function normalize(key: string): string {
  return key.trim().toLowerCase().slice(0, 200);
}

const throttles = new WeakMap<Knex, Throttle>();

/** The throttle over a database, one per database and process (every app on it shares it). */
export function throttleOf(db: Knex): Throttle {
  let throttle = throttles.get(db);
  if (!throttle) {
    throttle = new Throttle(db);
    throttles.set(db, throttle);
  }
  return throttle;
}

/**
 * The 429: Retry-After in seconds (set by the error middleware from the details), the message in English for the
 * API and in both languages in the details (pages show the reader's).
 */
export function tooManyRequests(name: LimitName, msBeforeNext: number, field: string): HttpError {
  const retryAfterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
  const words = (lang: PageLanguage) => `${translate(lang, `throttle.${KIND[name]}`)} ${translate(lang, 'throttle.retry', { minutes })}`;
  return new HttpError(429, 'too_many_requests', words('en'), [{
    field, rule: 'too_many_requests', limit: name, retryAfterSeconds, message: words('en'), words: { lv: words('lv'), en: words('en') },
  }]);
}

/** The reader's words of a 429 made by tooManyRequests, or null for any other error. */
export function throttledWords(err: HttpError, lang: PageLanguage): string | null {
  if (err.status !== 429) return null;
  const detail = err.details[0] as { words?: Record<PageLanguage, string> } | undefined;
  return detail?.words?.[lang] ?? err.message;
}
