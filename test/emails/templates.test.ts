import test from 'ava';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadEmailTemplates, type EmailName, type Language } from '../../lib/email-templates';

const emailsDir = path.join(__dirname, '..', '..', 'emails');
// Loaded once: compiling MJML is the slow part, and every test below reads the same templates.
const loaded = loadEmailTemplates();
const languages: Language[] = ['lv', 'en'];

const common = {
  firstName: 'Jānis',
  serviceCaseId: 'IMK-2026-000123',
  caseUrl: 'https://mackonts.example.lv/lietas/IMK-2026-000123',
};
const provider = {
  providerName: 'Kurzemes digitālo prasmju skola (paraugs)', caseUrl: 'https://mackonts.example.lv/provider',
};
const offer = {
  serviceCaseId: 'IMK-2026-5', caseUrl: 'https://mackonts.example.lv/provider/offers/6f1d2a3e-0000-4000-8000-000000000001',
  offerTitle: 'Kiberdrošības pamati (paraugs)', callTitle: '5. piedāvājumu atlases kārta (paraugs)',
};
// A notification to a provider about its offer names the offer, not the call.
const notice = { serviceCaseId: offer.serviceCaseId, caseUrl: offer.caseUrl, offerTitle: offer.offerTitle };
const samples: Record<EmailName, Record<string, unknown>> = {
  'imk-approved': { ...common, approvedAt: '22.11.2026', balance: '500,00 EUR', copay: false },
  'imk-rejected': { ...common, reason: 'Iesniegtie dati nesakrīt ar Fizisko personu reģistru.' },
  'not-eligible': { ...common, reason: 'Jums vēl nav 18 gadu.', rule: 'IMK: vecums no 18 gadiem' },
  'application-received': {
    ...common, offerTitle: 'Kiberdrošības pamati (paraugs)', place: 'Rīga, Brīvības iela 1', startsOn: '2027. gada 11. janvāris',
    earmarked: '320,00 EUR', balance: '180,00 EUR', deadline: '2026. gada 10. decembris 23:59',
  },
  'application-waitlisted': { ...common, offerTitle: 'Kiberdrošības pamati (paraugs)' },
  'place-offered': { ...common, offerTitle: 'Kiberdrošības pamati (paraugs)', due: '2026. gada 10. decembris 23:59' },
  'application-refused': { ...common, offerTitle: 'Kiberdrošības pamati (paraugs)' },
  'enrolment-declined': { ...common, offerTitle: 'Kiberdrošības pamati (paraugs)', reason: 'Grupā nav brīvu vietu.' },
  'enrolled': {
    ...common, offerTitle: 'Kiberdrošības pamati (paraugs)', place: 'Rīga, Brīvības iela 1', startsOn: '2027. gada 11. janvāris',
    endsOn: '2027. gada 30. aprīlis',
  },
  'study-completed': { ...common, offerTitle: 'Kiberdrošības pamati (paraugs)' },
  'study-dropped-out': { ...common, offerTitle: 'Kiberdrošības pamati (paraugs)' },
  'survey-reminder': { ...common, offerTitle: 'Kiberdrošības pamati (paraugs)' },
  // To providers and to the agency: no learner, so the reference is the company number, call code or task id.
  'provider-confirm-email': {
    ...provider, serviceCaseId: '40003000002', caseUrl: 'https://mackonts.example.lv/providers/confirm?token=abc.def',
    validUntil: '2026. gada 27. novembris 10:00',
  },
  'password-reset': {
    serviceCaseId: 'provider@example.lv', username: 'provider@example.lv',
    caseUrl: 'https://mackonts.example.lv/staff/password/reset?token=abc.def', validUntil: '2026. gada 27. novembris 10:00',
  },
  'account-setup': {
    serviceCaseId: 'anna.berzina', username: 'anna.berzina',
    caseUrl: 'https://mackonts.example.lv/staff/password/reset?token=abc.def', validUntil: '2026. gada 30. novembris 10:00',
  },
  'data-request-decided': {
    serviceCaseId: 'DSR-5B0C1F9E', caseUrl: 'https://mackonts.example.lv/account/data-requests', firstName: 'Anna',
    kind: 'datu labošanu', outcome: 'izpildīts daļēji', reason: 'Tālruni izlabojām; vārdu reģistrs apstiprina esošo.',
  },
  'provider-approved': { ...provider, serviceCaseId: '40003000002', approvedAt: '2026. gada 25. novembris' },
  'provider-rejected': { ...provider, serviceCaseId: '40003000002', reason: 'Iestāde nav akreditēta.' },
  'task-overdue': {
    serviceCaseId: '5b0c1f9e-0000-4000-8000-000000000001', caseUrl: 'https://mackonts.example.lv/staff/tasks/5b0c1f9e-0000-4000-8000-000000000001',
    taskType: 'approve-provider', subject: 'Kurzemes digitālo prasmju skola (paraugs)', dueAt: '2026. gada 25. novembris 23:59',
  },
  'offer-approved': {
    ...provider, ...offer, cost: '320,00 EUR', publicationAt: '2027. gada 5. janvāris 09:00',
  },
  'announcement': {
    serviceCaseId: 'PAZ-5B0C1F9E', caseUrl: 'https://mackonts.example.lv/', title: 'Platformas darbības pārtraukums 12. decembrī',
    body: 'Platforma nebūs pieejama no 20:00 līdz 22:00. Atvainojamies par neērtībām.',
  },
  'provider-new-application': { ...provider, ...notice, place: 'Rīga, Brīvības iela 1', startsOn: '2027. gada 11. janvāris', deadline: '2026. gada 10. decembris, 24:00' },
  'provider-group-deadline': { ...provider, ...notice, undecided: 3, deadline: '2026. gada 10. decembris, 24:00' },
  'provider-outcomes-missing': { ...provider, ...notice, missing: 2, endedOn: '2027. gada 30. aprīlis' },
  'offer-rejected': { ...provider, ...offer, reasons: ['Nav norādītas priekšzināšanas.', 'Prakses stundu sadalījums nav pamatots.'] },
};
/** E-mails to a learner, who is greeted by name; the others go to a provider's or the agency's address. */
const toLearner = new Set<EmailName>([
  'imk-approved', 'imk-rejected', 'not-eligible', 'application-received', 'application-waitlisted', 'application-refused',
  'enrolment-declined', 'enrolled', 'study-completed', 'study-dropped-out', 'survey-reminder', 'place-offered',
]);
const agencyName: Record<Language, string> = {
  lv: 'Valsts izglītības attīstības aģentūra',
  en: 'State Education Development Agency',
};
/** Latvian greets people in the vocative, so the name appears as "Jāni" there. */
const addressed: Record<Language, string> = { lv: 'Jāni', en: 'Jānis' };

