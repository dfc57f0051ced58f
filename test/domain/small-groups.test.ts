import test from 'ava';
import { enoughRespondents, MIN_SURVEY_RESPONDENTS, shownScopes, type ResultScope } from '../../domain/small-groups';

const scope = (key: string, parent: string | null, respondents: number): ResultScope => ({ key, parent, respondents });

test('results are shown from 5 respondents, not from 4', (t) => {
  t.true(MIN_SURVEY_RESPONDENTS >= 5);
  t.false(enoughRespondents(4));
  t.true(enoughRespondents(5));
  t.deepEqual([...shownScopes([scope('all', null, 4)])], []);
  t.deepEqual([...shownScopes([scope('all', null, 5)])], ['all']);
});

test('a parent minus its shown children must not leave 1 to 4 respondents: the smallest child is hidden too', (t) => {
  // 10 = 9 + 1: showing both the institution and the offer of 9 gives away the other offer's single answer.
  const shown = shownScopes([scope('all', null, 10), scope('a', 'all', 9), scope('b', 'all', 1)]);
  t.deepEqual([...shown].sort(), ['all']);
  // 12 = 6 + 5 + 1: hiding the 5 leaves 6 unexplained, enough.
  t.deepEqual([...shownScopes([scope('all', null, 12), scope('a', 'all', 6), scope('b', 'all', 5), scope('c', 'all', 1)])].sort(), ['a', 'all']);
  // 15 = 5 + 5 + 5: nothing to hide.
  t.deepEqual([...shownScopes([scope('all', null, 15), scope('a', 'all', 5), scope('b', 'all', 5), scope('c', 'all', 5)])].sort(), ['a', 'all', 'b', 'c']);
});

test('across levels: a hidden offer\'s shown groups count as what can be subtracted from the institution', (t) => {
  // Institution 11 = offer A 10 (groups 5 + 5) + offer B 1. Hiding A alone is no help: its groups of 5 and 5 still
  // leave B's 1, so a group goes too.
  const shown = shownScopes([
    scope('all', null, 11), scope('a', 'all', 10), scope('b', 'all', 1), scope('a1', 'a', 5), scope('a2', 'a', 5), scope('b1', 'b', 1),
  ]);
  // Institution minus group a2 leaves a1 and b together: 6 respondents.
  t.deepEqual([...shown].sort(), ['a2', 'all']);
});

test('a scope shown elsewhere (an offer\'s public rating) is never the one hidden: another is, or the scope above it', (t) => {
  // 12 = 6 + 5 (public) + 1: hiding the public 5 would not help, so the 6 goes.
  t.deepEqual([...shownScopes([scope('all', null, 12), scope('x', 'all', 6), scope('p', 'all', 5), scope('z', 'all', 1)], new Set(['p']))].sort(), ['all', 'p']);
  // 11 = 10 (public) + 1: nothing else to hide, so the institution goes.
  t.deepEqual([...shownScopes([scope('all', null, 11), scope('p', 'all', 10), scope('z', 'all', 1)], new Set(['p']))], ['p']);
});
