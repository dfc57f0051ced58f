import type { ExecutionContext } from 'ava';

/** The uniform error body the API answers every failure with. */
export interface ErrorBody {
  error: { code: string; message: string; details: { field?: string; rule?: string; message?: string; [k: string]: unknown }[] };
}

/** One HTTP answer, read whole: status, headers, text, and the JSON body when it is JSON. */
export interface Answer { status: number; headers: Headers; text: string; json: unknown }

/** How to send a request: a bearer token or session cookie, and a JSON, form or raw body. */
export interface CallOptions {
  token?: string;
  cookie?: string;
  json?: unknown;
  form?: Record<string, string>;
  /** Sent as-is; set its content type in `headers`. */
  raw?: string;
  /** Ask for a page instead of JSON. */
  html?: boolean;
  headers?: Record<string, string>;
  /**
   * A page form sent without a bearer token gets the form token a browser would have (read from a form page with
   * the same cookie, see formTokenOf) unless the form has its own `_csrf` or this is false.
   */
  formToken?: boolean;
}

/** What a browser holds to post a form: the token of the page's forms and the cookies to send with it. */
export interface FormCredentials { token: string; cookie: string }

/**
 * Reads the form token the way a browser gets it: from a page with a form (the staff login form, open to anyone),
 * sent with the session cookie if any. Without one, the page sets a pre-session cookie, returned with the token.
 */
export async function formTokenOf(baseUrl: string, sessionCookie?: string): Promise<FormCredentials> {
  const cookies = sessionCookie ? [`ila_session=${sessionCookie}`] : [];
  const res = await fetch(`${baseUrl}/staff/login`, { headers: { accept: 'text/html', ...(cookies.length ? { cookie: cookies.join('; ') } : {}) } });
  const token = /name="_csrf" value="([^"]*)"/.exec(await res.text())?.[1];
  if (!token) throw new Error(`no form token on the login page (HTTP ${res.status})`);
  const presession = res.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('ila_presession='));
  return { token, cookie: [...cookies, ...(presession ? [presession] : [])].join('; ') };
}

/** A function making requests to the app under test; redirects are returned, not followed. */
export function httpClient(baseUrl: () => string) {
  return async (method: string, path: string, opts: CallOptions = {}): Promise<Answer> => {
    const headers: Record<string, string> = { accept: opts.html ? 'text/html' : 'application/json', ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.cookie) headers.cookie = `ila_session=${opts.cookie}`;
    let body: string | undefined = opts.raw;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] ??= 'application/json';
    }
    if (opts.form) {
      let form = opts.form;
      if (!opts.token && !path.startsWith('/api/') && opts.formToken !== false && !('_csrf' in form)) {
        const credentials = await formTokenOf(baseUrl(), opts.cookie);
        form = { _csrf: credentials.token, ...form };
        const more = credentials.cookie.split('; ').filter((c) => c && !(headers.cookie ?? '').includes(c));
        headers.cookie = [headers.cookie, ...more].filter(Boolean).join('; ');
      }
      body = new URLSearchParams(form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(`${baseUrl()}${path}`, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    let json: unknown;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
  };
}

/** Asserts a failed answer: the status, exactly the uniform error body with its code, and no stack trace. */
export function assertError(t: ExecutionContext, answer: Answer, status: number, code: string): ErrorBody['error'] {
  t.is(answer.status, status, answer.text);
  t.regex(answer.headers.get('content-type') ?? '', /^application\/json/);
  const body = answer.json as ErrorBody;
  t.deepEqual(Object.keys(body ?? {}), ['error'], 'the body is exactly { error }');
  t.deepEqual(Object.keys(body.error).sort(), ['code', 'details', 'message']);
  t.is(body.error.code, code, answer.text);
  t.true(body.error.message.length > 0);
  t.true(Array.isArray(body.error.details));
  t.false(answer.text.includes('    at '), 'no stack trace frames in the answer');
  return body.error;
}

/** The fields a 400 answer names. */
export const fieldsOf = (error: ErrorBody['error']) => error.details.map((d) => d.field);
