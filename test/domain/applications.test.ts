import test from 'ava';
import { checkApplication, costShare, validateSurveyAnswer, type ApplicationFacts } from '../../domain/applications';

const now = new Date('2026-11-22T12:00:00Z');
const facts = (over: Partial<ApplicationFacts> = {}, offer: Partial<NonNullable<ApplicationFacts['offer']>> = {}): ApplicationFacts => ({
  now, caseProgramme: 'IMK', funding: 'account', balanceCents: 50_000,
  programme: { applicationsOpenAt: new Date('2024-12-05T00:00:00+02:00'), applicationsCloseAt: null },
  offer: {
    programme: 'IMK', published: true, costCents: 32_000, copayPercent: null,
    applicationsOpenAt: new Date('2026-11-07T00:00:00+02:00'), applicationsCloseAt: new Date('2026-12-01T00:00:00+02:00'), ...offer,
  },
  group: { offerMatches: true, capacity: 12, enrolled: 3 },
  ...over,
});

test('an application inside both windows, within the balance, is accepted with the whole cost from the account', (t) => {
  t.deepEqual(checkApplication(facts()), { ok: true, share: { fromAccountCents: 32_000, learnerPaysCents: 0 } });
});

test('each rule refuses with its own reason', (t) => {
  const reason = (f: ApplicationFacts) => { const r = checkApplication(f); return r.ok ? null : r.reason; };
  t.is(reason(facts({ offer: null })), 'offer_not_found');
  t.is(reason(facts({}, { published: false })), 'offer_not_published');
  t.is(reason(facts({}, { programme: 'MN' })), 'other_programme');
  t.is(reason(facts({ group: null })), 'group_not_in_offer');
  t.is(reason(facts({ group: { offerMatches: false, capacity: 10, enrolled: 0 } })), 'group_not_in_offer');
  t.is(reason(facts({}, { applicationsOpenAt: new Date('2026-11-23T00:00:00Z'), applicationsCloseAt: new Date('2026-12-23T00:00:00Z') })), 'window_not_open');
  t.is(reason(facts({}, { applicationsCloseAt: now })), 'window_closed', 'the close time itself is already closed');
  t.is(reason(facts({ programme: { applicationsOpenAt: null, applicationsCloseAt: new Date('2026-11-01T00:00:00Z') } })), 'programme_window_closed');
  t.is(reason(facts({ programme: { applicationsOpenAt: new Date('2027-01-01T00:00:00Z'), applicationsCloseAt: null } })), 'programme_window_not_open');
  t.is(reason(facts({ group: { offerMatches: true, capacity: 12, enrolled: 12 } })), 'group_full');
  t.is(reason(facts({ balanceCents: 31_999 })), 'insufficient_balance');
  t.is(reason(facts({ balanceCents: 32_000 })), null, 'exactly the balance is enough');
});

test('cost share: account pays all, free costs nothing, co-pay is the learner\'s percentage rounded half up to a cent', (t) => {
  t.deepEqual(costShare('account', 32_000, null), { fromAccountCents: 32_000, learnerPaysCents: 0 });
  t.deepEqual(costShare('free', 32_000, null), { fromAccountCents: 0, learnerPaysCents: 0 });
  t.deepEqual(costShare('copay', 32_000, 5), { fromAccountCents: 0, learnerPaysCents: 1_600 });
  t.deepEqual(costShare('copay', 33_333, 50), { fromAccountCents: 0, learnerPaysCents: 16_667 });
  t.deepEqual(costShare('copay', 101, 50), { fromAccountCents: 0, learnerPaysCents: 51 });
  t.throws(() => costShare('account', 10.5, null), { instanceOf: RangeError });
  t.throws(() => costShare('copay', 100, 101), { instanceOf: RangeError });
});

test('completion survey: every aspect rated 1-5; the problem names the field', (t) => {
  const ok = { knowledge_and_skills: 5, organisation_of_learning: 3, teachers: 1 };
  t.is(validateSurveyAnswer('completion', { ratings: ok }), null);
  t.like(validateSurveyAnswer('completion', { ratings: { ...ok, teachers: 0 } }), { field: 'ratings.teachers' });
  t.like(validateSurveyAnswer('completion', { ratings: { ...ok, teachers: 4.5 } }), { field: 'ratings.teachers' });
  t.like(validateSurveyAnswer('completion', { ratings: { knowledge_and_skills: 5, teachers: 5 } }), { field: 'ratings.organisation_of_learning' });
  t.like(validateSurveyAnswer('completion', { ratings: { ...ok, food: 5 } }), { field: 'ratings.food' });
  t.like(validateSurveyAnswer('completion', { ratings: ok, reasons: ['no_time'] }), { field: 'reasons' });
});

test('dropout survey: one or more known reasons, no repeats; "other" needs the free text', (t) => {
  t.is(validateSurveyAnswer('dropout', { reasons: ['no_time', 'personal_reasons'] }), null);
  t.is(validateSurveyAnswer('dropout', { reasons: ['other'], otherText: 'Pārcēlos' }), null);
  t.like(validateSurveyAnswer('dropout', { reasons: [] }), { field: 'reasons' });
  t.like(validateSurveyAnswer('dropout', {}), { field: 'reasons' });
  t.like(validateSurveyAnswer('dropout', { reasons: ['no_time', 'bored'] }), { field: 'reasons[1]' });
  t.like(validateSurveyAnswer('dropout', { reasons: ['no_time', 'no_time'] }), { field: 'reasons[1]' });
  t.like(validateSurveyAnswer('dropout', { reasons: ['other'], otherText: '  ' }), { field: 'otherText' });
  t.like(validateSurveyAnswer('dropout', { reasons: ['no_time'], otherText: 'x'.repeat(2001) }), { field: 'otherText' });
  t.like(validateSurveyAnswer('dropout', { reasons: ['no_time'], ratings: { teachers: 5 } }), { field: 'ratings' });
});
