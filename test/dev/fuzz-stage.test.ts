import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { z } from 'zod';
import { ensureSchemathesis, runSchemathesis, type FuzzBudget } from '../../dev/fuzz/schemathesis';
import { FUZZ_SEED } from '../../dev/fuzz';
import type { ApiDeps } from '../../api/deps';
import { createLogger } from '../../lib/logger';
import { startTestStack, type TestStack } from '../helpers/stack';

// The fuzz stage's own check: a route that fails on an input its schema allows (a handler that throws on an empty
// name) is caught, named, and failed; the same route without the defect passes. Both routes exist only in this
// test's app (ApiDeps.testRoutes, which the real API never sets).

const root = path.resolve(__dirname, '..', '..');
const BUDGET: FuzzBudget = { maxExamples: 10, phases: ['examples', 'coverage', 'fuzzing'], workers: 1 };

let stack: TestStack;
let appUrl: string;
let schemathesis: string;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-stage-'));

/** Two routes with the same schema: one throws on an empty name (a 500), the other answers. */
const testRoutes: ApiDeps['testRoutes'] = (router, api) => {
  for (const [name, broken] of [['broken', true], ['sound', false]] as const) {
    api.add(router, {
      method: 'post', path: `/api/test/${name}`, summary: `A ${name} route (this test only)`, tag: 'test', roles: 'public',
      body: z.object({ name: z.string().max(50) }).strict(),
      responses: { 200: { description: 'Greeted', schema: z.object({ greeting: z.string() }) } },
    }, async (ctx, { body }) => {
      if (broken && body.name === '') throw new Error('the broken route fails on an empty name');
      ctx.body = { greeting: `Hello ${body.name}` };
    });
  }
};

test.before(async () => {
  [stack, schemathesis] = await Promise.all([startTestStack(), ensureSchemathesis(root)]);
  // The broken route's 500s are expected here: their log lines would only be noise.
  appUrl = (await stack.serveApi({ testRoutes, logger: createLogger('fuzz-stage-test', 'error', {}, () => undefined) })).url;
  fs.writeFileSync(path.join(work, 'openapi.json'), await (await fetch(`${appUrl}/api/openapi.json`)).text());
});
test.after.always(async () => {
  await stack?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const fuzz = (route: string) => runSchemathesis({
  binary: schemathesis, label: route, schemaFile: path.join(work, 'openapi.json'), baseUrl: appUrl, token: null, seed: FUZZ_SEED,
  budget: BUDGET, reportDir: path.join(work, route), includePaths: [`/api/test/${route}`], echo: 'never',
});

test('the fuzz stage catches a route that fails on an empty field, naming it', async (t) => {
  const result = await fuzz('broken');
  t.is(result.operations, 1, 'only the broken route was fuzzed');
  const serverError = result.failures.find((f) => f.code === 'ST101');
  t.truthy(serverError, `a server error is reported: ${JSON.stringify(result.failures)}`);
  t.deepEqual(serverError?.operations, ['POST /api/test/broken']);
  t.not(result.exitCode, 0, 'the run fails');
});

test('the same route without the defect passes', async (t) => {
  const result = await fuzz('sound');
  t.is(result.operations, 1);
  t.deepEqual(result.failures, []);
  t.is(result.exitCode, 0);
});
