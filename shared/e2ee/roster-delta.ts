// The roster delta: what changed from the previous roster, for members that
// hold it, so a rotation costs each of them what changed rather than the whole
// roster (protocol.md §4.2a). It carries the leader's signature over the FULL
// roster's hash: a member rebuilds the full roster from its head and the
// delta, and checks the rebuilt roster exactly as a roster sent in full
// (verifyRoster), so nothing is taken on the delta's word. Pure.

import { constantTimeEqual } from '../bytes.ts';
import { fail, ok, type Result } from './errors.ts';
import { rosterHash, type Roster, type RosterMember, type VerifiedRoster } from './roster.ts';

export interface RosterDelta {
  meetingId: string;
  instanceId: string;
  epoch: number;
  /** Hash of the roster this one follows: the receiver's head must be that roster. */
  prevHash: Uint8Array;
  /** Hash of the full roster the delta rebuilds to; the signature covers it (as for a full roster). */
  hash: Uint8Array;
  locked: boolean;
  /** Members of the previous roster that are not in this one. */
  removed: string[];
  /** New members, in roster order, after the continuing ones. */
  added: RosterMember[];
  /** Exclusions this roster adds (appended in order) and drops. */
  excludedAdded: string[];
  excludedDropped: string[];
  /** The rebuilt roster's `unacked` list, in full (it is short: newcomers and silent members). */
  unacked: string[];
  /** The rebuilt roster's `provisional` flag. */
  provisional: boolean;
  /** The leader's signature over the full roster's hash (Roster.signature). */
  signature: Uint8Array;
}

/**
 * The full roster `delta` rebuilds from `head`: continuing members in their
 * order, then the added ones; exclusions likewise. Refused with
 * ROSTER_CHAIN_BROKEN if `head` is not the roster it follows (the receiver
 * asks for the full roster), ROSTER_DELTA_MISMATCH if it names what `head`
 * does not hold or does not rebuild to its signed hash. Nothing is verified
 * here beyond that: the caller checks the result with verifyRoster.
 */
export function applyRosterDelta(head: VerifiedRoster, d: RosterDelta): Result<Roster> {
  if (!constantTimeEqual(d.prevHash, head.hash)) {
    return fail(
      'ROSTER_CHAIN_BROKEN',
      `roster delta ${d.epoch} does not follow our roster ${head.roster.epoch}: the full roster is needed`,
    );
  }
  const prev = head.roster;
  const removed = new Set(d.removed);
  const stray = d.removed.find((id) => !prev.members.some((m) => m.participantId === id));
  if (stray) return fail('ROSTER_DELTA_MISMATCH', `roster delta ${d.epoch} removes '${stray}', who is not in roster ${prev.epoch}`);
  const strayExclusion = d.excludedDropped.find((id) => !prev.excluded.includes(id));
  if (strayExclusion) {
    return fail(
      'ROSTER_DELTA_MISMATCH',
      `roster delta ${d.epoch} drops the exclusion of '${strayExclusion}', which roster ${prev.epoch} lacks`,
    );
  }
  const dropped = new Set(d.excludedDropped);
  const roster: Roster = {
    meetingId: d.meetingId,
    instanceId: d.instanceId,
    epoch: d.epoch,
    prevHash: d.prevHash,
    locked: d.locked,
    excluded: [...prev.excluded.filter((id) => !dropped.has(id)), ...d.excludedAdded],
    members: [...prev.members.filter((m) => !removed.has(m.participantId)), ...d.added],
    unacked: d.unacked,
    provisional: d.provisional,
    signature: d.signature,
  };
  if (!constantTimeEqual(rosterHash(roster), d.hash)) {
    return fail('ROSTER_DELTA_MISMATCH', `roster delta ${d.epoch} does not rebuild to the roster its leader signed`);
  }
  return ok(roster);
}

/**
 * The delta from `prev` to `next`, or null if `next` is not one a delta can
 * express (another chain, or continuing members or exclusions reordered):
 * then the full roster goes instead. Checked by rebuilding it.
 */
export function rosterDelta(prev: VerifiedRoster, next: VerifiedRoster): RosterDelta | null {
  const r = next.roster;
  if (!constantTimeEqual(r.prevHash, prev.hash)) return null;
  const nextIds = new Set(r.members.map((m) => m.participantId));
  const prevIds = new Set(prev.roster.members.map((m) => m.participantId));
  const nextExcluded = new Set(r.excluded);
  const delta: RosterDelta = {
    meetingId: r.meetingId,
    instanceId: r.instanceId,
    epoch: r.epoch,
    prevHash: r.prevHash,
    hash: next.hash,
    locked: r.locked,
    removed: [...prevIds].filter((id) => !nextIds.has(id)),
    added: r.members.filter((m) => !prevIds.has(m.participantId)),
    excludedAdded: r.excluded.filter((id) => !prev.roster.excluded.includes(id)),
    excludedDropped: prev.roster.excluded.filter((id) => !nextExcluded.has(id)),
    unacked: r.unacked,
    provisional: r.provisional,
    signature: r.signature,
  };
  return applyRosterDelta(prev, delta).ok ? delta : null;
}
