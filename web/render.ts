import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { formatDeadline, formatRigaDay, formatRigaTime } from '../domain/dates';
import { formatEuro } from '../domain/money';

/** Languages of the web pages; Latvian is the default. */
export type PageLanguage = 'lv' | 'en';

const i18nDir = path.join(__dirname, 'i18n');

/**
 * Page strings per language: `lv.json` / `en.json` plus one pair per area (`provider.lv.json`, ...), merged, so
 * each part of the product keeps its words next to each other. Read once at start.
 */
export function loadStrings(language: PageLanguage): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const file of fs.readdirSync(i18nDir).sort()) {
    if (file === `${language}.json` || file.endsWith(`.${language}.json`)) {
      Object.assign(merged, JSON.parse(fs.readFileSync(path.join(i18nDir, file), 'utf8')) as Record<string, string>);
    }
  }
  return merged;
}

const strings: Record<PageLanguage, Record<string, string>> = { lv: loadStrings('lv'), en: loadStrings('en') };
const viewsDir = path.join(__dirname, 'views');

/** Looks up a page string; a missing key shows the key itself so it is noticed, never a blank. */
export function translate(language: PageLanguage, key: string, vars: Record<string, unknown> = {}): string {
  const template = strings[language][key] ?? strings.lv[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? ''));
}

/** Whether a page string exists (in the language asked, or in Latvian): lets a caller prefer a more specific key. */
export function hasTranslation(language: PageLanguage, key: string): boolean {
  return key in strings[language] || key in strings.lv;
}

/** Compiles every view, partial and the layout once at start; render() is then a plain function call. */
export function createRenderer() {
  const hbs = Handlebars.create();
  hbs.registerHelper('t', function (this: unknown, key: string, options: Handlebars.HelperOptions) {
    return translate(options.data.root.lang as PageLanguage, key, options.hash);
  });
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hbs.registerHelper('concat', (...args: unknown[]) => args.slice(0, -1).join(''));
  hbs.registerHelper('array', (...args: unknown[]) => args.slice(0, -1));
  hbs.registerHelper('money', (cents: number, options: Handlebars.HelperOptions) => formatEuro(cents, options.data.root.lang));
  hbs.registerHelper('datetime', (iso: string | Date | null, options: Handlebars.HelperOptions) => {
    if (!iso) return '';
    // A deadline at a day's end (00:00) reads as 24:00 of its last day.
    return formatRigaTime(iso, options.data.root.lang === 'lv' ? 'lv' : 'en');
  });
  // walk: {{calendarDay}}, a calendar day (YYYY-MM-DD) in the same format as {{datetime}}'s day; a deadline as "until 10 December 2026
  // (inclusive)" / "līdz 2026. gada 10. decembrim (ieskaitot)", a time kept unless it is the day's end (domain/dates.ts).
  hbs.registerHelper('calendarDay', (day: string | Date | null, options: Handlebars.HelperOptions) => {
    if (!day) return '';
    // Anything that is not a day is shown as it is rather than failing the page.
    return Number.isNaN(new Date(day).getTime()) ? String(day) : formatRigaDay(day, options.data.root.lang === 'lv' ? 'lv' : 'en');
  });
  hbs.registerHelper('deadline', (iso: string | Date | null, options: Handlebars.HelperOptions) =>
    iso ? formatDeadline(iso, options.data.root.lang === 'lv' ? 'lv' : 'en') : '');
  // {{csrf}} in every form that posts: the hidden field with the request's form token (api/middleware/csrf.ts).
  hbs.registerHelper('csrf', (options: Handlebars.HelperOptions) => new hbs.SafeString(
    `<input type="hidden" name="_csrf" value="${hbs.escapeExpression(String(options.data.root.csrfToken ?? ''))}">`));
  // A code shown as its words where the catalogue has them (`{{tOr "stage." stage}}`), else as the code itself: the
  // console shows codes of every workflow type, some of which have no words (yet).
  hbs.registerHelper('tOr', (prefix: string, code: unknown, options: Handlebars.HelperOptions) => {
    const lang = options.data.root.lang as PageLanguage;
    return typeof code === 'string' && hasTranslation(lang, `${prefix}${code}`) ? translate(lang, `${prefix}${code}`) : code;
  });
  hbs.registerHelper('json', (value: unknown) => JSON.stringify(value, null, 2));
  // The approval stages and events are named after IMK, the first programme; other programmes' learners read
  // "account". Usage: {{forProgramme "stage" stage programme}}.
  hbs.registerHelper('forProgramme', (prefix: string, key: string, programme: string, options: Handlebars.HelperOptions) => {
    const generic: Record<string, string> = { imk_approved: 'account_approved', imk_rejected: 'account_rejected' };
    const name = programme !== 'IMK' && generic[key] ? generic[key] : key;
    return translate(options.data.root.lang as PageLanguage, `${prefix}.${name}`);
  });

  for (const file of fs.readdirSync(path.join(viewsDir, 'partials'))) {
    hbs.registerPartial(path.basename(file, '.hbs'), fs.readFileSync(path.join(viewsDir, 'partials', file), 'utf8'));
  }
  const layout = hbs.compile(fs.readFileSync(path.join(viewsDir, 'layout.hbs'), 'utf8'), { strict: false });
  const views = new Map<string, Handlebars.TemplateDelegate>();
  for (const file of fs.readdirSync(viewsDir).filter((f) => f.endsWith('.hbs') && f !== 'layout.hbs')) {
    views.set(path.basename(file, '.hbs'), hbs.compile(fs.readFileSync(path.join(viewsDir, file), 'utf8')));
  }

  return {
    /** Renders a view inside the layout; `title` is the page's heading and the document title. */
    render(view: string, data: { lang: PageLanguage; title: string; [key: string]: unknown }): string {
      const template = views.get(view);
      if (!template) throw new Error(`no view named ${view}`);
      const summary = data.formErrors as FormErrors | undefined;
      const errorSummary = summary ? errorSummaryOf(summary.errors, summary.prefix, summary.ids) : errorSummaryOf(data.errors, data.errorFieldPrefix);
      return layout({ ...data, body: template(data), errorSummary });
    },
  };
}

/**
 * The form whose problems the summary lists on a page with several forms, each with its own errors (walk): the
 * failed form's errors, and its fields' ids: `<prefix>-<name>`, or given one by one in `ids`.
 */
export interface FormErrors { errors?: Record<string, string>; prefix?: string; ids?: Record<string, string> }

/**
 * The problems of a re-shown form for the summary above it (layout.hbs): each field's message, linking to the field.
 * A page's `errors` maps field names to messages (anything else shows none); the field's input has the field's name
 * as its id, or `<errorFieldPrefix>-<name>` on a page with several forms (or the page names the failed form in
 * `formErrors`).
 */
function errorSummaryOf(errors: unknown, prefix: unknown, ids: Record<string, string> = {}): { field: string; message: string }[] {
  if (!errors || typeof errors !== 'object') return [];
  return Object.entries(errors as Record<string, unknown>)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '')
    .map(([field, message]) => ({ field: ids[field] ?? (typeof prefix === 'string' ? `${prefix}-${field}` : field), message }));
}

/** The renderer createRenderer returns. */
export type Renderer = ReturnType<typeof createRenderer>;

/** The directory of static files (CSS) served under /static. */
export const publicDir = path.join(__dirname, 'public');
