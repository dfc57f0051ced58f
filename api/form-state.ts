import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { ServerKey } from '../lib/server-key';
import type { WordedProblem } from './errors';
import type { ApiRegistry, PageSpec } from './routes/define';
import { errorsByField, problemsBehind } from './validation';
import { formToken } from './middleware/csrf';

/**
 * The form-state keeper (post/redirect/get for forms that fail).
 *
 * A page form that fails is shown again in the POST's own answer, with its 4xx status (which tells assistive
 * technology and API callers the truth) and the problems next to the fields. What the person typed and what was
 * wrong is also kept for a short while, for the page the form belongs to: the language switch of the re-shown
 * page leads there (not to the POST address), and that page, opened with GET (the switch, a refresh, the back
 * button), shows the typed values and the problems again, worded in its own language, with the error summary.
 * A page POST that does not fail with a re-shown form (a success, or a refusal shown on the error page) drops what
 * was kept, so the next visit to the page starts clean.
 *
 * Where it is kept: in one cookie, sealed with the server key (AES-256-GCM, lib/server-key.ts), httpOnly,
 * SameSite=Lax, for KEEP_MINUTES. It holds personal data (a person code a coordinator typed, a name, an address),
 * so the browser cannot read it, and it is bound to the form token of the session (or pre-session) that posted
 * it: after a logout or a login on the same browser it is never shown to anybody. A cookie rather than a table:
 * it needs no clean-up job, no write per failed post, and it dies with the browser's session; the cost is its size
 * (browsers keep about 4 KB per cookie), so it is deflated and the longest values are left out if it is still too
 * big (the re-shown POST answer itself always has everything).
 *
 * What it keeps, by the names pages already give their data: each typed form (`form` or `<name>Form`) without
 * secrets, each set of problems (`errors` or `<name>Errors`) as the problems themselves (field, rule and the words
 * of both languages they carry; see errorsByField and problemsBehind), never the text of one page language, problem
 * lists a page words itself (`<name>Problems`), and the few values that say which item of a list failed
 * (CONTEXT_KEY). It reads them from the data renderPage renders, or, for a page that works its view out of the
 * form and its problems, from the page function's input (keptForm): the same rules either way, so a handler
 * declares nothing but the fields its form has (formFields).
 *
 * Not kept: a refusal's words that are not about a field (`formError`: a conflict, an outage), since the page
 * opened again shows the state that caused them; uploaded files; anything on the sign-in and password pages.
 */

/** The cookie holding the kept form state. */
export const FORM_STATE_COOKIE = 'ila_form';

/** How long a failed form's values and problems are kept. */
export const KEEP_MINUTES = 15;

// Browsers keep at least 4096 bytes per cookie, name and attributes included.
const MAX_COOKIE_VALUE = 3800;

// Never kept: passwords, form tokens, e-mailed tokens, second-factor and recovery codes, secrets.
const SECRET_FIELD = /password|token|secret|totp|recovery|^_csrf$/i;

// Pages whose forms are all about secrets keep nothing at all (their `code` field is a one-time code).
const SECRET_VIEWS = new Set(['staff-login', 'login-code', 'second-factor', 'recovery-codes', 'password-change', 'password-reset']);

// Which item of a list the failed form belongs to (an announcement, a retention rule, a holiday, a window), and
// how far a partly saved form got: small scalars kept as they are.
const CONTEXT_KEY = /^(failed\w*|removalDay|saved)$/;

/** What is kept of a page's data (see keepable): typed forms, problems, context, and the same one level down. */
interface KeptData {
  forms: Record<string, Record<string, string>>;
  /** Problems behind an errorsByField answer (`errors`, `<name>Errors`), worded again when shown. */
  problems: Record<string, WordedProblem[]>;
  /** Problem lists a page words itself (`problems`, `<name>Problems`), kept as they are (they carry both languages). */
  lists: Record<string, unknown[]>;
  context: Record<string, string | number | boolean>;
  /** A failed item's own form and problems (`failed: { applicationId, form, errors }`). */
  nested: Record<string, KeptData>;
}

/** What is kept of one failed form. */
interface KeptState {
  /** The form's page (a path) and the view that shows it: restored only on that page showing that view. */
  page: string;
  view: string;
  /** A digest of the form token the form was posted with (binds the state to the browser's session). */
  bound: string;
  /** When it stops being shown (ms since the epoch). */
  until: number;
  data: KeptData;
}

/** The per-request side of the keeper (ctx.state.formState), used by renderPage. */
export interface RequestFormState {
  /**
   * Keeps a failed POST's form, or restores a kept one on its page, and returns the data to show. Called by
   * renderPage with the data it renders, or earlier by a page function with its input (keptForm), when the page
   * works its view out of the form and its problems; only the first call of a request counts.
   */
  apply(view: string, data: Record<string, unknown>): Record<string, unknown>;
  /** The address of the form's page when this answer re-shows a failed form (for the language switch), else null. */
  pageAddress(): string | null;
}

