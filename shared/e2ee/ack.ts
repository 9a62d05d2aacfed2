// A member's signed acknowledgement that it installed an epoch's keys. It also
// carries the member's next liveness nonce, which the leader echoes next time,
// and its next X25519 public key, which the leader seals the next epoch to
// (post-compromise healing: each epoch's key message to a member is sealed to
// a key the member made after the previous one). An ack without `next` still
// counts; the leader then keeps sealing to the member's last known key.

import type { MeetingContext } from './announcement.ts';
import { CONTEXT, E2EE_VERSION } from './constants.ts';
import { constantTimeEqual } from '../bytes.ts';
import { checkDhPublicKey } from './dh-key.ts';
import { transcript } from './encoding.ts';
import { fail, ok, type Result } from './errors.ts';
import type { IdentityKeyPair } from './identity.ts';
import { sign, verify } from './primitives.ts';
import { rosterIndexOf, rosterLeader, type VerifiedRoster } from './roster.ts';

export interface Ack {
  meetingId: string;
  instanceId: string;
  epoch: number;
  participantId: string;
  rosterHash: Uint8Array;
  nonce: Uint8Array;
  /** The member's next X25519 public key (absent: keep sealing to the last one). */
  next?: Uint8Array;
  signature: Uint8Array;
}

type UnsignedAck = Omit<Ack, 'signature'>;

function signedBytes(a: UnsignedAck): Uint8Array {
  return transcript(
    CONTEXT.ack,
    { u32: E2EE_VERSION },
    a.meetingId,
    a.instanceId,
    { u64: a.epoch },
    a.participantId,
    a.rosterHash,
    a.nonce,
    // Length-prefixed: absent (0 bytes) and present (32) never encode alike.
    a.next ?? new Uint8Array(0),
  );
}

export function createAck(fields: UnsignedAck, identity: IdentityKeyPair): Ack {
  return { ...fields, signature: sign(signedBytes(fields), identity.privateKey) };
}

export interface AckCheck extends MeetingContext {
  from: string;
  selfId: string;
  /** Our verified roster for the acked epoch, if we still hold it. */
  roster: VerifiedRoster | undefined;
}

export function verifyAck(a: Ack, check: AckCheck): Result<Ack> {
  if (a.meetingId !== check.meetingId) return fail('WRONG_MEETING', `ack for meeting '${a.meetingId}'`);
  if (a.instanceId !== check.instanceId) return fail('WRONG_INSTANCE', 'ack for another instance of this meeting');
  if (a.participantId !== check.from) return fail('SENDER_MISMATCH', `ack for '${a.participantId}' relayed from '${check.from}'`);
  const roster = check.roster;
  if (!roster || roster.roster.epoch !== a.epoch) return fail('UNKNOWN_EPOCH', `ack for epoch ${a.epoch}, which we do not hold`);
  if (rosterLeader(roster.roster).participantId !== check.selfId)
    return fail('NOT_LEADER', `ack for epoch ${a.epoch}, which we do not lead`);
  const index = rosterIndexOf(roster.roster, a.participantId);
  const member = roster.roster.members[index];
  if (!member) return fail('NOT_A_MEMBER', `ack from '${a.participantId}', not a member of epoch ${a.epoch}`);
  if (!constantTimeEqual(a.rosterHash, roster.hash)) return fail('ROSTER_MISMATCH', `ack names another roster for epoch ${a.epoch}`);
  // An unusable next key refuses the whole ack (an honest member never sends one): we keep sealing to the last key.
  if (a.next) {
    const next = checkDhPublicKey(a.next, `next X25519 key of '${a.participantId}'`);
    if (!next.ok) return next;
  }
  if (!verify(a.signature, signedBytes(a), member.identityKey))
    return fail('BAD_SIGNATURE', `ack signature of '${a.participantId}' is invalid`);
  return ok(a);
}
