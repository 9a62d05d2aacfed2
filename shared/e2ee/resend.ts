// A member's signed request for the newest epoch's key: it learned of a change
// (a newer roster, a commit, a roster member leaving) but the key message for
// it never arrived. The leader answers with the epoch's roster, key message and
// commit, to the requester only and at most once per member per interval, so a
// replayed or repeated request cannot be used to amplify traffic.

import type { MeetingContext } from './announcement.ts';
import { CONTEXT, E2EE_VERSION } from './constants.ts';
import { transcript } from './encoding.ts';
import { fail, ok, type Result } from './errors.ts';
import type { IdentityKeyPair } from './identity.ts';
import { sign, verify } from './primitives.ts';
import { rosterIndexOf, type VerifiedRoster } from './roster.ts';

export interface ResendRequest {
  meetingId: string;
  instanceId: string;
  participantId: string;
  /** Newest epoch whose key the requester holds: only a newer one is sent. */
  have: number;
  /**
   * The requester's newest liveness nonce (§6). A leader that took over never
   * saw its last ack: if the key message it would resend echoes an older
   * nonce (which the requester would refuse as STALE_NONCE), it starts a new
   * epoch echoing this one instead.
   */
  nonce: Uint8Array;
  signature: Uint8Array;
}

type UnsignedRequest = Omit<ResendRequest, 'signature'>;

function signedBytes(r: UnsignedRequest): Uint8Array {
  return transcript(CONTEXT.resend, { u32: E2EE_VERSION }, r.meetingId, r.instanceId, r.participantId, { u64: r.have }, r.nonce);
}

export function createResendRequest(fields: UnsignedRequest, identity: IdentityKeyPair): ResendRequest {
  return { ...fields, signature: sign(signedBytes(fields), identity.privateKey) };
}

export interface ResendCheck extends MeetingContext {
  from: string;
  /** The roster of the epoch we would resend: the requester must be in it. */
  roster: VerifiedRoster;
}

export function verifyResendRequest(r: ResendRequest, check: ResendCheck): Result<ResendRequest> {
  if (r.meetingId !== check.meetingId) return fail('WRONG_MEETING', `resend request for meeting '${r.meetingId}'`);
  if (r.instanceId !== check.instanceId) return fail('WRONG_INSTANCE', 'resend request for another instance of this meeting');
  if (r.participantId !== check.from) {
    return fail('SENDER_MISMATCH', `resend request for '${r.participantId}' relayed from '${check.from}'`);
  }
  const member = check.roster.roster.members[rosterIndexOf(check.roster.roster, r.participantId)];
  if (!member) return fail('NOT_A_MEMBER', `resend request from '${r.participantId}', not a member of epoch ${check.roster.roster.epoch}`);
  if (!verify(r.signature, signedBytes(r), member.identityKey)) {
    return fail('BAD_SIGNATURE', `resend request signature of '${r.participantId}' is invalid`);
  }
  return ok(r);
}
