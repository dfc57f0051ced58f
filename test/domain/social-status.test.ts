import test from 'ava';
import { inPriorityOrder } from '../../domain/social-status';

// Where a programme's social-status rule is 'priority', the status orders a queue; under any other rule, time alone.
const at = (minute: number) => new Date(Date.UTC(2026, 11, 5, 10, minute));
const queue = [
  { id: 'none-first', socialStatus: null, since: at(1) },
  { id: 'low-income', socialStatus: 'low_income' as const, since: at(2) },
  { id: 'poor-late', socialStatus: 'poor' as const, since: at(4) },
  { id: 'poor-early', socialStatus: 'poor' as const, since: at(3) },
];

test('priority: poor households first, then low-income, then everyone else; within each by time', (t) => {
  t.deepEqual(inPriorityOrder(queue, 'priority').map((e) => e.id), ['poor-early', 'poor-late', 'low-income', 'none-first']);
});

test('not_used or required: the order people came in, whatever their status', (t) => {
  for (const rule of ['not_used', 'required'] as const) {
    t.deepEqual(inPriorityOrder(queue, rule).map((e) => e.id), ['none-first', 'low-income', 'poor-early', 'poor-late']);
  }
});
