import type { Page } from 'playwright-core';
import { loadStrings, type PageLanguage } from '../../web/render';

// The one checker of a page's language, for every browser test: what on a page in one language is the other
// language's text, or a string key shown instead of its text.

const strings = { lv: loadStrings('lv'), en: loadStrings('en') };
/** The first parts of the string keys ("programmes" of "programmes.field.funding"): a key shown as text starts so. */
const namespaces = new Set([...Object.keys(strings.lv), ...Object.keys(strings.en)].map((k) => k.split('.')[0]!));

/** Each language's strings that would give the page away as the other language (see foreignText). */
const telltales: Record<PageLanguage, [key: string, value: string][]> = { lv: telltalesOf('lv'), en: telltalesOf('en') };

function telltalesOf(lang: PageLanguage): [string, string][] {
  const other = lang === 'lv' ? 'en' : 'lv';
  // A text that is also a string of the page's own language is not foreign ("English", the name of the language).
  const own = new Set(Object.values(strings[lang]));
  return Object.entries(strings[other])
    .filter(([key, value]) => value !== strings[lang][key] && !own.has(value) && value.length >= 6 && !value.includes('{') && !value.includes('<'))
    .map(([key, value]) => [key, value.replace(/:$/, '')]);
}

/**
 * What on a page in `lang` is not in that language: a line that is one of the other language's strings (those that
 * differ between the two, with no placeholder; a whole line, so data such as a call's English title shown beside
 * its Latvian one does not count), and string keys shown instead of their text.
 */
export function foreignText(text: string, lang: PageLanguage): string[] {
  const other = lang === 'lv' ? 'en' : 'lv';
  const lines = new Set(text.split('\n').map((line) => line.trim().replace(/:$/, '')));
  const foreign = telltales[lang].filter(([, value]) => lines.has(value)).map(([key, value]) => `${other} string ${key}: "${value}"`);
  // A key stands on its own: not the end of an e-mail address or a web address (anna@provider.example).
  const keys = [...text.matchAll(/(?<![\w@./:-])([a-z][a-zA-Z]+)(\.[a-zA-Z0-9]+)+\b/g)].map((m) => m[0])
    .filter((word) => namespaces.has(word.split('.')[0]!) && !/\.(lv|ee|com|css|js|json|csv|svg|pdf)$/.test(word))
    .map((word) => `key shown as text: ${word}`);
  return [...new Set([...foreign, ...keys])];
}

/**
 * The page's visible text in its own language: parts marked with another language (lang="en" on a Latvian page,
 * such as the switch to the other language or a language's own name) are left out, and so are codes shown as codes
 * (<code>, <samp>: an audit action such as consultation.view, data as the system stores it). The page is left as it is.
 */
export async function textInLanguage(page: Page, lang: PageLanguage): Promise<string> {
  // Evaluated in the page (the tests' TypeScript has no DOM types). innerText of the live body keeps line breaks, so
  // the marked parts are hidden for the read and shown again after it.
  return await page.evaluate(`(() => {
    const marked = [...document.querySelectorAll('body [lang], body code, body samp')].filter((e) => e.getAttribute('lang') !== '${lang}');
    const shown = marked.map((e) => e.style.display);
    marked.forEach((e) => { e.style.display = 'none'; });
    const text = document.body.innerText;
    marked.forEach((e, i) => { e.style.display = shown[i]; });
    return text;
  })()`) as string;
}
