// Admission to a locked meeting. The lock itself and the list of removed or
// denied participants live in the signed roster (roster.ts); this module has
// the rest:
//
// - the leader's lobby: which verified newcomers wait for a decision (pure);
// - the leader's signed admission message to one newcomer, "you wait" or
//   "you are denied". The newcomer holds no roster yet, so it cannot tell the
//   leader's identity key from any other: for it the message is a UX hint
//   bound to its own fresh announcement, nothing more. Safety does not depend
//   on it: a newcomer in the lobby gets no key because nobody gives it one.
//   Members, who do hold the roster, check the same message against the
//   leader they derive from it and remember denials, so a successor leader
//   keeps them.

import type { Announcement, MeetingContext } from './announcement.ts';
import { CONTEXT, E2EE_VERSION } from './constants.ts';
import { constantTimeEqual } from '../bytes.ts';
import { transcript } from './encoding.ts';
import { fail, ok, type Result } from './errors.ts';
import type { IdentityKeyPair } from './identity.ts';
import { sign, verify } from './primitives.ts';
import { expectedLeader, rosterIndexOf, type VerifiedRoster } from './roster.ts';

export const ADMISSION_DECISIONS = ['wait', 'deny'] as const;
export type AdmissionDecision = (typeof ADMISSION_DECISIONS)[number];

export interface Admission {
  meetingId: string;
  instanceId: string;
  /** The leader's current roster, so members can check who may decide. */
  epoch: number;
  rosterHash: Uint8Array;
  leaderId: string;
  /** The leader's identity key: all a newcomer has to check the signature with. */
  leaderKey: Uint8Array;
  /** The newcomer this decision is about. */
  to: string;
  /** The nonce of the newcomer's announcement: binds the decision to this session. */
  echo: Uint8Array;
  decision: AdmissionDecision;
  signature: Uint8Array;
}

type UnsignedAdmission = Omit<Admission, 'signature'>;

function signedBytes(a: UnsignedAdmission): Uint8Array {
  return transcript(
    CONTEXT.admission,
    { u32: E2EE_VERSION },
    a.meetingId,
    a.instanceId,
    { u64: a.epoch },
    a.rosterHash,
    a.leaderId,
    a.leaderKey,
    a.to,
    a.echo,
    a.decision,
  );
}

export interface AdmissionInput {
  /** The leader's head roster. */
  roster: VerifiedRoster;
  leaderId: string;
  newcomer: Announcement;
  decision: AdmissionDecision;
}

export function createAdmission(input: AdmissionInput, identity: IdentityKeyPair): Admission {
  const r = input.roster.roster;
  const unsigned: UnsignedAdmission = {
    meetingId: r.meetingId,
    instanceId: r.instanceId,
    epoch: r.epoch,
    rosterHash: input.roster.hash,
    leaderId: input.leaderId,
    leaderKey: identity.publicKey,
    to: input.newcomer.participantId,
    echo: input.newcomer.nonce,
    decision: input.decision,
  };
  return { ...unsigned, signature: sign(signedBytes(unsigned), identity.privateKey) };
}

export interface NewcomerAdmissionCheck extends MeetingContext {
  from: string;
  /** Our own announcement: the decision must be about it. */
  self: Announcement;
}

/**
 * The newcomer's check. It proves only that whoever holds `leaderKey` sent
 * this decision about our current announcement (not an earlier session's,
 * not someone else's); it cannot prove that key leads the meeting.
 */
export function verifyAdmissionForNewcomer(a: Admission, check: NewcomerAdmissionCheck): Result<Admission> {
  if (a.meetingId !== check.meetingId) return fail('WRONG_MEETING', `admission for meeting '${a.meetingId}'`);
  if (a.instanceId !== check.instanceId) return fail('WRONG_INSTANCE', 'admission for another instance of this meeting');
  if (a.to !== check.self.participantId) return fail('WRONG_RECIPIENT', `admission about '${a.to}', not us`);
  if (a.leaderId !== check.from) return fail('SENDER_MISMATCH', `admission signed for '${a.leaderId}' relayed from '${check.from}'`);
  if (!constantTimeEqual(a.echo, check.self.nonce))
    return fail('STALE_NONCE', 'admission about another announcement of ours (an earlier session)');
  if (!verify(a.signature, signedBytes(a), a.leaderKey)) return fail('BAD_SIGNATURE', `admission signature of '${a.leaderId}' is invalid`);
  return ok(a);
}

export interface MemberAdmissionCheck extends MeetingContext {
  from: string;
  /** Our verified roster for the admission's epoch, if we hold it. */
  roster: VerifiedRoster | undefined;
  /** Participants the server reported gone: a successor may decide before its first roster. */
  departed: ReadonlySet<string>;
}

/** A member's check: only the leader it derives from its own roster may decide. */
export function verifyAdmissionForMember(a: Admission, check: MemberAdmissionCheck): Result<Admission> {
  if (a.meetingId !== check.meetingId) return fail('WRONG_MEETING', `admission for meeting '${a.meetingId}'`);
  if (a.instanceId !== check.instanceId) return fail('WRONG_INSTANCE', 'admission for another instance of this meeting');
  const roster = check.roster;
  if (!roster || roster.roster.epoch !== a.epoch)
    return fail('UNKNOWN_EPOCH', `admission names epoch ${a.epoch}, whose roster we do not hold`);
  if (!constantTimeEqual(a.rosterHash, roster.hash)) return fail('ROSTER_MISMATCH', `admission names another roster for epoch ${a.epoch}`);
  const leader = expectedLeader(roster.roster, check.departed);
  if (
    !leader ||
    a.leaderId !== leader.participantId ||
    check.from !== leader.participantId ||
    !constantTimeEqual(a.leaderKey, leader.identityKey)
  ) {
    return fail('NOT_LEADER', `admission from '${check.from}', but '${leader?.participantId ?? 'nobody'}' leads after epoch ${a.epoch}`);
  }
  if (rosterIndexOf(roster.roster, a.to) >= 0) return fail('ALREADY_A_MEMBER', `admission about '${a.to}', a member of epoch ${a.epoch}`);
  if (!verify(a.signature, signedBytes(a), leader.identityKey))
    return fail('BAD_SIGNATURE', `admission signature of '${a.leaderId}' is invalid`);
  return ok(a);
}

export interface LobbyInput {
  locked: boolean;
  /** Verified announcements of present participants not in the roster, oldest first. */
  candidates: Iterable<Announcement>;
  isPresent: (participantId: string) => boolean;
  excluded: ReadonlySet<string>;
  /** Admitted by the leader, waiting only for the next epoch. */
  admitted: ReadonlySet<string>;
}

/** Who waits in the lobby: nobody when unlocked (everyone is admitted with the next epoch). */
export function lobbyWaiting(input: LobbyInput): Announcement[] {
  if (!input.locked) return [];
  const out: Announcement[] = [];
  for (const a of input.candidates) {
    const id = a.participantId;
    if (input.isPresent(id) && !input.excluded.has(id) && !input.admitted.has(id)) out.push(a);
  }
  return out;
}

/** Whom the next roster may add: everyone present when unlocked, only the admitted when locked. */
export function admissible(input: LobbyInput): Announcement[] {
  const out: Announcement[] = [];
  for (const a of input.candidates) {
    const id = a.participantId;
    if (input.isPresent(id) && !input.excluded.has(id) && (!input.locked || input.admitted.has(id))) out.push(a);
  }
  return out;
}
