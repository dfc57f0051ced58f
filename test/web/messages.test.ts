import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { z } from 'zod';
import { FailureType } from '../../domain/failures';
import { failureCode } from '../../api/services/provider-registration';
import { fieldProblems } from '../../api/validation';
import { createRenderer, loadStrings } from '../../web/render';

const root = path.join(__dirname, '..', '..');

// Every .ts file under the folders that raise refusals.
function sources(): string[] {
  const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
  return ['api', 'lib', 'domain'].flatMap((d) => walk(path.join(root, d)));
}

// Refusal codes written in the source: `new HttpError(409, 'code'`, the helpers that take a code as their first
// argument (`conflict('code'`, `refusal(409, 'code'`), a subclass's `super(422, 'code'`, and the codes made from a
// workflow's failure type (failureCode) or a table of codes (admin-calls' REFUSAL_CODES).
function refusalCodes(): Set<string> {
  const codes = new Set<string>(Object.values(FailureType).map(failureCode));
  codes.add('refused').add('call_change_refused');
  for (const file of sources()) {
    const text = fs.readFileSync(file, 'utf8');
    for (const re of [/new HttpError\(\d+, '([a-z_]+)'/g, /\bconflict\('([a-z_]+)'/g, /\brefusal\(\d+, '([a-z_]+)'/g, /super\(\d+, '([a-z_]+)'/g]) {
      for (const m of text.matchAll(re)) codes.add(m[1]!);
    }
  }
  return codes;
}

test('every refusal code in the source has a Latvian and an English text (error.<code>)', (t) => {
  const lv = loadStrings('lv');
  const en = loadStrings('en');
  const codes = [...refusalCodes()];
  t.true(codes.length > 100, `found ${codes.length} codes`);
  t.deepEqual(codes.filter((c) => !(`error.${c}` in lv)), [], 'codes without a Latvian text');
  t.deepEqual(codes.filter((c) => !(`error.${c}` in en)), [], 'codes without an English text');
});

test('every zod issue gets words in both languages, naming the field by its label and saying the limit', (t) => {
  const schema = z.object({
    email: z.email(), phone: z.string().max(20), titleLv: z.string().min(3), language: z.enum(['lv', 'en']), comment: z.string(),
    rating: z.coerce.number().int().min(1).max(5), reasons: z.array(z.string()).min(2), requestId: z.uuid(), from: z.iso.date(),
  });
  const problems = fieldProblems(schema.safeParse({ email: 'x', phone: '1'.repeat(21), titleLv: 'ab', language: 'de', rating: '9', reasons: ['a'], requestId: 'no', from: 'no' }).error!);
  const lv = Object.fromEntries(problems.map((p) => [p.field, p.words!.lv]));
  t.deepEqual(lv, {
    email: 'E-pasts: jābūt e-pasta adresei, piemēram, vards@piemers.lv.',
    phone: 'Tālrunis: jābūt ne garākam par 20 rakstzīmēm.',
    titleLv: 'Nosaukums latviski: jābūt vismaz 3 rakstzīmes garam.',
    language: 'Saziņas valoda: izvēlieties vienu no piedāvātajām iespējām.',
    comment: 'Komentārs: jāaizpilda.',
    rating: 'Vērtējums: jābūt ne lielākam par 5.',
    reasons: 'Iemesli: izvēlieties vismaz 2.',
    requestId: 'Veidlapa: nav derīgs identifikators.',
    from: 'Grupas sākas no: jābūt datumam, piemēram, 2026-12-10.',
  });
  t.is(problems.find((p) => p.field === 'phone')!.words!.en, 'Phone: must be at most 20 characters long.');
  // The API's message stays what it was (zod's or the schema's own English).
  t.is(problems.find((p) => p.field === 'phone')!.message, 'Too big: expected string to have <=20 characters');
});

test('the console says a workflow\'s stage and its history events in words of the page\'s language', (t) => {
  const renderer = createRenderer();
  const data = { workflow: { workflowId: 'learner-journey:x', stage: 'awaiting_approval', status: 'running' }, events: [{ id: 1, at: null, event: 'activity task scheduled', detail: 'lookupPerson' }], pending: [] };
  const lv = renderer.render('console-workflow', { lang: 'lv', title: 'Darbplūsma', ...data });
  t.true(lv.includes('Gaida aģentūras apstiprinājumu'), 'the stage in words');
  t.true(lv.includes('Aktivitāte ieplānota'), 'the event in words');
  t.false(lv.includes('activity task scheduled'));
  t.true(renderer.render('console-workflow', { lang: 'en', title: 'Workflow', ...data }).includes('Activity scheduled'));
});