/**
 * Installs ctx.state.formState for pages, and writes or drops the cookie after every page POST. The index of form
 * pages is built once every route is registered (api/app.ts).
 */
export function formStateMiddleware(key: ServerKey, index: FormPageIndex, opts: { secure: boolean }) {
  return async (ctx: Context, next: Next) => {
    if (ctx.path.startsWith('/api/')) return next();
    let kept: KeptState | null = null;
    let formPage: string | null = null;
    let applied = false;
    const cookie = { httpOnly: true, sameSite: 'lax' as const, secure: opts.secure, path: '/' };
    ctx.state.formState = {
      apply(view, data) {
        if (applied) return data;
        applied = true;
        if (ctx.method === 'POST' && ctx.status >= 400 && ctx.status !== 404) {
          const page = index.pageOf(ctx);
          kept = page ? keepable(page, view, data, bindingOf(ctx)) : null;
          formPage = page;
          return data;
        }
        // A GET that failed itself (a bad filter) shows its own problems.
        if (ctx.method !== 'GET' || (ctx.status >= 400 && ctx.status !== 404)) return data;
        const state = readState(ctx, key);
        if (!state || !samePath(state.page, ctx.path) || state.view !== view || state.bound !== bindingOf(ctx)) return data;
        return restored(state.data, data, ctx.state.lang as 'lv' | 'en');
      },
      pageAddress() {
        return formPage;
      },
    } satisfies RequestFormState;
    if (ctx.method !== 'POST') return next();
    try {
      await next();
    } finally {
      const state = kept as KeptState | null;
      const sealed = state ? sealState(key, state) : null;
      if (sealed) ctx.cookies.set(FORM_STATE_COOKIE, sealed, { ...cookie, maxAge: KEEP_MINUTES * 60_000 });
      else if (ctx.cookies.get(FORM_STATE_COOKIE)) ctx.cookies.set(FORM_STATE_COOKIE, null, cookie);
    }
  };
}

/**
 * The page each page form belongs to: the POST address itself when it is also a page, else the nearest address
 * above it that is (/staff/tasks/:taskId/decision belongs to /staff/tasks/:taskId). A form address another page's
 * pattern takes with GET (/admin/batches/preview by /admin/batches/:batchId) has no page of its own. The same
 * index sends a form address opened with GET to its page (api/app.ts formAddressRedirects).
 */
export class FormPageIndex {
  private readonly pageOfForm = new Map<string, string>();
  private readonly takenForms = new Set<string>();

  /** Reads the registry's page routes: called once, when every page is registered. */
  build(api: ApiRegistry): void {
    // Pages people read: a download (a GET answering a file) is no form's page.
    const html = (p: PageSpec) => Object.values(p.responses).every((r) => r.contentType === undefined || r.contentType === 'text/html');
    const pages = new Set(api.pages.filter((p) => p.method === 'get' && html(p)).map((p) => p.path));
    const taken = new Router();
    for (const path of pages) taken.get(path, () => undefined);
    for (const form of api.pages.filter((p) => p.method === 'post')) {
      if (!pages.has(form.path) && taken.match(form.path, 'GET').route) this.takenForms.add(form.path);
      if (this.takenForms.has(form.path) && !form.pageOfForm) continue;
      const segments = form.path.split('/');
      const page = form.pageOfForm ?? segments.map((_, n) => segments.slice(0, segments.length - n).join('/') || '/').find((path) => pages.has(path));
      if (page) this.pageOfForm.set(form.path, page);
    }
  }

  /** Where a form's address opened with GET goes: its page, unless another page's pattern answers that address. */
  redirectOf(formPath: string): string | undefined {
    return this.takenForms.has(formPath) ? undefined : this.pageOfForm.get(formPath);
  }

  /** The path of the page the request's form belongs to, or null. */
  pageOf(ctx: Context): string | null {
    const pattern = typeof ctx.routerPath === 'string' ? this.pageOfForm.get(ctx.routerPath) : undefined;
    return pattern ? fillPath(pattern, ctx.params ?? {}) : null;
  }
}

/** Fills a path pattern's parameters from a request's (router) params. */
export function fillPath(pattern: string, params: Record<string, unknown>): string {
  return pattern.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(String(params[name] ?? '')));
}

// The state worth keeping from a failed form's page data, or null when there is nothing (or only secrets).
function keepable(page: string, view: string, data: Record<string, unknown>, bound: string): KeptState | null {
  if (SECRET_VIEWS.has(view)) return null;
  const kept = keptData(data, true);
  if (!hasProblems(kept)) return null;
  return { page, view, bound, until: Date.now() + KEEP_MINUTES * 60_000, data: kept };
}

