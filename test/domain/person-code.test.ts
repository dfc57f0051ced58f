import test from 'ava';
import { checkPersonCode } from '../../domain/person-code';
import { formatEuro } from '../../domain/money';

test('an old-format code is accepted dashed or undashed and returned dashed', (t) => {
  t.deepEqual(checkPersonCode('150690-11223'), { valid: true, code: '150690-11223' });
  t.deepEqual(checkPersonCode('15069011223'), { valid: true, code: '150690-11223' });
  t.deepEqual(checkPersonCode('  150690-11223 '), { valid: true, code: '150690-11223' }, 'surrounding spaces are ignored');
});

test('new-format codes (32…) are accepted without a date check', (t) => {
  t.deepEqual(checkPersonCode('321178-40215'), { valid: true, code: '321178-40215' });
  t.deepEqual(checkPersonCode('32117840215'), { valid: true, code: '321178-40215' });
  // "1178" would be month 78 in the old format: no date is read from a new-format code.
  t.deepEqual(checkPersonCode('329999-99999'), { valid: true, code: '329999-99999' });
});

test('an impossible birth date is refused', (t) => {
  const refused = { valid: false, reason: 'the first six digits must be a real date (DDMMYY)' };
  t.deepEqual(checkPersonCode('310290-11223'), refused, '31 February');
  t.deepEqual(checkPersonCode('001090-11223'), refused, 'day 0');
  t.deepEqual(checkPersonCode('151390-11223'), refused, 'month 13');
  t.deepEqual(checkPersonCode('290201-21234'), refused, '29 February 2001');
  t.deepEqual(checkPersonCode('290200-21234'), { valid: true, code: '290200-21234' }, '29 February 2000 is real');
  t.deepEqual(checkPersonCode('290200-11234'), refused, '29 February 1900 is not (1900 was no leap year)');
});

test('a century digit other than 0, 1 or 2 is refused', (t) => {
  for (const digit of ['3', '5', '9']) {
    t.deepEqual(checkPersonCode(`150690-${digit}1223`), { valid: false, reason: 'the first digit after the dash must be 0, 1 or 2' });
  }
});

test('letters and wrong lengths are refused with the expected shape in the reason', (t) => {
  const shape = { valid: false, reason: 'must be 11 digits in the form DDMMYY-NNNNN' };
  for (const input of ['15O690-11223', '150690-1122A', 'abcdef-ghijk', '150690-1122', '150690-112233', '1506901122', '', '150690--11223', '150690 11223']) {
    t.deepEqual(checkPersonCode(input), shape, JSON.stringify(input));
  }
});

test('formatEuro formats integer cents in Latvian and English', (t) => {
  t.is(formatEuro(50_000, 'lv'), '500,00 EUR');
  t.is(formatEuro(50_000, 'en'), 'EUR 500.00');
  t.is(formatEuro(5, 'lv'), '0,05 EUR');
  t.is(formatEuro(5, 'en'), 'EUR 0.05');
  t.is(formatEuro(0, 'lv'), '0,00 EUR');
  t.is(formatEuro(12_345, 'en'), 'EUR 123.45');
});

test('formatEuro puts the minus sign before the amount', (t) => {
  t.is(formatEuro(-1_234, 'lv'), '-12,34 EUR');
  t.is(formatEuro(-1_234, 'en'), 'EUR -12.34');
  t.is(formatEuro(-7, 'lv'), '-0,07 EUR');
});

test('formatEuro accepts only integer cents', (t) => {
  t.throws(() => formatEuro(12.5, 'lv'), { instanceOf: TypeError, message: /integer cents/ });
  t.throws(() => formatEuro(Number.NaN, 'en'), { instanceOf: TypeError });
  t.throws(() => formatEuro(Number.POSITIVE_INFINITY, 'en'), { instanceOf: TypeError });
});
