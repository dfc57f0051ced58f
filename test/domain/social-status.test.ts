import test from 'ava';
import { queuePriority } from '../../domain/social-status';

// Where a programme's social-status rule is 'priority', the status orders the wait-list; under any other rule, time
// alone. The wait-list is served by the priority, highest first, then by time (lib/waitlist.ts WAITLIST_ORDER).
const at = (minute: number) => new Date(Date.UTC(2026, 11, 5, 10, minute));
const queue = [
  { id: 'none-first', socialStatus: null, since: at(1) },
  { id: 'low-income', socialStatus: 'low_income' as const, since: at(2) },
  { id: 'poor-late', socialStatus: 'poor' as const, since: at(4) },
  { id: 'poor-early', socialStatus: 'poor' as const, since: at(3) },
];
const served = (rule: 'not_used' | 'priority' | 'required') => [...queue]
  .sort((a, b) => queuePriority(b.socialStatus, rule) - queuePriority(a.socialStatus, rule) || a.since.getTime() - b.since.getTime())
  .map((e) => e.id);

test('priority: poor households first, then low-income, then everyone else; within each by time', (t) => {
  t.deepEqual(served('priority'), ['poor-early', 'poor-late', 'low-income', 'none-first']);
});

test('not_used or required: the order people came in, whatever their status', (t) => {
  for (const rule of ['not_used', 'required'] as const) {
    t.deepEqual(served(rule), ['none-first', 'low-income', 'poor-early', 'poor-late']);
    t.is(queuePriority('poor', rule), 0);
  }
});
