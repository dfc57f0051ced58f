import test from 'ava';
import { costPerLearnerCents, hourlyRateCents } from '../../domain/offer-cost';
import { checkOffer, computedCostCents } from '../../domain/offer-checks';
import { formatEuro } from '../../domain/money';

test('the seed\'s worked example: round2(1.56 × 1.28) = 2.00 EUR an hour; × 160 h = EUR 320.00', (t) => {
  t.is(hourlyRateCents(1280), 200);
  t.is(costPerLearnerCents(1280, 160), 32_000);
  t.is(formatEuro(costPerLearnerCents(1280, 160), 'en'), 'EUR 320.00');
});

test('the hourly rate is rounded to cents before multiplying by hours, half up', (t) => {
  // 1.56 × 1.25 = 1.95 exactly; 1.56 × 1.3 = 2.028 → 2.03; 1.56 × 1.2 = 1.872 → 1.87; 1.56 × 0.8654 = 1.3500… → 1.35.
  t.is(hourlyRateCents(1250), 195);
  t.is(hourlyRateCents(1300), 203);
  t.is(hourlyRateCents(1200), 187);
  t.is(costPerLearnerCents(1300, 120), 203 * 120);
  // Half up at exactly half a cent: 156 × 1125 = 175 500 thousandths → 175.5 → 176.
  t.is(hourlyRateCents(1125), 176);
});

test('nonsense input is refused, not silently costed', (t) => {
  t.throws(() => hourlyRateCents(0), { instanceOf: RangeError });
  t.throws(() => hourlyRateCents(1.28), { instanceOf: RangeError });
  t.throws(() => costPerLearnerCents(1280, 0), { instanceOf: RangeError });
  t.throws(() => costPerLearnerCents(1280, 12.5), { instanceOf: RangeError });
});

test('the cost is computed from theory + practice hours, and a differing stated figure is a mismatch showing both', (t) => {
  t.is(computedCostCents({ hoursTheory: 60, hoursPractice: 100 }, 1280), 32_000);
  t.is(computedCostCents({ hoursTheory: null, hoursPractice: 100 }, 1280), null);
  const offer = {
    titleLv: 'a', titleEn: 'a', descriptionLv: 'a', prerequisitesLv: 'a', competence: 'C', language: 'lv', licenceNumber: 'L',
    coefficientCode: 'ICT-DB-NET', hoursTheory: 60, hoursPractice: 100, places: [{ address: 'X' }], digcompLevel: 5,
    digitalSharePercent: 80, statedCostCents: 31_999,
  };
  const call = { competences: ['C'], digcompMin: 4, digcompMax: 6, minDigitalSharePercent: 70, maxOffersPerProvider: 3, requiredDocuments: [] };
  const facts = { institution: { places: ['X'], licences: [{ number: 'L', hours: 160 }] }, attachedDocuments: [], otherOffersInCall: 0, coefficientThousandths: 1280 };
  const problems = checkOffer(offer, call, facts);
  t.deepEqual(problems.map((p) => [p.field, p.code]), [['statedCostCents', 'cost_mismatch']]);
  t.regex(problems[0]!.message.en, /EUR 319\.99.*EUR 320\.00/);
  t.regex(problems[0]!.message.lv, /319,99 EUR.*320,00 EUR/);
  t.deepEqual(checkOffer({ ...offer, statedCostCents: 32_000 }, call, facts), []);
  t.deepEqual(checkOffer({ ...offer, statedCostCents: null }, call, facts), [], 'no stated figure: nothing to compare');
});

test('a call that sets one DigComp bound only still holds offers to it', (t) => {
  const offer = {
    titleLv: 'a', titleEn: 'a', descriptionLv: 'a', prerequisitesLv: 'a', competence: 'C', language: 'lv', licenceNumber: 'L',
    coefficientCode: 'ICT-DB-NET', hoursTheory: 60, hoursPractice: 100, places: [{ address: 'X' }], digcompLevel: 2,
    digitalSharePercent: 80, statedCostCents: null,
  };
  const call = { competences: ['C'], digcompMin: 4, digcompMax: null, minDigitalSharePercent: 70, maxOffersPerProvider: 3, requiredDocuments: [] };
  const facts = { institution: { places: ['X'], licences: [{ number: 'L', hours: 160 }] }, attachedDocuments: [], otherOffersInCall: 0, coefficientThousandths: 1280 };
  const problems = checkOffer(offer, call, facts);
  t.deepEqual(problems.map((p) => [p.field, p.code]), [['digcompLevel', 'digcomp_out_of_range']]);
  t.regex(problems[0]!.message.en, /must be 4 to 8 \(given 2\)/);
  t.deepEqual(checkOffer({ ...offer, digcompLevel: 7 }, call, facts), []);
  t.deepEqual(checkOffer({ ...offer, digcompLevel: 2 }, { ...call, digcompMin: null }, facts), [], 'no bounds: any level');
});
