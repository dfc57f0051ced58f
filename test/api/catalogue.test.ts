import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { allAspects, insertCompleters, insertOffer, insertProvider } from '../helpers/catalogue';
import { assertError, httpClient, type Answer } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

// The public catalogue over HTTP: published offers only, search and filters, validation, paging and sorting, the
// offer's page with groups, free places and the public rating (only from 10 completers), against the real app and
// a Postgres database of its own. Offers, groups, completers and survey answers are written straight into the read
// model; the seeded demo offers are also published, so assertions look at this file's own offers.

let stack: TestStack;
const call = httpClient(() => stack.appUrl);

test.before(async () => { stack = await startTestStack(); });
test.after.always(async () => { await stack?.stop(); });

interface Item { offerId: string; costCents: number; nextStartsOn: string | null; freePlaces: number; places: string[] }
interface Page { offers: Item[]; total: number; page: number; pageSize: number }
interface Detail {
  offerId: string; provider: string; hours: number | null; costCents: number;
  groups: { groupId: string; place: string; schedule: string | null; capacity: number; enrolled: number; freePlaces: number }[];
  rating: { completers: number; minimumCompleters: number; minimumAnswers: number; shown: boolean; hiddenBecause: string | null; answers: number | null; overall: number | null; aspects: Record<string, number | null> | null };
}

// Handlebars escapes = and & in attributes; browsers read them back, and so do these assertions.
const decode = (html: string) => html.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&').replace(/&#x27;/g, "'").replace(/&quot;/g, '"');

const token = () => `zx${randomUUID().replace(/-/g, '').slice(0, 10)}`;

async function search(params: Record<string, string>): Promise<Page> {
  const answer = await call('GET', `/api/catalogue?${new URLSearchParams({ pageSize: '100', ...params }).toString()}`);
  if (answer.status !== 200) throw new Error(`catalogue answered ${answer.status}: ${answer.text}`);
  return answer.json as Page;
}

/** The ids among `mine` that a search returns, in the order returned. */
async function found(params: Record<string, string>, mine: string[]): Promise<string[]> {
  return (await search(params)).offers.map((o) => o.offerId).filter((id) => mine.includes(id));
}

/** Asserts a 400 naming exactly this field, also in the message. */
function assertField(t: ExecutionContext, answer: Answer, field: string) {
  const error = assertError(t, answer, 400, 'invalid_request');
  t.deepEqual(error.details.map((d) => d.field), [field], answer.text);
  t.true(error.message.includes(`${field}:`), error.message);
}

test('only published offers are listed or shown; a draft, a rejected or an offer in evaluation never is', async (t) => {
  const word = token();
  const published = await insertOffer(stack.db, { titleLv: `Publicēts ${word}`, titleEn: `Published ${word}` });
  const hidden = await Promise.all((['draft', 'rejected', 'in_evaluation', 'approved', 'closed'] as const).map((state) =>
    insertOffer(stack.db, { state, titleLv: `Slēpts ${word}`, titleEn: `Hidden ${word}` })));

  const page = await search({ q: word });
  t.deepEqual(page.offers.map((o) => o.offerId), [published.offerId]);
  t.is(page.total, 1);

  for (const offer of hidden) {
    assertError(t, await call('GET', `/api/catalogue/${offer.offerId}`), 404, 'offer_not_found');
    t.is((await call('GET', `/catalogue/${offer.offerId}`, { html: true })).status, 404);
  }
  t.is((await call('GET', `/api/catalogue/${published.offerId}`)).status, 200);
  // Anyone may look: no login needed.
  t.is((await call('GET', `/catalogue?q=${word}`, { html: true })).status, 200);
});