/** Copies emails/ to a temporary folder, lets a test break one file there, and returns the folder. */
async function brokenCopy(file: string, change: (source: string) => string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'emails-'));
  await fs.cp(emailsDir, dir, { recursive: true });
  const target = path.join(dir, file);
  await fs.writeFile(target, change(await fs.readFile(target, 'utf8')));
  return dir;
}

test('loads every e-mail, compiling its MJML in strict validation', async (t) => {
  // loadEmailTemplates compiles with validationLevel 'strict', so loading at all means MJML found no errors.
  const templates = await loaded;
  t.deepEqual([...templates.names].sort(), Object.keys(samples).sort());
});

for (const name of Object.keys(samples) as EmailName[]) {
  for (const language of languages) {
    test(`${name} (${language}) renders subject, HTML and text with the person's name, case id and link`, async (t) => {
      const templates = await loaded;
      const sample = samples[name]!;
      const email = templates.render(name, language, sample);
      for (const part of toLearner.has(name) ? [email.subject, email.text] : [email.text]) {
        t.true(part.includes(String(sample.serviceCaseId)), 'case id or reference');
        if (toLearner.has(name)) t.true(part.includes(addressed[language]), 'name');
      }
      t.true(email.html.includes(`lang="${language}"`));
      // Handlebars escapes '=' in attributes (&#x3D;), as it does for every link with a query.
      t.true(email.html.includes(`href="${String(sample.caseUrl).replace(/=/g, '&#x3D;')}"`));
      t.true(email.text.includes(String(sample.caseUrl)));
      const agency = agencyName[language];
      t.true(email.html.includes(agency) && email.text.includes(agency), 'shared header and sign-off');
      t.true(email.text.includes('stars@viaa.gov.lv'), 'footer says how to reach support');
      for (const [field, value] of Object.entries(sample)) {
        // A flag (e.g. copay) chooses words; it is not shown itself.
        if (field === 'firstName' || field === 'caseUrl' || typeof value === 'boolean') continue;
        for (const item of Array.isArray(value) ? value : [value]) {
          t.true(email.text.includes(String(item)), `text shows ${field}`);
          t.true(email.html.includes(String(item)), `HTML shows ${field}`);
        }
      }
      t.false(/\{\{|\}\}/.test(email.html + email.text + email.subject), 'no placeholder left unrendered');
      t.false(email.subject.includes('\n'));
    });
  }
  test(`${name}: the Latvian and English subjects differ`, async (t) => {
    const templates = await loaded;
    t.not(templates.render(name, 'lv', samples[name]!).subject, templates.render(name, 'en', samples[name]!).subject);
  });
}

test('Latvian greeting uses the vocative; feminine names stay as they are', async (t) => {
  const templates = await loaded;
  const greet = (firstName: string) =>
    templates.render('imk-approved', 'lv', { ...samples['imk-approved'], firstName }).text;
  t.true(greet('Jānis').includes('Labdien, Jāni!'));
  t.true(greet('Mārtiņš').includes('Labdien, Mārtiņ!'));
  t.true(greet('Anna Marija').includes('Labdien, Anna Marija!'));
  t.true(greet('Edgars').includes('Labdien, Edgar!'));
});

