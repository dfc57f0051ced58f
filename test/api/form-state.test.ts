import test from 'ava';
import { inflateRawSync } from 'node:zlib';
import { SAMPLE_COMPANIES } from '../../dev/seed-institutions';
import { translate } from '../../web/render';
import { approvedProvider } from '../helpers/providers';
import { startTestStack, type TestStack } from '../helpers/stack';

// Post/redirect/get for forms that fail (issue 16, item 2): a form re-shown with its problems keeps its typed
// values and problems for its page, so the language switch (or a refresh of the page) shows them again in the
// other language, and no link on a re-shown form leads to a 405. A success answers with a redirect and drops them.

let stack: TestStack;

test.before(async () => {
  stack = await startTestStack();
});
test.after.always(async () => {
  await stack?.stop();
});

/** One browser: its cookies, the form token of the last page it read, and the answers it got (redirects not followed). */
class Visitor {
  readonly cookies = new Map<string, string>();
  private token = '';

  constructor(session?: string) {
    if (session) this.cookies.set('ila_session', session);
  }

  async get(path: string) {
    return this.send('GET', path);
  }

  /** Posts a form with the token of the last page read, as the page's form would. */
  async post(path: string, form: Record<string, string>) {
    return this.send('POST', path, new URLSearchParams({ _csrf: this.token, ...form }).toString());
  }

