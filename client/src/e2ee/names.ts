// What to call a participant on screen. Only the verified roster names anyone:
// the name each member signed into its announcement (protocol.md §3.1). The
// server's `join` names are never shown, since the server could swap them.
// Someone outside the roster has no name we can trust, so it gets a label with
// a short tag, hashed from its participant ID because the server picks IDs
// (and could pick one that reads "Alice").

/** A roster member's signed name; a member who signed none is told apart by its fingerprint. */
export function memberName(m: { name: string; fingerprint: string }): string {
  return m.name || `Unnamed member ${m.fingerprint.slice(0, 5)}`;
}

/** The label of a participant outside the verified roster. */
export function unverifiedLabel(participantId: string): string {
  return `Unverified participant #${tagOf(participantId)}`;
}

/** Four digits from FNV-1a: a visual tag to tell outsiders apart, not an identity. */
function tagOf(participantId: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < participantId.length; i++) {
    h ^= participantId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return String(h % 10_000).padStart(4, '0');
}
