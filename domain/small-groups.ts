// Survey results about a handful of people identify them: a provider knows who was in a group of three, so the
// group's average or "1 dropped out for reason X" is that person's answer. Results are shown only from this many
// respondents on, for providers and the public alike; below it, only how many answered.

/** The fewest survey respondents whose ratings or reasons may be shown (at least 5, the agency's rule). */
export const MIN_SURVEY_RESPONDENTS = 5;

/** Whether results aggregated over this many respondents may be shown. */
export function enoughRespondents(respondents: number): boolean {
  return respondents >= MIN_SURVEY_RESPONDENTS;
}

/** One scope of results in a tree whose children split their parent's respondents (institution → offer → group). */
export interface ResultScope { key: string; parent: string | null; respondents: number }

/**
 * The scopes whose results may be shown. A scope with too few respondents is hidden; and because sums can be
 * subtracted (an institution of 10 minus its offer of 9 is the other offer's one answer), a shown scope's
 * respondents not covered by its nearest shown descendants must also be none or enough. Where they are too few,
 * the smallest of those descendants is hidden as well, until every remainder is safe (cell suppression's
 * "complementary suppression"). Scopes in `published` are shown elsewhere anyway (an offer's public rating): they
 * count as shown and are never the ones hidden; if only they could be, the scope above them is hidden instead.
 */
export function shownScopes(scopes: readonly ResultScope[], published: ReadonlySet<string> = new Set()): Set<string> {
  const shown = new Set(scopes.filter((s) => enoughRespondents(s.respondents) || published.has(s.key)).map((s) => s.key));
  const children = new Map<string, ResultScope[]>();
  for (const s of scopes) if (s.parent !== null) children.set(s.parent, [...(children.get(s.parent) ?? []), s]);
  // The nearest shown scopes under a scope: what can be subtracted from it.
  const frontier = (key: string): ResultScope[] =>
    (children.get(key) ?? []).flatMap((c) => (shown.has(c.key) ? [c] : frontier(c.key)));
  for (let changed = true; changed;) {
    changed = false;
    for (const scope of scopes) {
      if (!shown.has(scope.key)) continue;
      const below = frontier(scope.key);
      const remainder = scope.respondents - below.reduce((sum, s) => sum + s.respondents, 0);
      if (remainder > 0 && !enoughRespondents(remainder)) {
        const hideable = below.filter((s) => !published.has(s.key));
        const hide = hideable.length > 0 ? hideable.reduce((a, b) => (b.respondents < a.respondents ? b : a)).key : scope.key;
        if (published.has(hide)) continue;
        shown.delete(hide);
        changed = true;
        break;
      }
    }
  }
  return shown;
}