function keptData(data: Record<string, unknown>, top: boolean): KeptData {
  const kept: KeptData = { forms: {}, problems: {}, lists: {}, context: {}, nested: {} };
  for (const [name, value] of Object.entries(data)) {
    if (value === null || value === undefined) continue;
    const record = typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : null;
    if ((name === 'form' || name.endsWith('Form')) && record) {
      kept.forms[name] = Object.fromEntries(Object.entries(record)
        .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && !SECRET_FIELD.test(entry[0])));
    } else if ((name === 'errors' || name.endsWith('Errors')) && record) {
      const behind = problemsBehind(record);
      if (behind) kept.problems[name] = behind.map((p) => ({ field: p.field, rule: p.rule, message: p.message, ...(p.words ? { words: p.words } : {}) }));
    } else if ((name === 'problems' || name.endsWith('Problems')) && Array.isArray(value)) {
      kept.lists[name] = value;
    } else if ((!top || CONTEXT_KEY.test(name)) && ['string', 'number', 'boolean'].includes(typeof value)) {
      // (A failed item's own scalars say which item it is: `failed: { applicationId, ... }`.)
      kept.context[name] = value as string | number | boolean;
    } else if (top && CONTEXT_KEY.test(name) && record) {
      kept.nested[name] = keptData(record, false);
    }
  }
  return kept;
}

function hasProblems(kept: KeptData): boolean {
  return Object.keys(kept.problems).length > 0 || Object.values(kept.lists).some((l) => l.length > 0) || Object.values(kept.nested).some(hasProblems);
}

// The page data with the kept forms, problems (worded in the page's language) and context over it.
function restored(kept: KeptData, data: Record<string, unknown>, lang: 'lv' | 'en'): Record<string, unknown> {
  const again: Record<string, unknown> = { ...data, ...kept.context, ...kept.lists };
  for (const [name, form] of Object.entries(kept.forms)) {
    const shown = data[name] && typeof data[name] === 'object' ? data[name] as Record<string, unknown> : {};
    again[name] = { ...shown, ...form };
  }
  for (const [name, problems] of Object.entries(kept.problems)) again[name] = errorsByField(problems, lang);
  for (const [name, nested] of Object.entries(kept.nested)) {
    again[name] = restored(nested, data[name] && typeof data[name] === 'object' ? data[name] as Record<string, unknown> : {}, lang);
  }
  return again;
}

/**
 * For a page function that works its view out of its input (a form's fields with their errors, a failed item of a
 * list): the input with a kept form restored on GET, or kept on a failed POST. Call it first thing with the view's
 * name; renderPage then leaves the request be.
 */
export function keptForm<T extends object>(ctx: Context, view: string, extra: T): T {
  const formState = ctx.state.formState as RequestFormState | undefined;
  return formState ? formState.apply(view, extra as Record<string, unknown>) as T : extra;
}

// Whether two addresses name the same page (`learner-journey%3Aabc` and `learner-journey:abc` do).
function samePath(a: string, b: string): boolean {
  try {
    return decodeURIComponent(a) === decodeURIComponent(b);
  } catch {
    return a === b;
  }
}

// A digest of the form token the request carries: the same browser session (or pre-session) posted and reads.
function bindingOf(ctx: Context): string {
  const token = ctx.state.formTokens ? formToken(ctx) : '';
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}

// The sealed cookie value; the longest typed values are left out while it is too big, and nothing if it still is.
function sealState(key: ServerKey, state: KeptState): string | null {
  const allForms = [state.data.forms, ...Object.values(state.data.nested).map((n) => n.forms)];
  const values = allForms.flatMap((forms) => Object.values(forms)).flatMap((fields) => Object.entries(fields).map(([field, value]) => ({ fields, field, length: value.length })))
    .sort((a, b) => b.length - a.length);
  for (;;) {
    const sealed = key.seal(deflateRawSync(JSON.stringify(state)).toString('base64'));
    if (sealed.length <= MAX_COOKIE_VALUE) return sealed;
    const longest = values.shift();
    if (!longest) return null;
    delete longest.fields[longest.field];
  }
}

// The kept state of this browser, or null when there is none, it expired, or it was not sealed by us.
function readState(ctx: Context, key: ServerKey): KeptState | null {
  const sealed = ctx.cookies.get(FORM_STATE_COOKIE);
  if (!sealed) return null;
  try {
    const state = JSON.parse(inflateRawSync(Buffer.from(key.open(sealed), 'base64')).toString('utf8')) as KeptState;
    return state.until > Date.now() ? state : null;
  } catch {
    return null;
  }
}