test('a person without a known first name (not in the Population Register) is greeted without one', async (t) => {
  const templates = await loaded;
  for (const name of templates.names.filter((n) => 'firstName' in samples[n]!)) {
    for (const language of languages) {
      const email = templates.render(name, language, { ...samples[name], firstName: '' });
      t.false(/Labdien, !|Hello ,|^, /.test(`${email.subject}\n${email.text}`), `${name} (${language}): ${email.subject}`);
      t.is(email.subject.charAt(0), email.subject.charAt(0).toLocaleUpperCase('lv'), `${name} (${language}) subject starts with a capital`);
    }
  }
  t.true(templates.render('not-eligible', 'lv', { ...samples['not-eligible'], firstName: '' }).text.includes('Labdien!'));
  t.true(templates.render('not-eligible', 'en', { ...samples['not-eligible'], firstName: '' }).text.includes('Hello,'));
});

test('HTML escapes markup in data; plain text and subject keep it as typed', async (t) => {
  const templates = await loaded;
  const evil = '<script>alert(1)</script>';
  const email = templates.render('imk-rejected', 'en', { ...samples['imk-rejected'], firstName: evil, reason: evil });
  t.false(email.html.includes('<script>'));
  t.true(email.html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  t.true(email.text.includes(evil), 'text is not HTML, so it is not escaped (nor escaped twice)');
  t.true(email.subject.includes(evil));
});

test('a multi-line staff comment keeps its line breaks in HTML', async (t) => {
  const templates = await loaded;
  const reason = 'Pirmā rinda\nOtrā <rinda>';
  const email = templates.render('imk-rejected', 'lv', { ...samples['imk-rejected'], reason });
  t.true(email.html.includes('Pirmā rinda<br />\nOtrā &lt;rinda&gt;'));
});

test('a missing data field throws, naming the e-mail and the field', async (t) => {
  const templates = await loaded;
  const { reason: _reason, ...withoutReason } = samples['imk-rejected'];
  t.throws(() => templates.render('imk-rejected', 'lv', withoutReason), { message: /imk-rejected.*\(lv\).*reason/ });
  const { firstName: _firstName, ...withoutName } = samples['imk-approved'];
  t.throws(() => templates.render('imk-approved', 'en', withoutName), { message: /firstName/ });
  t.throws(() => templates.render('not-eligible', 'en', { ...samples['not-eligible'], rule: null }),
    { message: /rule/ });
});

test('a link that is not http(s) is refused', async (t) => {
  const templates = await loaded;
  t.throws(() => templates.render('imk-approved', 'lv', { ...samples['imk-approved'], caseUrl: 'javascript:alert(1)' }),
    { message: /caseUrl/ });
});

test('an unknown e-mail or language throws a clear error', async (t) => {
  const templates = await loaded;
  t.throws(() => templates.render('no-such-email' as EmailName, 'lv', samples['imk-approved']!),
    { message: /Unknown e-mail "no-such-email"/ });
  t.throws(() => templates.render('imk-approved', 'de' as Language, samples['imk-approved']!),
    { message: /Unknown language "de"/ });
});

test('invalid MJML fails loading, naming the template and the line in body.mjml', async (t) => {
  const dir = await brokenCopy('imk-rejected/body.mjml',
    (s) => s.replace('<mj-column>', '').replace('</mj-column>', ''));
  await t.throwsAsync(loadEmailTemplates(dir),
    { message: /E-mail "imk-rejected": invalid MJML\n {2}body\.mjml line 3: mj-text cannot be used inside/ });
});

test('a block helper MJML would drop fails loading and points to <mj-raw>', async (t) => {
  const dir = await brokenCopy('not-eligible/body.mjml', (s) => `{{#if rule}}\n${s}{{/if}}\n`);
  await t.throwsAsync(loadEmailTemplates(dir), { message: /not-eligible.*\{\{#if rule\}\}.*mj-raw/ });
});

test('a key missing from one language fails loading, naming the key', async (t) => {
  const dir = await brokenCopy('imk-approved/strings.en.json', (s) => {
    const strings = JSON.parse(s) as Record<string, string>;
    delete strings.next2;
    return JSON.stringify(strings);
  });
  await t.throwsAsync(loadEmailTemplates(dir),
    { message: /imk-approved.*strings\.en\.json is missing key\(s\) next2/ });
});

test('a string used by a template but defined nowhere fails loading', async (t) => {
  const dir = await brokenCopy('imk-approved/text.hbs', (s) => `${s}{{t.postscript}}\n`);
  await t.throwsAsync(loadEmailTemplates(dir), { message: /imk-approved.*postscript/ });
});

test('a co-payment account\'s approval says who pays what, never an empty balance to pay with (issue 15, item 12)', async (t) => {
  const templates = await loaded;
  for (const language of languages) {
    const email = templates.render('imk-approved', language, { ...samples['imk-approved'], balance: language === 'lv' ? '0,00 EUR' : 'EUR 0.00', copay: true });
    for (const part of [email.text, email.html]) {
      t.false(/0[.,]00/.test(part), `${language}: no EUR 0.00 balance`);
      t.false(/use it to pay|izmantot, lai apmaksātu/.test(part), `${language}: not "use it to pay"`);
      t.regex(part, language === 'lv' ? /līdzmaksājumu/ : /co-payment/);
    }
  }
});
