// Sets of participant IDs are state here (departed, awaiting, admitted...) and
// are never changed in place by the pure cores: a change makes a new set.

/** `set` without `ids`, as a new set. */
export function without(set: ReadonlySet<string>, ids: Iterable<string>): Set<string> {
  const out = new Set(set);
  for (const id of ids) out.delete(id);
  return out;
}
