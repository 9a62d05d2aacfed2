// A roster its leader signed before it left, that reaches us only after the
// leader the roster before it names next took over (the server held it back
// until then): protocol.md §7.5a, "Late rosters". We do not follow it (the
// successor leads from the roster before it, and everyone else follows the
// successor), but it is still that leader's signed word: a participant it
// removed or denied stays out of our chain too. Pure; the caller verifies the
// roster against its parent before taking anything from it.

import { constantTimeEqual } from '../bytes.ts';
import { without } from './id-sets.ts';
import { expectedLeader, rosterLeader, type Roster, type VerifiedRoster } from './roster.ts';

/**
 * Whether `r` is a late roster for us: it follows `parent` (a roster we
 * verified), and its signer, whom the server has since reported gone, led
 * after `parent` when it signed (`parent` names it if it is present: everyone
 * before it is gone for us too) and ranks before the one that led our roster of that epoch (`ours`,
 * if we hold one; it must follow `parent` as well). Returns the departed set
 * to verify it with (without its signer, so `parent` names the signer as its
 * leader), or null.
 */
export function lateRoster(
  r: Roster,
  from: string,
  parent: VerifiedRoster,
  ours: VerifiedRoster | undefined,
  departed: ReadonlySet<string>,
): ReadonlySet<string> | null {
  const signer = rosterLeader(r).participantId;
  if (from !== signer || !departed.has(signer)) return null;
  if (r.epoch !== parent.roster.epoch + 1 || !constantTimeEqual(r.prevHash, parent.hash)) return null;
  const verifyWith = without(departed, [signer]);
  // It led after `parent` only if, with it present, `parent` names it (everyone before it is gone).
  if (expectedLeader(parent.roster, verifyWith)?.participantId !== signer) return null;
  if (ours) {
    if (constantTimeEqual(ours.roster.signature, r.signature) || !constantTimeEqual(ours.roster.prevHash, parent.hash)) return null;
    const rank = (id: string): number => parent.roster.members.findIndex((m) => m.participantId === id);
    const o = rank(rosterLeader(ours.roster).participantId);
    if (o >= 0 && o <= rank(signer)) return null;
  }
  return verifyWith;
}
