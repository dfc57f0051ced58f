/**
 * E-mail templates: MJML with Handlebars placeholders, compiled to HTML once at start (MJML takes milliseconds
 * per document), then rendered per message with Handlebars (microseconds, escapes by default).
 *
 * Layout of `emails/` (see emails/README.md): `_layout/` holds the shared frame (`layout.mjml`, `text.hbs`,
 * `strings.<lang>.json`) with a `{{{content}}}` line that each e-mail's `body.mjml` / `text.hbs` fills at load.
 * All texts live in the strings files; each string is a Handlebars template over the data, reached from the
 * templates as `{{t.key}}`, and may itself use strings defined before it (layout strings come first).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import mjml2html from 'mjml';

/** A language an e-mail is written in; Latvian is primary. */
export type Language = 'lv' | 'en';

/** The e-mails that exist, one folder each under `emails/`. */
export type EmailName =
  | 'imk-approved' | 'imk-rejected' | 'not-eligible'
  // After approval: application, enrolment, study, survey (workflows/learner-journey-application.ts).
  | 'application-received' | 'application-waitlisted' | 'application-refused' | 'enrolment-declined' | 'enrolled'
  | 'study-completed' | 'study-dropped-out' | 'survey-reminder'
  // A freed place offered to the next wait-listed learner (lib/waitlist.ts, workflows/waitlist-sweep.ts).
  | 'place-offered'
  // Providers' registration and offers (workflows/provider-registration.ts, provider-offer.ts) and the agency.
  | 'provider-confirm-email' | 'provider-approved' | 'provider-rejected' | 'task-overdue' | 'offer-approved' | 'offer-rejected'
  // A user with a password asked for a reset link (workflows/password-reset.ts).
  | 'password-reset'
  // An administrator made a staff account: its holder sets the password (api/services/staff-accounts.ts).
  | 'account-setup'
  // A learner's erasure or correction request was decided (workflows/data-subject-request.ts).
  | 'data-request-decided'
  // The agency's announcements and the notifications to providers (workflows/announcement-mailing.ts, provider-notices.ts).
  | 'announcement' | 'provider-new-application' | 'provider-group-deadline' | 'provider-outcomes-missing';

/** One e-mail ready for the mailer: a one-line subject, the HTML body and the plain-text body. */
export interface RenderedEmail { subject: string; html: string; text: string }

/** Every e-mail compiled once; `render` fills one in for one message. */
export interface EmailTemplates {
  /** Renders an e-mail; throws naming the e-mail, language and field when data is missing or unsafe. */
  render(name: EmailName, language: Language, data: Record<string, unknown>): RenderedEmail;
  /** The e-mails loaded, in a stable order. */
  names: EmailName[];
}

const LANGUAGES: readonly Language[] = ['lv', 'en'];
const EMAIL_NAMES: readonly EmailName[] = [
  'imk-approved', 'imk-rejected', 'not-eligible', 'application-received', 'application-waitlisted', 'application-refused',
  'enrolment-declined', 'enrolled', 'study-completed', 'study-dropped-out', 'survey-reminder',
  'provider-confirm-email', 'provider-approved', 'provider-rejected', 'task-overdue', 'offer-approved', 'offer-rejected',
  'password-reset', 'data-request-decided', 'account-setup', 'place-offered',
  'announcement', 'provider-new-application', 'provider-group-deadline', 'provider-outcomes-missing',
];
const LAYOUT_DIR = '_layout';
const SLOT = '{{{content}}}';
/** Names the renderer puts into the context itself, so callers may not pass them. */
const RESERVED_FIELDS = ['t', 'lang'];
/** Block helpers that keep the current context, so paths inside them still name top-level data fields. */
const CONTEXT_KEEPING_BLOCKS = new Set(['if', 'unless']);

