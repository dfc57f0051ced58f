/** The drill's command line (dev/drill/options.ts). */
import test from 'ava';
import { parseDrillOptions } from '../../../dev/drill/options';

test('200 journeys by default, 20 in the short version, --journeys N either way', (t) => {
  t.deepEqual(parseDrillOptions([]), { journeys: 200, short: false });
  t.deepEqual(parseDrillOptions(['--short']), { journeys: 20, short: true });
  t.deepEqual(parseDrillOptions(['--journeys', '50']), { journeys: 50, short: false });
  t.deepEqual(parseDrillOptions(['--journeys=30', '--short']), { journeys: 30, short: true });
  t.throws(() => parseDrillOptions(['--journeys', '5']), { message: /from 10 to 5000/ });
  t.throws(() => parseDrillOptions(['--faults']), { message: /unknown argument --faults/ });
});