test('each filter narrows the list to the matching offers', async (t) => {
  const word = token();
  const provider = await insertProvider(stack.db, { name: `Filtru iestāde ${word}` });
  const a = await insertOffer(stack.db, {
    providerId: provider, titleLv: `Programmēšana ${word}`, titleEn: `Programming ${word}`,
    descriptionEn: `Learn Python with the ${word}giraffe method`, competence: 'Programmēšanas tehniķis', language: 'lv',
    digcompLevel: 4, costCents: 32_000, programme: 'IMK', places: [`Rīga, Brīvības iela 1 ${word}`],
    groups: [{ place: `Rīga ${word}`, startsOn: '2027-05-10', endsOn: '2027-06-30', capacity: 10 }],
  });
  const b = await insertOffer(stack.db, {
    providerId: provider, titleLv: `Kiberdrošība ${word}`, titleEn: `Cybersecurity ${word}`,
    descriptionLv: `Aizsardzība pret ${word}ķirzakas uzbrukumiem`, competence: 'Kiberdrošības tehniķis', language: 'en',
    digcompLevel: 5, costCents: 25_050, programme: 'DPP', places: [`Valmiera, Rīgas iela 10 ${word}`],
    groups: [{ place: `Valmiera ${word}`, startsOn: '2027-06-15', endsOn: '2027-07-30', capacity: 12 }],
  });
  const c = await insertOffer(stack.db, {
    providerId: provider, titleLv: `Datorsistēmas ${word}`, titleEn: `Computer systems ${word}`,
    competence: 'Datorsistēmu tehniķis', language: 'ru', digcompLevel: 6, costCents: 40_000, programme: 'IMK',
    groups: [
      { place: `Liepāja ${word}`, startsOn: '2027-09-01', endsOn: '2027-10-30', capacity: 8 },
      { place: `Ventspils ${word}`, startsOn: '2027-04-01', endsOn: '2027-05-30', capacity: 8 },
    ],
  });
  const mine = [a.offerId, b.offerId, c.offerId];
  const sorted = (ids: string[]) => [...ids].sort();

  t.deepEqual(sorted(await found({ q: word }, mine)), sorted(mine), 'the word is in every title');
  // Search covers the descriptions, in both languages, as well as the titles.
  t.deepEqual(await found({ q: `${word}giraffe` }, mine), [a.offerId], 'English description');
  t.deepEqual(await found({ q: `${word}ĶIRZAKAS` }, mine), [b.offerId], 'Latvian description, any letter case');
  t.deepEqual(await found({ q: `Cybersecurity ${word}` }, mine), [b.offerId], 'English title');
  t.deepEqual(await found({ q: `${word}%` }, mine), [], '% is a literal character, not a wildcard');

  t.deepEqual(await found({ competence: 'programmēšanas tehniķis' }, mine), [a.offerId], 'competence, any letter case');
  t.deepEqual(await found({ place: `Valmiera ${word}` }, mine), [b.offerId], 'a group\'s place');
  t.deepEqual(await found({ place: `Brīvības iela 1 ${word}` }, mine), [a.offerId], 'an offer\'s place of delivery');
  t.deepEqual(sorted(await found({ from: '2027-05-01', to: '2027-06-30' }, mine)), sorted([a.offerId, b.offerId]), 'groups starting in May-June');
  t.deepEqual(await found({ from: '2027-08-01' }, mine), [c.offerId], 'a group starting from August');
  t.deepEqual(await found({ to: '2027-04-30' }, mine), [c.offerId], 'a group starting by April');
  t.deepEqual(await found({ from: '2027-06-15', to: '2027-06-15' }, mine), [b.offerId], 'both ends inclusive');
  t.deepEqual(await found({ digcomp: '5' }, mine), [b.offerId], 'DigComp level');
  t.deepEqual(await found({ language: 'ru' }, mine), [c.offerId], 'language');
  t.deepEqual(sorted(await found({ maxCost: '320' }, mine)), sorted([a.offerId, b.offerId]), 'max cost 320 EUR includes 320.00');
  t.deepEqual(await found({ maxCost: '250,50' }, mine), [b.offerId], 'max cost with a decimal comma, compared in cents');
  t.deepEqual(await found({ maxCost: '250.49' }, mine), [], 'one cent less excludes it');
  t.deepEqual(await found({ programme: 'DPP' }, mine), [b.offerId], 'programme');
  t.deepEqual(await found({ q: word, programme: 'IMK', digcomp: '6' }, mine), [c.offerId], 'filters combine');
  // Empty fields from the GET form mean "any".
  t.deepEqual(sorted(await found({ q: word, competence: '', place: '', from: '', to: '', digcomp: '', language: '', maxCost: '', programme: '', sort: '' }, mine)), sorted(mine));

  const listed = (await search({ q: word })).offers.find((o) => o.offerId === c.offerId)!;
  t.deepEqual(listed.places.sort(), [`Liepāja ${word}`, `Ventspils ${word}`]);
});

