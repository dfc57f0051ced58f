import type { Knex } from 'knex';
import { rigaDate } from '../../domain/dates';
import { blockWords, liveBlockOfCase, liveBlockOfLearner, liveBlockOfProvider, liveBlockOfUser, type LiveBlock } from '../../lib/account-blocks';
import { translate } from '../../web/render';
import { HttpError } from '../errors';

/**
 * Why a password user with the right password still may not sign in: the account's validity period does not
 * include today, or a block (their own or their provider's) holds. The same conditions end a live session at its
 * next request (lib/sessions.ts); this is what the login says, to someone who knew the password, in both languages.
 */
export async function accessRefusal(db: Knex, user: { id: string; providerId: string | null }, now = new Date()): Promise<HttpError | null> {
  const today = rigaDate(now);
  const validity = await db('users').where({ id: user.id }).first<{ outside: boolean; validFrom: string | null; validUntil: string | null }>(
    db.raw('((valid_from > ?::date) OR (valid_until < ?::date)) IS TRUE AS outside', [today, today]),
    db.raw("to_char(valid_from, 'YYYY-MM-DD') AS valid_from"), db.raw("to_char(valid_until, 'YYYY-MM-DD') AS valid_until"),
  );
  if (validity?.outside) {
    const period = `${validity.validFrom ?? '…'} – ${validity.validUntil ?? '…'}`;
    const words = {
      lv: `Jūsu konts ir derīgs laikposmā ${period}; šodien to nevar izmantot. Vērsieties pie aģentūras administratora.`,
      en: `Your account is valid for ${period}; it cannot be used today. Please contact the agency's administrator.`,
    };
    return new HttpError(403, 'account_not_valid', words.en, [{ validFrom: validity.validFrom, validUntil: validity.validUntil, words }]);
  }
  const block = await liveBlockOfUser(db, user, now);
  if (block) {
    const words = blockWords(block);
    return new HttpError(403, 'account_blocked', words.en, [{ kind: block.kind, reason: block.reason, endsOn: block.endsOn, words }]);
  }
  return null;
}

/** The 409 of something a block holds (applying, a decision about the person), saying why in both languages. */
export function heldByBlock(block: LiveBlock, whose: 'own' | 'person'): HttpError {
  const words = blockWords(block, whose);
  return new HttpError(409, 'blocked', words.en, [{ kind: block.kind, reason: block.reason, endsOn: block.endsOn, words }]);
}

/** Refuses (409 blocked) when the learner of this case is blocked: their journey waits until reinstated. */
export async function refuseIfCaseHeld(db: Knex, caseId: string, whose: 'own' | 'person'): Promise<void> {
  const block = await liveBlockOfCase(db, caseId);
  if (block) throw heldByBlock(block, whose);
}

/** Refuses (409 blocked) a new journey for a blocked learner. */
export async function refuseIfLearnerHeld(db: Knex, personCode: string, whose: 'own' | 'person'): Promise<void> {
  const block = await liveBlockOfLearner(db, personCode);
  if (block) throw heldByBlock(block, whose);
}

/** The block that holds a staff task: its learner's (through the case) or its provider's; null if none. */
export async function taskHold(db: Knex, task: { caseId: string | null; providerId: string | null }): Promise<LiveBlock | null> {
  return (task.caseId ? await liveBlockOfCase(db, task.caseId) : null) ?? (task.providerId ? await liveBlockOfProvider(db, task.providerId) : null);
}

/** What a page shows about a live block: why (the block's words) and what it means here (a page string). */
export interface BlockNotice { text: string; meaning: string }

/** The notice for a page in `lang`, or null when no block holds. */
export function blockNotice(block: LiveBlock | null, whose: 'own' | 'person', lang: 'lv' | 'en', meaningKey: string): BlockNotice | null {
  return block ? { text: blockWords(block, whose)[lang], meaning: translate(lang, meaningKey) } : null;
}
