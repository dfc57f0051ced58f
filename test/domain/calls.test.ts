import test from 'ava';
import { CALL_PHASES, changeAfterOpeningProblems, parsePhase, phaseOrderProblems, phaseText, type CallPhaseTimes } from '../../domain/calls';
import { yearlyOccurrences } from '../../domain/holidays';
import { DEMO_CALL_PHASES } from '../../dev/seed-calls';

test('a phase is read in Riga time: a closing day lasts to its end, an opening day starts at 00:00, an offset is kept', (t) => {
  t.is(parsePhase('submissionClosesAt', '2025-10-10')!.toISOString(), '2025-10-10T21:00:00.000Z');
  t.is(parsePhase('submissionOpensAt', '2025-09-22')!.toISOString(), '2025-09-21T21:00:00.000Z');
  t.is(parsePhase('publicationAt', '2026-07-01 09:30')!.toISOString(), '2026-07-01T06:30:00.000Z', 'summer: UTC+3');
  t.is(parsePhase('publicationAt', '2026-07-01T09:30:00Z')!.toISOString(), '2026-07-01T09:30:00.000Z');
  for (const bad of ['2025-02-30', '10.10.2025', '2025-10-10 24:30', 'soon', '']) t.is(parsePhase('submissionClosesAt', bad), null, bad);
});

test('the form shows each phase so that it reads back to the same instant', (t) => {
  for (const phase of CALL_PHASES) {
    for (const at of [DEMO_CALL_PHASES[phase], new Date('2026-12-05T06:57:13.250Z'), new Date('2027-03-28T21:00:00.000Z')]) {
      t.is(parsePhase(phase, phaseText(phase, at))!.getTime(), at.getTime(), `${phase} ${at.toISOString()} shown as ${phaseText(phase, at)}`);
    }
  }
  t.is(phaseText('submissionClosesAt', DEMO_CALL_PHASES.submissionClosesAt), '2026-12-10');
  t.is(phaseText('publicationAt', DEMO_CALL_PHASES.publicationAt), '2027-01-05 09:00');
});

test('phases follow each other; once submission opened only later instants of phases still to come', (t) => {
  const before: CallPhaseTimes = { ...DEMO_CALL_PHASES };
  t.deepEqual(phaseOrderProblems(before), []);
  t.deepEqual(phaseOrderProblems({ ...before, evaluationEndsAt: new Date('2026-12-01T00:00:00Z') }), [{ field: 'evaluationEndsAt', rule: 'phase_order' }]);
  const now = new Date('2026-11-15T10:00:00Z');
  const later = new Date(before.submissionClosesAt.getTime() + 86_400_000);
  t.deepEqual(changeAfterOpeningProblems({ before, after: { ...before, submissionClosesAt: later }, changedTerms: [], now }), []);
  t.deepEqual(changeAfterOpeningProblems({ before, after: { ...before, submissionClosesAt: new Date(now.getTime() + 1000) }, changedTerms: ['titleLv'], now }), [
    { field: 'titleLv', rule: 'call_submission_opened' }, { field: 'submissionClosesAt', rule: 'extension_only' },
  ]);
  t.deepEqual(changeAfterOpeningProblems({ before, after: { ...before, submissionOpensAt: new Date('2026-11-02T00:00:00Z') }, changedTerms: [], now }), [{ field: 'submissionOpensAt', rule: 'phase_passed' }]);
  t.deepEqual(changeAfterOpeningProblems({ before, after: { ...before, submissionClosesAt: new Date('2026-11-20T00:00:00Z') }, changedTerms: ['titleLv'], now: new Date('2026-10-01T00:00:00Z') }), [], 'before opening anything goes');
});

test('a yearly holiday falls on its day every year from its first (29 February only in leap years)', (t) => {
  t.deepEqual(yearlyOccurrences('2026-03-02', '2025-01-01', '2028-12-31'), ['2026-03-02', '2027-03-02', '2028-03-02']);
  t.deepEqual(yearlyOccurrences('2028-02-29', '2028-01-01', '2032-12-31'), ['2028-02-29', '2032-02-29']);
  t.deepEqual(yearlyOccurrences('2026-03-02', '2027-03-03', '2027-12-31'), []);
});
