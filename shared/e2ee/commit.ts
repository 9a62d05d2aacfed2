// The leader's signed "switch now": every member starts sending with the
// epoch's key. Sent when all members acked, or when the leader stops waiting.

import type { MeetingContext } from './announcement.ts';
import { CONTEXT, E2EE_VERSION } from './constants.ts';
import { constantTimeEqual } from '../bytes.ts';
import { transcript } from './encoding.ts';
import { fail, ok, type Result } from './errors.ts';
import type { IdentityKeyPair } from './identity.ts';
import { sign, verify } from './primitives.ts';
import { rosterLeader, type VerifiedRoster } from './roster.ts';

export const COMMIT_REASONS = ['all-acked', 'timeout'] as const;
export type CommitReason = (typeof COMMIT_REASONS)[number];

export interface Commit {
  meetingId: string;
  instanceId: string;
  epoch: number;
  leaderId: string;
  rosterHash: Uint8Array;
  reason: CommitReason;
  signature: Uint8Array;
}

type UnsignedCommit = Omit<Commit, 'signature'>;

function signedBytes(c: UnsignedCommit): Uint8Array {
  return transcript(CONTEXT.commit, { u32: E2EE_VERSION }, c.meetingId, c.instanceId, { u64: c.epoch }, c.leaderId, c.rosterHash, c.reason);
}

export function createCommit(fields: UnsignedCommit, identity: IdentityKeyPair): Commit {
  return { ...fields, signature: sign(signedBytes(fields), identity.privateKey) };
}

export interface CommitCheck extends MeetingContext {
  from: string;
  /** The epoch we currently send with (0 before the first). */
  sendEpoch: number;
  /** Our verified roster for the committed epoch, if we hold its keys. */
  roster: VerifiedRoster | undefined;
}

export function verifyCommit(c: Commit, check: CommitCheck): Result<Commit> {
  if (c.meetingId !== check.meetingId) return fail('WRONG_MEETING', `commit for meeting '${c.meetingId}'`);
  if (c.instanceId !== check.instanceId) return fail('WRONG_INSTANCE', 'commit for another instance of this meeting');
  if (c.epoch <= check.sendEpoch) return fail('STALE_EPOCH', `commit for epoch ${c.epoch}, already sending with ${check.sendEpoch}`);
  const roster = check.roster;
  if (!roster || roster.roster.epoch !== c.epoch) return fail('UNKNOWN_EPOCH', `commit for epoch ${c.epoch}, whose keys we do not hold`);
  const leader = rosterLeader(roster.roster);
  if (c.leaderId !== leader.participantId || check.from !== leader.participantId) {
    return fail('NOT_LEADER', `commit from '${check.from}' for epoch ${c.epoch}, led by '${leader.participantId}'`);
  }
  if (!constantTimeEqual(c.rosterHash, roster.hash)) return fail('ROSTER_MISMATCH', `commit names another roster for epoch ${c.epoch}`);
  if (!verify(c.signature, signedBytes(c), leader.identityKey))
    return fail('BAD_SIGNATURE', `commit signature for epoch ${c.epoch} is invalid`);
  return ok(c);
}
