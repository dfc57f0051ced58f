import test from 'ava';
import { loadStrings } from '../../web/render';

test('every page string exists in Latvian and in English', (t) => {
  const lv = loadStrings('lv');
  const en = loadStrings('en');
  t.deepEqual(Object.keys(lv).filter((k) => !(k in en)), [], 'keys missing in English');
  t.deepEqual(Object.keys(en).filter((k) => !(k in lv)), [], 'keys missing in Latvian');
  t.true(Object.keys(lv).length > 50);
});

// Strings reviewed as the same in both languages (a Latvian word that is also English).
const SAME_IN_BOTH: Record<string, string> = { 'task.offer.licence': '"licence" is Latvian too', 'footer.email': 'an e-mail address' };

test('no Latvian string is the English one left untranslated', (t) => {
  const lv = loadStrings('lv');
  const en = loadStrings('en');
  // Words of three or more letters outside the {placeholders}: a string of two such words or more says something.
  const words = (text: string) => text.replace(/\{\w+\}/g, '').match(/\p{L}{3,}/gu) ?? [];
  const same = Object.keys(lv).filter((key) => lv[key] === en[key] && words(lv[key]!).length >= 2 && !(key in SAME_IN_BOTH));
  t.deepEqual(same, [], 'strings whose Latvian is the English text');
});
