import type { Context, Next } from 'koa';
import type { Renderer, PageLanguage } from '../web/render';
import { translate } from '../web/render';
import type { HttpError } from './errors';
import { SESSION_TIMEOUTS, type Session, type SessionTimeouts } from '../lib/sessions';
import { formToken } from './middleware/csrf';
import { SIGN_ON_ROLES } from './middleware/auth';
import { refusalText } from './messages';
import { shownTo, type BannerAnnouncement } from '../domain/announcements';
import type { RequestFormState } from './form-state';

/** Picks the page language (?lang= switches and is remembered in a cookie; Latvian by default). */
export function languageMiddleware() {
  return async (ctx: Context, next: Next) => {
    const asked = ctx.query.lang;
    if (asked === 'lv' || asked === 'en') ctx.cookies.set('lang', asked, { httpOnly: true, sameSite: 'lax', maxAge: 365 * 86_400_000 });
    const remembered = ctx.cookies.get('lang');
    ctx.state.lang = (asked === 'en' || asked === 'lv' ? asked : remembered === 'en' ? 'en' : 'lv') as PageLanguage;
    return next();
  };
}

/** Installs ctx.state.renderError so the error middleware can answer browsers with a page. */
export function pageErrorMiddleware(renderer: Renderer) {
  return async (ctx: Context, next: Next) => {
    ctx.state.renderError = async (err: HttpError) => {
      const lang = ctx.state.lang as PageLanguage;
      // Every refusal in the page's language, from the one catalogue (api/messages.ts).
      const message = refusalText(err, lang);
      ctx.type = 'html';
      ctx.body = renderer.render('error', { lang, title: translate(lang, 'error.title'), message, session: ctx.state.session, csrfToken: formToken(ctx) });
    };
    return next();
  };
}

/** Renders a page with the layout, the session and the language filled in. */
export function renderPage(ctx: Context, renderer: Renderer, view: string, titleKey: string, data: Record<string, unknown> = {}, titleVars: Record<string, unknown> = {}) {
  const lang = ctx.state.lang as PageLanguage;
  // A failed form's values and problems are kept for its page, or restored there (api/form-state.ts).
  const formState = ctx.state.formState as RequestFormState | undefined;
  const shown = formState ? formState.apply(view, data) : data;
  ctx.type = 'html';
  ctx.body = renderer.render(view, {
    lang, title: translate(lang, titleKey, titleVars), session: ctx.state.session, csrfToken: formToken(ctx),
    sessionTimer: sessionTimer(ctx.state.session, ctx.state.sessionTimeouts ?? SESSION_TIMEOUTS),
    notices: bannerNotices(ctx.state.banner as BannerAnnouncement[] | undefined, ctx.state.session as Session | null, lang),
    // On a re-shown form the switch leads to the form's page (which shows the kept form), not to the POST address.
    langSwitchQuery: `${formState?.pageAddress() ?? ''}${otherLanguageQuery(ctx.querystring, lang)}`, ...shown,
  });
}

/** The page's query with the other language: the switch keeps the page's filters and paging (`?status=open&lang=en`). */
function otherLanguageQuery(querystring: string, lang: PageLanguage): string {
  const query = new URLSearchParams(querystring);
  query.set('lang', lang === 'lv' ? 'en' : 'lv');
  return `?${query.toString()}`;
}

// The announcements for the reader's audience in their period, in the page's language (see BannerCache).
function bannerNotices(all: BannerAnnouncement[] | undefined, session: Session | null, lang: PageLanguage) {
  const now = new Date();
  return (all ?? []).filter((a) => shownTo(a, session?.role, now))
    .map((a) => ({ id: a.id, title: lang === 'en' ? a.titleEn : a.titleLv, body: lang === 'en' ? a.bodyEn : a.bodyLv }));
}

// What the page's idle warning (web/public/session-timeout.js) needs: how long until the session idles out.
function sessionTimer(session: Session | null, timeouts: SessionTimeouts) {
  if (!session) return null;
  const warnMs = timeouts.warnBeforeMs;
  return {
    idleMs: Math.max(0, session.idleExpiresAt.getTime() - Date.now()), warnMs, warnMinutes: Math.max(1, Math.round(warnMs / 60_000)),
    loginUrl: SIGN_ON_ROLES.includes(session.role) ? '/auth/sso/login' : '/staff/login',
  };
}