/** Compiles every e-mail under `dir` once; throws naming the template on invalid MJML or missing strings. */
export async function loadEmailTemplates(dir: string = path.join(__dirname, '..', 'emails')): Promise<EmailTemplates> {
  const handlebars = createHandlebars();
  await checkFolders(dir);
  const layout = await readLayout(dir);
  const emails = new Map<EmailName, CompiledEmail>();
  for (const name of EMAIL_NAMES) emails.set(name, await compileEmail(handlebars, dir, name, layout));

  return {
    names: [...EMAIL_NAMES],
    render(name, language, data) {
      const email = emails.get(name);
      if (!email) throw new Error(`Unknown e-mail "${String(name)}"; known e-mails: ${EMAIL_NAMES.join(', ')}`);
      if (!LANGUAGES.includes(language)) {
        throw new Error(`Unknown language "${String(language)}" for e-mail "${name}"; `
          + `known languages: ${LANGUAGES.join(', ')}`);
      }
      const where = `E-mail "${name}" (${language})`;
      checkData(where, data, email.fields[language]);
      try {
        const t: Record<string, string> = {};
        const context = { ...data, lang: language, t };
        // In file order, so each string sees the ones before it through the same `t` object.
        for (const [key, template] of email.strings[language]) t[key] = template(context);
        return {
          // A subject is one header line whatever the data holds, and starts with a capital even when it does not
          // start with the person's name (a person code the Population Register does not know has none).
          subject: capitalise((t.subject ?? '').replace(/\s+/g, ' ').trim()),
          html: email.html(context),
          text: tidyText(email.text(context)),
        };
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

interface CompiledEmail {
  html: HandlebarsTemplateDelegate;
  text: HandlebarsTemplateDelegate;
  /** Layout strings first, then the e-mail's, in file order. */
  strings: Record<Language, Array<[string, HandlebarsTemplateDelegate]>>;
  /** Top-level data fields any of this e-mail's templates read, checked before rendering. */
  fields: Record<Language, string[]>;
}

interface Layout {
  mjml: string;
  text: string;
  strings: Record<Language, Strings>;
}

type Strings = Array<[string, string]>;

/** What a template refers to: strings (`t.key`) and top-level data fields. */
interface References { strings: Set<string>; fields: Set<string> }

function createHandlebars(): typeof Handlebars {
  // An isolated instance, so helpers registered elsewhere in the process cannot change our e-mails.
  const handlebars = Handlebars.create();
  handlebars.registerHelper('vocative', (value: unknown) => latvianVocative(requireString('vocative', value)));
  handlebars.registerHelper('lines', (value: unknown) => new handlebars.SafeString(
    requireString('lines', value).split(/\r?\n/).map((line) => handlebars.escapeExpression(line)).join('<br />\n')));
  return handlebars;
}

const KNOWN_HELPERS = { vocative: true, lines: true } as const;

/**
 * Latvian addresses people in the vocative: masculine first names drop their final -s or -š (Jānis → Jāni,
 * Edgars → Edgar, Mārtiņš → Mārtiņ, Ingus → Ingu); feminine names (-a, -e) and others stay as they are.
 * Applied to each part of a double name.
 */
function latvianVocative(name: string): string {
  return name.replace(/[\p{L}]{3,}/gu, (word) => (/[sš]$/iu.test(word) ? word.slice(0, -1) : word));
}

function requireString(helper: string, value: unknown): string {
  // Strict mode does not check helper arguments, so the helpers do.
  if (value === undefined || value === null) throw new Error(`the value given to "${helper}" is missing`);
  return String(value);
}

async function checkFolders(dir: string): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((err: Error) => {
    throw new Error(`Cannot read the e-mail folder ${dir}: ${err.message}`, { cause: err });
  });
  const folders = entries.filter((e) => e.isDirectory() && !/^[_.]/.test(e.name)).map((e) => e.name);
  const unknown = folders.filter((f) => !(EMAIL_NAMES as readonly string[]).includes(f));
  if (unknown.length) throw new Error(`E-mail folder(s) ${unknown.join(', ')} in ${dir} are not listed in EmailName`);
  const missing = EMAIL_NAMES.filter((n) => !folders.includes(n));
  if (missing.length) throw new Error(`E-mail(s) ${missing.join(', ')} have no folder in ${dir}`);
}

async function readLayout(dir: string): Promise<Layout> {
  const at = path.join(dir, LAYOUT_DIR);
  const strings = await readStringsPair(at, 'the layout');
  return {
    mjml: await readText(path.join(at, 'layout.mjml')),
    text: await readText(path.join(at, 'text.hbs')),
    strings,
  };
}

async function compileEmail(handlebars: typeof Handlebars, dir: string, name: EmailName, layout: Layout)
  : Promise<CompiledEmail> {
  const at = path.join(dir, name);
  const label = `E-mail "${name}"`;
  const own = await readStringsPair(at, label);
  const layoutKeys = new Set(layout.strings.lv.map(([key]) => key));
  const clash = own.lv.map(([key]) => key).filter((key) => layoutKeys.has(key));
  if (clash.length) throw new Error(`${label}: string(s) ${clash.join(', ')} are already defined by the layout`);
  if (!own.lv.some(([key]) => key === 'subject')) throw new Error(`${label}: strings have no "subject"`);

  const html = await compileMjml(label, layout.mjml, await readText(path.join(at, 'body.mjml')));
  const textBody = await readText(path.join(at, 'text.hbs'));
  const text = fillSlot(label, `${LAYOUT_DIR}/text.hbs`, layout.text, 'text.hbs', textBody).source;

  const htmlTemplate = compileTemplate(handlebars, html, `${label}: HTML compiled from body.mjml`, { strict: true });
  const textTemplate = compileTemplate(handlebars, text, `${label}: text.hbs`, { strict: true, noEscape: true });

  const strings = {} as CompiledEmail['strings'];
  const fields = {} as CompiledEmail['fields'];
  for (const language of LANGUAGES) {
    const all = [...layout.strings[language], ...own[language]];
    const keys = all.map(([key]) => key);
    const used = new Set([...htmlTemplate.refs.fields, ...textTemplate.refs.fields]);
    strings[language] = all.map(([key, source], index) => {
      // Strings are plain text; the HTML template escapes them once where it inserts them.
      const compiled = compileTemplate(handlebars, source, `${label}: string "${key}" (${language})`,
        { strict: true, noEscape: true });
      const later = [...compiled.refs.strings].filter((ref) => !keys.slice(0, index).includes(ref));
      if (later.length) {
        throw new Error(`${label}: string "${key}" (${language}) uses ${later.map((r) => `t.${r}`).join(', ')}, `
          + 'which is not defined before it');
      }
      compiled.refs.fields.forEach((f) => used.add(f));
      return [key, compiled.template];
    });
    for (const [where, refs] of [['body.mjml', htmlTemplate.refs], ['text.hbs', textTemplate.refs]] as const) {
      const missing = [...refs.strings].filter((ref) => !keys.includes(ref));
      if (missing.length) {
        throw new Error(`${label}: ${where} or the layout uses string(s) ${missing.join(', ')}, `
          + `missing from strings.${language}.json`);
      }
    }
    fields[language] = [...used].filter((f) => !RESERVED_FIELDS.includes(f));
  }
  return { html: htmlTemplate.template, text: textTemplate.template, strings, fields };
}

async function compileMjml(label: string, layoutMjml: string, body: string): Promise<string> {
  const { source, lineOf } = fillSlot(label, `${LAYOUT_DIR}/layout.mjml`, layoutMjml, 'body.mjml', body);
  let html: string;
  try {
    // fonts: {} keeps MJML from linking Google Fonts (a third-party request from every reader's mail client).
    const result = await mjml2html(source, { validationLevel: 'strict', fonts: {}, keepComments: false });
    if (result.errors.length) throw Object.assign(new Error('MJML reported errors'), { errors: result.errors });
    html = result.html;
  } catch (err) {
    const details = (err as { errors?: Array<{ line: number; message: string }> }).errors;
    const lines = details?.length
      ? details.map((e) => `  ${lineOf(e.line)}: ${e.message}`).join('\n')
      : `  ${(err as Error).message}`;
    throw new Error(`${label}: invalid MJML\n${lines}`, { cause: err });
  }
  // MJML silently drops text between components, e.g. a {{#if}} around a section, so compare the placeholders.
  const before = mustaches(source);
  const after = mustaches(html);
  const lost = [...before].filter((m) => !after.has(m));
  const added = [...after].filter((m) => !before.has(m));
  if (lost.length || added.length) {
    throw new Error(`${label}: MJML dropped or changed Handlebars expressions ${[...lost, ...added].join(' ')}; `
      + 'wrap block helpers that sit between MJML components in <mj-raw>');
  }
  return html;
}

function mustaches(source: string): Set<string> {
  return new Set(source.match(/\{\{[\s\S]*?\}\}\}?/g) ?? []);
}

/**
 * Puts `content` in place of the layout's `{{{content}}}` line. `lineOf` maps a line of the result back to the
 * file it came from, so MJML's errors point at the line an author has to fix.
 */
function fillSlot(label: string, layoutName: string, layout: string, contentName: string, content: string)
  : { source: string; lineOf: (line: number) => string } {
  const layoutLines = layout.split('\n');
  const slots = layoutLines.flatMap((line, i) => (line.trim() === SLOT ? [i] : []));
  if (slots.length !== 1) throw new Error(`${label}: ${layoutName} must have exactly one line holding only ${SLOT}`);
  const slot = slots[0]!;
  const contentLines = content.replace(/\s+$/, '').split('\n');
  const source = [...layoutLines.slice(0, slot), ...contentLines, ...layoutLines.slice(slot + 1)].join('\n');
  const lineOf = (line: number): string => {
    if (line <= slot) return `${layoutName} line ${line}`;
    if (line <= slot + contentLines.length) return `${contentName} line ${line - slot}`;
    return `${layoutName} line ${line - contentLines.length + 1}`;
  };
  return { source, lineOf };
}

function compileTemplate(handlebars: typeof Handlebars, source: string, label: string, options: CompileOptions)
  : { template: HandlebarsTemplateDelegate; refs: References } {
  const full: CompileOptions = { ...options, knownHelpers: KNOWN_HELPERS, knownHelpersOnly: true };
  try {
    const ast = handlebars.parse(source);
    const refs: References = { strings: new Set(), fields: new Set() };
    collectReferences(ast, refs, false);
    // Handlebars compiles lazily on first render; precompiling here surfaces unknown helpers at start instead.
    handlebars.precompile(ast, full);
    return { template: handlebars.compile(ast, full), refs };
  } catch (err) {
    throw new Error(`${label}: ${(err as Error).message}`, { cause: err });
  }
}

function collectReferences(node: hbs.AST.Node | undefined, refs: References, nested: boolean): void {
  if (!node) return;
  switch (node.type) {
    case 'Program':
      for (const statement of (node as hbs.AST.Program).body) collectReferences(statement, refs, nested);
      break;
    case 'MustacheStatement':
    case 'SubExpression': {
      const call = node as hbs.AST.MustacheStatement | hbs.AST.SubExpression;
      const isHelperCall = call.params.length > 0 || call.hash?.pairs.length > 0;
      if (!isHelperCall) collectReferences(call.path, refs, nested);
      for (const param of call.params) collectReferences(param, refs, nested);
      for (const pair of call.hash?.pairs ?? []) collectReferences(pair.value, refs, nested);
      break;
    }
    case 'BlockStatement': {
      const block = node as hbs.AST.BlockStatement;
      for (const param of block.params) collectReferences(param, refs, nested);
      for (const pair of block.hash?.pairs ?? []) collectReferences(pair.value, refs, nested);
      // Inside {{#each}} or {{#with}} paths are relative to another object; strict mode still guards them.
      const inner = nested || !CONTEXT_KEEPING_BLOCKS.has(block.path.original);
      collectReferences(block.program, refs, inner);
      collectReferences(block.inverse, refs, inner);
      break;
    }
    case 'PathExpression': {
      const p = node as hbs.AST.PathExpression;
      if (nested || p.data || p.depth > 0 || p.parts.length === 0) return;
      if (p.parts[0] === 't') {
        if (p.parts[1]) refs.strings.add(p.parts[1]);
      } else {
        refs.fields.add(p.parts[0]!);
      }
      break;
    }
    case 'PartialStatement':
    case 'PartialBlockStatement':
    case 'Decorator':
    case 'DecoratorBlock':
      throw new Error(`${node.type} is not supported in e-mail templates`);
    default:
      break;
  }
}

function checkData(where: string, data: Record<string, unknown>, fields: string[]): void {
  const reserved = RESERVED_FIELDS.filter((f) => Object.hasOwn(data, f));
  if (reserved.length) throw new Error(`${where}: data may not contain ${reserved.join(', ')} (set by the renderer)`);
  const missing = fields.filter((f) => data[f] === undefined || data[f] === null);
  if (missing.length) throw new Error(`${where}: missing data field(s) ${missing.join(', ')}`);
  for (const [key, value] of Object.entries(data)) {
    // Escaping does not stop a javascript: URL in href, so links must be plain web addresses.
    if (key.endsWith('Url') && !(typeof value === 'string' && /^https?:\/\/\S+$/i.test(value))) {
      throw new Error(`${where}: ${key} must be an absolute http(s) URL`);
    }
  }
}

function tidyText(text: string): string {
  return `${text.replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').trim()}\n`;
}

async function readText(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`Cannot read e-mail template file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function readStringsPair(at: string, label: string): Promise<Record<Language, Strings>> {
  const result = {} as Record<Language, Strings>;
  for (const language of LANGUAGES) {
    result[language] = await readStrings(path.join(at, `strings.${language}.json`), label);
  }
  const [first, ...others] = LANGUAGES;
  for (const other of others) {
    const a = new Set(result[first!].map(([key]) => key));
    const b = new Set(result[other].map(([key]) => key));
    const problems = [
      [other, [...a].filter((k) => !b.has(k))],
      [first, [...b].filter((k) => !a.has(k))],
    ] as const;
    const report = problems.filter(([, keys]) => keys.length)
      .map(([language, keys]) => `strings.${language}.json is missing key(s) ${keys.join(', ')}`);
    if (report.length) throw new Error(`${label}: ${report.join('; ')}`);
  }
  return result;
}

async function readStrings(file: string, label: string): Promise<Strings> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readText(file));
  } catch (err) {
    throw new Error(`${label}: ${path.basename(file)}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${label}: ${path.basename(file)} must hold one JSON object of strings`);
  }
  const entries = Object.entries(parsed);
  const bad = entries.filter(([, value]) => typeof value !== 'string' || value.trim() === '').map(([key]) => key);
  if (bad.length) {
    throw new Error(`${label}: ${path.basename(file)}: key(s) ${bad.join(', ')} must be non-empty strings`);
  }
  return entries as Strings;
}

function capitalise(line: string): string {
  return line.charAt(0).toLocaleUpperCase('lv') + line.slice(1);
}
