// A participant's signed announcement: "in this meeting instance, participant
// P, calling itself NAME, holds identity key I and per-meeting X25519 key D,
// and is live as of nonce N". The name is what the roster shows: each
// participant signs its own, so neither the server nor the leader can rename it.

import { CONTEXT, E2EE_VERSION } from './constants.ts';
import { checkDisplayName } from './display-name.ts';
import { bytesEqual, transcript } from './encoding.ts';
import { fail, ok, type Result } from './errors.ts';
import type { IdentityKeyPair } from './identity.ts';
import { sign, verify } from './primitives.ts';

export interface Announcement {
  meetingId: string;
  instanceId: string;
  participantId: string;
  /** Display name chosen by the participant (checkDisplayName), '' if none. */
  name: string;
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
  return transcript(CONTEXT.announce, { u32: E2EE_VERSION }, a.meetingId, a.instanceId, a.participantId, a.name, a.identityKey, a.dhKey, a.nonce);
}

export type AnnouncementFields = Omit<UnsignedAnnouncement, 'identityKey' | 'name'> & { name?: string };

export function createAnnouncement(fields: AnnouncementFields, identity: IdentityKeyPair): Announcement {
  const unsigned = { ...fields, name: fields.name ?? '', identityKey: identity.publicKey };
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
  // The codec already refuses such names; this keeps the check with the signature for in-memory callers.
  if (!checkDisplayName(a.name).ok) return fail('MALFORMED', `announcement of '${a.participantId}' carries an invalid display name`);
  if (!verify(a.signature, announcementBytes(a), a.identityKey)) return fail('BAD_SIGNATURE', `announcement signature of '${a.participantId}' is invalid`);
  return ok(a);
}

export function sameAnnouncement(a: Announcement, b: Announcement): boolean {
  return (
    a.meetingId === b.meetingId &&
    a.instanceId === b.instanceId &&
    a.participantId === b.participantId &&
    a.name === b.name &&
    bytesEqual(a.identityKey, b.identityKey) &&
    bytesEqual(a.dhKey, b.dhKey) &&
    bytesEqual(a.nonce, b.nonce) &&
    bytesEqual(a.signature, b.signature)
  );
}