test('a bad filter is answered 400 naming the field', async (t) => {
  const cases: [string, string][] = [
    ['digcomp=9', 'digcomp'], ['digcomp=abc', 'digcomp'], ['digcomp=4.5', 'digcomp'],
    ['maxCost=abc', 'maxCost'], ['maxCost=-1', 'maxCost'], ['maxCost=1.234', 'maxCost'],
    ['from=2027-02-30', 'from'], ['from=01.05.2027', 'from'], ['to=2027-13-01', 'to'],
    ['from=2027-06-01&to=2027-05-01', 'to'],
    ['language=Latvian', 'language'], ['programme=imk', 'programme'], ['sort=price', 'sort'],
    ['page=0', 'page'], ['page=x', 'page'], ['pageSize=101', 'pageSize'], [`q=${'a'.repeat(101)}`, 'q'],
    ['colour=red', 'colour'],
  ];
  for (const [query, field] of cases) assertField(t, await call('GET', `/api/catalogue?${query}`), field);
  assertField(t, await call('GET', '/api/catalogue/not-a-uuid'), 'offerId');
  assertError(t, await call('GET', `/api/catalogue/${randomUUID()}`), 404, 'offer_not_found');
});

test('paging returns every offer once with the total; sorting by cost and by soonest start', async (t) => {
  const word = token();
  const costs = [50_000, 12_000, 30_000, 12_000, 45_000];
  const starts = ['2027-03-05', '2027-01-10', '2027-02-20', '2027-05-01', '2027-04-11'];
  const offers = [];
  for (let i = 0; i < costs.length; i += 1) {
    offers.push(await insertOffer(stack.db, {
      titleLv: `Lapošana ${word} ${i}`, titleEn: `Paging ${word} ${i}`, costCents: costs[i],
      groups: [{ place: 'Rīga', startsOn: starts[i]!, endsOn: '2027-06-30', capacity: 10 }],
    }));
  }
  const seen: string[] = [];
  for (const page of [1, 2, 3]) {
    const answer = await search({ q: word, pageSize: '2', page: String(page), sort: 'cost' });
    t.is(answer.total, 5);
    t.is(answer.page, page);
    t.is(answer.offers.length, page === 3 ? 1 : 2);
    seen.push(...answer.offers.map((o) => o.offerId));
  }
  t.is(new Set(seen).size, 5, 'no offer on two pages');
  t.deepEqual([...seen].sort(), offers.map((o) => o.offerId).sort());
  t.deepEqual((await search({ q: word, page: '4', pageSize: '2' })).offers, [], 'past the last page: empty, not an error');

  const byCost = (await search({ q: word, sort: 'cost' })).offers.map((o) => o.costCents);
  t.deepEqual(byCost, [...costs].sort((x, y) => x - y));
  const byStart = (await search({ q: word, sort: 'start', from: '2027-01-01' })).offers.map((o) => o.nextStartsOn);
  t.deepEqual(byStart, [...starts].sort());
});

