import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { formatEuro } from '../../domain/money';
import { insertOffer } from '../helpers/catalogue';
import { assertError, httpClient, type Answer } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

// Issue 16, item 4: the learner's account explained. The one list of offers (/catalogue; /offers redirects there) and
// its filters, the programme-fit page before registering, and the account page's money (balance, earmarked, spent;
// a closed account's explanation), over HTTP against the real app and Postgres. Offers, learners, cases and
// applications are rows written in SQL: the journey itself is not the point here.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

const word = `acc${randomUUID().replace(/-/g, '').slice(0, 10)}`;

/** The ids of this file's offers a search returns, sorted. */
async function found(params: Record<string, string>, mine: Record<string, string>): Promise<string[]> {
  const answer = await call('GET', `/api/catalogue?${new URLSearchParams({ q: word, pageSize: '100', ...params }).toString()}`);
  if (answer.status !== 200) throw new Error(`catalogue answered ${answer.status}: ${answer.text}`);
  const ids = (answer.json as { offers: { offerId: string }[] }).offers.map((o) => o.offerId);
  return Object.entries(mine).filter(([, id]) => ids.includes(id)).map(([name]) => name).sort();
}

function assertField(t: ExecutionContext, answer: Answer, field: string) {
  const error = assertError(t, answer, 400, 'invalid_request');
  t.deepEqual(error.details.map((d) => d.field), [field], answer.text);
  t.true(error.message.includes(`${field}:`), error.message);
}

