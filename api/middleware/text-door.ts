import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { isMultipart } from './body';
import { brokenTextRule, decodeForm, decodeUtf8, invalidInput, textProblem, textProblems, type TextRule } from '../text-input';

/**
 * Pages that check their whole form (the query of a GET, the body of a POST) with a schema built from `text()` and
 * show each problem next to its field. The door leaves that form to the schema, so a NUL byte in a field is shown
 * like any other mistake there instead of on an error page. Matched with the router's own path patterns.
 */
export class FormPages {
  private readonly matcher = new Router();

  /** Declares a page route (method and path pattern as given to the router) that shows problems next to its fields. */
  add(method: 'get' | 'post', path: string): void {
    this.matcher[method](path, () => undefined);
  }

  /** Whether a request goes to such a page. */
  has(method: string, path: string): boolean {
    return this.matcher.match(path, method).route;
  }
}

/**
 * The input door, once for every route (after the body is read, before any router): refuses a path, query string
 * or JSON/form body holding a NUL character, an unpaired surrogate or bytes that are not UTF-8 with a 400 naming
 * the field and the rule (English for the JSON API, the page's language for pages). Multipart fields are checked
 * by the schemas of the upload routes; pages in `formPages` by their own schemas (see FormPages).
 */
export function textDoor(formPages: FormPages) {
  return async (ctx: Context, next: Next) => {
    const pathProblems = ctx.path.split('/').flatMap((segment) => {
      const rule = segmentRule(segment);
      return rule ? [textProblem('path', rule)] : [];
    });
    if (pathProblems.length > 0) throw invalidInput(ctx, 'path', pathProblems.slice(0, 1));

    // Koa's query parser turns bytes that are not UTF-8 into U+FFFD without a word: the raw query string is read again.
    const query = decodeForm(ctx.querystring);
    if (query.notUtf8.length > 0) throw invalidInput(ctx, 'query', query.notUtf8.map((field) => textProblem(field, 'invalid_utf8')));

    // A form page's form is its query (GET) or its body (POST); the other one is still checked here.
    const formPage = formPages.has(ctx.method, ctx.path);
    const queryProblems = formPage && ctx.method === 'GET' ? [] : textProblems(query.fields);
    if (queryProblems.length > 0) throw invalidInput(ctx, 'query', queryProblems);
    // A multipart body is read later by the upload route (and ctx.request.body refuses to be read before that).
    if (!(formPage && ctx.method !== 'GET') && !isMultipart(ctx)) {
      const bodyProblems = textProblems(ctx.request.body);
      if (bodyProblems.length > 0) throw invalidInput(ctx, 'body', bodyProblems);
    }
    return next();
  };
}

function segmentRule(segment: string): TextRule | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // Not UTF-8 after percent-decoding (or a stray %): the router would keep it raw; say which it is.
    const text = decodeUtf8(Buffer.from(segment.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1'));
    return text.valid ? null : 'invalid_utf8';
  }
  return brokenTextRule(decoded);
}
