import type { Context } from 'koa';
import type { ServerKey } from '../lib/server-key';
import type { PageLanguage, Renderer } from '../web/render';
import { translate } from '../web/render';
import { renderPage } from './pages';
import { FORM_TOKEN_FIELD } from './middleware/csrf';

/**
 * Check your answers before an action that moves money or cannot be undone (issue 16, item 3), without storing
 * anything: the first form posts its answers to the action's address; without the hidden field `confirmed=yes` the
 * action only sends the browser (303) to `<action>/confirm?<answers>`, a page that restates them with "Change"
 * links and carries them in hidden fields. Only that page's form (which adds `confirmed=yes`) acts. The
 * confirmation is a GET so a refresh, the back button and the language switch keep it. The JSON API stays one call.
 *
 * The answers travel in the address sealed with the server key (`?answers=<sealed>`, lib/server-key.ts): a staff
 * comment or a withdrawal reason is personal data, and an address ends up in browser history and logs. The sealed
 * value is not a parameter of the OpenAPI document: it is made by the server and opaque to everyone else, and a
 * documented length long enough for a long comment lets a fuzzer's boundary value (thousands of 4-byte characters,
 * percent-encoded) exceed the 16 KiB request line, which Node answers by closing the connection. A value that does
 * not open sends the page back, like answers that no longer fit.
 */
export const CONFIRMED_FIELD = 'confirmed';

/** Whether a page's form post comes from its confirmation page. */
export function isConfirmed(form: Record<string, unknown>): boolean {
  return form[CONFIRMED_FIELD] === 'yes';
}

/**
 * The form's own answers: its text fields without the confirmation mark and the form token (removed by the token
 * check, but left in the body of a client with a bearer token, which needs none).
 */
export function answersOf(form: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(form)
    .filter((entry): entry is [string, string] => entry[0] !== CONFIRMED_FIELD && entry[0] !== FORM_TOKEN_FIELD && typeof entry[1] === 'string'));
}

/** `?answers=<sealed>`: the query carrying a form's answers (the empty ones left out), or '' when there are none. */
export function answersQueryOf(key: ServerKey, answers: Record<string, string>): string {
  const given = Object.fromEntries(Object.entries(answers).filter(([, value]) => value !== ''));
  return Object.keys(given).length > 0 ? `?${new URLSearchParams({ answers: key.seal(JSON.stringify(given)) }).toString()}` : '';
}

/** Sends an unconfirmed form post to its confirmation page: nothing has happened yet. */
export function toConfirmation(ctx: Context, key: ServerKey, action: string, answers: Record<string, string>): void {
  ctx.status = 303;
  ctx.redirect(`${action}/confirm${answersQueryOf(key, answers)}`);
}

/** The answers sealed in the request's query, or none when there are none or they were not sealed by us. */
export function queryAnswers(ctx: Context, key: ServerKey): Record<string, string> {
  const sealed = ctx.query.answers;
  if (typeof sealed !== 'string') return {};
  try {
    const answers = JSON.parse(key.open(sealed)) as unknown;
    if (typeof answers !== 'object' || answers === null || Array.isArray(answers)) return {};
    return Object.fromEntries(Object.entries(answers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return {};
  }
}

/** One restated answer or fact; `changeHref` links back to where it is chosen. */
export interface ConfirmFact { label: string; value: string; changeHref?: string; testId?: string }

/** What a confirmation page shows and posts. */
export interface Confirmation {
  /** The i18n key of the page's heading (its one h1). */
  titleKey: string;
  intro: string;
  facts: ConfirmFact[];
  /** What will happen, money first; the last one says whether it can be undone. */
  effects: string[];
  /** The action's address; the form posts the answers there with confirmed=yes. */
  action: string;
  answers: Record<string, string>;
  submitText: string;
  /** Back without acting (the page the first form is on). */
  backHref: string;
  /** A destructive action's button is drawn as a warning. */
  warning?: boolean;
}

/** Renders the one confirmation view (web/views/confirm.hbs). */
export function renderConfirmation(ctx: Context, renderer: Renderer, confirmation: Confirmation): void {
  const lang = ctx.state.lang as PageLanguage;
  renderPage(ctx, renderer, 'confirm', confirmation.titleKey, {
    confirmation: {
      ...confirmation,
      hidden: Object.entries(confirmation.answers).map(([name, value]) => ({ name, value })),
      backText: translate(lang, 'confirm.back'),
    },
  });
}

/**
 * The success message after an action (post/redirect/get): the page the action redirects to reads its `?done=` code
 * and shows this in its role="status" panel (web/views/partials/done-message.hbs): what happened, what comes next,
 * and, where there is one, a link to the next step.
 */
export interface DoneMessage { text: string; nextHref?: string; nextText?: string; /** Technical detail in English (the console's). */ detail?: string }

/** A success message from the catalogue (`<prefix>.<code>`), or null for a code the page does not know. */
export function doneMessage(
  lang: PageLanguage, prefix: string, code: unknown, known: readonly string[], vars: Record<string, unknown> = {}, next?: { href: string; text: string },
): DoneMessage | null {
  if (typeof code !== 'string' || !known.includes(code)) return null;
  return { text: translate(lang, `${prefix}.${code}`, vars), ...(next ? { nextHref: next.href, nextText: next.text } : {}) };
}
