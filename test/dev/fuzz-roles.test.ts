import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { writeIdConfig } from '../../dev/fuzz/known-ids';
import { documentForRole, type OpenApiDocument } from '../../dev/fuzz/roles';

// Which operations each role's fuzz run gets, and the real ids it is handed.

const doc: OpenApiDocument = {
  openapi: '3.1.0',
  paths: {
    '/api/health': { get: {} },
    '/api/staff/tasks': { get: { 'x-roles': ['staff', 'admin'] } },
    '/admin/stuck': { get: { 'x-roles': ['admin'] } },
    '/learner/journeys': { post: { 'x-roles': ['learner'] }, get: { 'x-roles': ['learner'] } },
    '/api/auth/logout': { post: {} },
    '/auth/role': { post: { 'x-roles': ['learner', 'coordinator'] } },
    '/staff/tasks/{taskId}/decision': { get: { 'x-roles': ['staff'], responses: { 303: {}, 403: {} } }, post: { 'x-roles': ['staff'], responses: { 303: {}, 400: {} } } },
  },
};

const operations = (d: OpenApiDocument) => Object.entries(d.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)).sort();

test('anonymous knocks on every door; a role fuzzes its own operations, the learner the public ones too', (t) => {
  t.deepEqual(operations(documentForRole(doc, 'anonymous')), operations(doc));
  t.deepEqual(operations(documentForRole(doc, 'staff')), ['get /api/staff/tasks', 'post /staff/tasks/{taskId}/decision'],
    'a GET that only redirects is left to the anonymous run');
  t.deepEqual(operations(documentForRole(doc, 'lead')), ['get /api/staff/tasks', 'post /staff/tasks/{taskId}/decision'], 'the team lead is staff');
  t.deepEqual(operations(documentForRole(doc, 'admin')), ['get /admin/stuck', 'get /api/staff/tasks']);
  t.deepEqual(operations(documentForRole(doc, 'learner')), ['get /api/health', 'get /learner/journeys', 'post /learner/journeys']);
  t.deepEqual(operations(documentForRole(doc, 'coordinator')), [], 'no operation that would end the run\'s own session');
  t.is(documentForRole(doc, 'staff').openapi, '3.1.0', 'the rest of the document is kept');
});

test('the real ids go into a schemathesis config: a dictionary per kind, bound where there are ids', (t) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-ids-')), 'ids.toml');
  writeIdConfig(file, { offers: ['o-1', 'o-2'], calls: ['c-1'], tasks: [] });
  const text = fs.readFileSync(file, 'utf8');
  t.true(text.includes('[dictionaries.offers]\nvalues = ["o-1", "o-2"]'));
  t.true(text.includes('"offerId" = { dictionary = "offers", probability = 0.5 }'));
  t.true(text.includes('"body.offerId" = { dictionary = "offers", probability = 0.5 }'));
  t.true(text.includes('"body.callId" = { dictionary = "calls", probability = 0.5 }'));
  t.false(text.includes('taskId'), 'no binding to a dictionary without ids');
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
});
