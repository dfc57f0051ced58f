import test from 'ava';
import { loadStrings } from '../../web/render';

test('every page string exists in Latvian and in English', (t) => {
  const lv = loadStrings('lv');
  const en = loadStrings('en');
  t.deepEqual(Object.keys(lv).filter((k) => !(k in en)), [], 'keys missing in English');
  t.deepEqual(Object.keys(en).filter((k) => !(k in lv)), [], 'keys missing in Latvian');
  t.true(Object.keys(lv).length > 50);
});
