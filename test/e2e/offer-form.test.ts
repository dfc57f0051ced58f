import test from 'ava';
import type { Browser } from 'playwright-core';
import { CALL_COMPETENCES } from '../../dev/seed-calls';
import { SAMPLE_INSTITUTIONS, seedInstitutions } from '../../dev/seed-institutions';
import { computedCostCents } from '../../domain/offer-checks';
import { loadStrings } from '../../web/render';
import { accessibilityProblems, launchBrowser } from '../helpers/browser';
import { createCallClosingIn } from '../helpers/calls';
import { assertError, httpClient } from '../helpers/http';
import { multipartClient, SAMPLE_PDF } from '../helpers/multipart';
import { startTestStack, type TestStack } from '../helpers/stack';

// The provider's offer form (issue 16, item 6) over HTTP and in a real browser: pick-lists from the data (the
// coefficient table, the call, VIIS), a save that keeps the good fields and names each bad one in Latvian and
// English, a cost preview computed as submission computes it, "check without submitting" that writes nothing, the
// form still working with VIIS down, and the page passing axe in both languages.

let stack: TestStack;
let browser: Browser;
let token: string;
let offerId: string;
const call = httpClient(() => stack.appUrl);
const demo = seedInstitutions.find((i) => i.registrationNumber === SAMPLE_INSTITUTIONS.demo)!;

test.before(async () => {
  stack = await startTestStack();
  const provider = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  token = await stack.signIn({ role: 'provider', subject: provider.id, name: provider.displayName, providerId: provider.providerId, providerRole: 'admin' });
  const { callId } = await createCallClosingIn(stack.db, 30 * 86_400_000);
  const created = await call('POST', '/api/provider/offers', { token, json: { callId, titleLv: 'Kiberdrošības pamati (paraugs)', titleEn: 'Cybersecurity basics (sample)' } });
  offerId = (created.json as { id: string }).id;
});
test.after.always(async () => {
  await browser?.close();
  await stack?.stop();
});

const page = (path: string, lang: 'lv' | 'en' = 'lv') => call('GET', `${path}?lang=${lang}`, { token, html: true });
const post = (path: string, form: Record<string, string>, lang: 'lv' | 'en' = 'lv') => call('POST', `${path}?lang=${lang}`, { token, html: true, form });
const offerRow = () => stack.db('offers').where({ id: offerId }).first();
const strings = { lv: loadStrings('lv'), en: loadStrings('en') };
/** Lines of the page that are a string of the form's words in the other language (or a key shown as text). */
function foreignLines(text: string, lang: 'lv' | 'en'): string[] {
  const other = lang === 'lv' ? 'en' : 'lv';
  const lines = new Set(text.split('\n').map((line) => line.trim()));
  return Object.entries(strings[other])
    .filter(([key, value]) => /^(offerForm|providerOffers)\./.test(key) && value !== strings[lang][key] && !value.includes('{'))
    .filter(([key, value]) => lines.has(value) || lines.has(key)).map(([key]) => key);
}
/** The text of the page's field error for an input id. */
const fieldError = (html: string, id: string) => new RegExp(`id="${id}-error">([^<]*)<`).exec(html)?.[1];

test.serial('the pick-lists come from the data: the coefficient table, the call, and the institution in VIIS', async (t) => {
  await stack.db('costCoefficients').insert({ code: 'TEST-ART', nameLv: 'Māksla (paraugs)', nameEn: 'Arts (sample)', coefficientThousandths: 1150, sample: true });
  stack.viis.setInstitution({ ...demo, placesOfDelivery: [...demo.placesOfDelivery, { address: 'Cēsis, Pils iela 2 (paraugs)' }] });
  const html = (await page(`/provider/offers/${offerId}`)).text;
  t.regex(html, /<option value="TEST-ART"[^>]*>TEST-ART — Māksla \(paraugs\) \(1\.15\)</);
  t.regex(html, /<option value="ICT-DB-NET"/);
  for (const competence of CALL_COMPETENCES) t.true(html.includes(`<option value="${competence}"`), competence);
  const levels = [...html.matchAll(/<select id="digcompLevel"[\s\S]*?<\/select>/g)][0]![0];
  t.deepEqual([...levels.matchAll(/<option value="(\d)"/g)].map((m) => m[1]), ['4', '5', '6']);
  for (const licence of demo.licences) t.true(html.includes(`<option value="${licence.number}"`), licence.number);
  t.regex(html, /type="checkbox" id="place-3" name="place_3" value="Cēsis, Pils iela 2 \(paraugs\)"/);

  const choices = await call('GET', `/api/provider/offers/${offerId}/choices`, { token });
  t.is(choices.status, 200, choices.text);
  t.like(choices.json, { viis: 'ok', competences: CALL_COMPETENCES, digcomp: { min: 4, max: 6 } });
  t.true((choices.json as { places: string[] }).places.includes('Cēsis, Pils iela 2 (paraugs)'));
  stack.viis.setInstitution(demo);
});

