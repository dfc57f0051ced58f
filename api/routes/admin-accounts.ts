import Router from '@koa/router';
import { isCalendarDay } from '../../domain/dates';
import type { Context } from 'koa';
import { z } from 'zod';
import { BLOCK_KINDS, BLOCK_SUBJECT_KINDS } from '../../lib/account-blocks';
import type { PageLanguage, Renderer } from '../../web/render';
import type { ApiDeps } from '../deps';
import { HttpError, type WordedProblem } from '../errors';
import { currentSession } from '../middleware/auth';
import { renderPage } from '../pages';
import { createBlock, listBlocks, liftBlock } from '../services/account-blocks';
import {
  ACCOUNT_ROLES, changeStaffAccount, createStaffAccount, getStaffAccount, listStaffAccounts, resendSetPasswordLink, type StaffAccount,
} from '../services/staff-accounts';
import { text, isTextRule } from '../text-input';
import { errorsByField, fieldProblems } from '../validation';
import type { ApiRegistry } from './define';
import { refusalText } from '../messages';
import { keptForm } from '../form-state';

/**
 * The administrator's staff accounts (create, edit, deactivate; roles and validity periods; the holder sets the
 * password through an e-mailed link) and blocks (block, suspend, reinstate a learner, provider or provider user).
 * Every change names its reason and is audited with before and after.
 */

const ADMIN = ['admin'] as const;

// --- Input -------------------------------------------------------------------------------------------------------

/** A Riga day, YYYY-MM-DD, that exists in the calendar. */
const day = z.string({ message: 'must be a date YYYY-MM-DD' }).regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date YYYY-MM-DD' })
  .refine(isCalendarDay, { message: 'must be a real date' });
const reason = text().trim().min(3, { message: 'must be 3 to 500 characters' }).max(500, { message: 'must be 3 to 500 characters' });
const username = text().trim().toLowerCase().regex(/^[a-z0-9._-]{3,60}$/, { message: 'must be 3 to 60 characters: a-z, 0-9, dot, hyphen or underscore' });
const displayName = text().trim().min(1, { message: 'is required' }).max(200, { message: 'is too long (at most 200 characters)' });
const email = text().trim().toLowerCase().max(320, { message: 'is too long' }).pipe(z.email({ message: 'must be an e-mail address' }));
const role = z.enum(ACCOUNT_ROLES, { message: `must be one of ${ACCOUNT_ROLES.join(', ')}` });
const language = z.enum(['lv', 'en'], { message: 'must be lv or en' });

const createSchema = z.object({
  username, displayName, email, role, validFrom: day.nullable().optional(), validUntil: day.nullable().optional(), reason, language: language.optional(),
}).strict().refine((v) => !v.validFrom || !v.validUntil || v.validFrom <= v.validUntil, { message: 'must not be before validFrom', path: ['validUntil'], params: { rule: 'not_before_valid_from' } });
const changeSchema = z.object({
  displayName: displayName.optional(), email: email.optional(), role: role.optional(), validFrom: day.nullable().optional(), validUntil: day.nullable().optional(),
  active: z.boolean({ message: 'must be true or false' }).optional(), reason,
}).strict();
const linkSchema = z.object({ language: language.optional() }).strict();
const blockSchema = z.object({
  subjectKind: z.enum(BLOCK_SUBJECT_KINDS, { message: `must be one of ${BLOCK_SUBJECT_KINDS.join(', ')}` }),
  subject: text().trim().min(1, { message: 'is required' }).max(100, { message: 'is too long' }),
  kind: z.enum(BLOCK_KINDS, { message: `must be one of ${BLOCK_KINDS.join(', ')}` }),
  reason, endsOn: day.nullable().optional(),
}).strict();
const liftSchema = z.object({ reason }).strict();

const DONE = z.object({ done: z.enum(['created', 'changed', 'linkSent', 'linkNotSent', 'blocked', 'reinstated']).optional() });

const accountParams = z.object({ accountId: z.uuid({ message: 'must be a UUID' }) });
const blockParams = z.object({ blockId: z.uuid({ message: 'must be a UUID' }) });

