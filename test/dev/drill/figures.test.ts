/** How the fault drill judges answers and renders its table (dev/drill/answers.ts, report.ts). */
import test from 'ava';
import { classifyAnswer, isUniformErrorBody, newPhase, phaseProblems, recordAnswer } from '../../../dev/drill/answers';
import type { MailCount } from '../../../dev/drill/emails';
import { markdownTable, missedTargets, renderReport, type DrillTotals } from '../../../dev/drill/report';

const UNIFORM = JSON.stringify({ error: { code: 'service_unavailable', message: 'down', details: [] } });

test('a 503 counts as an outage answer only with Retry-After and a documented body: uniform error, page, health report', (t) => {
  t.is(classifyAnswer(200, '', null), 'ok');
  t.is(classifyAnswer(302, '', null), 'ok');
  t.is(classifyAnswer(409, UNIFORM, null), 'client-error');
  t.is(classifyAnswer(503, UNIFORM, '10'), 'unavailable');
  t.is(classifyAnswer(503, UNIFORM, null), 'bad-503');
  t.is(classifyAnswer(503, '<html>down</html>', '10'), 'bad-503', 'an HTML body where JSON was asked for');
  t.is(classifyAnswer(503, '<!doctype html><html lang="lv">…</html>', '10', 'text/html; charset=utf-8'), 'unavailable');
  t.is(classifyAnswer(503, '<!doctype html><html lang="lv">…</html>', null, 'text/html; charset=utf-8'), 'bad-503');
  const health = JSON.stringify({ status: 'down', checkedAt: 'now', dependencies: { temporal: { status: 'down', ms: 2000 } } });
  t.is(classifyAnswer(503, health, '10', 'application/json; charset=utf-8'), 'unavailable');
  t.is(classifyAnswer(500, UNIFORM, null), 'server-error');
  t.is(classifyAnswer(502, '', null), 'server-error');
  t.false(isUniformErrorBody(JSON.stringify({ error: { code: 'x', message: 'y' } })));
  t.false(isUniformErrorBody(JSON.stringify({ error: { code: 'x', message: 'y', details: [] }, stack: 'at …' })));
});

test('an outage may answer 503; outside faults even a 503 misses the target; 5xx, hangs and late answers always do', (t) => {
  const outage = newPhase('Temporal stopped 30 s', true);
  recordAnswer(outage, 'unavailable', 4_000, 'POST /api/learner/journeys');
  recordAnswer(outage, 'ok', 20, 'GET /catalogue');
  recordAnswer(outage, 'unavailable', 9_600, 'POST /api/learner/journeys/:id/applications');
  t.deepEqual(phaseProblems(outage), []);
  t.is(outage.requests, 3);
  t.is(outage.maxAnswerMs, 9_600);
  // Ten seconds is the limit, with no margin: the API's own limit for its calls to Temporal is 9.5 s.
  recordAnswer(outage, 'unavailable', 10_030, 'POST /api/learner/journeys/:id/applications');
  t.deepEqual(phaseProblems(outage), ['an answer took 10030 ms']);

  const calm = newPhase('outside faults', false);
  recordAnswer(calm, 'unavailable', 5, 'GET /api/ready');
  recordAnswer(calm, 'server-error', 5, 'POST /api/learner/journeys');
  recordAnswer(calm, 'timeout', 12_000, 'GET /catalogue');
  t.deepEqual(phaseProblems(calm), [
    '1 answers 5xx other than 503', '1 answers 503 outside an outage', '1 requests unanswered within 10 s', 'an answer took 12000 ms',
  ]);
  t.is(calm.examples.length, 3);
});

const mail = (over: Partial<MailCount> = {}): MailCount => ({
  sent: 30, duplicates: 0, explainedDuplicates: 0, missing: [], unexpected: [], rejected: 1, outboxMismatches: [], duplicateKeys: [], ...over,
});
const totals = (over: Partial<DrillTotals> = {}): DrillTotals => ({
  journeys: 200, atExpectedStage: 200, offStage: [], mail: mail(), consistency: { exitCode: 0, lastLine: 'consistency: 0 violations' },
  workerRestarts: 1, providerFlows: { atExpected: 4, total: 4, off: [] }, totalMs: 600_000,
  platform: {
    cases: 200, casesMatching: 200, statuses: 540, waiting: 0, counters: { duplicates: 3, outOfOrder: 0, sentBeforeAcknowledged: 0 },
    decisions: { delivered: 80, noEAddress: 80, pending: 0, messages: 80 }, off: [],
  },
  ...over,
});

test('the verdict lists every missed target; a duplicate in the at-least-once window is not one', (t) => {
  const phase = newPhase('worker kill -9', true);
  t.deepEqual(missedTargets([phase], totals({ mail: mail({ duplicates: 1, explainedDuplicates: 1 }) })), []);
  t.deepEqual(missedTargets([phase], totals({
    atExpectedStage: 199, mail: mail({ duplicates: 2, explainedDuplicates: 1, missing: ['c:imk-approved'] }),
    consistency: { exitCode: 1, lastLine: 'consistency: 2 violations (200 cases)' },
  })), [
    '1 journeys not at their expected stage', '1 duplicate e-mails outside the at-least-once window', '1 e-mails missing',
    'consistency check: consistency: 2 violations (200 cases)',
  ]);
});

test('the report has one row per phase with the figures the issue asks for, as text and Markdown', (t) => {
  const phase = newPhase('PostgreSQL stopped 30 s', true);
  phase.durationMs = 41_200;
  phase.journeysStarted = 7;
  recordAnswer(phase, 'unavailable', 900, 'x');
  recordAnswer(phase, 'client-error', 10, 'x');
  const report = renderReport('Fault drill', [phase], totals());
  t.deepEqual(report.missed, []);
  t.true(report.markdown.includes('| PostgreSQL stopped 30 s | 41 s | 2 | 1 | 1 | 0 | 0.9 s | 7 |'), report.markdown);
  t.true(report.markdown.includes('| journeys at their expected stage | 200/200 = 100 % |'));
  t.true(report.text.includes('every target met'));
  t.is(markdownTable([['a', 'b'], ['1', '2']]), '| a | b |\n| --- | ---: |\n| 1 | 2 |');
});
