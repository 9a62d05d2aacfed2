// A participant's signed announcement: "in this meeting instance, participant
// P holds identity key I and per-meeting X25519 key D, and is live as of nonce N".

import { CONTEXT, E2EE_VERSION } from './constants.ts';
import { bytesEqual, transcript } from './encoding.ts';
import { fail, ok, type Result } from './errors.ts';
import type { IdentityKeyPair } from './identity.ts';
import { sign, verify } from './primitives.ts';

export interface Announcement {
  meetingId: string;
  instanceId: string;
  participantId: string;
  identityKey: Uint8Array;
  dhKey: Uint8Array;
  nonce: Uint8Array;
  signature: Uint8Array;
}

export type UnsignedAnnouncement = Omit<Announcement, 'signature'>;

export interface MeetingContext {
  meetingId: string;
  instanceId: string;
}

export function announcementBytes(a: UnsignedAnnouncement): Uint8Array {
  return transcript(CONTEXT.announce, { u32: E2EE_VERSION }, a.meetingId, a.instanceId, a.participantId, a.identityKey, a.dhKey, a.nonce);
}

export function createAnnouncement(fields: Omit<UnsignedAnnouncement, 'identityKey'>, identity: IdentityKeyPair): Announcement {
  const unsigned = { ...fields, identityKey: identity.publicKey };
  return { ...unsigned, signature: sign(announcementBytes(unsigned), identity.privateKey) };
}

/**
 * Checks an announcement belongs to this meeting instance, speaks for the
 * participant the server relayed it from (when known), and is signed by the
 * identity key it names.
 */
export function verifyAnnouncement(a: Announcement, ctx: MeetingContext & { from?: string }): Result<Announcement> {
  if (a.meetingId !== ctx.meetingId) return fail('WRONG_MEETING', `announcement for meeting '${a.meetingId}'`);
  if (a.instanceId !== ctx.instanceId) return fail('WRONG_INSTANCE', 'announcement for another instance of this meeting');
  if (ctx.from !== undefined && a.participantId !== ctx.from) {
    return fail('SENDER_MISMATCH', `announcement for '${a.participantId}' relayed from '${ctx.from}'`);
  }
  if (!verify(a.signature, announcementBytes(a), a.identityKey)) return fail('BAD_SIGNATURE', `announcement signature of '${a.participantId}' is invalid`);
  return ok(a);
}

export function sameAnnouncement(a: Announcement, b: Announcement): boolean {
  return (
    a.meetingId === b.meetingId &&
    a.instanceId === b.instanceId &&
    a.participantId === b.participantId &&
    bytesEqual(a.identityKey, b.identityKey) &&
    bytesEqual(a.dhKey, b.dhKey) &&
    bytesEqual(a.nonce, b.nonce) &&
    bytesEqual(a.signature, b.signature)
  );
}