test.serial('a draft save with one bad field keeps the others and names the bad one in Latvian and English, with its label', async (t) => {
  for (const [lang, words] of [['lv', 'DigComp līmenis: šī atlase pieņem līmeņus no 4 līdz 6.'], ['en', 'DigComp level: this call takes levels 4 to 6.']] as const) {
    const answer = await post(`/provider/offers/${offerId}`, { titleLv: `Kiberdrošība ${lang} (paraugs)`, hoursTheory: '80', digcompLevel: '7', competence: CALL_COMPETENCES[2]! }, lang);
    t.is(answer.status, 400);
    t.is(fieldError(answer.text, 'digcompLevel'), words);
    t.regex(answer.text, /<a href="#digcompLevel">/);
    t.false(answer.text.includes('digcompLevel:'), 'no internal field name in the words');
    t.like(await offerRow(), { titleLv: `Kiberdrošība ${lang} (paraugs)`, hoursTheory: 80, competence: CALL_COMPETENCES[2], digcompLevel: null });
  }
  // The JSON API keeps the same rule, all or nothing: a 400 naming the field and the rule, nothing saved.
  const api = await call('POST', `/api/provider/offers/${offerId}`, { token, json: { titleLv: 'Cits', digcompLevel: 7 } });
  const error = assertError(t, api, 400, 'invalid_request');
  t.like(error.details[0], { field: 'digcompLevel', rule: 'digcomp_range' });
  t.is((await offerRow()).titleLv, 'Kiberdrošība en (paraugs)');
});

