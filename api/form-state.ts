import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { ServerKey } from '../lib/server-key';
import type { WordedProblem } from './errors';
import type { ApiRegistry } from './routes/define';
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
 * What it keeps: from the data a page is rendered with, each typed form (`form` or `<name>Form`) without secrets,
 * each set of problems (`errors` or `<name>Errors`) as the problems themselves (field, rule and the words of both
 * languages they carry; see errorsByField and problemsBehind), never the text of one page language, and the few
 * scalars that say which item of a list failed (FAILURE_CONTEXT_KEYS).
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
const SECRET_VIEWS = new Set(['staff-login', 'login-code', 'second-factor', 'recovery-codes', 'password-change', 'password-reset', 'password-forgot']);

// Which item of a list the failed form belongs to (an announcement, a retention rule, a holiday, a staff member).
const FAILURE_CONTEXT_KEYS = ['failed', 'failedId', 'removalDay'] as const;

/** What is kept of one failed form. */
interface KeptState {
  /** The form's page (a path) and the view that shows it: restored only on that page showing that view. */
  page: string;
  view: string;
  /** A digest of the form token the form was posted with (binds the state to the browser's session). */
  bound: string;
  /** When it stops being shown (ms since the epoch). */
  until: number;
  forms: Record<string, Record<string, string>>;
  problems: Record<string, WordedProblem[]>;
  context: Record<string, string | number>;
}

/** The per-request side of the keeper (ctx.state.formState), used by renderPage. */
export interface RequestFormState {
  /** Called by renderPage: keeps a failed POST's form, or restores a kept one on its page; returns the data to render. */
  apply(view: string, data: Record<string, unknown>): Record<string, unknown>;
  /** The address of the form's page with the given query, when this answer re-shows a kept form (for the language switch). */
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
    let keptPage: string | null = null;
    const cookie = { httpOnly: true, sameSite: 'lax' as const, secure: opts.secure, path: '/' };
    ctx.state.formState = {
      apply(view, data) {
        if (ctx.method === 'POST' && ctx.status >= 400 && ctx.status !== 404) {
          const page = index.pageOf(ctx);
          kept = page ? keepable(page, view, data, bindingOf(ctx)) : null;
          keptPage = kept ? page : null;
          return data;
        }
        // A GET that failed itself (a bad filter) shows its own problems.
        if (ctx.method !== 'GET' || (ctx.status >= 400 && ctx.status !== 404)) return data;
        const state = readState(ctx, key);
        if (!state || state.page !== ctx.path || state.view !== view || state.bound !== bindingOf(ctx)) return data;
        return restored(state, data, ctx.state.lang as 'lv' | 'en');
      },
      pageAddress() {
        return keptPage;
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

  /** Reads the registry's page routes: called once, when every page is registered. */
  build(api: ApiRegistry): void {
    const pages = new Set(api.pages.filter((p) => p.method === 'get').map((p) => p.path));
    const taken = new Router();
    for (const path of pages) taken.get(path, () => undefined);
    for (const form of api.pages.filter((p) => p.method === 'post')) {
      if (!pages.has(form.path) && taken.match(form.path, 'GET').route) continue;
      const segments = form.path.split('/');
      const page = segments.map((_, n) => segments.slice(0, segments.length - n).join('/') || '/').find((path) => pages.has(path));
      if (page) this.pageOfForm.set(form.path, page);
    }
  }

  /** The page pattern of a form's POST pattern, or undefined. */
  patternOf(formPath: string): string | undefined {
    return this.pageOfForm.get(formPath);
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
  const forms: KeptState['forms'] = {};
  const problems: KeptState['problems'] = {};
  const context: KeptState['context'] = {};
  for (const [name, value] of Object.entries(data)) {
    if ((name === 'form' || name.endsWith('Form')) && value && typeof value === 'object' && !Array.isArray(value)) {
      forms[name] = Object.fromEntries(Object.entries(value as Record<string, unknown>)
        .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && !SECRET_FIELD.test(entry[0])));
    }
    if ((name === 'errors' || name.endsWith('Errors')) && value && typeof value === 'object') {
      const behind = problemsBehind(value);
      if (behind) problems[name] = behind.map((p) => ({ field: p.field, rule: p.rule, message: p.message, ...(p.words ? { words: p.words } : {}) }));
    }
  }
  for (const name of FAILURE_CONTEXT_KEYS) {
    const value = data[name];
    if (typeof value === 'string' || typeof value === 'number') context[name] = value;
  }
  if (Object.keys(problems).length === 0) return null;
  return { page, view, bound, until: Date.now() + KEEP_MINUTES * 60_000, forms, problems, context };
}

// The page data with the kept forms, problems (worded in the page's language) and context over it.
function restored(state: KeptState, data: Record<string, unknown>, lang: 'lv' | 'en'): Record<string, unknown> {
  const again: Record<string, unknown> = { ...data, ...state.context };
  for (const [name, form] of Object.entries(state.forms)) {
    const shown = data[name] && typeof data[name] === 'object' ? data[name] as Record<string, unknown> : {};
    again[name] = { ...shown, ...form };
  }
  for (const [name, problems] of Object.entries(state.problems)) again[name] = errorsByField(problems, lang);
  return again;
}

// A digest of the form token the request carries: the same browser session (or pre-session) posted and reads.
function bindingOf(ctx: Context): string {
  const token = ctx.state.formTokens ? formToken(ctx) : '';
  return createHash('sha256').update(token).digest('base64url').slice(0, 22);
}

// The sealed cookie value; the longest typed values are left out while it is too big, and nothing if it still is.
function sealState(key: ServerKey, state: KeptState): string | null {
  const values = Object.entries(state.forms).flatMap(([form, fields]) => Object.entries(fields).map(([field, value]) => ({ form, field, length: value.length })))
    .sort((a, b) => b.length - a.length);
  for (;;) {
    const sealed = key.seal(deflateRawSync(JSON.stringify(state)).toString('base64'));
    if (sealed.length <= MAX_COOKIE_VALUE) return sealed;
    const longest = values.shift();
    if (!longest) return null;
    delete state.forms[longest.form]![longest.field];
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
