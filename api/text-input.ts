import type { Context } from 'koa';
import { z } from 'zod';
import { translate, type PageLanguage } from '../web/render';
import { HttpError, type WordedProblem } from './errors';
import { fieldLabel } from './messages';

// The rules every text input keeps, whatever route it comes to. PostgreSQL refuses U+0000 in text, and a lone
// UTF-16 surrogate has no UTF-8 form, so either would fail deep inside a query (a 500) or in Temporal; bytes that
// are not UTF-8 would be silently turned into U+FFFD. They are refused at the door instead, naming the field.

/** The text rules, as the `rule` of a field problem. */
export type TextRule = 'nul_character' | 'invalid_unicode' | 'invalid_utf8';

const ENGLISH: Record<TextRule, string> = {
  nul_character: 'must not contain the NUL character (U+0000)',
  invalid_unicode: 'must not contain an unpaired UTF-16 surrogate (invalid Unicode)',
  invalid_utf8: 'must be valid UTF-8 text',
};

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The text rule a string breaks, or null. */
export function brokenTextRule(value: string): TextRule | null {
  if (value.includes('\u0000')) return 'nul_character';
  if (LONE_SURROGATE.test(value)) return 'invalid_unicode';
  return null;
}

/** The problem of one field breaking a text rule: the API's English message and the words of both page languages. */
export function textProblem(field: string, rule: TextRule): WordedProblem {
  return { field, rule, message: ENGLISH[rule], words: { lv: translate('lv', `input.${rule}`), en: translate('en', `input.${rule}`) } };
}

/** Whether a problem is one of the text rules (so its words can be shown in the page's language). */
export function isTextRule(rule: string): rule is TextRule {
  return rule in ENGLISH;
}

/**
 * A text field for a request schema: a string (telling "missing" from "wrong type") that keeps the text rules.
 * Every free-text field of a request schema is built from it, with a `.max()`, so pages that check their forms with
 * a schema show a broken rule next to the field like any other problem.
 */
export function text(typeMessage?: string) {
  return z.string({ error: (issue) => typeMessage ?? (issue.input === undefined ? 'is required' : 'must be text') })
    .refine((v) => !v.includes('\u0000'), { message: ENGLISH.nul_character, params: { rule: 'nul_character' }, abort: true })
    .refine((v) => !LONE_SURROGATE.test(v), { message: ENGLISH.invalid_unicode, params: { rule: 'invalid_unicode' }, abort: true });
}

/** Every string in a parsed body or query (keys too) that breaks a text rule, named by its path such as places.0.address. */
export function textProblems(value: unknown, path: string[] = []): WordedProblem[] {
  const field = () => (path.length > 0 ? path.join('.') : '(body)');
  if (typeof value === 'string') {
    const rule = brokenTextRule(value);
    return rule ? [textProblem(field(), rule)] : [];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => textProblems(item, [...path, String(i)]));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => {
      const rule = brokenTextRule(key);
      // A key that breaks a rule is named with the character escaped, so the answer itself stays clean text.
      return rule ? [textProblem([...path, JSON.stringify(key).slice(1, -1)].join('.'), rule)]
        : textProblems(item, [...path, key]);
    });
  }
  return [];
}

/** The fields of a parsed value holding U+FFFD: where the bytes that were not UTF-8 ended up. */
export function replacementCharacterFields(value: unknown, path: string[] = []): string[] {
  if (typeof value === 'string') return value.includes('\uFFFD') ? [path.join('.') || '(body)'] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => replacementCharacterFields(item, [...path, String(i)]));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => (key.includes('\uFFFD') ? [[...path, key].join('.')] : replacementCharacterFields(item, [...path, key])));
  }
  return [];
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes bytes as UTF-8: the text (U+FFFD where bytes were not UTF-8) and whether all of it was. */
export function decodeUtf8(bytes: Uint8Array): { text: string; valid: boolean } {
  try {
    return { text: strictUtf8.decode(bytes), valid: true };
  } catch {
    return { text: Buffer.from(bytes).toString('utf8'), valid: false };
  }
}

/**
 * Decodes an application/x-www-form-urlencoded string (a form body or a query string) like URLSearchParams, but
 * also reports the fields whose percent-escapes are not UTF-8 (URLSearchParams silently makes them U+FFFD).
 * A repeated name keeps its last value, as the form parser always has.
 */
export function decodeForm(raw: string): { fields: Record<string, string>; notUtf8: string[] } {
  const fields: Record<string, string> = {};
  const notUtf8: string[] = [];
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = percentDecode(at < 0 ? pair : pair.slice(0, at));
    const value = percentDecode(at < 0 ? '' : pair.slice(at + 1));
    fields[name.text] = value.text;
    if (!name.valid || !value.valid) notUtf8.push(name.text);
  }
  return { fields, notUtf8: [...new Set(notUtf8)] };
}

function percentDecode(encoded: string): { text: string; valid: boolean } {
  const s = encoded.replace(/\+/g, ' ');
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of s.matchAll(/%[0-9a-fA-F]{2}/g)) {
    parts.push(Buffer.from(s.slice(last, m.index), 'utf8'), Buffer.from([parseInt(m[0].slice(1), 16)]));
    last = m.index + 3;
  }
  parts.push(Buffer.from(s.slice(last), 'utf8'));
  return decodeUtf8(Buffer.concat(parts));
}

/**
 * The 400 for input that breaks the text rules, naming each field and rule: in English for the JSON API (like
 * its other messages; the details carry the words of both languages), in the page's language for a page.
 */
export function invalidInput(ctx: Context, where: 'body' | 'query' | 'path', problems: WordedProblem[]): HttpError {
  if (ctx.path.startsWith('/api/')) {
    return new HttpError(400, 'invalid_request', `Invalid ${where}: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
  }
  const lang = (ctx.state.lang ?? 'lv') as PageLanguage;
  const message = problems.map((p) => translate(lang, 'input.field', { field: fieldLabel(lang, p.field) ?? p.field, problem: p.words?.[lang] ?? p.message })).join(' ');
  return new HttpError(400, 'invalid_request', message, problems);
}
