import Router from '@koa/router';
import { z } from 'zod';
import { formatEuro } from '../../domain/money';
import type { Session } from '../../lib/sessions';
import type { PageLanguage, Renderer } from '../../web/render';
import { translate } from '../../web/render';
import type { ApiDeps } from '../deps';
import { renderPage } from '../pages';
import { programmeFits, type ProgrammeFit } from '../services/programme-fit';
import type { ApiRegistry } from './define';

const programmeFitSchema = z.object({
  code: z.string(), name: z.object({ lv: z.string(), en: z.string() }),
  minAge: z.number().int(), maxAge: z.number().int().nullable(), funding: z.enum(['account', 'free', 'copay']),
  balanceCents: z.number().int().describe('What an approved account receives (account programmes; 0 otherwise), integer euro cents'),
  copayPercent: z.number().int().nullable().describe('The learner\'s share in per cent where the programme sets one; null where each offer sets it'),
  socialStatusRule: z.enum(['not_used', 'priority', 'required']).describe('How the municipal social-assistance status (SOPA) counts'),
  digcompLevels: z.string().describe('DigComp levels of the programme\'s training, e.g. "4-6", "1-3" or "any"'),
});

/** The programme's rules as sentences in the page's language (who, what it gives, social status, DigComp). */
export function programmeFitView(lang: PageLanguage, p: ProgrammeFit) {
  const funding = p.funding === 'account' ? translate(lang, 'fit.fundingAccount', { amount: formatEuro(p.balanceCents, lang) })
    : p.funding === 'free' ? translate(lang, 'fit.fundingFree')
      : p.copayPercent !== null ? translate(lang, 'fit.fundingCopayPercent', { percent: p.copayPercent }) : translate(lang, 'fit.fundingCopayOffer');
  const status = { not_used: 'fit.statusNotUsed', priority: 'fit.statusPriority', required: 'fit.statusRequired' }[p.socialStatusRule];
  return {
    ...p, nameText: p.name[lang],
    whoText: p.maxAge === null ? translate(lang, 'fit.ageFrom', { min: p.minAge }) : translate(lang, 'fit.ageRange', { min: p.minAge, max: p.maxAge }),
    givesText: funding, statusText: translate(lang, status),
    digcompText: p.digcompLevels === 'any' ? translate(lang, 'fit.digcompAny') : p.digcompLevels.replace('-', '–'),
    isImk: p.code === 'IMK',
  };
}

/**
 * Before registering: which programmes a person may fit and what each gives, from the programme rules in the
 * database. Public; the age is checked in the Population Register when the person registers.
 */
export function programmeFitRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  api.add(router, {
    method: 'get', path: '/api/programmes', summary: 'The programmes with the rules in effect now: ages, funding, co-payment, social-status rule',
    tag: 'public', roles: 'public',
    responses: {
      200: { description: 'The programmes (a person\'s age is checked in the Population Register when they register)', schema: z.object({
        programmes: z.array(programmeFitSchema) }) },
    },
  }, async (ctx) => {
    ctx.body = await programmeFits(deps.db);
  });

  api.page(router, {
    method: 'get', path: '/programmes', summary: 'Which programmes may suit you and what each gives (before registering)', tag: 'pages', roles: 'public',
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const lang = ctx.state.lang as PageLanguage;
    const session = ctx.state.session as Session | null;
    const { programmes } = await programmeFits(deps.db);
    renderPage(ctx, renderer, 'programme-fit', 'fit.title', {
      fit: { programmes: programmes.map((p) => programmeFitView(lang, p)) },
      isLearner: session?.role === 'learner',
      loginLink: `/auth/sso/login?next=${encodeURIComponent('/learner')}`,
    });
  });

  return router;
}
