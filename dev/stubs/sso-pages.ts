import type { SeedPerson } from '../seed-people';
import { escapeHtml, htmlPage } from './http';

/** The validated parameters of an authorization request, carried through the sign-in form. */
export interface AuthRequest {
  response_type: 'code';
  client_id: string;
  redirect_uri: string;
  state: string;
  nonce: string;
  /** PKCE (RFC 7636): the client's challenge, carried to the code the sign-in issues. */
  code_challenge?: string;
  code_challenge_method?: 'S256';
}

const TITLE = 'Latvija.gov.lv — test sign-in';

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #f4f5f7; line-height: 1.5; }
main { max-width: 40rem; margin: 2rem auto; padding: 1.5rem 2rem; background: #fff; border-radius: 8px; }
h1 { font-size: 1.6rem; margin-top: 0; }
.stub-note { background: #fff4ce; border-left: 4px solid #9a6700; padding: .5rem 1rem; }
ul.people { list-style: none; padding: 0; }
ul.people li { margin: .5rem 0; }
button { font: inherit; cursor: pointer; }
ul.people button { width: 100%; text-align: left; padding: .75rem 1rem; border: 1px solid #8a8f98; border-radius: 6px; background: #fff; }
ul.people button:hover { background: #eef3fb; }
button:focus-visible, input:focus-visible { outline: 3px solid #0b5cd5; outline-offset: 2px; }
.name { font-weight: 600; }
.code { font-family: ui-monospace, monospace; margin-left: .5rem; }
.note { display: block; color: #4a4f57; font-size: .9rem; }
label { display: block; font-weight: 600; }
input[type=text] { font: inherit; padding: .5rem; border: 1px solid #5c616a; border-radius: 4px; margin: .25rem 0; }
input[aria-invalid=true] { border-color: #b3261e; border-width: 2px; }
.hint { color: #4a4f57; font-size: .9rem; margin: 0; }
.error { color: #b3261e; font-weight: 600; margin: .25rem 0; }
.submit { padding: .5rem 1.25rem; margin-left: .5rem; border: 0; border-radius: 4px; background: #0b5cd5; color: #fff; }
`;

function layout(title: string, body: string): string {
  return htmlPage({ lang: 'lv', title, style: STYLE, body: `<main>\n${body}\n</main>` });
}

function hiddenFields(request: AuthRequest): string {
  return (Object.entries(request) as [keyof AuthRequest, string | undefined][])
    .filter(([, value]) => value !== undefined)
    .map(([k, value]) => `<input type="hidden" name="${k}" value="${escapeHtml(value!)}">`)
    .join('\n');
}

/** Renders the person picker; `error` is shown next to the person-code field. */
export function renderSignInPage(opts: {
  request: AuthRequest;
  people: SeedPerson[];
  error?: string;
  enteredCode?: string;
}): string {
  const { request, people, error, enteredCode } = opts;
  const hidden = hiddenFields(request);
  const buttons = people
    .map(
      (p) => `<li><button type="submit" name="personCode" value="${escapeHtml(p.personCode)}">` +
        `<span class="name">${escapeHtml(`${p.firstName} ${p.lastName}`)}</span>` +
        `<span class="code">${escapeHtml(p.personCode)}</span>` +
        `<span class="note" lang="en">${escapeHtml(p.note)}</span></button></li>`,
    )
    .join('\n');
  const describedBy = error ? 'personCode-hint personCode-error' : 'personCode-hint';
  const errorHtml = error ? `<p id="personCode-error" class="error">${escapeHtml(error)}</p>` : '';
  return layout(
    TITLE,
    `<h1><span lang="en">${escapeHtml(TITLE)}</span></h1>
<p class="stub-note" role="note">Šis ir izstrādes vides aizstājējs (stub), nevis īstā Latvija.gov.lv autentifikācija: parole netiek prasīta.
<span lang="en">This is a development stub, not the real national sign-in: no password is asked.</span></p>
<h2>Izvēlieties testa personu</h2>
<form method="post" action="/authorize">
${hidden}
<ul class="people">
${buttons}
</ul>
</form>
<h2>Vai ievadiet personas kodu</h2>
<form method="post" action="/authorize" novalidate>
${hidden}
<label for="personCode">Personas kods</label>
<p id="personCode-hint" class="hint">Formāts: DDMMGG-NNNNN</p>
<input type="text" id="personCode" name="personCode" autocomplete="off" spellcheck="false" required
 value="${escapeHtml(enteredCode ?? '')}" aria-describedby="${describedBy}"${error ? ' aria-invalid="true" autofocus' : ''}>
<button type="submit" class="submit">Pieteikties</button>
${errorHtml}
</form>`,
  );
}

/** Renders the error page for a malformed authorization request, naming the offending parameter. */
export function renderRequestErrorPage(param: string, problem: string): string {
  return layout(
    `${TITLE}: kļūda`,
    `<h1>Nederīgs autorizācijas pieprasījums</h1>
<p class="stub-note" role="note">Izstrādes vides aizstājējs (stub). <span lang="en">Development stub.</span></p>
<p>Parametrs <code>${escapeHtml(param)}</code> trūkst vai ir nederīgs.</p>
<p lang="en">Parameter <code>${escapeHtml(param)}</code>: ${escapeHtml(problem)}.</p>`,
  );
}
