// What the UI shows for a verified roster: members in join order with their
// signed names and fingerprints, who leads, the lock state and the meeting's
// security code (made by the caller, which holds the epoch's key).

import type { RosterEvent } from './events.ts';
import { rosterLeader, type Roster } from './roster.ts';
import { fingerprint } from './security-code.ts';

/**
 * `securityCode` is the epoch's code (security-code.ts: securityCode(hash, authenticator)), '' for a roster whose key
 * we do not hold. `fingerprintOf` lets a caller reuse fingerprints it computed for earlier rosters.
 */
export function describeRoster(
  r: Roster,
  securityCode = '',
  fingerprintOf: (identityKey: Uint8Array, participantId: string) => string = fingerprint,
): RosterEvent {
  const leaderId = rosterLeader(r).participantId;
  return {
    epoch: r.epoch,
    members: r.members.map((m) => ({
      participantId: m.participantId,
      name: m.name,
      identityKey: m.identityKey,
      fingerprint: fingerprintOf(m.identityKey, m.participantId),
      isLeader: m.participantId === leaderId,
    })),
    securityCode,
    locked: r.locked,
  };
}