  private async send(method: string, path: string, body?: string) {
    const res = await fetch(`${stack.appUrl}${path}`, {
      method, body, redirect: 'manual',
      headers: {
        accept: 'text/html', origin: stack.appUrl, cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(';');
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      const expired = value === '' || attributes.some((a) => /expires=Thu, 01 Jan 1970/i.test(a));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    this.token = /name="_csrf" value="([^"]*)"/.exec(text)?.[1] ?? this.token;
    return { status: res.status, text, location: res.headers.get('location') };
  }
}

/** The address the page's language switch leads to (the link marked with the other language). */
function languageLink(html: string, to: 'lv' | 'en'): string {
  // (On a page opened with GET it is the page's own query: `?lang=lv`.)
  const href = new RegExp(`<a href="([^"]*)" lang="${to}">`).exec(html)?.[1];
  if (!href) throw new Error('no language switch on the page');
  return href.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
}

/** Every same-site link of a page (not anchors, e-mail or phone links). */
function linksOf(html: string): string[] {
  return [...html.matchAll(/<a [^>]*href="([^"#][^"]*)"/g)].map((m) => m[1]!.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&'))
    .filter((href) => !/^(mailto|tel|https?):/.test(href));
}

/** The kept state of a visitor's browser, opened with the server's key (what the cookie holds). */
function keptState(visitor: Visitor): unknown {
  const sealed = visitor.cookies.get('ila_form');
  return sealed ? JSON.parse(inflateRawSync(Buffer.from(stack.tokens.open(sealed), 'base64')).toString('utf8')) : null;
}

const NUL = translate('lv', 'input.nul_character');
const NUL_EN = translate('en', 'input.nul_character');

/**
 * The journey of one failed form: posted in Latvian (4xx, problems next to the fields), the language switch to
 * the form's page in English (typed values and English problems with the summary), then fixed (a redirect, the
 * state gone). Returns the re-shown page for the link check.
 */
async function failThenSwitchThenSucceed(t: import('ava').ExecutionContext, visitor: Visitor, opts: {
  page: string; action: string; bad: Record<string, string>; good: Record<string, string>;
  /** A typed value that must show again, a problem's words in each language. */
  typed: string; problem: { lv: string; en: string }; secret?: string;
}) {
  t.is((await visitor.get(`${opts.page}?lang=lv`)).status, 200);
  const failed = await visitor.post(opts.action, opts.bad);
  t.is(failed.status, 400, `${opts.action}: the POST answers 400 itself`);
  t.true(failed.text.includes(opts.problem.lv), `${opts.action}: the problem in Latvian`);
  const link = languageLink(failed.text, 'en');
  t.is(link, `${opts.page}?lang=en`, `${opts.action}: the switch leads to the form's page, not the POST address`);
  if (opts.secret) t.false(JSON.stringify(keptState(visitor)).includes(opts.secret), `${opts.action}: the password is not kept`);

  const english = await visitor.get(link);
  t.is(english.status, 200);
  t.true(english.text.includes('<html lang="en">'));
  t.true(english.text.includes(`value="${opts.typed}"`), `${opts.action}: the typed value is shown again`);
  t.true(english.text.includes(opts.problem.en), `${opts.action}: the problem is worded in English`);
  t.false(english.text.includes(opts.problem.lv), `${opts.action}: and not in Latvian`);
  t.regex(english.text, /class="error-summary"[\s\S]*<a href="#[^"]+">/, `${opts.action}: with the error summary`);
  if (opts.secret) t.false(english.text.includes(opts.secret));
  // Bound to the browser's session: the same cookie in another browser (another pre-session or session) shows nothing.
  const other = new Visitor();
  other.cookies.set('ila_form', visitor.cookies.get('ila_form')!);
  t.false((await other.get(opts.page)).text.includes(opts.problem.en), `${opts.action}: not shown to another browser`);
  // And back: the same state, worded in Latvian again.
  t.true((await visitor.get(`${opts.page}${languageLink(english.text, 'lv')}`)).text.includes(opts.problem.lv));

  // A refresh or the back button on the POST's answer opens the form's address with GET: the form's page, kept form.
  if (opts.action !== opts.page) {
    const refreshed = await visitor.get(opts.action);
    t.is(refreshed.status, 303);
    t.is(refreshed.location, opts.page);
    t.true((await visitor.get(opts.page)).text.includes(`value="${opts.typed}"`), `${opts.action}: the typed value after a refresh`);
  }

  const done = await visitor.post(opts.action, opts.good);
  t.true([302, 303].includes(done.status), `${opts.action}: a success redirects (${done.status}) ${done.text.slice(0, 300)}`);
  t.false(visitor.cookies.has('ila_form'), `${opts.action}: the kept state is dropped`);
  const again = await visitor.get(opts.page);
  t.false(again.text.includes('class="error-summary"'), `${opts.action}: the page starts clean`);
  return failed;
}

test('a failed form keeps its values and problems across the language switch; a success drops them; no link of a re-shown form is a 405', async (t) => {
  const reshown: { visitor: Visitor; html: string }[] = [];

  // Anonymous: a provider's staff member asks to join (the password is never kept).
  const password = 'Zaļā-Kalna#Upe-2026';
  await approvedProvider(stack.db, 'demo');
  const anonymous = new Visitor();
  reshown.push({ visitor: anonymous, html: (await failThenSwitchThenSucceed(t, anonymous, {
    page: '/providers/staff/register', action: '/providers/staff/register',
    bad: { firstName: 'Ilze', lastName: 'Kalniņa', companyRegistrationNumber: '40003999999', email: 'ilze.kalnina@provider.test', password, passwordRepeat: password },
    good: { firstName: 'Ilze', lastName: 'Kalniņa', companyRegistrationNumber: SAMPLE_COMPANIES.demo, email: 'ilze.kalnina@provider.test', password, passwordRepeat: password },
    typed: '40003999999', secret: password,
    problem: { lv: 'Nav apstiprinātas izglītības iestādes ar šo reģistrācijas numuru.', en: 'No approved education provider has this registration number.' },
  })).text });

  // A learner registering (the form's page is /learner, the POST address /learner/journeys).
  const learner = new Visitor(await stack.tokenFor('learner', '321178-40215', 'Anna Bērziņa'));
  const terms = await stack.db('termsVersions').orderBy('effectiveFrom', 'desc').first<{ version: string }>('version');
  const registration = { requestId: '3f1c9d2e-8b7a-4c6d-9e0f-1a2b3c4d5e6f', email: 'anna@example.lv', language: 'lv', programme: 'IMK', acceptTerms: 'on', termsVersion: terms?.version ?? '' };
  reshown.push({ visitor: learner, html: (await failThenSwitchThenSucceed(t, learner, {
    page: '/learner', action: '/learner/journeys',
    bad: { ...registration, employerName: 'SIA Ozols\u0000' }, good: registration,
    typed: 'anna@example.lv', problem: { lv: NUL, en: NUL_EN },
  })).text });

  // A provider's administrator changing the institution's contact data.
  const user = await stack.db('users').where({ username: 'provider' }).first<{ id: string; displayName: string; providerId: string }>();
  const provider = new Visitor(await stack.signIn({ role: 'provider', subject: user.id, name: user.displayName, providerId: user.providerId, providerRole: 'admin' }));
  reshown.push({ visitor: provider, html: (await failThenSwitchThenSucceed(t, provider, {
    page: '/provider/contact', action: '/provider/contact',
    bad: { email: 'kontakti@provider\u0000.example', phone: '+371 67000001' }, good: { email: 'kontakti@provider.example', phone: '+371 67000001' },
    typed: '+371 67000001', problem: { lv: NUL, en: NUL_EN },
  })).text });

  // Nothing a person can click on a re-shown form answers 405 (each link opened as that person).
  for (const { visitor, html } of reshown) {
    for (const href of new Set(linksOf(html))) {
      const answer = await visitor.get(href.startsWith('?') ? `/providers/staff/register${href}` : href);
      t.not(answer.status, 405, `${href} is not a 405`);
      t.true(answer.status < 500, `${href}: ${answer.status}`);
    }
  }
});