test('an offer\'s page: groups with schedule and free places (capacity − enrolled), hours, cost, provider', async (t) => {
  const word = token();
  const provider = await insertProvider(stack.db, { name: `Skolas SIA ${word}` });
  const offer = await insertOffer(stack.db, {
    providerId: provider, titleLv: `Tīkli ${word}`, titleEn: `Networks ${word}`, costCents: 32_000,
    descriptionLv: 'Datortīklu uzbūve un drošība.', descriptionEn: 'How networks are built and kept safe.',
    prerequisitesLv: 'Windows vai Linux lietošanas pamati.', prerequisitesEn: 'Basic use of Windows or Linux.',
    hoursTheory: 60, hoursPractice: 100, digcompLevel: 5, digitalSharePercent: 80, places: ['Rīga, Lāčplēša iela 5'],
    groups: [
      { place: 'Rīga, Lāčplēša iela 5', startsOn: '2027-03-01', endsOn: '2027-04-30', capacity: 20, enrolled: 7, schedule: 'P, T 18:00-21:00' },
      { place: 'Cēsis, Raunas iela 4', startsOn: '2027-03-15', endsOn: '2027-05-15', capacity: 12, enrolled: 12 },
    ],
  });

  const detail = (await call('GET', `/api/catalogue/${offer.offerId}`)).json as Detail;
  t.is(detail.provider, `Skolas SIA ${word}`);
  t.is(detail.hours, 160);
  t.deepEqual(detail.groups.map((g) => [g.place, g.capacity, g.enrolled, g.freePlaces, g.schedule]), [
    ['Rīga, Lāčplēša iela 5', 20, 7, 13, 'P, T 18:00-21:00'],
    ['Cēsis, Raunas iela 4', 12, 12, 0, null],
  ]);
  const listed = (await search({ q: word })).offers[0]!;
  t.is(listed.freePlaces, 13, 'the list sums free places over the groups');

  const page = await call('GET', `/catalogue/${offer.offerId}`, { html: true });
  t.is(page.status, 200);
  for (const text of [`Tīkli ${word}`, 'Datortīklu uzbūve un drošība.', 'Windows vai Linux lietošanas pamati.', `Skolas SIA ${word}`,
    '320,00 EUR', '160 st. (60 teorija, 100 prakse)', 'P, T 18:00-21:00', '13 no 20', 'Grupa pilna', 'Rīga, Lāčplēša iela 5']) {
    t.true(page.text.includes(text), `the page shows ${text}`);
  }
  const english = await call('GET', `/catalogue/${offer.offerId}?lang=en`, { html: true });
  t.true(english.text.includes('EUR 320.00'));
  t.true(english.text.includes('How networks are built and kept safe.'));
  // Not logged in: a way to sign in and come back to this offer.
  t.true(decode(page.text).includes(`/auth/sso/login?next=${encodeURIComponent(`/catalogue/${offer.offerId}`)}`));
});

test('the rating is hidden with 9 completers and shown with 10, averaged per aspect and overall', async (t) => {
  const offer = await insertOffer(stack.db, { groups: [{ place: 'Rīga', startsOn: '2027-03-01', endsOn: '2027-04-30', capacity: 30 }] });
  const groupId = offer.groupIds[0]!;
  // 8 of the 9 answer; knowledge: 5,5,4,4,3,5,4,4 = 34/8 = 4.25 → 4.3; organisation all 4; teachers: 5×4 + 3×4 = 32/8 = 4.0.
  const knowledge = [5, 5, 4, 4, 3, 5, 4, 4];
  const teachers = [5, 5, 5, 5, 3, 3, 3, 3];
  const ratings = knowledge.map((k, i) => ({ knowledge_and_skills: k, organisation_of_learning: 4, teachers: teachers[i]! }));
  await insertCompleters(stack.db, offer.offerId, groupId, 9, ratings);
  // Neither a completer of another offer nor a dropout of this one counts.
  const other = await insertOffer(stack.db, { groups: [{ place: 'Rīga', startsOn: '2027-03-01', endsOn: '2027-04-30', capacity: 30 }] });
  await insertCompleters(stack.db, other.offerId, other.groupIds[0]!, 1, [allAspects(1)]);
  await stack.db('applications').insert({
    id: randomUUID(), caseId: (await stack.db('cases').first('id')).id, attempt: 99, offerId: offer.offerId, groupId,
    state: 'dropped_out', costCents: 0, actorRole: 'learner', channel: 'e-service',
  });

  const nine = (await call('GET', `/api/catalogue/${offer.offerId}`)).json as Detail;
  t.deepEqual(nine.rating, { completers: 9, minimumCompleters: 10, minimumAnswers: 5, shown: false, hiddenBecause: 'few_completers', answers: null, overall: null, aspects: null });
  const hiddenPage = await call('GET', `/catalogue/${offer.offerId}`, { html: true });
  t.true(hiddenPage.text.includes('Vērtējums būs redzams, kad šīs mācības būs pabeiguši vismaz 10 cilvēki.'));
  t.true(hiddenPage.text.includes('data-rating-shown="false"'));

  // The tenth completer does not answer the survey: 10 completers, still 8 answers.
  await insertCompleters(stack.db, offer.offerId, groupId, 1);
  const ten = (await call('GET', `/api/catalogue/${offer.offerId}`)).json as Detail;
  // Overall: every star counts once: (34 + 32 + 32) / 24 = 4.083 → 4.1.
  t.deepEqual(ten.rating, {
    completers: 10, minimumCompleters: 10, minimumAnswers: 5, shown: true, hiddenBecause: null, answers: 8, overall: 4.1,
    aspects: { knowledge_and_skills: 4.3, organisation_of_learning: 4, teachers: 4 },
  });
  const shownPage = await call('GET', `/catalogue/${offer.offerId}`, { html: true });
  t.true(shownPage.text.includes('data-rating-shown="true"'));
  t.true(shownPage.text.includes('Kopā 4,1 no 5 zvaigznēm (8 atbildes no 10 cilvēkiem'), 'overall with a decimal comma in Latvian');
  t.true(shownPage.text.includes('4,3 no 5'));
  const english = await call('GET', `/catalogue/${offer.offerId}?lang=en`, { html: true });
  t.true(english.text.includes('Overall 4.1 of 5 stars (8 answers from 10 people'));
});