let serial = 0;
/** A learner row and an IMK case of theirs (open unless closedAt is given), with applications as given. */
async function accountWith(fields: { balanceCents: number; stage: string; closedAt?: Date; applications: { state: string; earmarkedCents: number; spentCents: number }[] }) {
  serial += 1;
  const personCode = `32${String(serial).padStart(4, '0')}-${String(70_000 + serial).padStart(5, '0')}`;
  const [learner] = await stack.db('learners').insert({
    personCode, firstName: 'Konta', lastName: `Turētāja ${serial}`, email: `account${serial}@example.lv`, language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning('id');
  const caseId = randomUUID();
  await stack.db('cases').insert({
    id: caseId, serviceCaseId: `IMK-${caseId.slice(0, 13)}`, workflowId: `test-account:${caseId}`, learnerId: (learner as { id: string }).id,
    programme: 'IMK', stage: fields.stage, channel: 'e-service', balanceCents: fields.balanceCents, closedAt: fields.closedAt ?? null,
  });
  const offer = await insertOffer(stack.db, { groups: [{ place: 'Rīga, Brīvības iela 1', startsOn: '2027-03-01', endsOn: '2027-04-30', capacity: 10 }] });
  let attempt = 0;
  for (const a of fields.applications) {
    attempt += 1;
    await stack.db('applications').insert({
      id: randomUUID(), caseId, attempt, offerId: offer.offerId, groupId: offer.groupIds[0]!, state: a.state, costCents: a.earmarkedCents + a.spentCents,
      earmarkedCents: a.earmarkedCents, spentCents: a.spentCents, actorRole: 'learner', actorId: personCode, channel: 'e-service',
    });
  }
  return { caseId, token: await stack.tokenFor('learner', personCode, `Konta Turētāja ${serial}`) };
}

test('each filter of the one list narrows it exactly; dates, municipality and free places are about the same group', async (t) => {
  const seed = async (competence: string, digcompLevel: number, groups: { place: string; startsOn: string; capacity: number; enrolled: number }[]) =>
    (await insertOffer(stack.db, {
      titleLv: `Kurss ${word}`, titleEn: `Course ${word}`, competence, digcompLevel,
      groups: groups.map((g) => ({ ...g, endsOn: '2027-08-31' })),
    })).offerId;
  const mine = {
    A: await seed('Kiberdrošības tehniķis', 4, [
      { place: 'Valmiera, Rīgas iela 10', startsOn: '2027-03-01', capacity: 10, enrolled: 10 },
      { place: 'Rīga, Brīvības iela 1', startsOn: '2027-05-01', capacity: 10, enrolled: 2 },
    ]),
    B: await seed('Programmēšanas tehniķis', 5, [{ place: 'Valmiera, Skolas iela 2', startsOn: '2027-04-01', capacity: 12, enrolled: 0 }]),
    C: await seed('Programmēšanas tehniķis', 4, [{ place: 'Liepāja, Graudu iela 20', startsOn: '2027-06-01', capacity: 5, enrolled: 4 }]),
  };
  t.deepEqual(await found({}, mine), ['A', 'B', 'C']);
  t.deepEqual(await found({ competence: 'programmēšanas tehniķis' }, mine), ['B', 'C']);
  t.deepEqual(await found({ digcomp: '4' }, mine), ['A', 'C']);
  t.deepEqual(await found({ municipality: 'valmiera' }, mine), ['A', 'B']);
  t.deepEqual(await found({ from: '2027-04-15' }, mine), ['A', 'C']);
  t.deepEqual(await found({ to: '2027-03-31' }, mine), ['A']);
  t.deepEqual(await found({ freePlaces: '2' }, mine), ['A', 'B']);
  t.deepEqual(await found({ municipality: 'Valmiera', freePlaces: '1' }, mine), ['B'], 'A\'s group in Valmiera is full');
  t.deepEqual(await found({ municipality: 'Valmiera', from: '2027-04-15' }, mine), [], 'A\'s later group is in Rīga');

  // Each item carries what a learner decides by: groups with dates, places and free places, and who pays what.
  const list = (await call('GET', `/api/catalogue?q=${word}&municipality=Liep%C4%81ja`)).json as {
    offers: { share: { programmePaysCents: number; learnerPaysCents: number }; groups: { place: string; startsOn: string; endsOn: string; freePlaces: number }[] }[];
  };
  t.like(list.offers[0], { share: { programmePaysCents: 32_000, learnerPaysCents: 0 } });
  t.deepEqual(list.offers[0]!.groups.map((g) => [g.place, g.startsOn, g.endsOn, g.freePlaces]), [['Liepāja, Graudu iela 20', '2027-06-01', '2027-08-31', 1]]);

  // A bad filter value is a 400 naming the field on the API, and a message next to the filter on the page.
  assertField(t, await call('GET', '/api/catalogue?freePlaces=0'), 'freePlaces');
  assertField(t, await call('GET', '/api/catalogue?freePlaces=many'), 'freePlaces');
  assertField(t, await call('GET', '/api/catalogue?municipality=x'), 'municipality');
  assertField(t, await call('GET', '/api/catalogue?digcomp=9'), 'digcomp');
  assertField(t, await call('GET', '/api/catalogue?from=2027-02-30'), 'from');
  const lv = await call('GET', `/catalogue?q=${word}&freePlaces=0&digcomp=9`, { html: true });
  t.is(lv.status, 400);
  t.regex(lv.text, /<p class="field-error" id="freePlaces-error">Norādiet veselu skaitli no 1 līdz 999\.<\/p>/);
  t.regex(lv.text, /<p class="field-error" id="digcomp-error">DigComp līmenim jābūt veselam skaitlim no 1 līdz 8\.<\/p>/);
  t.true(lv.text.includes('aria-describedby="freePlaces-error"'));
  const en = await call('GET', `/catalogue?q=${word}&freePlaces=0&lang=en`, { html: true });
  t.regex(en.text, /<p class="field-error" id="freePlaces-error">Enter a whole number from 1 to 999\.<\/p>/);

  // The page offers the municipalities of published groups as choices and keeps the chosen one.
  const page = await call('GET', `/catalogue?q=${word}&municipality=Valmiera&freePlaces=1`, { html: true });
  t.is(page.status, 200);
  t.regex(page.text, /<option value="Valmiera" selected>Valmiera<\/option>/);
  t.true(page.text.includes('value="1"'));
  t.true(page.text.includes(`data-offer-id="${mine.B}"`));
  t.false(page.text.includes(`data-offer-id="${mine.A}"`));
});

test('the one list shows description, hours, dates, place, price and the learner\'s share; /offers redirects to it', async (t) => {
  const { offerId } = await insertOffer(stack.db, {
    programme: 'MN', titleLv: `Tīkli ${word}`, titleEn: `Networks ${word}`, descriptionLv: 'Maršrutētāji un komutatori praksē.', descriptionEn: 'Routers and switches in practice.',
    hoursTheory: 60, hoursPractice: 100, costCents: 32_001,
    groups: [{ place: 'Cēsis, Raunas iela 2', startsOn: '2027-03-01', endsOn: '2027-05-31', capacity: 12, enrolled: 3 }],
  });
  await stack.db('offers').where({ id: offerId }).update({ copayPercent: 25 });
  const lv = await call('GET', `/catalogue?q=Tīkli+${word}`, { html: true });
  t.is(lv.status, 200);
  for (const text of ['Maršrutētāji un komutatori praksē.', 'data-testid="hours">160<', 'Cēsis, Raunas iela 2', '2027. gada 1. marts – 2027. gada 31. maijs', '9 no 12',
    '320,01 EUR', 'data-testid="programme-pays">240,01 EUR<', 'data-testid="learner-pays">80,00 EUR<', '<h1>Mācību piedāvājumi</h1>']) {
    t.true(lv.text.includes(text), text);
  }
  const en = await call('GET', `/catalogue?q=Networks+${word}&lang=en`, { html: true });
  for (const text of ['Routers and switches in practice.', 'EUR 320.01', 'data-testid="learner-pays">EUR 80.00<', '<h1>Training offers</h1>']) t.true(en.text.includes(text), text);

  const detail = await call('GET', `/catalogue/${offerId}`, { html: true });
  t.true(detail.text.includes('data-testid="learner-pays">80,00 EUR<'), 'the offer\'s own page shows the learner\'s share too');

  const moved = await call('GET', `/offers?q=${word}&programme=MN&page=2&lang=en`, { html: true });
  t.is(moved.status, 301);
  t.is(moved.headers.get('location'), `/catalogue?q=${word}&programme=MN&page=2&lang=en`);
  const plain = await call('GET', '/offers', { html: true });
  t.is(plain.status, 301);
  t.is(plain.headers.get('location'), '/catalogue');
});

test('the account page\'s balance, earmarked and spent money equal the case\'s rows, in Latvian and English', async (t) => {
  const { caseId, token } = await accountWith({
    balanceCents: 18_000, stage: 'studying',
    applications: [{ state: 'completed', earmarkedCents: 0, spentCents: 20_000 }, { state: 'enrolled', earmarkedCents: 12_000, spentCents: 0 }],
  });
  const row = await stack.db('cases').where({ id: caseId }).first<{ balanceCents: number }>('balanceCents');
  const [sums] = await stack.db('applications').where({ caseId }).sum<{ earmarked: string; spent: string }[]>({ earmarked: 'earmarkedCents', spent: 'spentCents' });

  const api = (await call('GET', `/api/learner/journeys/${caseId}/study`, { token })).json as { balanceCents: number; earmarkedCents: number; spentCents: number; closed: boolean };
  t.like(api, { balanceCents: row.balanceCents, earmarkedCents: Number(sums!.earmarked), spentCents: Number(sums!.spent), closed: false });

  for (const lang of ['lv', 'en'] as const) {
    const page = await call('GET', `/learner/journeys/${caseId}?lang=${lang}`, { token, html: true });
    t.is(page.status, 200, page.text);
    t.true(page.text.includes(`data-testid="balance">${formatEuro(row.balanceCents, lang)}<`), lang);
    t.true(page.text.includes(`data-testid="earmarked">${formatEuro(Number(sums!.earmarked), lang)}<`), lang);
    t.true(page.text.includes(`data-testid="spent">${formatEuro(Number(sums!.spent), lang)}<`), lang);
    t.regex(page.text, lang === 'lv' ? /<h1>Mācību konts IMK-/ : /<h1>Learning account IMK-/);
    t.true(page.text.includes(lang === 'lv' ? 'neizmantotais atlikums netiek izmaksāts' : 'the unused balance is not paid out'), lang);
  }
});

test('a closed account says what was spent and what happened to the rest instead of showing a live balance', async (t) => {
  const { caseId, token } = await accountWith({
    balanceCents: 18_000, stage: 'completed', closedAt: new Date(), applications: [{ state: 'completed', earmarkedCents: 0, spentCents: 32_000 }],
  });
  const lv = await call('GET', `/learner/journeys/${caseId}`, { token, html: true });
  t.is(lv.status, 200, lv.text);
  t.false(lv.text.includes('data-testid="balance"'), 'no live balance');
  t.true(lv.text.includes('Konts ir slēgts'));
  t.true(lv.text.includes('data-testid="closed-spent">Mācībām iztērēti 320,00 EUR.<'));
  t.true(lv.text.includes('data-testid="closed-rest">Neizmantotie 180,00 EUR Jums vairs nav pieejami'));
  const en = await call('GET', `/learner/journeys/${caseId}?lang=en`, { token, html: true });
  t.true(en.text.includes('data-testid="closed-rest">The unused EUR 180.00 is no longer available to you: it is not paid out and has returned to the programme&#x27;s funds.<'));
  const api = (await call('GET', `/api/learner/journeys/${caseId}/study`, { token })).json as { closed: boolean; spentCents: number };
  t.like(api, { closed: true, spentCents: 32_000 });
});

test('the programme-fit page lists what each seeded programme gives; the age is left to the Population Register', async (t) => {
  const lv = await call('GET', '/programmes', { html: true });
  t.is(lv.status, 200);
  for (const text of [
    '<h1>Kuras mācību programmas Jums der</h1>', 'IMK nozīmē „individuālais mācību konts”', 'Jūsu mācību kontā tiek ieskaitīti 500,00 EUR',
    'No 16 līdz 74 gadu vecumam.', 'Mācības ir bez maksas.', 'Jūs maksājat daļu no mācību izmaksām', 'Saīsinājums: MN',
  ]) t.true(lv.text.includes(text), text);
  const en = await call('GET', '/programmes?lang=en', { html: true });
  for (const text of ['<h1>Which training programmes may suit you</h1>', 'Your learning account receives EUR 500.00', 'Aged 16 to 74.']) t.true(en.text.includes(text), text);

  // The rules come from the database: a changed row shows at once.
  const imk = await stack.db('programmes').where({ code: 'IMK' }).first<{ socialStatusRule: string }>('socialStatusRule');
  const api = (await call('GET', '/api/programmes')).json as { programmes: { code: string; balanceCents: number; minAge: number; maxAge: number | null; socialStatusRule: string }[] };
  t.like(api.programmes.find((p) => p.code === 'IMK'), { balanceCents: 50_000, minAge: 18, maxAge: null, socialStatusRule: imk.socialStatusRule });
  t.like(api.programmes.find((p) => p.code === 'DPP'), { balanceCents: 0, minAge: 16, maxAge: 74 });

  // No one's age is told from their person code (it is not a source of age): the page says the register checks it.
  const token = await stack.tokenFor('learner', '010146-10000', 'Vecā Kundze');
  const page = await call('GET', '/programmes', { token, html: true });
  t.true(page.text.includes('Jūsu vecumu pārbaudīsim Iedzīvotāju reģistrā, kad reģistrēsieties.'));
  t.notRegex(page.text, /Jums ir \d+ gad/, 'no age of the person');

  // The learner home of a person without a case shows the same list before the form.
  const home = await call('GET', '/learner', { token: await stack.tokenFor('learner', '329999-99999', 'Jaunā Koda Persona'), html: true });
  t.is(home.status, 200, home.text);
  t.true(home.text.includes('data-testid="programme-fit"'));
});
