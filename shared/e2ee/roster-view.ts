// What the UI shows for a verified roster: members in join order with their
// signed names and fingerprints, who leads, the lock state and the meeting's
// security code.

import type { RosterEvent } from './events.ts';
import { rosterLeader, type Roster } from './roster.ts';
import { fingerprint, securityCode } from './security-code.ts';

/** `fingerprintOf` lets a caller reuse fingerprints it computed for earlier rosters. */
export function describeRoster(r: Roster, fingerprintOf: (identityKey: Uint8Array, participantId: string) => string = fingerprint): RosterEvent {
  const leaderId = rosterLeader(r).participantId;
  return {
    epoch: r.epoch,
    members: r.members.map((m) => ({ participantId: m.participantId, name: m.name, identityKey: m.identityKey, fingerprint: fingerprintOf(m.identityKey, m.participantId), isLeader: m.participantId === leaderId })),
    securityCode: securityCode(r.meetingId, r.instanceId, r.members.map((m) => m.identityKey)),
    locked: r.locked,
  };
}
