import { randomUUID } from 'node:crypto';
import test from 'ava';
import { CURRENT_TERMS_VERSION } from '../../domain/terms';
import { loadStrings, type PageLanguage } from '../../web/render';
import { httpClient } from '../helpers/http';
import { multipartClient } from '../helpers/multipart';
import { startTestStack, type TestStack } from '../helpers/stack';

// The one message catalogue on the pages people meet (issue 16): a form posted with bad input shows the rule in
// the page's language next to the field and in the summary, and no text of the catalogue's other language.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);
const upload = multipartClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const decode = (html: string) => html.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&').replace(/&#x27;/g, "'").replace(/&quot;/g, '"');

// The refusal and rule texts of one language (their literal parts of 12 characters or more, between placeholders).
function catalogueTexts(lang: PageLanguage): string[] {
  const strings = loadStrings(lang);
  return Object.entries(strings).filter(([key]) => key.startsWith('rule.') || key.startsWith('error.'))
    .flatMap(([, text]) => text.split(/\{\w+\}/)).map((part) => part.trim()).filter((part) => part.length >= 12);
}
const ENGLISH = catalogueTexts('en');
const LATVIAN = catalogueTexts('lv');

/** The other language's catalogue texts found on a page (none expected). */
function otherLanguage(html: string, lang: PageLanguage): string[] {
  const other = lang === 'lv' ? ENGLISH : LATVIAN;
  const own = new Set(lang === 'lv' ? LATVIAN : ENGLISH);
  return [...new Set(other.filter((text) => !own.has(text) && html.includes(text)))];
}

const fieldError = (html: string, id: string) => decode(html).match(new RegExp(`<p class="field-error" id="${id}-error">([^<]*)</p>`))?.[1];

test('learner registration: each broken rule next to its field in Latvian, and in English on the English page', async (t) => {
  const token = await stack.tokenFor('learner', '010190-10000', 'Ilze Valoda');
  const form = { email: 'nav-adrese', phone: '12', language: 'lv', termsVersion: CURRENT_TERMS_VERSION };
  const lv = await call('POST', '/learner/journeys?lang=lv', { token, html: true, form });
  t.is(lv.status, 400);
  t.is(fieldError(lv.text, 'email'), 'E-pasts: jābūt e-pasta adresei, piemēram, vards@piemers.lv.');
  t.is(fieldError(lv.text, 'phone'), 'Tālrunis: jābūt tālruņa numuram ar 8 līdz 20 cipariem, var sākt ar +.');
  t.is(fieldError(lv.text, 'acceptTerms'), 'Lietošanas noteikumi: jāatzīmē.');
  t.deepEqual(otherLanguage(decode(lv.text), 'lv'), []);
  t.false(/must be|is required|Invalid input/.test(lv.text), 'no English rule of zod or of the schema');

  const en = await call('POST', '/learner/journeys?lang=en', { token, html: true, form });
  t.is(fieldError(en.text, 'email'), 'E-mail: must be an e-mail address such as name@example.lv.');
  t.is(fieldError(en.text, 'acceptTerms'), 'Terms of use: must be ticked.');
  t.deepEqual(otherLanguage(decode(en.text), 'en'), []);
});

test('provider registration: the error summary names each field by its label in Latvian, not "is required" four times', async (t) => {
  const answer = await upload('/providers/register?lang=lv', { institutionName: '', companyRegistrationNumber: '123', educationRegistrationNumber: '', firstName: '', lastName: '', email: 'x', password: '', passwordRepeat: '', language: 'lv' }, [], { html: true });
  t.is(answer.status, 400);
  const html = decode(answer.text);
  const summary = [...html.matchAll(/<li><a href="#(\w+)">([^<]*)<\/a><\/li>/g)].map((m) => [m[1], m[2]]);
  t.like(Object.fromEntries(summary), {
    institutionName: 'Iestādes nosaukums: jāaizpilda.', companyRegistrationNumber: 'Uzņēmuma reģistrācijas numurs: jābūt 11 cipariem.',
    firstName: 'Vārds: jāaizpilda.', lastName: 'Uzvārds: jāaizpilda.', email: 'E-pasts: jābūt e-pasta adresei, piemēram, vards@piemers.lv.',
  });
  t.deepEqual(otherLanguage(html, 'lv'), []);
  t.false(/is required|must be/.test(html));
});

test('a staff decision missing its comment says the rule in Latvian; the 403 page is Latvian too', async (t) => {
  const [learner] = await stack.db('learners').insert({
    personCode: `MSG-${randomUUID().slice(0, 8)}`, firstName: 'Ilga', lastName: 'Ziņa', email: 'zina@example.lv', language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning('id');
  const caseId = randomUUID();
  await stack.db('cases').insert({
    id: caseId, serviceCaseId: `MSG-${caseId.slice(0, 8)}`, workflowId: `test-msg:${caseId}`, learnerId: (learner as { id: string }).id,
    programme: 'IMK', stage: 'awaiting_approval', channel: 'e-service',
  });
  const taskId = randomUUID();
  await stack.db('tasks').insert({
    id: taskId, caseId, workflowId: `test-msg:${caseId}`, step: 'approval', type: 'approve-imk', state: 'open', facts: '{}', dueAt: new Date(Date.now() + 86_400_000),
  });
  const staff = await stack.staffToken('staff');
  const refused = await call('POST', `/staff/tasks/${taskId}/decision?lang=lv`, { token: staff, html: true, form: { decision: 'reject', comment: '' } });
  t.is(refused.status, 400);
  t.is(fieldError(refused.text, 'comment'), 'Komentārs: jāaizpilda, ja noraidāt: persona to lasīs kā iemeslu.');
  t.deepEqual(otherLanguage(decode(refused.text), 'lv'), []);

  const learnerToken = await stack.tokenFor('learner', '010190-10001', 'Ilze Lapa');
  const forbidden = await call('GET', '/staff/tasks?lang=lv', { token: learnerToken, html: true });
  t.is(forbidden.status, 403);
  t.true(decode(forbidden.text).includes('<p role="alert">Jūsu lomai šī lapa nav pieejama.</p>'), forbidden.text.slice(0, 2000));
  t.deepEqual(otherLanguage(decode(forbidden.text), 'lv'), []);
});