// Each field's rule in both page languages: an API caller reads `words`, a page shows them next to the field.
const FIELD_WORDS: Record<string, { lv: string; en: string }> = {
  username: { lv: 'Lietotājvārdam jābūt 3–60 rakstzīmēm: mazie latīņu burti, cipari, punkts, defise vai pasvītra.', en: 'The username must be 3–60 characters: lower-case Latin letters, digits, dot, hyphen or underscore.' },
  displayName: { lv: 'Norādiet vārdu un uzvārdu (līdz 200 rakstzīmēm).', en: 'Give the name and surname (up to 200 characters).' },
  email: { lv: 'Norādiet derīgu e-pasta adresi.', en: 'Give a valid e-mail address.' },
  role: { lv: 'Izvēlieties lomu: darbinieks, komandas vadītājs vai administrators.', en: 'Choose a role: staff, team lead or administrator.' },
  validFrom: { lv: 'Norādiet datumu formā GGGG-MM-DD.', en: 'Give a date as YYYY-MM-DD.' },
  validUntil: { lv: 'Norādiet datumu formā GGGG-MM-DD, ne agrāku par sākuma datumu.', en: 'Give a date as YYYY-MM-DD, not before the first valid day.' },
  endsOn: { lv: 'Norādiet datumu formā GGGG-MM-DD.', en: 'Give a date as YYYY-MM-DD.' },
  reason: { lv: 'Norādiet iemeslu (3–500 rakstzīmes).', en: 'Give the reason (3–500 characters).' },
  active: { lv: 'Norādiet true vai false.', en: 'Give true or false.' },
  language: { lv: 'Izvēlieties valodu: lv vai en.', en: 'Choose a language: lv or en.' },
  subjectKind: { lv: 'Izvēlieties, ko bloķēt: izglītojamo, izglītības iestādi vai iestādes lietotāju.', en: 'Choose whom to block: a learner, a provider or a provider user.' },
  subject: { lv: 'Norādiet personas kodu vai identifikatoru.', en: 'Give the person code or the id.' },
  kind: { lv: 'Izvēlieties: bloķēt vai apturēt.', en: 'Choose: block or suspend.' },
};

/**
 * A body as the OpenAPI document shows it: the schema's fields, each described by the rule it keeps. The handler
 * checks the body with the schema itself (parseWorded), so that a 400 carries Latvian and English words.
 */
function documented(schema: z.ZodObject, rules: Record<string, string>) {
  return z.object(Object.fromEntries(Object.keys(schema.shape).map((k) => [k, z.unknown().optional().describe(rules[k] ?? '')]))).strict();
}
const RULES: Record<string, string> = {
  username: '3 to 60 characters: a-z, 0-9, dot, hyphen or underscore (stored lower-case)', displayName: 'Name and surname, up to 200 characters',
  email: 'E-mail address; the link to set the password goes here', role: ACCOUNT_ROLES.join(' | '),
  validFrom: 'First valid day YYYY-MM-DD, or null (from now)', validUntil: 'Last valid day YYYY-MM-DD, or null (no end); not before validFrom',
  active: 'false deactivates the account', reason: 'Why (3 to 500 characters), recorded in the audit', language: 'lv | en: the e-mail\'s language',
  subjectKind: BLOCK_SUBJECT_KINDS.join(' | '), subject: 'The learner\'s person code, or the provider\'s or provider user\'s id',
  kind: BLOCK_KINDS.join(' | '), endsOn: 'Last day YYYY-MM-DD the block holds, or null (until reinstated)',
};