test('with 10 completers the rating stays hidden while 4 of them answered, and is shown from 5 answers', async (t) => {
  const offer = await insertOffer(stack.db, { groups: [{ place: 'Rīga', startsOn: '2027-03-01', endsOn: '2027-04-30', capacity: 30 }] });
  const groupId = offer.groupIds[0]!;
  await insertCompleters(stack.db, offer.offerId, groupId, 10, [allAspects(5), allAspects(4), allAspects(1), allAspects(2)]);
  const four = (await call('GET', `/api/catalogue/${offer.offerId}`)).json as Detail;
  t.deepEqual(four.rating, { completers: 10, minimumCompleters: 10, minimumAnswers: 5, shown: false, hiddenBecause: 'few_answers', answers: null, overall: null, aspects: null });
  const hidden = await call('GET', `/catalogue/${offer.offerId}`, { html: true });
  t.true(hidden.text.includes('data-rating-shown="false"'));
  t.true(hidden.text.includes('Vērtējums būs redzams, kad aptaujā būs atbildējuši vismaz 5 cilvēki, kas pabeiguši šīs mācības'), 'says why, in Latvian');
  t.false(hidden.text.includes('no 5 zvaigznēm'), 'no stars');
  const hiddenEnglish = await call('GET', `/catalogue/${offer.offerId}?lang=en`, { html: true });
  t.true(hiddenEnglish.text.includes('The rating appears once at least 5 people who completed this training have answered the survey'));

  await insertCompleters(stack.db, offer.offerId, groupId, 1, [allAspects(3)]);
  const five = (await call('GET', `/api/catalogue/${offer.offerId}`)).json as Detail;
  t.like(five.rating, { completers: 11, shown: true, hiddenBecause: null, answers: 5, overall: 3, aspects: { knowledge_and_skills: 3, organisation_of_learning: 3, teachers: 3 } });
  const shown = await call('GET', `/catalogue/${offer.offerId}?lang=en`, { html: true });
  t.true(shown.text.includes('Overall 3.0 of 5 stars (5 answers from 11 people'));
});

