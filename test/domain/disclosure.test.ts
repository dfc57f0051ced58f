import test from 'ava';
import { PUBLIC_COUNT_MINIMUM, suppressedCells, type CellRelation } from '../../domain/disclosure';

const cells = (values: Record<string, number>) => new Map(Object.entries(values));
const sum = (parent: string, children: string[]): CellRelation => ({ parent, children, exhaustive: true });
const sorted = (set: Set<string>) => [...set].sort();

test('counts from 1 to 9 are hidden; 0 and 10 are shown', (t) => {
  t.is(PUBLIC_COUNT_MINIMUM, 10);
  t.deepEqual(sorted(suppressedCells(cells({ a: 0, b: 1, c: 9, d: 10 }), [])), ['b', 'c']);
});

test('a total with one hidden row would give it away: the smallest other row is hidden too, or the total', (t) => {
  // 40 + 14 + 2 = 56: without a second hidden cell, 56 - 40 - 14 is the hidden 2.
  t.deepEqual(sorted(suppressedCells(cells({ total: 56, a: 40, b: 14, c: 2 }), [sum('total', ['a', 'b', 'c'])])), ['b', 'c']);
  // 12 + 0: nothing below 10. 5 + 0: the only row that is not 0 is hidden, so the total (equal to it) goes with it.
  t.deepEqual(sorted(suppressedCells(cells({ total: 12, a: 12, b: 0 }), [sum('total', ['a', 'b'])])), []);
  t.deepEqual(sorted(suppressedCells(cells({ total: 5, a: 5, b: 0 }), [sum('total', ['a', 'b'])])), ['a', 'total']);
  // Two hidden rows whose sum is below 10 are still bounded too tightly: a third goes.
  t.deepEqual(sorted(suppressedCells(cells({ total: 36, a: 3, b: 3, c: 30 }), [sum('total', ['a', 'b', 'c'])])), ['a', 'b', 'c']);
});

test('hiding chains across relations until no hidden cell is the only unknown of a sum', (t) => {
  // Row: applications 36 ⊇ wait-listed 2 + enrolled 32 (others unpublished). Column: total = row x + row y.
  const relations: CellRelation[] = [
    { parent: 'x.apps', children: ['x.wait', 'x.enrolled'], exhaustive: false },
    sum('t.enrolled', ['x.enrolled', 'y.enrolled']),
  ];
  const hidden = suppressedCells(cells({ 'x.apps': 36, 'x.wait': 2, 'x.enrolled': 32, 'y.enrolled': 11, 't.enrolled': 43 }), relations);
  // 36 - 32 leaves 4 for the wait-listed: enrolled goes, and then the total would give it away, so y's enrolled goes.
  t.deepEqual(sorted(hidden), ['x.enrolled', 'x.wait', 'y.enrolled']);
});

test('a cell tied to another is hidden with it, and its own total is then protected too', (t) => {
  // Spent per row is hidden with the row's hidden dropouts; the spent total then needs a second hidden row.
  const hidden = suppressedCells(
    cells({ 'x.drop': 6, 'x.spent': 22, 'y.drop': 0, 'y.spent': 11, 't.spent': 33, 't.drop': 6 }),
    [sum('t.spent', ['x.spent', 'y.spent']), sum('t.drop', ['x.drop', 'y.drop'])],
    10, new Map([['x.spent', ['x.drop']], ['y.spent', ['y.drop']]]),
  );
  t.deepEqual(sorted(hidden), ['t.drop', 'x.drop', 'x.spent', 'y.spent']);
});
