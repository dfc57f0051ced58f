// Published statistics about few people identify them: "2 people dropped out in programme X in Ludza" is about
// people someone knows. Public counts below PUBLIC_COUNT_MINIMUM are suppressed (shown as "<10"); and because
// published cells add up (a total minus the other rows is the hidden row), hiding a small cell can force hiding a
// second one ("complementary suppression"). This is the public counterpart of small-groups.ts (survey answers,
// threshold 5); figures shown only to administrators are exact.

/** The smallest count published (the agency's rule for anything public). */
export const PUBLIC_COUNT_MINIMUM = 10;

/**
 * A sum that readers know: `parent` = the children's sum, exactly (`exhaustive`, e.g. a total over every row), or
 * at least it (a part of the parent is published nowhere, e.g. enrolled ⊇ studying + completed + dropped out, the
 * rest having withdrawn).
 */
export interface CellRelation { parent: string; children: readonly string[]; exhaustive: boolean }

/**
 * The cells to hide: every count from 1 to minimum-1 (0 describes nobody and is shown), and then, until no hidden
 * cell can be worked out from the published ones, more cells, the smallest that is not 0 each time:
 * - an exhaustive relation with exactly one hidden cell (parent or child) would give it away as a difference or a
 *   sum: a second cell is hidden (a child, or the parent when no child can be);
 * - a shown parent minus its shown children leaves the hidden children's sum (plus, for a relation that is not
 *   exhaustive, the unpublished part): where that remainder is below the minimum, one more child is hidden (or the
 *   parent), so no hidden cell is known to lie in a range below the minimum narrower than "1 to minimum-1".
 * - a cell in `hiddenWith` is hidden whenever one of the cells listed for it is (a sum of money that, divided by a
 *   price, would count the people of a hidden count).
 * Only hiding is ever added, so the loop ends. This is the usual complementary suppression for the sums readers can
 * form in one table; it does not solve systems of several relations at once (a hidden cell is never the only
 * unknown of any relation, which is what a reader needs to work it out by subtraction).
 */
export function suppressedCells(
  values: ReadonlyMap<string, number>, relations: readonly CellRelation[], minimum = PUBLIC_COUNT_MINIMUM,
  hiddenWith: ReadonlyMap<string, readonly string[]> = new Map(),
): Set<string> {
  const hidden = new Set([...values].filter(([, v]) => v > 0 && v < minimum).map(([k]) => k));
  const value = (key: string) => values.get(key) ?? 0;
  // The smallest cell that is not 0 among those given (a 0 hidden would add nothing to a remainder).
  const smallest = (keys: readonly string[]) => keys.filter((k) => value(k) > 0).sort((a, b) => value(a) - value(b) || a.localeCompare(b))[0];
  for (let changed = true; changed;) {
    changed = false;
    for (const relation of relations) {
      const shownChildren = relation.children.filter((c) => !hidden.has(c));
      const hiddenChildren = relation.children.length - shownChildren.length;
      const parentHidden = hidden.has(relation.parent);
      let hide: string | undefined;
      if (relation.exhaustive && hiddenChildren + (parentHidden ? 1 : 0) === 1) {
        hide = smallest(shownChildren) ?? (parentHidden ? undefined : relation.parent);
      } else if (!parentHidden && hiddenChildren > 0) {
        const remainder = value(relation.parent) - shownChildren.reduce((sum, c) => sum + value(c), 0);
        if (remainder < minimum) hide = smallest(shownChildren) ?? relation.parent;
      }
      if (hide !== undefined && !hidden.has(hide)) {
        hidden.add(hide);
        changed = true;
      }
    }
    for (const [cell, causes] of hiddenWith) {
      if (!hidden.has(cell) && causes.some((c) => hidden.has(c))) {
        hidden.add(cell);
        changed = true;
      }
    }
  }
  return hidden;
}
