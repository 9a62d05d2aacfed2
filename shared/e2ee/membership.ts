// What the leader's next roster should contain: everyone from the last roster
// still present and not excluded (same order, except that a successor that
// skipped members the last roster marked unacked comes first, ahead of them),
// then newcomers with a verified announcement, in the order their
// announcements arrived. Pure: presence and admission policy are passed in.

import type { Announcement } from './announcement.ts';
import { memberFromAnnouncement, sameMember, type Roster, type RosterMember } from './roster.ts';

export interface MembershipInput {
  selfId: string;
  self: Announcement;
  /** Last verified roster, or null when starting a new chain. */
  head: Roster | null;
  isPresent: (participantId: string) => boolean;
  /** Verified announcements of participants not yet in a roster, oldest first, already filtered by the lock. */
  candidates: Iterable<Announcement>;
  /** Removed or denied participants: dropped even if present. */
  excluded?: ReadonlySet<string>;
}

export function planMembers(input: MembershipInput): RosterMember[] {
  const excluded = input.excluded ?? new Set<string>();
  const keep = (id: string): boolean => input.isPresent(id) && !excluded.has(id);
  const kept = input.head
    ? input.head.members.filter((m) => m.participantId === input.selfId || keep(m.participantId))
    : [memberFromAnnouncement(input.self)];
  const at = kept.findIndex((m) => m.participantId === input.selfId);
  const skipped = kept.slice(0, Math.max(at, 0));
  if (at < 0 || skipped.some((m) => !input.head?.unacked.includes(m.participantId)))
    throw new Error('planMembers called by a participant that is not the leader');
  const continuing = [...kept.slice(at, at + 1), ...skipped, ...kept.slice(at + 1)];
  const ids = new Set(continuing.map((m) => m.participantId));
  const joiners: RosterMember[] = [];
  for (const a of input.candidates) {
    if (ids.has(a.participantId) || !keep(a.participantId)) continue;
    ids.add(a.participantId);
    joiners.push(memberFromAnnouncement(a));
  }
  return [...continuing, ...joiners];
}

export function sameMembers(a: readonly RosterMember[], b: readonly RosterMember[]): boolean {
  return (
    a.length === b.length &&
    a.every((m, i) => {
      const other = b[i];
      return other !== undefined && sameMember(m, other);
    })
  );
}
