import test from 'ava';
import { nameKey, parseInboxSearch } from '../../domain/inbox-search';

// How the inbox reads its one search field: person code, case number or name (the API test checks what each finds).

test('a person code with or without the dash is a person code; one with an impossible date is refused', (t) => {
  t.deepEqual(parseInboxSearch(' 010190-12345 '), { ok: true, search: { kind: 'personCode', value: '010190-12345' } });
  t.deepEqual(parseInboxSearch('01019012345'), { ok: true, search: { kind: 'personCode', value: '010190-12345' } });
  t.deepEqual(parseInboxSearch('321178-40215'), { ok: true, search: { kind: 'personCode', value: '321178-40215' } });
  t.false(parseInboxSearch('019090-12345').ok);
});

test('anything else with a digit is a case number, upper case; words without digits are a name, folded', (t) => {
  t.deepEqual(parseInboxSearch('imk-2026-000123'), { ok: true, search: { kind: 'caseNumber', value: 'IMK-2026-000123' } });
  t.deepEqual(parseInboxSearch('  Zane   BĒRZIŅA '), { ok: true, search: { kind: 'name', value: 'Zane BĒRZIŅA', words: ['zane', 'berzina'] } });
  t.is(nameKey('ĀČĒĢĪĶĻŅŠŪŽ āčēģīķļņšūž'), 'acegiklnsuz acegiklnsuz');
  t.deepEqual(parseInboxSearch(''), { ok: true, search: null });
  t.deepEqual(parseInboxSearch(undefined), { ok: true, search: null });
  const long = parseInboxSearch('a b c d e f');
  t.true(long.ok && long.search?.kind === 'name' && long.search.words.length === 4, 'at most four words');
});