/** Parses a body, or a 400 naming each field and rule with words in Latvian and English. */
function parseWorded<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = fieldProblems(parsed.error).map((p): WordedProblem => (FIELD_WORDS[p.field] && !isTextRule(p.rule) ? { ...p, words: FIELD_WORDS[p.field] } : p));
  throw new HttpError(400, 'invalid_request', `Invalid body: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
}

/** A page form's fields as the API takes them: empty dates are "none", the active checkbox is a boolean. */
function fromForm(form: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = form[f];
    if (f === 'active') out.active = v === 'on' || v === 'true';
    else if (['validFrom', 'validUntil', 'endsOn'].includes(f)) out[f] = typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
    else out[f] = typeof v === 'string' ? v : '';
  }
  return out;
}

// --- Output ------------------------------------------------------------------------------------------------------

const accountSchema = z.object({
  id: z.string(), username: z.string(), displayName: z.string(), email: z.string().nullable(), role: z.enum(ACCOUNT_ROLES), active: z.boolean(),
  validFrom: z.string().nullable(), validUntil: z.string().nullable(), passwordSet: z.boolean(), createdAt: z.string(),
}).strict();
const blockViewSchema = z.object({
  id: z.string(), subjectKind: z.enum(BLOCK_SUBJECT_KINDS), subject: z.string(), subjectName: z.string().nullable(), kind: z.enum(BLOCK_KINDS),
  reason: z.string(), endsOn: z.string().nullable(), createdAt: z.string(), createdByName: z.string().nullable(), liftedAt: z.string().nullable(),
  liftedByName: z.string().nullable(), liftReason: z.string().nullable(), live: z.boolean(),
}).strict();

const CREATE_FIELDS = ['username', 'displayName', 'email', 'role', 'validFrom', 'validUntil', 'reason'] as const;
const CHANGE_FIELDS = ['displayName', 'email', 'role', 'validFrom', 'validUntil', 'active', 'reason'] as const;
const BLOCK_FIELDS = ['subjectKind', 'subject', 'kind', 'reason', 'endsOn'] as const;

/** The staff accounts and blocks: JSON API and the administrator's pages. */
export function adminAccountRoutes(deps: ApiDeps, api: ApiRegistry, renderer: Renderer): Router {
  const router = new Router();

  // --- JSON API: accounts ---
  api.add(router, {
    method: 'get', path: '/api/admin/accounts', tag: 'admin', roles: [...ADMIN], summary: 'The agency staff accounts with role, validity period and whether the password is set',
    responses: { 200: { description: 'The accounts', schema: z.object({ accounts: z.array(accountSchema) }) } },
  }, async (ctx) => {
    ctx.body = { accounts: await listStaffAccounts(deps.db) };
  });

  api.add(router, {
    method: 'post', path: '/api/admin/accounts', tag: 'admin', roles: [...ADMIN], body: documented(createSchema, RULES),
    summary: 'Create a staff account (audited, with the reason); its holder gets an e-mailed link to set the password (valid 72 hours, once)',
    responses: {
      201: { description: 'Created', schema: z.object({ account: accountSchema, linkSent: z.boolean() }) },
      409: { description: 'Another user has this username (username_taken) or e-mail address (email_taken)' },
    },
  }, async (ctx) => {
    const input = parseWorded(createSchema, ctx.request.body);
    ctx.status = 201;
    ctx.body = await createStaffAccount(deps, currentSession(ctx), {
      ...input, validFrom: input.validFrom ?? null, validUntil: input.validUntil ?? null, language: input.language ?? 'lv',
    });
  });

  api.add(router, {
    method: 'get', path: '/api/admin/accounts/:accountId', tag: 'admin', roles: [...ADMIN], params: accountParams, summary: 'One staff account',
    responses: { 200: { description: 'The account', schema: accountSchema } },
  }, async (ctx, { params }) => {
    ctx.body = await getStaffAccount(deps.db, params.accountId);
  });

  api.add(router, {
    method: 'post', path: '/api/admin/accounts/:accountId', tag: 'admin', roles: [...ADMIN], params: accountParams, body: documented(changeSchema, RULES),
    summary: 'Change a staff account: name, e-mail, role, validity period, active (false deactivates); audited with the reason; takes effect at the holder\'s next request',
    responses: {
      200: { description: 'The account as it is now', schema: accountSchema },
      409: { description: 'Another user has this e-mail address (email_taken), or an administrator taking away their own access (own_account)' },
    },
  }, async (ctx, { params }) => {
    ctx.body = await changeStaffAccount(deps, currentSession(ctx), params.accountId, parseWorded(changeSchema, ctx.request.body));
  });

  api.add(router, {
    method: 'post', path: '/api/admin/accounts/:accountId/password-link', tag: 'admin', roles: [...ADMIN], params: accountParams, body: documented(linkSchema, RULES),
    summary: 'E-mail the account\'s holder a new link to set the password (audited); the administrator never sees it',
    responses: {
      202: { description: 'The e-mail is on its way (linkSent false: Temporal did not answer; try again)', schema: z.object({ linkSent: z.boolean() }) },
      409: { description: 'The account is deactivated or has no e-mail address (account_cannot_receive_link)' },
    },
  }, async (ctx, { params }) => {
    const { language: lang } = parseWorded(linkSchema, ctx.request.body);
    ctx.status = 202;
    ctx.body = await resendSetPasswordLink(deps, currentSession(ctx), params.accountId, lang ?? 'lv');
  });

  // --- JSON API: blocks ---
  api.add(router, {
    method: 'get', path: '/api/admin/blocks', tag: 'admin', roles: [...ADMIN], summary: 'Live blocks and suspensions, and the latest 50 lifted or ended',
    responses: { 200: { description: 'The blocks', schema: z.object({ live: z.array(blockViewSchema), past: z.array(blockViewSchema) }) } },
  }, async (ctx) => {
    ctx.body = await listBlocks(deps.db);
  });

  api.add(router, {
    method: 'post', path: '/api/admin/blocks', tag: 'admin', roles: [...ADMIN], body: documented(blockSchema, RULES),
    summary: 'Block or suspend a learner (person code), a provider or a provider user (id), with a reason and an optional last day; audited. '
      + 'A learner\'s journeys wait; a provider user (every user of a provider) is refused at the next request',
    responses: {
      201: { description: 'The block', schema: blockViewSchema },
      409: { description: 'Already blocked or suspended (already_blocked): reinstate first' },
    },
  }, async (ctx) => {
    const input = parseWorded(blockSchema, ctx.request.body);
    ctx.status = 201;
    ctx.body = await createBlock(deps.db, currentSession(ctx), { ...input, endsOn: input.endsOn ?? null });
  });

  api.add(router, {
    method: 'post', path: '/api/admin/blocks/:blockId/reinstatement', tag: 'admin', roles: [...ADMIN], params: blockParams, body: documented(liftSchema, RULES),
    summary: 'Reinstate: lift a live block with a reason (audited); the person\'s waiting journeys go on',
    responses: {
      200: { description: 'The block, lifted', schema: blockViewSchema },
      409: { description: 'The block was already lifted or has ended (block_not_live)' },
    },
  }, async (ctx, { params }) => {
    ctx.body = await liftBlock(deps.db, currentSession(ctx), params.blockId, parseWorded(liftSchema, ctx.request.body).reason);
  });

  // --- Pages ---
  const done = DONE;

  api.page(router, {
    method: 'get', path: '/admin/accounts', summary: 'The staff accounts, and the form to create one', tag: 'console pages', roles: [...ADMIN], query: done,
    responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await accountsPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/admin/accounts', summary: 'Create a staff account (audited); its holder gets the link to set the password', tag: 'console pages',
    roles: [...ADMIN], form: createSchema, formPage: true,
    responses: {
      302: { description: 'Created: to the list, saying so', redirect: true },
      400: { description: 'The form again, each problem next to its field' }, 409: { description: 'Username or e-mail taken: the form again, saying so' },
    },
  }, async (ctx) => {
    const form = fromForm((ctx.request.body ?? {}) as Record<string, unknown>, CREATE_FIELDS);
    let created: { linkSent: boolean };
    try {
      const input = parseWorded(createSchema, form);
      created = await createStaffAccount(deps, currentSession(ctx), {
        ...input, validFrom: input.validFrom ?? null, validUntil: input.validUntil ?? null, language: ctx.state.lang as PageLanguage,
      });
    } catch (err) {
      if (!shownOnForm(ctx, err)) throw err;
      await accountsPage(ctx, { form, errors: errorsOf(ctx, err) });
      return;
    }
    ctx.redirect(`/admin/accounts?done=${created.linkSent ? 'created' : 'linkNotSent'}`);
  });

  api.page(router, {
    method: 'get', path: '/admin/accounts/:accountId', summary: 'One staff account: the form to change it, and to send the password link again', tag: 'console pages',
    roles: [...ADMIN], params: accountParams, query: done, responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    const account = await getStaffAccount(deps.db, parseId(ctx));
    accountPage(ctx, account, formOf(account), {});
  });

  api.page(router, {
    method: 'post', path: '/admin/accounts/:accountId', summary: 'Change a staff account (audited)', tag: 'console pages', roles: [...ADMIN], params: accountParams,
    form: changeSchema, formPage: true,
    responses: {
      302: { description: 'Changed: to the account, saying so', redirect: true },
      400: { description: 'The form again, each problem next to its field' }, 409: { description: 'E-mail taken, or your own access: the form again, saying so' },
    },
  }, async (ctx) => {
    const id = parseId(ctx);
    const account = await getStaffAccount(deps.db, id);
    const form = fromForm((ctx.request.body ?? {}) as Record<string, unknown>, CHANGE_FIELDS);
    try {
      await changeStaffAccount(deps, currentSession(ctx), id, parseWorded(changeSchema, form));
    } catch (err) {
      if (!shownOnForm(ctx, err)) throw err;
      accountPage(ctx, account, form, errorsOf(ctx, err));
      return;
    }
    ctx.redirect(`/admin/accounts/${id}?done=changed`);
  });

  api.page(router, {
    method: 'post', path: '/admin/accounts/:accountId/password-link', summary: 'E-mail the holder a new link to set the password (audited)', tag: 'console pages',
    roles: [...ADMIN], params: accountParams,
    responses: { 302: { description: 'To the account, saying whether the e-mail is on its way', redirect: true }, 409: { description: 'Deactivated or no e-mail address: the page, saying so' } },
  }, async (ctx) => {
    const id = parseId(ctx);
    try {
      const { linkSent } = await resendSetPasswordLink(deps, currentSession(ctx), id, ctx.state.lang as PageLanguage);
      ctx.redirect(`/admin/accounts/${id}?done=${linkSent ? 'linkSent' : 'linkNotSent'}`);
    } catch (err) {
      if (!shownOnForm(ctx, err)) throw err;
      const account = await getStaffAccount(deps.db, id);
      accountPage(ctx, account, formOf(account), { link: wordsOf(ctx, err) });
    }
  });

  api.page(router, {
    method: 'get', path: '/admin/blocks', summary: 'Blocks and suspensions: the live ones with a reinstate form each, the form to block, and the past ones',
    tag: 'console pages', roles: [...ADMIN], query: done, responses: { 200: { description: 'The page' } },
  }, async (ctx) => {
    await blocksPage(ctx, {});
  });

  api.page(router, {
    method: 'post', path: '/admin/blocks', summary: 'Block or suspend someone (audited)', tag: 'console pages', roles: [...ADMIN], form: blockSchema, formPage: true,
    responses: {
      302: { description: 'To the list, saying so', redirect: true },
      400: { description: 'The form again, each problem next to its field' }, 409: { description: 'Already blocked: the form again, saying so' },
    },
  }, async (ctx) => {
    const form = fromForm((ctx.request.body ?? {}) as Record<string, unknown>, BLOCK_FIELDS);
    try {
      const input = parseWorded(blockSchema, form);
      await createBlock(deps.db, currentSession(ctx), { ...input, endsOn: input.endsOn ?? null });
    } catch (err) {
      if (!shownOnForm(ctx, err)) throw err;
      await blocksPage(ctx, { form, errors: errorsOf(ctx, err) });
      return;
    }
    ctx.redirect('/admin/blocks?done=blocked');
  });

  api.page(router, {
    method: 'post', path: '/admin/blocks/:blockId/reinstatement', summary: 'Reinstate: lift a block with a reason (audited)', tag: 'console pages', roles: [...ADMIN],
    params: blockParams, form: liftSchema, formPage: true,
    responses: {
      302: { description: 'To the list, saying so', redirect: true },
      400: { description: 'The page again, the problem next to the reason' }, 409: { description: 'Already lifted or ended: the page, saying so' },
    },
  }, async (ctx) => {
    const id = parseId(ctx);
    const form = fromForm((ctx.request.body ?? {}) as Record<string, unknown>, ['reason']);
    try {
      await liftBlock(deps.db, currentSession(ctx), id, parseWorded(liftSchema, form).reason);
    } catch (err) {
      if (!shownOnForm(ctx, err)) throw err;
      await blocksPage(ctx, { failedLift: id, liftErrors: errorsOf(ctx, err) });
      return;
    }
    ctx.redirect('/admin/blocks?done=reinstated');
  });

  async function accountsPage(ctx: Context, extra: { form?: Record<string, unknown>; errors?: Record<string, string> }) {
    renderPage(ctx, renderer, 'admin-accounts', 'accounts.title', {
      done: doneKey(ctx), accounts: await listStaffAccounts(deps.db), form: extra.form ?? { role: 'staff' }, errors: extra.errors ?? {}, roles: ACCOUNT_ROLES,
    });
  }

  function accountPage(ctx: Context, account: StaffAccount, form: Record<string, unknown>, errors: Record<string, string>) {
    renderPage(ctx, renderer, 'admin-account', 'accounts.edit.title', { done: doneKey(ctx), account, form, errors, roles: ACCOUNT_ROLES }, { name: account.displayName });
  }

  async function blocksPage(ctx: Context, given: { form?: Record<string, unknown>; errors?: Record<string, string>; failedLift?: string; liftErrors?: Record<string, string> }) {
    const extra = keptForm(ctx, 'admin-blocks', given);
    const { live, past } = await listBlocks(deps.db);
    renderPage(ctx, renderer, 'admin-blocks', 'blocks.title', {
      done: doneKey(ctx), past, form: extra.form ?? { subjectKind: 'learner', kind: 'block' }, errors: extra.errors ?? {},
      live: live.map((b) => ({ ...b, liftErrors: b.id === extra.failedLift ? extra.liftErrors : undefined })),
      subjectKinds: BLOCK_SUBJECT_KINDS, kinds: BLOCK_KINDS,
    });
  }

  return router;
}

/** The id in the path (an account's or a block's); one that is not a UUID names nothing. */
function parseId(ctx: Context): string {
  const parsed = z.uuid().safeParse(ctx.params.accountId ?? ctx.params.blockId);
  if (!parsed.success) throw new HttpError(404, 'not_found', 'There is nothing with this id');
  return parsed.data;
}

function doneKey(ctx: Context): string | null {
  const parsed = DONE.safeParse(ctx.query);
  return parsed.success && parsed.data.done ? `accounts.done.${parsed.data.done}` : null;
}

function formOf(account: StaffAccount): Record<string, unknown> {
  return { displayName: account.displayName, email: account.email ?? '', role: account.role, validFrom: account.validFrom ?? '', validUntil: account.validUntil ?? '', active: account.active };
}

/** Whether a page shows this error on its form (a 400 or 409 of ours), setting the status. */
function shownOnForm(ctx: Context, err: unknown): err is HttpError {
  if (!(err instanceof HttpError) || ![400, 409].includes(err.status)) return false;
  ctx.status = err.status;
  return true;
}

/** An error's problems by field in the page's language; a problem naming no field is shown under `form`. */
function errorsOf(ctx: Context, err: HttpError): Record<string, string> {
  const details = (err.details as WordedProblem[]).map((p) => ({ ...p, field: p.field ?? 'form', message: p.message ?? err.message }));
  // A refusal naming no field says the catalogue's text under the form.
  if (details.length === 0) return { form: refusalText(err, ctx.state.lang as PageLanguage) };
  return errorsByField(details, ctx.state.lang as PageLanguage);
}

function wordsOf(ctx: Context, err: HttpError): string {
  return refusalText(err, ctx.state.lang as PageLanguage);
}