test.serial('the cost preview computes the cost as submission does and saves nothing', async (t) => {
  const before = await offerRow();
  const full = await post(`/provider/offers/${offerId}/preview`, { coefficientCode: 'ICT-DB-NET', hoursTheory: '100', hoursPractice: '60' });
  t.is(full.status, 200);
  const cents = computedCostCents({ hoursTheory: 100, hoursPractice: 60 }, 1280)!;
  t.is(cents, 32_000);
  t.regex(full.text, /2,00 EUR stundā × 160 stundas (=|&#x3D;) 320,00 EUR vienam izglītojamajam\./);
  // Submission computes nothing while the practice hours are missing; neither does the preview.
  const half = await post(`/provider/offers/${offerId}/preview`, { coefficientCode: 'ICT-DB-NET', hoursTheory: '100', hoursPractice: '' }, 'en');
  t.regex(half.text, /The cost cannot be computed yet/);
  const checked = await call('POST', `/api/provider/offers/${offerId}/check`, { token, json: { coefficientCode: 'ICT-DB-NET', hoursTheory: 100, hoursPractice: 60 } });
  t.like(checked.json, { cost: { computedCostCents: cents, hourlyRateCents: 200, hours: 160 } });
  t.deepEqual(await offerRow(), before);
});

test.serial('check without submitting lists every problem next to its field and changes nothing in the database', async (t) => {
  const count = async () => Promise.all(['offers', 'documents', 'providerEvents', 'auditLog', 'caseEvents'].map(async (table) => (await stack.db(table).count({ n: '*' }))[0]!.n));
  const [rowBefore, countsBefore] = [await offerRow(), await count()];
  const answer = await post(`/provider/offers/${offerId}/check`, { digitalSharePercent: '50', place_0: 'Rīga, Brīvības iela 1 (paraugs)', hoursTheory: 'daudz' }, 'en');
  t.is(answer.status, 200);
  t.regex(answer.text, /Submission would refuse the offer for these reasons/);
  t.regex(answer.text, /The digital skills share must be at least 70% \(given 50%\)/);
  t.regex(answer.text, /The mandatory document &quot;Experience declaration&quot; is not attached\./);
  t.false(answer.text.replace(/<[^>]*>/g, '').includes('experience_declaration'), 'documents by their names, not their internal kinds');
  t.is(fieldError(answer.text, 'hoursTheory'), 'Theory hours: enter a whole number from 0 to 2000.');
  t.regex(fieldError(answer.text, 'digitalSharePercent') ?? '', /at least 70%/);
  t.deepEqual(await offerRow(), rowBefore);
  t.deepEqual(await count(), countsBefore);

  const api = await call('POST', `/api/provider/offers/${offerId}/check`, { token, json: { digitalSharePercent: 50 } });
  t.is(api.status, 200, api.text);
  const fields = (api.json as { problems: { field: string; code: string }[] }).problems.map((p) => `${p.field}:${p.code}`);
  t.true(fields.includes('digitalSharePercent:digital_share_too_low'), fields.join());
  t.true(fields.includes('documents.experience_declaration:document_missing'), fields.join());
  t.deepEqual(await count(), countsBefore);
});

test.serial('with VIIS down the form says why, takes typed values, and saves the draft', async (t) => {
  stack.viis.setDown(true);
  try {
    const html = (await page(`/provider/offers/${offerId}`)).text;
    t.regex(html, /VIIS pašlaik neatbild/);
    t.regex(html, /<input id="licenceNumber" name="licenceNumber"/);
    t.regex(html, /<input id="place-0" name="place_0"/);
    const saved = await post(`/provider/offers/${offerId}`, { licenceNumber: 'P-00001 (paraugs)', place_0: 'Valmiera, Rīgas iela 10 (paraugs)', descriptionLv: 'Apraksts.' });
    t.is(saved.status, 302, saved.text);
    t.like(await offerRow(), { licenceNumber: 'P-00001 (paraugs)', places: [{ address: 'Valmiera, Rīgas iela 10 (paraugs)' }], descriptionLv: 'Apraksts.' });
    const check = await call('POST', `/api/provider/offers/${offerId}/check`, { token, json: {} });
    t.like(check.json, { viis: 'unavailable' });
    t.like((await call('GET', `/api/provider/offers/${offerId}/choices`, { token })).json, { viis: 'unavailable', licences: null, places: null });
  } finally {
    stack.viis.reset();
  }
});

test.serial('the form passes axe in Latvian and English, with errors showing, and a long file hash stays within the screen', async (t) => {
  const upload = multipartClient(() => stack.appUrl);
  t.is((await upload(`/api/provider/offers/${offerId}/documents/curriculum`, {}, [{ field: 'file', filename: 'programma.pdf', content: SAMPLE_PDF }], { token })).status, 201);
  browser = await launchBrowser();
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 375, height: 800 } });
  await context.addCookies([{ name: 'ila_session', value: token, url: stack.appUrl }]);
  const tab = await context.newPage();
  for (const lang of ['lv', 'en'] as const) {
    t.is((await tab.goto(`${stack.appUrl}/provider/offers/${offerId}?lang=${lang}`))?.status(), 200);
    t.is(await tab.locator('h1').count(), 1);
    t.deepEqual(await accessibilityProblems(tab), [], `${lang}: the form`);
    const hashRight = await tab.locator('code.hash').evaluate((e: { getBoundingClientRect(): { right: number } }) => e.getBoundingClientRect().right);
    t.true(hashRight <= 375, `${lang}: the hash ends at ${hashRight}px`);
    // With JavaScript the preview follows the cost fields without leaving the page (web/public/offer-cost.js).
    await tab.selectOption('#coefficientCode', 'ICT-DB-NET');
    await tab.fill('#hoursTheory', '90');
    await tab.fill('#hoursPractice', '70');
    await tab.locator('#hoursPractice').blur();
    await tab.locator('#preview', { hasText: lang === 'lv' ? '= 320,00 EUR' : '= EUR 320.00' }).waitFor({ timeout: 5_000 });
    await tab.selectOption('#digcompLevel', '5');
    await tab.fill('#hoursPractice', 'daudz');
    await tab.locator('button[formaction$="/check#check"]').click();
    await tab.waitForSelector('#check');
    t.deepEqual(await accessibilityProblems(tab), [], `${lang}: the check result with errors`);
    await tab.locator('button[type=submit]', { hasText: lang === 'lv' ? 'Saglabāt melnrakstu' : 'Save the draft' }).click();
    await tab.waitForSelector('#field-problems');
    t.deepEqual(await accessibilityProblems(tab), [], `${lang}: the save with a bad field`);
    t.deepEqual(foreignLines(await tab.locator('main').innerText(), lang), [], `${lang}: no line in the other language`);
  }
  t.is((await offerRow()).digcompLevel, 5);
  await context.close();
});
