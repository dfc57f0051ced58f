import type { Knex } from 'knex';
import { z } from 'zod';
import { parseInboxSearch, type InboxSearch } from '../../domain/inbox-search';
import { translate, type PageLanguage } from '../../web/render';
import type { InboxQuery } from '../schemas';
import { auditUserAction, type AuditActor } from '../services/audit';

/** How the inbox understood its search (API responses): by which key, and the value it looked for. */
export const inboxSearchSchema = z.object({
  kind: z.enum(['personCode', 'caseNumber', 'name']), value: z.string(),
}).nullable().describe('The search as understood: a person code (audited), a case number or a learner\'s name; null without a search');

/**
 * A search of the inbox by person code looks for one person's cases, so it is audited as the console's is: who
 * searched, for whose code, when (the row's time), why (the purpose) and with which filters. Names and case numbers
 * are not audited here; opening any task found is (task.view).
 */
export async function auditInboxSearch(db: Knex, session: AuditActor, filter: InboxQuery): Promise<void> {
  const parsed = parseInboxSearch(filter.q);
  if (!parsed.ok || parsed.search?.kind !== 'personCode') return;
  await auditUserAction(db, session, {
    action: 'inbox.search-person', purpose: 'staff inbox: tasks of a person', subjectPersonCode: parsed.search.value,
    result: { filter: shownFilter(filter) },
  });
}

/** The filters as an audit row records them: the person code left out (it is the row's subject), page kept. */
export function shownFilter(filter: InboxQuery): Record<string, unknown> {
  const { q: _q, ...rest } = filter;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
}

/** "Tasks found by person code 010180-10007", in the page's language; null without a search. */
export function searchWords(lang: PageLanguage, search: Pick<InboxSearch, 'kind' | 'value'> | null): string | null {
  return search ? translate(lang, `inbox.search.by.${search.kind}`, { value: search.value }) : null;
}