test('the catalogue page keeps the filters in the form and in the paging links; a bad filter is shown next to it', async (t) => {
  const word = token();
  for (let i = 0; i < 3; i += 1) {
    await insertOffer(stack.db, {
      titleLv: `Lapa ${word} ${i}`, titleEn: `Page ${word} ${i}`, competence: 'Programmēšanas tehniķis', costCents: 30_000 + i,
      digcompLevel: 4, groups: [{ place: 'Rīga', startsOn: '2027-05-01', endsOn: '2027-06-01', capacity: 5 }],
    });
  }
  const query = new URLSearchParams({ q: word, competence: 'Programmēšanas tehniķis', maxCost: '320', sort: 'cost', digcomp: '4', pageSize: '2' });
  const page = await call('GET', `/catalogue?${query.toString()}`, { html: true });
  t.is(page.status, 200);
  t.regex(page.text, /<form method="get" action="\/catalogue"/);
  t.true(page.text.includes(`name="q" type="search" value="${word}"`), 'search words kept');
  t.true(page.text.includes('value="320"'), 'max cost kept');
  t.regex(page.text, /<option value="Programmēšanas tehniķis" selected>/, 'competence kept');
  t.regex(page.text, /<option value="cost" selected>/, 'sort kept');
  t.regex(page.text, /<option value="4" selected>4<\/option>/, 'DigComp level kept');
  t.true(page.text.includes('Atrasti piedāvājumi: 3'));
  const html = decode(page.text);
  t.true(html.includes(`href="/catalogue?q=${word}&competence=Programm%C4%93%C5%A1anas+tehni%C4%B7is&digcomp=4&maxCost=320&sort=cost&page=2" rel="next"`),
    'the next-page link carries the filters');
  t.true(page.text.includes('href="/catalogue"'), 'the site navigation links to the catalogue');

  const bad = await call('GET', `/catalogue?q=${word}&digcomp=9&maxCost=lots`, { html: true });
  t.is(bad.status, 400);
  t.regex(bad.text, /<p class="field-error" id="digcomp-error">DigComp līmenim jābūt veselam skaitlim no 1 līdz 8\.<\/p>/);
  t.regex(bad.text, /<p class="field-error" id="maxCost-error">Norādiet summu eiro, piemēram, 320 vai 320,50\./);
  t.true(bad.text.includes('value="lots"'), 'the value typed is kept so it can be corrected');
  t.true(bad.text.includes(`value="${word}"`));
});

test('a learner whose account takes an application sees Apply forms on the offer page; one without sees how to get one', async (t) => {
  const offer = await insertOffer(stack.db, {
    groups: [
      { place: 'Rīga', startsOn: '2027-03-01', endsOn: '2027-04-30', capacity: 10, enrolled: 2 },
      { place: 'Jelgava', startsOn: '2027-03-01', endsOn: '2027-04-30', capacity: 5, enrolled: 5 },
    ],
  });
  const personCode = `32${String(Date.now()).slice(-4)}-${String(Math.floor(Math.random() * 100_000)).padStart(5, '0')}`;
  const withoutCase = await stack.tokenFor('learner', personCode, 'Līga Ozola');
  const before = await call('GET', `/catalogue/${offer.offerId}`, { html: true, token: withoutCase });
  t.true(before.text.includes('Lai pieteiktos, Jums vajadzīgs apstiprināts mācību konts'));
  t.false(before.text.includes('/applications"'));

  // An approved account waiting for an application, as the read model shows it.
  const [learner] = await stack.db('learners').insert({
    personCode, firstName: 'Līga', lastName: 'Ozola', email: 'liga.ozola@example.lv', language: 'lv', termsVersion: 'test', termsAcceptedAt: new Date(),
  }).returning('id');
  const caseId = randomUUID();
  await stack.db('cases').insert({
    id: caseId, serviceCaseId: `TEST-${caseId.slice(0, 13)}`, workflowId: `test-apply:${caseId}`, learnerId: (learner as { id: string }).id,
    programme: 'IMK', stage: 'imk_approved', channel: 'e-service', balanceCents: 50_000,
  });
  const after = await call('GET', `/catalogue/${offer.offerId}`, { html: true, token: withoutCase });
  const forms = after.text.match(/<form method="post" action="\/learner\/journeys\/[^"]+\/applications">/g) ?? [];
  t.is(forms.length, 1, 'one Apply form: the full group has none');
  t.true(forms[0]!.includes(caseId));
  t.true(after.text.includes(`name="groupId" value="${offer.groupIds[0]}"`));
  t.true(after.text.includes(`name="offerId" value="${offer.offerId}"`));
  t.is(after.headers.get('cache-control'), 'no-store', 'request ids are not brought back by the browser history');
});

test('the catalogue is in the OpenAPI document as public routes', async (t) => {
  const doc = (await call('GET', '/api/openapi.json')).json as { paths: Record<string, Record<string, { security?: unknown; parameters?: { name: string }[] }>> };
  const list = doc.paths['/api/catalogue']?.get;
  t.truthy(list);
  t.falsy(list?.security, 'no login needed');
  t.deepEqual(list?.parameters?.map((p) => p.name).sort(),
    ['competence', 'digcomp', 'freePlaces', 'from', 'language', 'maxCost', 'municipality', 'page', 'pageSize', 'place', 'programme', 'q', 'sort', 'to']);
  t.truthy(doc.paths['/api/catalogue/{offerId}']?.get);
});
