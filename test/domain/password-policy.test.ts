import test from 'ava';
import { checkPassword } from '../../domain/password-policy';

const codes = (password: string, personal: string[] = []) => checkPassword(password, personal).map((p) => p.code);

// Meets every rule: 12 characters, lower and upper case, a digit, a special character, not a common password.
const GOOD = 'Kalns#Ezers7';

test('a good password passes', (t) => {
  t.deepEqual(checkPassword(GOOD), []);
  t.deepEqual(checkPassword('Zvaigzne!2026x'), []);
});

test('each rule fails alone with its own code', (t) => {
  t.deepEqual(codes('Ab1!cdef'), ['too_short'], '8 characters');
  t.deepEqual(codes('Vk7#mQzpw'), [], '9 characters are enough');
  t.deepEqual(codes('KALNS#EZERS7'), ['no_lower']);
  t.deepEqual(codes('kalns#ezers7'), ['no_upper']);
  t.deepEqual(codes('Kalns#Ezersx'), ['no_digit']);
  t.deepEqual(codes('KalnsXEzers7'), ['no_special']);
});

test('every problem carries words in Latvian and English', (t) => {
  const problems = checkPassword('');
  t.deepEqual(problems.map((p) => p.code), ['too_short', 'no_lower', 'no_upper', 'no_digit', 'no_special']);
  for (const p of problems) {
    t.true(p.message.lv.length > 0, `${p.code} has Latvian words`);
    t.true(p.message.en.length > 0, `${p.code} has English words`);
    t.not(p.message.lv, p.message.en);
  }
  t.is(problems[0].message.en, 'At least 9 characters.');
  t.is(problems[0].message.lv, 'Vismaz 9 rakstzīmes.');
});

test('a common password that satisfies every shape rule is refused as too_common, whatever its case', (t) => {
  t.deepEqual(codes('Password123!'), ['too_common']);
  t.deepEqual(codes('pASSWORD123!'), ['too_common']);
  t.deepEqual(codes('Latvija2026!'), ['too_common']);
  const [problem] = checkPassword('Password123!');
  t.is(problem.message.en, 'This password is one of the most common ones.');
  t.is(problem.message.lv, 'Šī parole ir pārāk izplatīta.');
});

test('a common password that also breaks shape rules reports both', (t) => {
  t.deepEqual(codes('123456'), ['too_short', 'no_lower', 'no_upper', 'no_special', 'too_common']);
});

test('Latvian letters with diacritics count as letters, not as special characters', (t) => {
  t.deepEqual(codes('Ābolu#dārzs7'), []);
  t.deepEqual(codes('Kalnsēzers7'), ['no_special']);
});

test('trivial variants of common passwords are refused as too_guessable (zxcvbn), in Latvian and English', (t) => {
  for (const password of ['Password1!!', 'Password12!', 'Password#1', 'Qwerty123!!', 'Ab1!cdefg']) t.deepEqual(codes(password), ['too_guessable'], password);
  const [problem] = checkPassword('Password1!!');
  t.regex(problem.message.lv, /Parole ir pārāk viegli uzminama/);
  t.regex(problem.message.en, /The password is too easy to guess/);
});

test('a password built from the person\'s own name, e-mail or institution is refused, with or without diacritics', (t) => {
  t.deepEqual(codes('Berzina#Anna1', ['Anna Bērziņa', 'anna.berzina@example.lv']), ['too_guessable']);
  t.deepEqual(codes('Kurzemes#2026', ['Kurzemes digitālo prasmju skola']), ['too_guessable']);
  t.deepEqual(codes('Kurzemes#2026'), [], 'without the institution it is not guessed');
  t.deepEqual(codes('Berzina#Anna1'), [], 'the same password is fine for someone else');
});
